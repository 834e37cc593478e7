"""The verdict rules: each one function over the typed records and the cost curve of one run
member (an :class:`Evidence`), returning its findings with their evidence.

No rule reads another's result, and none is silenced by another: where two rules could describe
the same thing, their definitions are disjoint (``diverged`` is a non-finite value; ``exploded``
and ``stalled`` are judged on runs that stayed finite, ``exploded`` when the cost grew by more than
``exploded_factor``, ``stalled`` when it fell by less than ``stall_fraction`` without growing that
much).  The verdict orders the findings by :data:`~initlab.diagnostics.SEVERITY`.

*At initialization* rules read the first record (what the init does to the forward signal and
the backward gradient); *in training* rules read the cost curve and the last record (what then
happened).  Every threshold is a field of :class:`~initlab.diagnostics.Thresholds`.

**Judged along the real graph.** The gradient-flow and activation-growth rules compare only
*links*: two consecutive hidden layers whose relation is known, i.e. the lower layer's
activation (an elementwise function, or none) feeds the upper layer directly
(``lower.boundary is None``).  Pooling, normalisation, attention, residual joins and reshapes
are boundaries (the record's ``boundary`` names them): no link crosses them, so they are
reported and not blamed on the init.  For a link into a dense or conv layer ``u`` of ``c``
connections per output value and weight variance ``Var(W)``, back-propagation gives
``|dA_lower|^2 = c Var(W) |dZ_u|^2`` and ``|dZ_lower|^2 ~ E[g'(Z)^2] |dA_lower|^2``; a
well-scaled init (``Var(W) = gain^2 / fan_in`` with the activation's gain, ``gain^2 E[g'^2] ~
1``) makes the norm factor ``sqrt(c / fan_in)``: 1 for dense and conv layers (whatever the
widths, strides and spatial sizes), ``1 / sqrt(prod(stride))`` for a transposed conv.  The
rules judge the measured factor against that expectation.
"""

from __future__ import annotations

import math

import numpy as np

from initlab._text import fmt
from initlab.diagnostics.evidence import (
    Evidence,
    Finding,
    Rule,
    _where,
    cost_ends,
    cost_rises,
    link_factor,
    links,
    pct,
    saturated_layers,
    steps_to_cost,
)

__all__ = ["INIT_RULES", "TRAINING_RULES"]


# ------------------------------------------------------------------ rules at initialization


def symmetric(ev: Evidence) -> list[Finding]:
    """A hidden layer of more than one unit whose units are all one unit (``distinct_units ==
    1``) at the last record: the init made them equal and training never broke the tie."""
    hit = [r for r in ev.last if r.hidden and r.units > 1 and r.distinct_units == 1]
    if not hit:
        return []
    hidden = [r for r in ev.last if r.hidden]
    r = hit[0]
    every = len(hit) == len(hidden) and len(hidden) > 1
    phrase = (
        "every hidden layer is one repeated unit (symmetric)"
        if every
        else f"layer {r.layer}'s {r.units} units are one repeated unit (symmetric)"
    )
    return [
        Finding(
            mode="symmetric",
            message=f"all {r.units} units of {_where(r)} are the same unit at step {r.step} (max "
            f"cosine {fmt(r.max_cosine)}): symmetry never broke"
            + (f"; so are layers {', '.join(str(x.layer) for x in hit[1:])}" if hit[1:] else ""),
            member=ev.member,
            layer=r.layer,
            step=r.step,
            figure=1.0,
            threshold=1.0,
            phrase=phrase,
            details={"layers": [x.layer for x in hit], "effective_width": r.effective_width},
        )
    ]


