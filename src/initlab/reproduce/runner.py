"""Running the reproductions and writing their report.

:func:`run_reproduce` runs the selected experiments one after the other (one BLAS thread, as
the study does), saves each one's runs and result in the run store as they finish (the
reproduce run is a study row whose options say ``"command": "reproduce"``), and returns a
:class:`ReproReport`.  :func:`write_outputs` writes ``reproduce.html`` (one self-contained
file), ``reproduce.md`` with its PNG files and ``reproduce.json``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from initlab.reproduce.context import Context, Settings
from initlab.reproduce.registry import PAPERS, check_names
from initlab.reproduce.result import PaperResult

__all__ = ["ReproReport", "run_reproduce", "write_outputs"]


@dataclass
class ReproReport:
    """The finished run: settings, one result per experiment, their figures' PNG bytes
    (``images["<experiment>/<figure>"]``), timing (seconds per experiment) and notes."""

    settings: Settings
    results: list[PaperResult]
    study_id: int | None = None
    status: str = "complete"
    images: dict[str, bytes] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from initlab import __version__
        from initlab.store import plain_json

        return plain_json(
            {
                "initlab_version": __version__,
                "command": "reproduce",
                "study_id": self.study_id,
                "status": self.status,
                "settings": self.settings.to_dict(),
                "summary": [
                    {
                        "name": r.name,
                        "title": r.title,
                        "paper": r.paper,
                        "verdict": r.verdict,
                        "comparisons": [c.to_dict() for c in r.comparisons],
                    }
                    for r in self.results
                ],
                "experiments": [r.to_dict() for r in self.results],
                "notes": self.notes,
                "timing": self.timing,
            }
        )


def run_reproduce(
    selected: Sequence[str] = (),
    settings: Settings | None = None,
    store: Any = None,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
) -> ReproReport:
    """Run the experiments named in ``selected`` (all when empty) under ``settings`` and
    return the report; with ``store`` (an :class:`initlab.store.Store`) every population and
    result is saved as it finishes, and an interruption marks the run ``interrupted``."""
    from initlab._progress import ProgressBar
    from initlab.study.runner import single_blas_thread

    settings = settings or Settings()
    chosen = check_names(selected)
    options = {"command": "reproduce", "only": chosen, **settings.to_dict()}
    t0 = time.perf_counter()
    sid = store.begin_study(options, settings.to_dict()) if store is not None else None
    ctx = Context(settings, store, sid)
    report = ReproReport(settings, [], sid)
    bar = ProgressBar(len(chosen), "reproduce", stream or sys.stderr, enabled=progress)
    try:
        with single_blas_thread():
            for i, name in enumerate(chosen):
                bar.update(i, name)
                ctx.begin(name)
                t = time.perf_counter()
                result = PAPERS[name].fn(ctx)
                result.seconds = round(time.perf_counter() - t, 2)
                result.run_ids = ctx.run_ids()
                result.figures = ctx.figures()
                if store is not None:
                    store.save_experiment(sid, i, result.to_dict(), result.run_ids, result.seconds)
                report.results.append(result)
                report.timing[name] = result.seconds
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        if store is not None:
            store.finish_study(sid, status, time.perf_counter() - t0)
        bar.close(status)
        raise
    total = time.perf_counter() - t0
    report.timing["total_s"] = round(total, 2)
    if store is not None:
        store.finish_study(sid, "complete", total)
    bar.close("")
    report.images = dict(ctx.images)
    report.notes = list(ctx.notes)
    return report


def write_outputs(report: ReproReport, out: str | Path) -> dict[str, Path]:
    """Write ``reproduce.html``, ``reproduce.md`` (+ ``figures/``) and ``reproduce.json`` to
    ``out``; returns their paths."""
    from initlab.reproduce.report import render_html, render_markdown

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    figs = folder / "figures"
    paths: dict[str, str] = {}
    if report.images:
        figs.mkdir(exist_ok=True)
    for key, png in report.images.items():
        rel = f"figures/reproduce_{key.replace('/', '__')}.png"
        (folder / rel).write_bytes(png)
        paths[key] = rel
    html = folder / "reproduce.html"
    html.write_text(render_html(data, report.images), encoding="utf-8")
    md = folder / "reproduce.md"
    md.write_text(render_markdown(data, paths), encoding="utf-8")
    js = folder / "reproduce.json"
    js.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return {"html": html, "markdown": md, "json": js}
