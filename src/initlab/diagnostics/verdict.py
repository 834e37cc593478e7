"""The two-part verdict: what the initialization does (*at initialization*, from the first
record), what then happened (*in training*, from the cost curve and the last record), and one
plain sentence that says both.

:func:`judge` runs every rule of :mod:`initlab.diagnostics.rules` on one member and returns a
:class:`Verdict`; :func:`verdict` returns its findings (the failure modes ordered by severity,
or one ``healthy`` finding).  The sentence comes first wherever a verdict is shown: ``initlab
train --diagnose``, the study's report, the web page, :func:`initlab.torch.inspect` and
:class:`initlab.torch.Watch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._text import fmt
from initlab.diagnostics.evidence import (
    Evidence,
    Finding,
    boundaries,
    cost_ends,
    link_factor,
    links,
    pct,
    saturated_layers,
    steps_to_cost,
)
from initlab.diagnostics.records import by_step, layer_stats
from initlab.diagnostics.rules import INIT_RULES, TRAINING_RULES
from initlab.diagnostics.thresholds import MODES, THRESHOLDS, Thresholds

__all__ = ["Outcome", "Verdict", "judge", "verdict"]

#: Optimizers that rescale each parameter's step by its own gradient history.
_ADAPTIVE = {"adam": "Adam", "rmsprop": "RMSProp", "adagrad": "AdaGrad", "adamw": "AdamW"}


@dataclass(frozen=True)
class Outcome:
    """What the cost did: ``steps`` taken, ``first`` and ``end`` cost (the end is the median of
    the last tenth of the finite costs), ``fell`` = ``(first - end) / first``, and
    ``target_step``: the first step at which the cost had made ``slow_target`` (90 %) of its
    fall.  All None for a run that took no step (a one-pass inspection)."""

    steps: int = 0
    first: float | None = None
    end: float | None = None
    fell: float | None = None
    target_step: int | None = None

    @property
    def trained(self) -> bool:
        return self.first is not None

    def phrase(self) -> str:
        if self.first is None or self.end is None:
            return "not trained"
        if self.fell is not None and self.fell > 0:
            text = (
                f"cost fell {fmt(100 * self.fell, 3)}% ({fmt(self.first, 3)} to {fmt(self.end, 3)})"
            )
            if self.target_step is not None:
                text += f", 90% of that by step {self.target_step}"
            return text
        return f"cost {fmt(self.first, 3)} to {fmt(self.end, 3)}"


@dataclass(frozen=True)
class Verdict:
    """The verdict on one member: ``sentence`` (one plain line saying both parts), ``status``
    (the headline: ``diverged``, ``exploded``, ``never_learned``, ``unstable``, ``slow``,
    ``learned`` (with findings at initialization), ``healthy``, or ``at_init`` for a run that
    took no step but shows findings), the findings ``at_init`` and ``in_training`` (each
    ordered by severity), the cost ``outcome``, the ``boundaries`` the graph rules did not
    cross, and ``init_figures``: the measured per-layer factors (backward ``|dZ|``, forward
    RMS) over the judged links, next to the mean-field prediction where the theory covers the
    network (``predicted_*``, None elsewhere)."""

    member: int
    sentence: str
    status: str
    at_init: tuple[Finding, ...]
    in_training: tuple[Finding, ...]
    outcome: Outcome
    boundaries: tuple[str, ...] = ()
    init_figures: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        """Every failure finding, most severe first; ``[healthy]`` when there is none."""
        found = sorted((*self.at_init, *self.in_training), key=_order)
        if found:
            return found
        return [
            Finding(
                mode="healthy",
                message=(
                    "no failure mode found: gradients neither vanish nor explode, units differ, "
                    "the cost falls"
                    if self.outcome.trained
                    else "no failure mode found at initialization: gradients neither vanish "
                    "nor explode, units differ (training not observed)"
                ),
                member=self.member,
                part="none",
                phrase=self.outcome.phrase(),
            )
        ]

    @property
    def modes(self) -> list[str]:
        """The failure modes found, most severe first, each once (``["healthy"]`` if none)."""
        out: list[str] = []
        for f in self.findings:
            if f.mode not in out:
                out.append(f.mode)
        return out

    def to_dict(self) -> dict[str, Any]:
        from initlab._json import jsonable

        return jsonable(
            {
                "member": self.member,
                "sentence": self.sentence,
                "status": self.status,
                "at_init": {
                    "findings": [f.to_dict() for f in self.at_init],
                    "figures": self.init_figures,
                    "boundaries": list(self.boundaries),
                },
                "in_training": {
                    "findings": [f.to_dict() for f in self.in_training],
                    "outcome": {**self.outcome.__dict__, "phrase": self.outcome.phrase()},
                    "notes": list(self.notes),
                },
                "findings": [f.to_dict() for f in self.findings],
            }
        )

    def lines(self) -> list[str]:
        """The verdict as text: the sentence, then both parts with their evidence."""
        out = [f"verdict: {self.sentence}"]
        out.append("  at initialization:" + ("" if self.at_init else " no failure mode found"))
        out += [f"    - {f.mode}: {f.message}" for f in self.at_init]
        fig = self.init_figures
        if fig.get("backward_factor") is not None or fig.get("forward_factor") is not None:
            text = (
                f"    per-layer factor over {fig['links']} judged link(s): gradient |dZ| "
                f"x{fmt(fig.get('backward_factor'), 3)} toward the input, activations "
                f"x{fmt(fig.get('forward_factor'), 3)} (well-scaled: x1)"
            )
            if fig.get("predicted_backward_factor") is not None:
                text += (
                    f"; mean-field prediction: gradient "
                    f"x{fmt(fig['predicted_backward_factor'], 3)}, activations "
                    f"x{fmt(fig['predicted_forward_factor'], 3)}"
                )
            out.append(text)
        if self.boundaries:
            out.append("    not judged across: " + "; ".join(self.boundaries))
        if not self.outcome.trained:
            out.append("  in training: not observed (no step was taken)")
        else:
            out.append(f"  in training: {self.outcome.phrase()}")
            out += [f"    - {f.mode}: {f.message}" for f in self.in_training]
            out += [f"    note: {n}" for n in self.notes]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _order(f: Finding) -> tuple[int, int]:
    return (-f.severity, MODES.index(f.mode) if f.mode in MODES else len(MODES))


def evidence(
    history: Any,
    member: int = 0,
    reference: Any = None,
    reference_member: int = 0,
    thresholds: Thresholds = THRESHOLDS,
) -> Evidence:
    """The :class:`~initlab.diagnostics.evidence.Evidence` of ``member`` in ``history``."""
    has_records = "layer_stats" in history.records
    steps = by_step(layer_stats(history, member)) if has_records else {}
    first = steps[min(steps)] if steps else []
    last = steps[max(steps)] if steps else []
    ref = None
    if reference is not None:
        ref = reference.cost[reference_member] if hasattr(reference, "cost") else reference
        ref = np.asarray(ref, dtype=float)
    cost = np.asarray(history.cost, dtype=np.float64)
    cost = cost[member] if cost.ndim == 2 else cost
    return Evidence(
        member=member,
        first=first,
        last=last,
        cost=cost,
        diverged_at=history.diverged_at[member],
        optimizer=history.meta.get("optimizer"),
        reference=ref,
        thresholds=thresholds,
    )


def outcome(ev: Evidence) -> Outcome:
    """The cost outcome of ``ev`` (:class:`Outcome`)."""
    ends = cost_ends(ev.cost)
    if ends is None:
        return Outcome(steps=max(0, int(np.asarray(ev.cost).size) - 1))
    c0, c1 = ends
    fell = (c0 - c1) / c0 if c0 > 0 else None
    target = None
    if fell is not None and fell > 0:
        target = steps_to_cost(ev.cost, c0 - ev.thresholds.slow_target * (c0 - c1))
    return Outcome(steps=int(ev.cost.size - 1), first=c0, end=c1, fell=fell, target_step=target)


def init_figures(ev: Evidence, prediction: dict[str, Any] | None) -> dict[str, Any]:
    """Measured per-layer factors over the judged links at the first record, and the
    mean-field prediction's over the same links (``prediction`` from
    :func:`initlab.diagnostics.predicted_variance`; None where the theory does not apply)."""
    pairs = links(ev.first)
    out: dict[str, Any] = {
        "links": len(pairs),
        "backward_factor": link_factor(pairs, "dZ_norm", backward=True) if ev.grads_known else None,
        "forward_factor": link_factor(pairs, "a_rms", backward=False),
        "predicted_backward_factor": None,
        "predicted_forward_factor": None,
        "prediction_note": None if prediction is None else prediction.get("note"),
    }
    if prediction is None or prediction.get("predicted_q") is None or not pairs:
        return out
    q, g = prediction["predicted_q"], prediction["predicted_grad"]
    units = [r.units for r in ev.first]
    bw, fw = [], []
    for lo, up, _ in pairs:
        i, j = lo.layer - 1, up.layer - 1
        if min(q[i], q[j], g[i], g[j]) > 0:
            bw.append(np.log(np.sqrt(units[i] * g[i]) / np.sqrt(units[j] * g[j])))
            fw.append(np.log(np.sqrt(q[j] / q[i])))
    if bw:
        out["predicted_backward_factor"] = float(np.exp(np.mean(bw)))
        out["predicted_forward_factor"] = float(np.exp(np.mean(fw)))
    return out


def judge(
    history: Any,
    member: int = 0,
    reference: Any = None,
    reference_member: int = 0,
    thresholds: Thresholds = THRESHOLDS,
    *,
    predict: bool = True,
) -> Verdict:
    """The two-part :class:`Verdict` on member ``member`` of ``history``: every rule of
    :data:`~initlab.diagnostics.rules.INIT_RULES` and
    :data:`~initlab.diagnostics.rules.TRAINING_RULES` runs (none silences another), the findings
    are split by their ``part`` and ordered by severity, and the sentence is composed from
    both.  ``reference`` (another History or a cost curve) enables the ``slow`` rule;
    ``predict=False`` skips the mean-field prediction.  A History without per-layer records
    (trained without :class:`~initlab.diagnostics.LayerStats`) gets the training part only,
    judged from its cost curve."""
    ev = evidence(history, member, reference, reference_member, thresholds)
    found = [f for rule in (*INIT_RULES, *TRAINING_RULES) for f in rule(ev)]
    at_init = tuple(sorted((f for f in found if f.part == "init"), key=_order))
    in_training = tuple(sorted((f for f in found if f.part != "init"), key=_order))
    out = outcome(ev)
    prediction = None
    if predict and history.meta.get("sizes") is not None and ev.first:
        from initlab.diagnostics.report import predicted_variance

        prediction = predicted_variance(history, member)
    status = _status(at_init, in_training, out)
    text = sentence(status, at_init, in_training, out, ev.optimizer)
    if ev.first and ev.grads_known and not links(ev.first) and status == "healthy":
        # every pair of consecutive layers is separated by a boundary: nothing was compared
        start = f"Healthy: {out.phrase()}; at" if out.trained else "Healthy at"
        text = (
            f"{start} initialization units differ and none saturate or die; no two "
            "consecutive layers could be compared (boundaries between them)."
        )
    if ev.first and not ev.grads_known and status == "healthy":  # a forward-only pass
        text = "Healthy at initialization: activations stay level and units differ; "
        text += "gradients were not measured."
    if not ev.first:  # no per-layer records: nothing is known of the initialization
        status = "learned" if status == "healthy" else status
        if status == "learned":
            text = f"Learned: {out.phrase()}."
        text += " (Per-layer statistics not recorded: nothing judged at initialization.)"
    return Verdict(
        member=member,
        sentence=text,
        status=status,
        at_init=at_init,
        in_training=in_training,
        outcome=out,
        boundaries=tuple(boundaries(ev.first)),
        init_figures=init_figures(ev, prediction),
        notes=tuple(_notes(ev)),
    )


def _notes(ev: Evidence) -> list[str]:
    """What the last record shows that is no failure by itself (late saturation)."""
    if ev.last_step == ev.first_step:
        return []
    late = saturated_layers(ev.last, ev.thresholds)
    return [
        f"at step {r.step} {pct(r.saturated)} of layer {r.layer}'s {r.activation} units are "
        "saturated (not at the start; a trained tanh/sigmoid network often is)"
        for r in late
    ]


def verdict(
    history: Any,
    member: int = 0,
    reference: Any = None,
    reference_member: int = 0,
    thresholds: Thresholds = THRESHOLDS,
) -> list[Finding]:
    """The failure modes member ``member`` of ``history`` shows, most severe first, each with
    its evidence; ``[Finding(mode="healthy", ...)]`` if none (see :func:`judge` for the whole
    two-part verdict and its sentence)."""
    return judge(history, member, reference, reference_member, thresholds, predict=False).findings


_STATUS = (
    ("diverged", "diverged"),
    ("exploded", "exploded"),
    ("no_learning", "never_learned"),
    ("stalled", "never_learned"),
    ("unstable", "unstable"),
    ("slow", "slow"),
)


def _status(at_init: tuple[Finding, ...], in_training: tuple[Finding, ...], out: Outcome) -> str:
    modes = {f.mode for f in in_training}
    for mode, status in _STATUS:
        if mode in modes:
            return status
    if not out.trained:
        return "at_init" if at_init else "healthy"
    return "learned" if at_init or in_training else "healthy"


def _join(phrases: list[str]) -> str:
    phrases = [p for p in dict.fromkeys(phrases) if p]
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def sentence(
    status: str,
    at_init: tuple[Finding, ...],
    in_training: tuple[Finding, ...],
    out: Outcome,
    optimizer: str | None = None,
) -> str:
    """One plain sentence saying both parts, e.g. "Training worked (cost fell 98%) although
    gradients shrank x20 per layer at the start (Adam rescales each parameter's step)"."""
    init = _join([f.phrase for f in at_init])
    train = _join([f.phrase for f in in_training])
    start = f"; at the start {init}" if init else ""
    if status == "diverged":
        return f"Diverged: {train}{start}."
    if status == "exploded":
        return f"Exploded: {train}{start}."
    if status == "never_learned":
        symmetric = [f.phrase for f in at_init if f.mode == "symmetric"]
        cause = symmetric[0] if symmetric else init
        return f"Never learned: {cause + '; ' if cause else ''}{train}."
    adaptive = _ADAPTIVE.get((optimizer or "").lower())
    rescaled = adaptive is not None and any(f.mode in ("vanishing", "exploding") for f in at_init)
    note = f" ({adaptive} rescales each parameter's step)" if rescaled else ""
    if status in ("unstable", "slow"):
        word = "Unstable" if status == "unstable" else "Slow"
        return f"{word}: {train} ({out.phrase()}){start}."
    if status == "learned":
        text = f"Training worked ({out.phrase()})"
        if init:
            text += f" although {init} at the start{note}"
        if train:
            text += f"{',' if init else ''} but {train}"
        return text + "."
    if status == "at_init":
        return f"At initialization {init}; training not observed."
    if out.trained:
        return (
            f"Healthy: {out.phrase()}; at initialization signals and gradients stay level and "
            "units differ."
        )
    return "Healthy at initialization: signals and gradients stay level and units differ."