def gradient_flow(ev: Evidence) -> list[Finding]:
    """``vanishing`` / ``exploding``: at the first record the gradient norm ``|dZ|`` changes per
    judged link (toward the input), on average and against the well-scaled expectation, by
    more than ``grad_factor``.  Only links of known relation are judged (module docstring); the
    output layer is left out because its delta is set by the loss."""
    t = ev.thresholds
    if not ev.grads_known:
        return []
    pairs = links(ev.first)
    f = link_factor(pairs, "dZ_norm", backward=True)
    if f is None:
        return []
    lo, hi = pairs[0][0], pairs[-1][1]
    span = f"{fmt(hi.dZ_norm)} in {_where(hi)}, {fmt(lo.dZ_norm)} in {_where(lo)}"
    common = dict(
        member=ev.member,
        layer=lo.layer,
        step=ev.first_step,
        figure=f,
        details={"links": len(pairs), "dZ_norm": [r.dZ_norm for r in ev.first]},
    )
    if f < 1.0 / t.grad_factor:
        return [
            Finding(
                mode="vanishing",
                message=f"at step {ev.first_step} the gradient norm |dZ| shrinks by x{fmt(1 / f)} "
                f"per layer toward the input over {len(pairs)} judged link(s) ({span})",
                threshold=1.0 / t.grad_factor,
                phrase=f"gradients shrank x{fmt(1 / f, 3)} per layer",
                **common,
            )
        ]
    if f > t.grad_factor:
        return [
            Finding(
                mode="exploding",
                message=f"at step {ev.first_step} the gradient norm |dZ| grows by x{fmt(f)} per "
                f"layer toward the input over {len(pairs)} judged link(s) ({span})",
                threshold=t.grad_factor,
                phrase=f"gradients grew x{fmt(f, 3)} per layer",
                **common,
            )
        ]
    return []


def update_ratio(ev: Evidence) -> list[Finding]:
    """``vanishing``: at the first record layer 1's update:data is below ``update_ratio_gap``
    times the last layer's (the first layer barely moves although the gradient reaches it)."""
    t = ev.thresholds
    if not ev.grads_known or len(ev.first) < 2:
        return []
    u1, uL = ev.first[0].update_data, ev.first[-1].update_data
    if u1 is None or uL is None or not (math.isfinite(u1) and math.isfinite(uL)) or uL <= 0:
        return []
    if u1 >= t.update_ratio_gap * uL:
        return []
    return [
        Finding(
            mode="vanishing",
            message=f"at step {ev.first_step} layer 1's update:data {fmt(u1)} is "
            f"{fmt(u1 / uL)} of layer {ev.first[-1].layer}'s ({fmt(uL)})",
            member=ev.member,
            layer=1,
            step=ev.first_step,
            figure=u1 / uL,
            threshold=t.update_ratio_gap,
            phrase=f"layer 1's updates were x{fmt(uL / u1, 2)} smaller than the last layer's",
        )
    ]


def activation_growth(ev: Evidence) -> list[Finding]:
    """``exploding``: at the first record the activations' RMS grows per judged link, against
    the well-scaled expectation, by more than ``activation_factor``."""
    t = ev.thresholds
    pairs = links(ev.first)
    f = link_factor(pairs, "a_rms", backward=False)
    if f is None or f <= t.activation_factor:
        return []
    lo, hi = pairs[0][0], pairs[-1][1]
    return [
        Finding(
            mode="exploding",
            message=f"at step {ev.first_step} the hidden activations grow by x{fmt(f)} per layer "
            f"(RMS {fmt(lo.a_rms)} in {_where(lo)} to {fmt(hi.a_rms)} in {_where(hi)})",
            member=ev.member,
            layer=hi.layer,
            step=ev.first_step,
            figure=f,
            threshold=t.activation_factor,
            phrase=f"activations grew x{fmt(f, 3)} per layer",
        )
    ]


def output_scale(ev: Evidence) -> list[Finding]:
    """``exploding``: at the first record the output layer's pre-activations have a std above
    ``output_std`` (the initial cost is then far above a constant prediction's)."""
    t = ev.thresholds
    out = [r for r in ev.first if not r.hidden and r.z_std is not None]
    if not out or not math.isfinite(out[-1].z_std) or out[-1].z_std <= t.output_std:
        return []
    r = out[-1]
    return [
        Finding(
            mode="exploding",
            message=f"at step {r.step} the output {_where(r)} has pre-activations of std "
            f"{fmt(r.z_std)} (above {fmt(t.output_std)}): outputs of order 1 are what a "
            "standardised target or a softmax needs",
            member=ev.member,
            layer=r.layer,
            step=r.step,
            figure=r.z_std,
            threshold=t.output_std,
            phrase=f"the outputs had std {fmt(r.z_std, 3)}",
        )
    ]


def saturated(ev: Evidence) -> list[Finding]:
    """``saturated``: at the first record a tanh/sigmoid hidden layer has more than
    ``saturated_fraction`` of its activations saturated.  (Saturation that appears only later,
    as a trained tanh network's often does, is a note of the verdict, not a failure.)"""
    t = ev.thresholds
    hit = [r for r in saturated_layers(ev.first, t)]
    if not hit:
        return []
    r = hit[0]
    more = ", ".join(str(x.layer) for x in hit[1:])
    return [
        Finding(
            mode="saturated",
            message=f"at step {r.step} {pct(r.saturated)} of {_where(r)}'s {r.activation} "
            f"activations are saturated" + (f" (and of layers {more})" if more else ""),
            member=ev.member,
            layer=r.layer,
            step=r.step,
            figure=r.saturated,
            threshold=t.saturated_fraction,
            phrase=f"{pct(r.saturated)} of layer {r.layer}'s units were saturated",
            details={"layers": {x.layer: x.saturated for x in hit}},
        )
    ]


