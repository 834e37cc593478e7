"""What the verdict rules read and return: :class:`Evidence` (one member's first and last
records and its cost curve), :class:`Finding` (one failure mode with its evidence), and the
helpers they share: the judged links of the real graph and their expected factor, per-layer
factors, the cost curve's ends and rises.  The rules themselves are in
:mod:`initlab.diagnostics.rules`, whose docstring explains the links."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from initlab._text import fmt
from initlab.diagnostics.records import LayerRecord
from initlab.diagnostics.thresholds import SEVERITY, THRESHOLDS, Thresholds

__all__ = [
    "Evidence",
    "Finding",
    "Rule",
    "boundaries",
    "cost_ends",
    "cost_rises",
    "link_factor",
    "links",
    "pct",
    "per_layer_factor",
    "saturated_layers",
    "steps_to_cost",
]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One failure mode with its evidence: where (``layer``, ``step``), what was measured
    (``figure``) against which ``threshold``, in a sentence (``message``) and as a short
    ``phrase`` for the verdict's one-line summary.  ``part`` is ``"init"`` (what the
    initialization does) or ``"training"`` (what then happened)."""

    mode: str
    message: str
    member: int = 0
    layer: int | None = None
    step: int | None = None
    figure: float | None = None
    threshold: float | None = None
    part: str = "init"
    phrase: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.mode, 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity}

    def __str__(self) -> str:
        return f"{self.mode}: {self.message}"


@dataclass(frozen=True)
class Evidence:
    """Everything the rules read about one member: the records of its first and last recorded
    steps, its cost curve (``cost[t]`` before step t's update; NaN after it stopped), where it
    diverged, the optimizer's name and an optional reference cost curve (``slow``)."""

    member: int
    first: list[LayerRecord]
    last: list[LayerRecord]
    cost: np.ndarray
    diverged_at: int | None = None
    optimizer: str | None = None
    reference: np.ndarray | None = None
    thresholds: Thresholds = THRESHOLDS

    @property
    def first_step(self) -> int | None:
        return self.first[0].step if self.first else None

    @property
    def last_step(self) -> int | None:
        return self.last[0].step if self.last else None

    @property
    def finite_cost(self) -> np.ndarray:
        c = np.asarray(self.cost, dtype=np.float64)
        return c[np.isfinite(c)]

    @property
    def trained(self) -> bool:
        """True when the run took steps (two costs or more, or records at two steps)."""
        return np.asarray(self.cost).size > 1 or self.first_step != self.last_step

    @property
    def grads_known(self) -> bool:
        return bool(self.first) and all(r.dZ_norm is not None for r in self.first)

    @property
    def nonfinite(self) -> str | None:
        """What became NaN/inf (None if nothing): the cost, an update (``diverged_at``) or a
        recorded figure.  A NaN cost without ``diverged_at`` is a cost not given (a torch
        Watch step without a loss), not a divergence; an infinite one is."""
        c = np.asarray(self.cost, dtype=np.float64)
        if self.diverged_at is not None or bool(np.any(np.isinf(c))):
            return "the cost or an update"
        for r in (*self.first, *self.last):
            for key in ("a_std", "z_std", "dZ_norm", "dW_norm"):
                v = r[key]
                if v is not None and not math.isfinite(v):
                    return f"{key} of layer {r.layer} at step {r.step}"
        return None


Rule = Callable[[Evidence], list[Finding]]


# ----------------------------------------------------------------------------- helpers


def per_layer_factor(values: Sequence[float]) -> float | None:
    """Geometric-mean factor per layer from the first to the last value:
    ``(v_last / v_first) ^ (1 / (n - 1))``, or None if undefined (fewer than two values, or a
    non-positive or non-finite end)."""
    if len(values) < 2 or not all(math.isfinite(v) and v > 0 for v in (values[0], values[-1])):
        return None
    return (values[-1] / values[0]) ** (1.0 / (len(values) - 1))


