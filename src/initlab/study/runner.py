"""Running a study, rebuilding one from the store, and writing its report.

:func:`run_study` trains the populations the selected experiments need (each once), runs each
experiment, renders its figures, and saves everything to the store as it goes (one transaction
per population and per experiment).  :func:`rebuild_study` runs the same experiments on the
stored populations without training.  :func:`write_outputs` writes ``report.html`` (one
self-contained file), ``report.md`` with its PNG files, and ``results.json``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from initlab.study.context import Context, StoreContext, TrainingContext
from initlab.study.registry import EXPERIMENTS, check_names, names
from initlab.study.result import ExperimentResult
from initlab.study.settings import Settings, StudyOptions

__all__ = ["StudyInterrupted", "StudyReport", "rebuild_study", "run_study", "write_outputs"]


class StudyInterrupted(KeyboardInterrupt):
    """The ``KeyboardInterrupt`` that stopped :func:`run_study`, with the id of the stored
    study it interrupted (``study_id``; None without a store)."""

    def __init__(self, study_id: int | None) -> None:
        super().__init__(f"study {study_id} interrupted" if study_id is not None else "")
        self.study_id = study_id


@dataclass
class StudyReport:
    """A finished (or rebuilt) study: options, settings, one result per experiment, the PNG
    bytes of their figures (``images["<experiment>/<figure>"]``), and timing."""

    options: StudyOptions
    settings: Settings
    results: list[ExperimentResult]
    study_id: int | None = None
    status: str = "complete"
    images: dict[str, bytes] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``results.json``: everything but the images; ``timing`` is the only part that
        differs between two runs of the same command."""
        from initlab import __version__
        from initlab.store import plain_json

        return plain_json(
            {
                "initlab_version": __version__,
                "study_id": self.study_id,
                "status": self.status,
                "options": self.options.to_dict(),
                "settings": self.settings.to_dict(),
                "summary": [
                    {
                        "number": r.number,
                        "name": r.name,
                        "title": r.title,
                        "verdict": r.verdict,
                        "key_figure": r.key_figure,
                        "finding": r.finding or r.key_figure,
                        "seeds": len(r.seeds),
                    }
                    for r in self.results
                ],
                "experiments": [r.to_dict() for r in self.results],
                "notes": self.notes,
                "timing": self.timing,
            }
        )


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread, when ``threadpoolctl`` (installed with
    scikit-learn) is available.

    The study multiplies many small batched matrices; on two cores a multi-threaded BLAS
    spends more time synchronising than computing (measured 2.5-5x slower on this kind of
    work, worse when the machine is busy).  One thread also keeps the results independent of
    how many threads the BLAS would pick."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _jobs(jobs: int | None, settings: Settings) -> int:
    """The processes to use: ``jobs``, or :func:`initlab.study.workers.default_jobs`."""
    from initlab._checks import check_positive_int
    from initlab.study.workers import default_jobs

    return default_jobs(settings.quick) if jobs is None else check_positive_int("jobs", jobs)


def _keys(selected: list[str], settings: Settings) -> list[str]:
    """Every population the selected experiments ask for, each once, in the order they first
    ask: the order a study trains them in."""
    keys: dict[str, None] = {}
    for name in selected:
        keys.update(dict.fromkeys(EXPERIMENTS[name].keys(settings)))
    return list(keys)


def _submit_figures(result: ExperimentResult, ctx: Context, renderer: Any) -> None:
    for spec in result.figures:
        renderer.submit(f"{result.name}/{spec.name}", spec, ctx)


def _finish_figures(report: StudyReport, renderer: Any) -> None:
    report.images.update(renderer.collect())
    report.notes.extend(n for n in renderer.notes if n not in report.notes)