def dead_at_init(ev: Evidence) -> list[Finding]:
    """``dead_relu``: at the first record a ReLU hidden layer has more than ``dead_fraction`` of
    its units dead (output 0 for every example)."""
    t = ev.thresholds
    hit = [r for r in ev.first if r.hidden and r.dead is not None and r.dead > t.dead_fraction]
    if not hit:
        return []
    r = hit[0]
    return [
        Finding(
            mode="dead_relu",
            message=f"at step {r.step} {fmt(100 * r.dead, 3)}% of {_where(r)}'s ReLU units output "
            "0 for every example",
            member=ev.member,
            layer=r.layer,
            step=r.step,
            figure=r.dead,
            threshold=t.dead_fraction,
            phrase=f"{pct(r.dead)} of layer {r.layer}'s ReLU units were dead",
        )
    ]


# ------------------------------------------------------------------------ rules in training


def diverged(ev: Evidence) -> list[Finding]:
    """``diverged``: the cost, an update or a recorded figure became NaN or inf."""
    what = ev.nonfinite
    if what is None:
        return []
    at = ev.diverged_at
    where = f" at step {at}" if at is not None else ""
    return [
        Finding(
            mode="diverged",
            message=f"{what} became NaN/inf{where}",
            member=ev.member,
            step=at,
            part="training",
            phrase=f"the cost became NaN/inf{where}"
            if at is not None
            else f"{what} became NaN/inf",
        )
    ]


def exploded(ev: Evidence) -> list[Finding]:
    """``exploded``: on a run that stayed finite, the cost at the end (median of the last tenth)
    is more than ``exploded_factor`` times the first cost."""
    t = ev.thresholds
    ends = cost_ends(ev.cost)
    if ev.nonfinite is not None or ends is None:
        return []
    c0, c1 = ends
    if not (c0 > 0 and c1 > t.exploded_factor * c0):
        return []
    return [
        Finding(
            mode="exploded",
            message=f"the cost grew from {fmt(c0)} to {fmt(c1)} (x{fmt(c1 / c0)}) in "
            f"{ev.cost.size - 1} steps",
            member=ev.member,
            step=int(ev.cost.size - 1),
            figure=c1 / c0,
            threshold=t.exploded_factor,
            part="training",
            phrase=f"the cost grew x{fmt(c1 / c0, 3)} ({fmt(c0, 3)} to {fmt(c1, 3)})",
        )
    ]


def stalled(ev: Evidence) -> list[Finding]:
    """``stalled``: on a run that stayed finite, the cost fell by less than ``stall_fraction`` of
    the first cost (or rose), without growing by ``exploded_factor``."""
    t = ev.thresholds
    ends = cost_ends(ev.cost)
    if ev.nonfinite is not None or ends is None:
        return []
    c0, c1 = ends
    if c0 <= 0 or c1 > t.exploded_factor * c0:
        return []
    fell = (c0 - c1) / c0
    if fell >= t.stall_fraction:
        return []
    n = ev.cost.size - 1
    if c1 > c0 * (1 + t.stall_fraction):
        how = f"the cost rose from {fmt(c0, 3)} to {fmt(c1, 3)}"
    elif abs(fell) < 1e-3:
        how = f"the cost stayed at {fmt(c0, 3)}"
    else:
        how = f"the cost fell only {pct(fell)} ({fmt(c0, 3)} to {fmt(c1, 3)})"
    return [
        Finding(
            mode="stalled",
            message=f"{how} in {n} steps (a run that learns lowers it by at least "
            f"{fmt(100 * t.stall_fraction)}%)",
            member=ev.member,
            step=int(n),
            figure=fell,
            threshold=t.stall_fraction,
            part="training",
            phrase=how,
        )
    ]


