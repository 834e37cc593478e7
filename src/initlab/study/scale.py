"""Shared pieces of claims 5-9 (the scale of random weights): their thresholds and smallest
effects, per-layer series and tables of the deep network, and the text of stated tests."""

from __future__ import annotations

from typing import Any

from initlab.study.common import (
    layer_means,
    predicted_variance,
)
from initlab.study.populations import Population
from initlab.study.result import Table

ACTS = ("relu", "tanh", "sigmoid")
#: The random scheme left out of claim 8's sweep (see SWEEP_SCHEMES), compared at lr 0.5.
UNSWEPT = "large"
LARGE = ("random_normal:std=1", "large")

#: Claim 7: a run is "unstable" when it diverges, or when its training cost rises at more than
#: this fraction of the steps (full-batch gradient descent at a stable step size never raises
#: the cost).
UNSTABLE_RISE_FRACTION = 0.1

#: Claim 8b: "loses variance layer by layer" when Var(Z) changes by a per-layer factor below
#: LOSS_FACTOR; "keeps it" when the factor is within [LOSS_FACTOR, 1 / LOSS_FACTOR].
LOSS_FACTOR = 0.8

#: Claim 9: the smallest effects that matter between the normal and the uniform form: 10 % in
#: the per-layer factor of Var(Z) -- a tenth of the Xavier-He gap for ReLU (x2 per layer);
#: below it the finite-width seed-to-seed spread (sd 7 % per seed for ReLU at width 64)
#: swamps any effect 20 seeds could resolve -- and 50 % in the steps to the target: a
#: first-passage time whose seed-to-seed sd is about 35 % (ReLU), so that 20 paired seeds
#: resolve about +-15 % and seed sets disagree at 30 %.  The drawn weights match the formula
#: within WEIGHT_Z standard errors of a sample standard deviation.
FACTOR_DELTA = 0.10
FORM_STEPS_DELTA = 0.5
#: Claim 8: one scheme is faster than another when it needs 20 % fewer steps.
STEPS_DELTA = 0.2
WEIGHT_Z = 5.0
KURTOSIS = {"normal": 3.0, "uniform": 1.8}


def tri(x: bool | None, yes: str, no: str, unsure: str) -> str:
    return yes if x else no if x is False else unsure


def slow_word(x: bool | None) -> str:
    return "slower" if x else "not detectably slower" if x is False else "maybe slower"


def share_text(d: dict[str, Any]) -> str:
    """A stored :class:`initlab.study.stats.Share` as text."""
    from initlab.study.stats import Share

    return Share(d["k"], d["n"], d["lower"]).text()


def comparison_text(d: Any) -> str:
    """A stored (or live) :class:`initlab.study.stats.Comparison` as text."""
    from initlab.study.stats import Comparison

    if d is None:
        return "no comparison"
    if isinstance(d, Comparison):
        return d.text()
    fields = {k: v for k, v in d.items() if k != "half_width"}
    return Comparison(**fields).text()


def thr() -> Any:
    """The diagnostics' thresholds (one table for every rule)."""
    from initlab.diagnostics import THRESHOLDS

    return THRESHOLDS


def slow_factor() -> float:
    return thr().slow_factor


def paired_steps(tr: Population, scheme: str, ref: str, settings: Any) -> list[dict[str, Any]]:
    """Per seed: steps to the target of ``scheme`` and of ``ref`` (same seed), and whether
    ``scheme`` is slow: it needs more than the diagnostics' slow_factor times the steps of
    ``ref``, or never gets there while ``ref`` does."""
    out = []
    factor = slow_factor()
    for k in tr.of(scheme):
        j = tr.paired(k, ref)
        a, b = tr.steps_to_target(k, settings), tr.steps_to_target(j, settings)
        out.append(
            {
                "seed": tr.seed_of(k),
                "steps": a,
                "reference_steps": b,
                "slow": b is not None and (a is None or a > factor * max(b, 1)),
                "reached": a is not None,
            }
        )
    return out


def depth_series(
    deep: Population, schemes: tuple[str, ...], field: str, square: bool = False
) -> dict[str, list[float]]:
    return {s: layer_means(deep, deep.of(s), field, square) for s in schemes}


def predicted(deep: Population, schemes: tuple[str, ...]) -> dict[str, list[float]]:
    out = {}
    for s in schemes:
        p = predicted_variance(deep, s)
        if p is not None:
            out[s] = p
    return out


def depth_table(
    deep: Population,
    schemes: tuple[str, ...],
    title: str,
    predicted: dict[str, list[float]],
    gradients: bool = True,
) -> Table:
    """Per hidden layer: the mean over seeds of Var(Z) (and its prediction) and, with
    ``gradients``, the RMS of dZ."""
    var = depth_series(deep, schemes, "z_std", square=True)
    dz = depth_series(deep, schemes, "dZ_rms")
    n = len(next(iter(var.values())))
    headers = ["layer"]
    for s in schemes:
        headers += [f"Var(Z) {s}"]
        if s in predicted:
            headers += ["predicted"]
        if gradients:
            headers += [f"RMS dZ {s}"]
    rows = []
    for i in range(n):
        row: list[Any] = [i + 1]
        for s in schemes:
            row.append(var[s][i])
            if s in predicted:
                row.append(predicted[s][i])
            if gradients:
                row.append(dz[s][i])
        rows.append(row)
    note = "step 0, mean over seeds; predicted: mean-field theory (initlab.theory)"
    if not predicted:
        note += " (theory module not available: no prediction)"
    return Table(title, headers, rows, note)