def run_study(
    options: StudyOptions | None = None,
    store: Any = None,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
    figures: bool = True,
    probe_factory: Callable[[str], list[Any]] | None = None,
    jobs: int | None = 1,
) -> StudyReport:
    """Run the experiments ``options`` selects and return the :class:`StudyReport`.

    ``store``: an :class:`initlab.store.Store` to save every population and result in (None:
    nothing is saved).  ``progress``: draw a progress bar over the experiments on ``stream``
    (stderr).  ``figures``: render the figures (PNG bytes in ``report.images``).
    ``jobs``: processes that train the populations and draw the figures (1: everything in
    this process; N > 1: N worker processes, while this process runs the experiments; None:
    2, or 1 for quick settings).  The report is the same for any ``jobs``.  Workers are
    started with ``spawn``, which imports the main module again: use them only from a script
    guarded by ``if __name__ == "__main__":`` (``initlab study`` and pytest are).
    ``probe_factory(key)``: extra probes for the population ``key`` (used by tests; those
    populations are trained in this process).

    A ``KeyboardInterrupt`` marks the stored study ``interrupted`` (every population and
    experiment finished so far stays in the store) and is raised again as
    :class:`StudyInterrupted`, which names the study."""
    with single_blas_thread():
        return _run_study(options, store, progress, stream, figures, probe_factory, jobs)


def _run_study(
    options: StudyOptions | None,
    store: Any,
    progress: bool,
    stream: TextIO | None,
    figures: bool,
    probe_factory: Callable[[str], list[Any]] | None,
    jobs: int | None,
) -> StudyReport:
    from initlab._progress import ProgressBar
    from initlab.study.render import FigureRenderer
    from initlab.study.workers import start_pool, stop_pool

    options = options or StudyOptions()
    settings = options.settings()
    selected = check_names(options.only) if options.only else names()
    t0 = time.perf_counter()
    n_jobs = _jobs(jobs, settings)
    study_id = store.begin_study(options.to_dict(), settings.to_dict()) if store else None
    pool = start_pool(n_jobs)
    ctx = TrainingContext(settings, store, study_id, probe_factory, pool, n_jobs)
    report = StudyReport(options, settings, [], study_id)
    bar = ProgressBar(len(selected), "study", stream or sys.stderr, enabled=progress)
    per: dict[str, float] = {}
    renderer = FigureRenderer(settings.dpi, pool) if figures else None
    try:
        ctx.prefetch(_keys(selected, settings))
        for i, name in enumerate(selected):
            bar.update(i, name)
            exp = EXPERIMENTS[name]
            t = time.perf_counter()
            result = exp.run(ctx)
            seconds = time.perf_counter() - t
            if store is not None:
                store.save_experiment(study_id, i, result.to_dict(), result.run_ids, seconds)
            report.results.append(result)
            if renderer is not None:
                _submit_figures(result, ctx, renderer)
            per[name] = round(seconds, 3)
        bar.update(len(selected), "figures")
        t = time.perf_counter()
        if renderer is not None:
            _finish_figures(report, renderer)
        waited = time.perf_counter() - t
        stop_pool(pool)
    except BaseException as exc:
        ctx.cancel()
        stop_pool(pool, cancel=True)
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        if store is not None:
            store.finish_study(study_id, status, time.perf_counter() - t0)
        bar.close(status)
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, StudyInterrupted):
            raise StudyInterrupted(study_id) from exc
        raise
    total = time.perf_counter() - t0
    if store is not None:
        store.finish_study(study_id, "complete", total)
    bar.close("")
    report.timing = {
        "total_s": round(total, 3),
        "training_s": round(ctx.train_seconds, 3),
        "waiting_for_figures_s": round(waited, 3),
        "experiments_s": per,
    }
    return report


def rebuild_study(
    store: Any,
    study_id: int | str = "latest",
    *,
    figures: bool = True,
    progress: bool = False,
    stream: TextIO | None = None,
    jobs: int | None = 1,
) -> StudyReport:
    """Rebuild a stored study's report without training: every experiment is run again on the
    stored populations (so its numbers come from the stored runs), and compared with the
    stored result.  An experiment whose runs were deleted is taken from its stored result, and
    its run-based figures are left out; both facts are listed in ``report.notes``."""
    with single_blas_thread():
        return _rebuild_study(store, study_id, figures, progress, stream, jobs)