def no_learning(ev: Evidence) -> list[Finding]:
    """``no_learning``: every hidden layer's weights changed by at most ``no_change`` between the
    first and the last record."""
    t = ev.thresholds
    hidden = [r for r in ev.last if r.hidden and r.weight_change is not None]
    if not hidden or ev.last_step == ev.first_step or ev.nonfinite is not None:
        return []
    changes = [r.weight_change for r in hidden]
    if not all(math.isfinite(c) and c <= t.no_change for c in changes):
        return []
    return [
        Finding(
            mode="no_learning",
            message=f"the hidden weights never changed in {ev.last_step} steps (largest relative "
            f"change {fmt(max(changes))})",
            member=ev.member,
            step=ev.last_step,
            figure=max(changes),
            threshold=t.no_change,
            part="training",
            phrase="the hidden weights never changed",
        )
    ]


def unstable(ev: Evidence) -> list[Finding]:
    """``unstable``: on a run that stayed finite, the cost rose at more than
    ``unstable_fraction`` of the steps and at least once by more than ``unstable_rise`` of its
    value (steps that overshoot)."""
    t = ev.thresholds
    if ev.nonfinite is not None:
        return []
    r = cost_rises(ev.cost)
    if r["steps"] < 4 or r["fraction"] <= t.unstable_fraction or r["largest"] <= t.unstable_rise:
        return []
    return [
        Finding(
            mode="unstable",
            message=f"the cost rose at {fmt(100 * r['fraction'], 3)}% of {r['steps']} steps, once "
            f"by {fmt(100 * r['largest'], 3)}%",
            member=ev.member,
            figure=r["fraction"],
            threshold=t.unstable_fraction,
            part="training",
            phrase=f"the cost rose at {pct(r['fraction'])} of the steps",
        )
    ]


def dead_grew(ev: Evidence) -> list[Finding]:
    """``dead_grew``: on a run that stayed finite, a ReLU hidden layer's dead fraction grew by
    more than ``dead_growth`` between the first and the last record and ends above
    ``dead_fraction``."""
    t = ev.thresholds
    if ev.last_step == ev.first_step or ev.nonfinite is not None:
        return []
    start = {r.layer: r.dead for r in ev.first}
    for r in ev.last:
        d0 = start.get(r.layer)
        if not r.hidden or r.dead is None or d0 is None:
            continue
        if r.dead - d0 > t.dead_growth and r.dead > t.dead_fraction:
            return [
                Finding(
                    mode="dead_grew",
                    message=f"{_where(r)}'s dead ReLU units grew from {fmt(100 * d0, 3)}% to "
                    f"{fmt(100 * r.dead, 3)}% by step {r.step}",
                    member=ev.member,
                    layer=r.layer,
                    step=r.step,
                    figure=r.dead - d0,
                    threshold=t.dead_growth,
                    part="training",
                    phrase=f"dead units in layer {r.layer} grew to {pct(r.dead)}",
                )
            ]
    return []


def slow(ev: Evidence) -> list[Finding]:
    """``slow``: against the reference cost curve, this run needs more than ``slow_factor``
    times the reference's steps to reach ``slow_target`` of the reference's cost improvement
    (or never reaches it)."""
    t = ev.thresholds
    if ev.reference is None:
        return []
    ref = np.asarray(ev.reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    if ref.size < 2 or ref[0] <= ref[-1]:
        return []
    target = ref[0] - t.slow_target * (ref[0] - ref[-1])
    n_ref = steps_to_cost(ref, target)
    n_run = steps_to_cost(ev.cost, target)
    if n_ref is None or (n_run is not None and n_run <= t.slow_factor * max(n_ref, 1)):
        return []
    took = (
        f"never reaches cost {fmt(target)} in {len(ev.cost)} steps"
        if n_run is None
        else f"reaches cost {fmt(target)} after {n_run} steps"
    )
    return [
        Finding(
            mode="slow",
            message=f"{took}; the reference does in {n_ref} steps",
            member=ev.member,
            step=n_run,
            figure=None if n_run is None else n_run / max(n_ref, 1),
            threshold=t.slow_factor,
            part="training",
            phrase=(
                f"it never reached the cost the reference reached by step {n_ref}"
                if n_run is None
                else f"it needed {n_run} steps for the cost the reference reached in {n_ref}"
            ),
        )
    ]


#: The rules at initialization, then in training; every one runs on every member.
INIT_RULES: tuple[Rule, ...] = (
    symmetric,
    gradient_flow,
    update_ratio,
    activation_growth,
    output_scale,
    saturated,
    dead_at_init,
)
TRAINING_RULES: tuple[Rule, ...] = (
    diverged,
    exploded,
    stalled,
    no_learning,
    unstable,
    dead_grew,
    slow,
)
