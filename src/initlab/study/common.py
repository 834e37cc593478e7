"""Shared pieces of the experiments: reading the diagnostics' records across seeds, the
theory hook, and figure specs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from initlab._text import fmt
from initlab.schemes import recommend
from initlab.study.populations import Population
from initlab.study.result import FigureSpec, spread, spread_text
from initlab.study.settings import Settings

__all__ = [
    "RECOMMENDED",
    "fig_boundary",
    "fig_cost",
    "fig_depth",
    "fig_histograms",
    "layer_means",
    "median_steps",
    "pct",
    "per_layer_factor",
    "predicted_variance",
    "steps_table_row",
]

#: The seed's recommendation per activation (Xavier for tanh and sigmoid, He for ReLU): the
#: variance-scaling schemes the registry recommends for it, read from their definitions.
RECOMMENDED = {
    act: tuple(s.name for s in recommend(act) if s.info.category == "variance_scaling")
    for act in ("tanh", "sigmoid", "relu")
}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3g}%"


def per_layer_factor(values: Sequence[float]) -> float | None:
    """Geometric-mean change per layer from the first to the last value
    (``(v_last / v_first) ** (1 / (n - 1))``), the diagnostics' own rule
    (:func:`initlab.diagnostics.per_layer_factor`)."""
    from initlab.diagnostics import per_layer_factor

    return per_layer_factor(list(values))


def layer_means(
    pop: Population, members: Sequence[int], field: str, square: bool = False
) -> list[float]:
    """The mean over ``members`` (seeds) of a ``LayerStats`` field, per hidden layer, at the
    first recorded step (squared first when ``square``: std -> variance)."""
    per = []
    for k in members:
        rows = pop.first(k)
        per.append([(r[field] ** 2 if square else r[field]) for r in rows])
    n_layers = len(per[0])
    return [math.fsum(p[i] for p in per) / len(per) for i in range(n_layers)]


def median_steps(values: Sequence[int | None]) -> float:
    """Median steps to the target, a target never reached counting as infinitely many."""
    v = sorted(math.inf if x is None else float(x) for x in values)
    n = len(v)
    if n == 0:
        return math.inf
    mid = n // 2
    return v[mid] if n % 2 else (v[mid - 1] + v[mid]) / 2.0


def reach_text(steps: Sequence[int | None]) -> str:
    """``"never"`` or ``"in 21 +- 3 (18 to 24) steps"`` (with how many seeds never did)."""
    if all(x is None for x in steps):
        return "never"
    return f"in {spread_text(spread(steps))} steps"


def fastest_scheme(
    pop: Population, settings: Settings, exclude: Sequence[str] = ()
) -> tuple[str | None, float]:
    """The scheme of ``pop`` with the smallest median steps to the target (ties: the earlier
    scheme), and that median; ``(None, inf)`` if no scheme reaches the target."""
    best, best_m = None, math.inf
    for sc in pop.schemes():
        if sc in exclude:
            continue
        m = median_steps([pop.steps_to_target(k, settings) for k in pop.of(sc)])
        if m < best_m:
            best, best_m = sc, m
    return best, best_m


#: A run that has not reached the target is "still learning" when its cost fell by more than
#: this fraction over the last tenth of its steps: more steps could reach it (undecided).
STILL_FALLING = 0.01


def still_falling(cost: Any) -> bool:
    """Did the cost fall by more than :data:`STILL_FALLING` (relative) over the last tenth of
    the steps?"""
    c = [float(x) for x in cost if math.isfinite(float(x))]
    if len(c) < 10:
        return False
    start = c[-max(2, len(c) // 10)]
    return start > 0 and (start - c[-1]) / start > STILL_FALLING


def reached(pop: Population, k: int, settings: Settings) -> bool | None:
    """True if member ``k`` reached the target cost, False if it did not and its cost has
    levelled off, None if it did not but is still falling (undecided at these steps)."""
    if pop.steps_to_target(k, settings) is not None:
        return True
    return None if still_falling(pop.cost(k)) else False


def compare_steps(
    a: Sequence[int | None],
    b: Sequence[int | None],
    settings: Settings,
    delta: float = 0.2,
    horizon: int | None = None,
) -> Any:
    """:func:`initlab.study.stats.compare` of steps to the target, paired by seed, a target
    never reached counting as more than the steps run (``horizon``, default
    ``settings.steps``)."""
    from initlab.study.stats import compare

    h = settings.steps if horizon is None else horizon
    return compare(a, b, delta=delta, paired=True, censor_at=h + 1)


def steps_table_row(
    pop: Population, scheme: str, settings: Settings, extra: Sequence[Any] = ()
) -> list[Any]:
    """``[scheme, steps to target (spread), median, reached, final cost, test accuracy]``."""
    ks = pop.of(scheme)
    steps = [pop.steps_to_target(k, settings) for k in ks]
    med = median_steps(steps)
    reached = sum(s is not None for s in steps)
    return [
        scheme,
        spread_text(spread(steps), 3),
        None if math.isinf(med) else med,
        f"{reached}/{len(ks)}",
        spread_text(spread(pop.final_cost(k) for k in ks), 3),
        spread_text(spread(pop.accuracy(k) for k in ks), 3, percent=True),
        *extra,
    ]


STEPS_HEADERS = [
    "scheme",
    "steps to target (mean +- sd, range)",
    "median",
    "reached",
    "final cost",
    "test accuracy",
]


def predicted_variance(pop: Population, scheme: str) -> list[float] | None:
    """The theory's predicted ``Var(Z_l)`` of every hidden layer of ``pop``'s network under
    ``scheme``, as :func:`initlab.diagnostics.predicted_variance` gives it (mean-field
    propagation of :mod:`initlab.theory` from the measured input second moment); None where
    the theory does not cover the case or is not available."""
    from initlab.diagnostics import predicted_variance as predicted

    try:
        p = predicted(pop.history, pop.of(scheme)[0])
    except ImportError:  # pragma: no cover - the theory module is part of initlab
        return None
    q = p.get("predicted_q")
    if q is None:
        return None
    hidden = [
        float(v)
        for v, r in zip(q, pop.first(pop.of(scheme)[0], hidden=False), strict=True)
        if r["hidden"]
    ]
    return hidden if all(math.isfinite(v) for v in hidden) else None


# ----------------------------------------------------------------------------- figures


def fig_cost(
    name: str, title: str, caption: str, curves: Sequence[tuple[Population, int, str]]
) -> FigureSpec:
    """Training cost per step of the given members (solid), test cost dashed."""
    return FigureSpec(
        name,
        "cost_curves",
        title,
        caption,
        {"curves": [[p.key, k, label] for p, k, label in curves], "title": title},
    )


def fig_boundary(name: str, pop: Population, k: int, caption: str) -> FigureSpec | None:
    """The decision boundary of member ``k`` after training (2-D data only, else None)."""
    if pop.dataset.n_features != 2:
        return None
    title = f"{pop.label(k)}, {pop.spec.base.activation}: after {pop.history.steps_run} steps"
    return FigureSpec(
        name, "decision_boundary", title, caption, {"population": pop.key, "member": k}
    )


def fig_depth(
    name: str,
    title: str,
    caption: str,
    series: dict[str, list[float]],
    ylabel: str,
    predicted: dict[str, list[float]] | None = None,
) -> FigureSpec:
    """A per-layer quantity against depth, one line per scheme (theory dashed)."""
    return FigureSpec(
        name,
        "scale_by_depth",
        title,
        caption,
        {"series": series, "predicted": predicted or None, "ylabel": ylabel, "title": title},
    )


def fig_histograms(
    name: str, kind: str, pop: Population, k: int, caption: str, settings: Settings
) -> FigureSpec | None:
    """Per-layer activation (``kind="activation_histograms"``) or gradient
    (``"gradient_histograms"``) histograms of member ``k``; None when the study draws no
    histograms (``--quick``)."""
    if not settings.histograms or not pop.spec.histograms:
        return None
    title = f"{pop.label(k)}, {pop.spec.base.activation}: " + (
        "activations per layer, first and last recorded step"
        if kind == "activation_histograms"
        else "log10 |dZ| per layer at step 0"
    )
    return FigureSpec(name, kind, title, caption, {"population": pop.key, "member": k})


def keep(figs: Sequence[FigureSpec | None]) -> list[FigureSpec]:
    return [f for f in figs if f is not None]


def sci(x: float | None) -> str:
    """A number for a sentence."""
    return fmt(x, 3)