def cost_rises(cost: np.ndarray) -> dict[str, Any]:
    """How erratic a cost curve is.

    With ``c_t`` the finite costs in step order and ``d_t = c_{t+1} - c_t``: ``fraction`` is the
    share of steps with ``d_t > 0`` (the cost went up), ``largest`` the largest relative rise
    ``max(d_t / c_t)`` (0 if the cost never rose), ``steps`` the number of differences.
    Full-batch gradient descent with a small enough learning rate never raises the cost, so a
    large ``fraction`` means steps that overshoot: unstable training.
    """
    c = np.asarray(cost, dtype=np.float64)
    c = c[np.isfinite(c)]
    if c.size < 2:
        return {"fraction": 0.0, "largest": 0.0, "steps": 0}
    d = np.diff(c)
    up = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(c[:-1] > 0, d / np.where(c[:-1] > 0, c[:-1], 1.0), 0.0)
    return {
        "fraction": float(np.mean(up)),
        "largest": float(np.max(rel[up])) if up.any() else 0.0,
        "steps": int(d.size),
    }


def steps_to_cost(cost: np.ndarray, target: float) -> int | None:
    """First step at which ``cost <= target`` (None if never)."""
    hit = np.flatnonzero(np.asarray(cost) <= target)
    return int(hit[0]) if hit.size else None


def cost_ends(cost: np.ndarray) -> tuple[float, float] | None:
    """``(c_0, c_end)``: the first finite cost and the median of the last tenth of the finite
    costs (at least one; the median keeps one noisy minibatch from deciding), or None with
    fewer than two finite costs."""
    c = np.asarray(cost, dtype=np.float64)
    c = c[np.isfinite(c)]
    if c.size < 2:
        return None
    tail = c[-max(1, c.size // 10) :]
    return float(c[0]), float(np.median(tail))


def links(rows: Sequence[LayerRecord]) -> list[tuple[LayerRecord, LayerRecord, float]]:
    """The judged links of one step's records: ``(lower, upper, expected)`` for consecutive
    hidden layers whose relation is known (``lower.boundary is None``), with ``expected`` the
    norm factor a well-scaled init gives (``sqrt(connections / fan_in)`` of the upper layer;
    see the module docstring)."""
    out = []
    for lo, up in zip(rows[:-1], rows[1:], strict=True):
        if not (lo.hidden and up.hidden) or lo.boundary is not None:
            continue
        e = 1.0
        if up.connections and up.fan_in:
            e = math.sqrt(up.connections / up.fan_in)
        out.append((lo, up, e))
    return out


def boundaries(rows: Sequence[LayerRecord]) -> list[str]:
    """The boundaries between consecutive layers, in words
    (``"after layer 2 ('conv2'): AdaptiveAvgPool2d"``)."""
    return [f"after {_where(r)}: {r.boundary}" for r in rows[:-1] if r.boundary is not None]


def _where(r: LayerRecord) -> str:
    return f"layer {r.layer}" if r.name is None else f"layer {r.layer} ({r.name!r})"


def link_factor(
    pairs: Sequence[tuple[LayerRecord, LayerRecord, float]], key: str, backward: bool
) -> float | None:
    """Geometric mean over ``pairs`` of the per-link factor of ``key`` (lower over upper when
    ``backward``, upper over lower otherwise), each divided by its expectation; None when no
    link has positive finite values at both ends."""
    logs = []
    for lo, up, e in pairs:
        a, b = lo[key], up[key]
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        if a <= 0 or b <= 0:
            continue
        f = a / b if backward else b / a
        logs.append(math.log(f / e))
    return math.exp(sum(logs) / len(logs)) if logs else None


def saturated_layers(rows: Sequence[LayerRecord], t: Thresholds = THRESHOLDS) -> list[LayerRecord]:
    """The hidden layers of ``rows`` with more than ``saturated_fraction`` saturated."""
    return [
        r
        for r in rows
        if r.hidden and r.saturated is not None and r.saturated > t.saturated_fraction
    ]


def pct(x: float) -> str:
    """A fraction as a percentage for a sentence: ``0.523 -> "52%"``."""
    v = 100.0 * x
    return f"{v:.0f}%" if v >= 1 or v == 0 else f"{fmt(v, 2)}%"
