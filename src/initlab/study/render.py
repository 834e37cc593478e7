"""Figure specs to PNG bytes, drawn by :mod:`initlab.report.figures`.

A spec names populations and members; :func:`payload` resolves it, in the process that holds
the populations, into the plain arrays the figure needs; :func:`draw` turns a payload into PNG
bytes.  :class:`FigureRenderer` draws either right away or in the study's worker processes
(:mod:`initlab.study.workers`), between and after the populations they train.
"""

from __future__ import annotations

import concurrent.futures as cf
from types import SimpleNamespace
from typing import Any

import numpy as np

from initlab.study.result import FigureSpec

__all__ = ["FigureRenderer", "draw", "payload", "render_figure"]


class _MemberView:
    """One member of a population's History, shaped like a one-member History for
    :func:`initlab.report.figures.cost_curves` (cost, test records, divergence)."""

    def __init__(self, history: Any, k: int) -> None:
        self.cost = np.array(history.cost[k : k + 1])
        self.diverged_at = [history.diverged_at[k]]
        self.records: dict[str, Any] = {}
        test = history.records.get("test")
        if test is not None:
            self.records["test"] = {
                "step": list(test["step"]),
                "cost": np.array(np.asarray(test["cost"])[:, k : k + 1]),
            }


def _member_stats(history: Any, k: int) -> SimpleNamespace:
    """Member ``k``'s LayerStats records and histogram edges, renumbered as member 0 and
    shaped like a History for the histogram figures."""
    from initlab.diagnostics import hist_edges

    rec = history.records["layer_stats"]
    rows = [{**r, "member": 0} for r in rec["records"] if r["member"] == k]
    e = hist_edges(history, k)
    grad = e.pop("grad_log10")
    edges = {"grad_log10": grad, "members": {"0": e}}
    return SimpleNamespace(records={"layer_stats": {"records": rows, "edges": edges}})


def payload(spec: FigureSpec, ctx: Any) -> dict[str, Any]:
    """Everything needed to draw ``spec``, as picklable plain data and arrays."""
    p = spec.params
    if spec.kind == "cost_curves":
        curves = p["curves"]
        return {
            "views": [_MemberView(ctx.population(key).history, int(k)) for key, k, _ in curves],
            "labels": [label for _, _, label in p["curves"]],
            "title": p.get("title", spec.title),
        }
    if spec.kind == "scale_by_depth":
        return dict(p)
    pop = ctx.population(p["population"])
    k = int(p["member"])
    if spec.kind == "decision_boundary":
        cfg = pop.spec.base
        return {
            "weights": [np.array(w[k]) for w in pop.net.weights],
            "biases": [np.array(b[k]) for b in pop.net.biases],
            "activation": cfg.activation,
            "output_activation": cfg.output_spec(pop.dataset.n_classes)[0],
            "dataset": pop.dataset,
            "title": spec.title,
        }
    if spec.kind in ("activation_histograms", "gradient_histograms"):
        return {"history": _member_stats(pop.history, k), "title": spec.title}
    raise ValueError(f"unknown figure kind {spec.kind!r}")


def draw(kind: str, data: dict[str, Any], dpi: int) -> bytes:
    """PNG bytes of a figure from its payload (runs in any process)."""
    from initlab.report import figures as F

    with F.drawing_at(dpi):
        return F.figure_to_png(_figure(F, kind, data), dpi=dpi)


def _figure(F: Any, kind: str, data: dict[str, Any]) -> Any:
    if kind == "cost_curves":
        return F.cost_curves(data["views"], data["labels"], title=data["title"])
    if kind == "scale_by_depth":
        return F.scale_by_depth(
            data["series"],
            ylabel=data["ylabel"],
            title=data["title"],
            predicted=data.get("predicted"),
        )
    if kind == "decision_boundary":
        from initlab.network import network_from_arrays

        net = network_from_arrays(
            data["weights"], data["biases"], data["activation"], data["output_activation"]
        )
        return F.decision_boundary(net, data["dataset"], 0, title=data["title"])
    if kind == "activation_histograms":
        return F.activation_histograms(data["history"], 0, title=data["title"])
    if kind == "gradient_histograms":
        return F.gradient_histograms(data["history"], 0, title=data["title"])
    raise ValueError(f"unknown figure kind {kind!r}")


def render_figure(spec: FigureSpec, ctx: Any, dpi: int = 80) -> bytes:
    """Draw ``spec`` here and now; returns its PNG bytes."""
    return draw(spec.kind, payload(spec, ctx), dpi)


class FigureRenderer:
    """Draws figures as they are submitted: in the study's worker processes (``pool``, see
    :func:`initlab.study.workers.start_pool`), or in this process when ``pool`` is None.
    :meth:`collect` waits and returns ``{name: png}`` and the notes of figures that could not
    be drawn (e.g. matplotlib missing)."""

    def __init__(self, dpi: int, pool: cf.Executor | None = None) -> None:
        self.dpi = dpi
        self.pool = pool
        self._jobs: dict[str, Any] = {}
        self.notes: list[str] = []

    def submit(self, name: str, spec: FigureSpec, ctx: Any) -> None:
        data = payload(spec, ctx)
        if self.pool is not None:
            try:
                self._jobs[name] = (self.pool.submit(draw, spec.kind, data, self.dpi), spec, data)
                return
            except RuntimeError:  # pragma: no cover - the pool broke; draw here
                self.pool = None
        self._jobs[name] = (None, spec, data)

    def _here(self, spec: FigureSpec, data: dict[str, Any]) -> bytes | None:
        try:
            return draw(spec.kind, data, self.dpi)
        except ImportError as exc:
            self._note(exc)
            return None

    def _note(self, exc: BaseException) -> None:
        note = f"figures were not drawn: {exc}"
        if note not in self.notes:
            self.notes.append(note)

    def collect(self) -> dict[str, bytes]:
        """Wait for every figure; a figure whose worker failed is drawn here instead."""
        out: dict[str, bytes] = {}
        for name, (future, spec, data) in self._jobs.items():
            png = None
            if future is not None:
                try:
                    png = future.result()
                except ImportError as exc:
                    self._note(exc)
                    continue
                except cf.process.BrokenProcessPool:  # pragma: no cover - a worker died
                    png = None
            if png is None:
                png = self._here(spec, data)
            if png is not None:
                out[name] = png
        self._jobs = {}
        return out
