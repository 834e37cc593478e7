"""Pieces the experiments share: the verdict rules for one number, reading the diagnostics'
per-layer records of one member, and the figures' drawing of plain series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from initlab.reproduce.result import DIRECTION, NOT_REPRODUCED, REPRODUCED

__all__ = [
    "at_step",
    "by_factor",
    "by_sign",
    "by_threshold",
    "by_tolerance",
    "lines_figure",
    "members_of",
]


def by_sign(ours: Mapping[str, Any], *, positive: bool = True) -> str:
    """For a claimed sign: reproduced if the whole 95 % CI has it, in direction only if the
    mean has it, else not reproduced."""
    m, lo, hi = ours.get("mean"), ours.get("low"), ours.get("high")
    if m is None:
        return NOT_REPRODUCED
    s = 1.0 if positive else -1.0
    if lo is not None and min(s * lo, s * hi) > 0:
        return REPRODUCED
    return DIRECTION if s * m > 0 else NOT_REPRODUCED


def by_tolerance(
    ours: Mapping[str, Any], target: float, tol: float, *, same_side: float | None = None
) -> str:
    """For a number: reproduced if our mean is within ``tol`` of ``target``; in direction
    only if it lies on the same side of ``same_side`` as the target (e.g. below 1 when the
    paper's number is); else not.  The CI is shown beside it but does not widen the band:
    a wide interval is no evidence for the paper's number."""
    m = ours.get("mean")
    if m is None:
        return NOT_REPRODUCED
    if abs(m - target) <= tol:
        return REPRODUCED
    if same_side is not None and (m - same_side) * (target - same_side) > 0:
        return DIRECTION
    return NOT_REPRODUCED


def by_factor(ours: Mapping[str, Any], target: float, factor: float) -> str:
    """For a positive number spanning decades: reproduced if our (geometric) mean is within
    ``factor`` of ``target``; in direction only if on the same side of 1; else not."""
    m = ours.get("mean")
    if m is None or m <= 0:
        return NOT_REPRODUCED
    if 1 / factor <= m / target <= factor:
        return REPRODUCED
    return DIRECTION if (m - 1) * (target - 1) > 0 else NOT_REPRODUCED


def by_threshold(
    ours: Mapping[str, Any], reproduced_at: float, direction_at: float, *, above: bool = True
) -> str:
    """For a claimed bound: reproduced if our mean is at least ``reproduced_at`` (at most,
    with ``above=False``), in direction only if it passes ``direction_at``, else not."""
    m = ours.get("mean")
    if m is None:
        return NOT_REPRODUCED
    s = 1.0 if above else -1.0
    if s * m >= s * reproduced_at:
        return REPRODUCED
    return DIRECTION if s * m >= s * direction_at else NOT_REPRODUCED


def members_of(configs: Sequence[Any], **match: Any) -> list[int]:
    """Indices of the configurations whose fields equal ``match``."""
    return [k for k, c in enumerate(configs) if all(getattr(c, f) == v for f, v in match.items())]


def at_step(history: Any, member: int, step: int = 0, hidden: bool = True) -> list[dict[str, Any]]:
    """The diagnostics' per-layer records of ``member`` at ``step`` (hidden layers only by
    default), in layer order."""
    from initlab.diagnostics import layer_stats

    rows = [r for r in layer_stats(history, member) if r["step"] == step]
    if hidden:
        rows = [r for r in rows if r["hidden"]]
    return sorted(rows, key=lambda r: r["layer"])


def lines_figure(
    series: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    logy: bool = False,
    dashed: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    marks: Mapping[str, float] | None = None,
) -> Any:
    """One line per series (``{"x", "mean"}`` and optionally ``"low"``/``"high"``, a band),
    ``dashed`` lines (theory) in the colour of the series of the same label, and vertical
    ``marks`` (e.g. the best learning rate) per label.  None if matplotlib is missing."""
    try:
        from initlab.report.figures import pyplot

        plt = pyplot()
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    colours: dict[str, Any] = {}
    for label, s in series.items():
        x = np.asarray(s["x"], dtype=float)
        y = np.asarray([math.nan if v is None else v for v in s["mean"]], dtype=float)
        line = ax.plot(x, y, marker="o", ms=3, lw=1.4, label=label)[0]
        colours[label] = line.get_color()
        if s.get("low") is not None:
            lo = np.asarray([math.nan if v is None else v for v in s["low"]], dtype=float)
            hi = np.asarray([math.nan if v is None else v for v in s["high"]], dtype=float)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    for label, s in (dashed or {}).items():
        ax.plot(
            s["x"],
            s["mean"],
            ls="--",
            lw=1,
            color=colours.get(label, "k"),
            label=None if label in colours else label,
        )
    for label, x in (marks or {}).items():
        ax.axvline(x, ls=":", lw=1.2, color=colours.get(label, "k"))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