def _rebuild_study(
    store: Any,
    study_id: int | str,
    figures: bool,
    progress: bool,
    stream: TextIO | None,
    jobs: int | None,
) -> StudyReport:
    from initlab._progress import ProgressBar
    from initlab.store import StoreError
    from initlab.study.render import FigureRenderer
    from initlab.study.workers import start_pool, stop_pool

    row = store.study(study_id)
    sid = row["id"]
    options = StudyOptions.from_dict(row["options"])
    settings = Settings.from_dict(row["settings"])
    stored = store.experiments(sid)
    if not stored:
        raise StoreError(f"study {sid} has no finished experiment to rebuild a report from")
    names()  # load the registry
    ctx = StoreContext(settings, store, sid)
    report = StudyReport(options, settings, [], sid, status=f"rebuilt ({row['status']})")
    t0 = time.perf_counter()
    bar = ProgressBar(len(stored), "rebuild", stream or sys.stderr, enabled=progress)
    # rebuilding trains nothing: workers could only draw the figures
    pool = start_pool(_jobs(jobs, settings)) if figures else None
    renderer = FigureRenderer(settings.dpi, pool) if figures else None
    try:
        _rebuild_all(stored, ctx, report, renderer, bar)
        if renderer is not None:
            _finish_figures(report, renderer)
        stop_pool(pool)
    except BaseException as exc:
        stop_pool(pool, cancel=True)
        bar.close("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    bar.update(len(stored))
    bar.close("")
    report.timing = {"total_s": round(time.perf_counter() - t0, 3), "rebuilt": True}
    return report


def _rebuild_all(
    stored: list[dict[str, Any]], ctx: Context, report: StudyReport, renderer: Any, bar: Any
) -> None:
    from initlab.store import StoreError

    for i, e in enumerate(stored):
        bar.update(i, e["name"])
        exp = EXPERIMENTS.get(e["name"])
        original = ExperimentResult.from_dict(e["result"])
        if exp is None:
            report.notes.append(f"{e['name']}: no such experiment in this initlab; stored result")
            report.results.append(original)
            continue
        try:
            result = exp.run(ctx)
        except StoreError as exc:
            report.notes.append(f"{e['name']}: {exc}; the stored result is shown, no figures")
            original.figures = []
            report.results.append(original)
            continue
        if result.to_dict() != e["result"]:
            report.notes.append(
                f"{e['name']}: the numbers rebuilt from the stored runs differ from the stored "
                "result (made by another version of initlab?)"
            )
        report.results.append(result)
        if renderer is not None:
            _submit_figures(result, ctx, renderer)


def write_outputs(report: StudyReport, out: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` (+ ``figures/*.png``) and ``results.json`` into the
    folder ``out`` (created); returns their paths.  Study figures left in ``figures/`` by an
    earlier report are removed first."""
    from initlab.report.html import render_html
    from initlab.report.markdown import render_markdown

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    paths = {"json": d / "results.json", "html": d / "report.html", "markdown": d / "report.md"}
    paths["json"].write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["html"].write_text(render_html(data, report.images), encoding="utf-8")
    fig_dir = d / "figures"
    rel: dict[str, str] = {}
    if fig_dir.is_dir():  # figures of an earlier report in the same folder would linger
        for old in fig_dir.glob("*__*.png"):
            if old.name.split("__")[0] in EXPERIMENTS:
                old.unlink()
    if report.images:
        fig_dir.mkdir(exist_ok=True)
        for name, png in report.images.items():
            fname = name.replace("/", "__") + ".png"
            (fig_dir / fname).write_bytes(png)
            rel[name] = f"figures/{fname}"
    paths["markdown"].write_text(render_markdown(data, rel), encoding="utf-8")
    return paths
