"""Diagnostics: per-layer statistics recorded while training, and the verdict they support.

:class:`LayerStats` is a probe (see :mod:`initlab.train`).  At step 0, every ``every`` steps and at
the last step it records, for every population member and every layer ``l = 1..L``:

* pre-activations ``Z_l`` and activations ``A_l``: mean, std, a histogram on fixed bins (set at
  the first record, so histograms are comparable across steps), the fraction of saturated
  activations (``|tanh| > 0.97``; sigmoid outside ``[0.03, 0.97]``), the fraction of *dead*
  units (ReLU units that output 0 for every example of the batch) and of exact zeros;
* gradients of the mean cost w.r.t. ``A_l``, ``Z_l``, ``W_l`` and ``b_l``: Frobenius norm,
  RMS (``norm / sqrt(size)``, comparable across widths) and, for ``dZ`` and ``dW``, a histogram
  of ``log10 |g|`` on fixed bins (exact zeros counted apart);
* ``grad:data = std(dW) / std(W)`` and ``update:data = std(u) / std(W)`` with ``u`` the applied
  update (a healthy update:data is around 1e-3), and the weights' change since step 0;
* symmetry of hidden layers: the number of *distinct* units (units whose incoming weights, bias
  and activations coincide within a relative tolerance count as one), the largest cosine
  similarity between two units' incoming weight vectors, and the *effective width*
  ``tr(C)^2 / ||C||_F^2`` of ``C = A^T A / m`` (1 when all units are the same, n when they are
  orthogonal and equally strong; 0 when the layer outputs only zeros).

:func:`verdict` reads a History and names the failure modes it shows, each with its evidence
(layer, step, figure, threshold).  Every threshold lives in :data:`THRESHOLDS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from initlab._text import fmt, format_table
from initlab.train import History, Schedule, StepEvent

__all__ = [
    "MODES",
    "THRESHOLDS",
    "Finding",
    "LayerStats",
    "Thresholds",
    "hist_edges",
    "LAYER_COLUMNS",
    "cost_rises",
    "format_layer_stats",
    "layer_stats",
    "per_layer_factor",
    "predicted_variance",
    "report",
    "steps_to_cost",
    "verdict",
]

#: Every failure mode :func:`verdict` can name, plus "healthy".
MODES = (
    "diverged",
    "symmetric",
    "no_learning",
    "vanishing",
    "exploding",
    "saturated",
    "dead_relu",
    "slow",
    "healthy",
)


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the statistics and the verdict rules, in one place.

    Statistics:

    * ``tanh_saturation``: a tanh activation is saturated when ``|a| > 0.97`` (``tanh'(z) < 0.06``);
    * ``sigmoid_low`` / ``sigmoid_high``: a sigmoid activation is saturated outside [0.03, 0.97]
      (``sigmoid'(z) < 0.03``, an eighth of its peak);
    * ``symmetry_rtol``: two units are the same unit when their incoming weights, bias and
      activations agree within this relative tolerance.

    Verdict rules (each tested on a case that must trigger it and one that must not):

    * ``symmetric``: a hidden layer of more than one unit has ``distinct_units == 1`` at the last
      record;
    * ``no_learning``: every hidden layer's weights changed by at most ``no_change`` (relative to
      their norm at step 0, or absolutely when that norm is 0) over the run;
    * ``vanishing``: at step 0 the norm of the back-propagated gradient ``dZ`` (over the batch
      and the layer's units) shrinks, on average per hidden layer from the last hidden layer
      toward the first, by more than ``grad_factor``; or the first layer's update:data is below
      ``update_ratio_gap`` times the last layer's.  The norm, not the per-unit RMS, is what a
      well-scaled (He, fan_in) initialization keeps level when widths change
      (``n_l Var(dZ_l) = n_{l+1} Var(dZ_{l+1})``, the quantity :mod:`initlab.theory` judges too);
      the output layer is left out because its delta is set by the loss.  Needs two hidden
      layers and recorded gradients (a forward-only record skips the gradient rules);
    * ``exploding``: at step 0 that per-layer factor exceeds ``grad_factor`` (gradients grow
      toward the input), or the RMS of the hidden activations grows by more than
      ``activation_factor`` per layer, or the gradients overflow (non-finite);
    * ``saturated``: at step 0 a tanh/sigmoid hidden layer has more than ``saturated_fraction``
      of its activations saturated;
    * ``dead_relu``: at step 0 or at the end a ReLU hidden layer has more than ``dead_fraction``
      of its units dead;
    * ``diverged``: the cost or an update became NaN or inf (:attr:`History.diverged_at`);
    * ``slow``: given a reference run, this run needs more than ``slow_factor`` times the
      reference's steps to reach ``slow_target`` of the reference's cost improvement (or never
      reaches it).
    """

    tanh_saturation: float = 0.97
    sigmoid_low: float = 0.03
    sigmoid_high: float = 0.97
    symmetry_rtol: float = 1e-6
    no_change: float = 1e-12
    grad_factor: float = 2.0
    activation_factor: float = 2.0
    update_ratio_gap: float = 1e-3
    saturated_fraction: float = 0.5
    dead_fraction: float = 0.5
    slow_factor: float = 2.0
    slow_target: float = 0.9
    healthy_update_data: float = 1e-3  # the guide line of update:data plots

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


THRESHOLDS = Thresholds()

#: Fixed bins of the log10 |gradient| histograms, comparable across steps and layers.
GRAD_LOG10_EDGES = np.linspace(-16.0, 4.0, 81)
HIST_BINS = 40
_BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}
_RELU_FAMILY = ("relu",)


# ------------------------------------------------------------------------------- statistics


def _rms(x: np.ndarray) -> np.ndarray:
    """Per-member root mean square over every axis but the first."""
    flat = x.reshape(x.shape[0], -1)
    return np.sqrt(np.mean(flat * flat, axis=1))


def _norm(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(x.shape[0], -1)
    return np.sqrt(np.sum(flat * flat, axis=1))


def _std(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).std(axis=1)


def _hist(x: np.ndarray, edges: np.ndarray) -> tuple[list[int], int, int]:
    """Counts in ``edges`` plus the counts below and above them (nothing is dropped)."""
    v = x.ravel()
    finite = v[np.isfinite(v)]
    counts, _ = np.histogram(finite, bins=edges)
    below = int(np.sum(finite < edges[0]))
    above = int(np.sum(finite > edges[-1])) + int(v.size - finite.size)
    return counts.tolist(), below, above


def _log_hist(g: np.ndarray) -> dict[str, Any]:
    a = np.abs(g.ravel())
    zeros = int(np.sum(a == 0))
    with np.errstate(divide="ignore"):
        logs = np.log10(a[a > 0])
    counts, below, above = _hist(logs, GRAD_LOG10_EDGES)
    return {"counts": counts, "below": below, "above": above, "zeros": zeros}


def saturation(activation: str, A: np.ndarray, t: Thresholds = THRESHOLDS) -> np.ndarray | None:
    """Per-member fraction of saturated activations, or None for activations that do not
    saturate."""
    if activation == "tanh":
        sat = np.abs(A) > t.tanh_saturation
    elif activation == "sigmoid":
        sat = (A < t.sigmoid_low) | (A > t.sigmoid_high)
    else:
        return None
    return sat.reshape(sat.shape[0], -1).mean(axis=1)


def dead_units(activation: str, A: np.ndarray) -> np.ndarray | None:
    """Per-member fraction of units that output exactly 0 for every example (ReLU only)."""
    if activation not in _RELU_FAMILY:
        return None
    return np.all(A == 0, axis=1).mean(axis=1)


def _unit_groups(sig: np.ndarray, rtol: float) -> int:
    """Number of distinct rows of ``sig`` (n, d): rows closer than ``rtol`` relative to the
    larger norm are the same unit (connected components of that relation)."""
    n = sig.shape[0]
    sq = np.einsum("ij,ij->i", sig, sig)
    gram = sig @ sig.T
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0)
    scale = np.maximum(sq[:, None], sq[None, :])
    close = d2 <= (rtol * rtol) * scale
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(close, 1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
    return len({find(i) for i in range(n)})


def symmetry(
    W: np.ndarray, b: np.ndarray, A: np.ndarray, t: Thresholds = THRESHOLDS
) -> dict[str, float]:
    """Symmetry of one layer of one member: ``W`` (fan_in, n), ``b`` (n,), ``A`` (m, n)."""
    n = W.shape[1]
    scale_w = float(np.max(np.abs(W))) or 1.0
    scale_a = float(np.max(np.abs(A))) or 1.0
    sig = np.concatenate([W.T / scale_w, b[:, None] / scale_w, A.T / scale_a], axis=1)
    distinct = _unit_groups(sig.astype(np.float64), t.symmetry_rtol)
    norms = np.linalg.norm(W, axis=0)
    if n > 1:
        gram = W.T @ W
        both = np.outer(norms, norms)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(both > 0, gram / np.where(both > 0, both, 1.0), 0.0)
        zero = norms == 0
        cos[np.ix_(zero, zero)] = 1.0  # two all-zero units are the same direction
        np.fill_diagonal(cos, -np.inf)
        max_cos = float(np.max(cos))
    else:
        max_cos = float("nan")
    C = (A.T @ A) / A.shape[0]
    fro2 = float(np.sum(C * C))
    eff = float(np.trace(C) ** 2 / fro2) if fro2 > 0 else 0.0
    return {"distinct_units": distinct, "max_cosine": max_cos, "effective_width": eff}


class LayerStats:
    """A probe recording per-layer statistics (see the module docstring) for every member.

    ``every``: record every N steps (plus step 0 and the last step).  ``members``: which
    population members to record (default all).  ``histograms=False`` skips the histograms.
    ``keep="first_last"`` keeps only the records of the first and of the latest recorded step
    (bounded memory for long interactive runs; :func:`verdict` needs no more).  Histogram bins
    are fixed per member and layer at the member's first record (:meth:`edges_for`).
    The probe reads these :class:`~initlab.train.StepEvent` fields: ``step``, ``net`` (sizes,
    activations, weights, biases, population), ``X`` (the batch, for the input's second
    moment), ``cache.A``/``cache.Z``, ``grads.dW``/``db``/``dZ``/``dA``, ``updates`` (the W
    entries), ``cost`` and ``active``.
    ``result()`` is plain data: ``{"records": [...], "edges": {"grad_log10": [...],
    "members": {"0": {"a1": [...], "z1": [...], ...}, ...}}, "initial": {...},
    "thresholds": {...}}``; :func:`layer_stats` returns the records.
    """

    name = "layer_stats"

    def __init__(
        self,
        every: int = 10,
        members: Sequence[int] | None = None,
        histograms: bool = True,
        symmetry: bool = True,
        thresholds: Thresholds = THRESHOLDS,
        keep: str = "all",
    ) -> None:
        from initlab._checks import check_choice

        self.schedule = Schedule.every(every)
        self.every = self.schedule.period
        self.keep = check_choice("keep", keep, ("all", "first_last"))
        self.members = None if members is None else list(members)
        self.histograms = histograms
        self.do_symmetry = symmetry
        self.t = thresholds
        self.records: list[dict[str, Any]] = []
        self.edges: dict[int, dict[str, list[float]]] = {}
        self.initial: dict[str, Any] = {}
        self._w0: list[np.ndarray] | None = None
        self._first_step: int | None = None

    def edges_for(self, member: int) -> dict[str, list[float]]:
        """The histogram bin edges of ``member``: ``"a{l}"``/``"z{l}"`` per layer and
        ``"grad_log10"`` for the gradient histograms."""
        return {**self.edges.get(member, {}), "grad_log10": GRAD_LOG10_EDGES.tolist()}

    def _edges(
        self, member: int, key: str, activation: str, x: np.ndarray, bounded: bool
    ) -> np.ndarray:
        table = self.edges.setdefault(member, {})
        if key not in table:
            if bounded and activation in _BOUNDED:
                lo, hi = _BOUNDED[activation]
            else:
                finite = x[np.isfinite(x)]
                s = float(finite.std()) if finite.size else 0.0
                m = float(finite.mean()) if finite.size else 0.0
                half = 4.0 * s if s > 0 else 1.0
                lo, hi = m - half, m + half
            table[key] = np.linspace(lo, hi, HIST_BINS + 1).tolist()
        return np.asarray(table[key])

    def wants(self, step: int, last: int) -> bool:
        """The probe's schedule: step 0, every ``every`` steps and the last step of a run."""
        return self.schedule.wants(step, last)

    def __call__(self, ev: StepEvent) -> None:
        net = ev.net
        K = net.population
        members = range(K) if self.members is None else self.members
        if self._first_step is None:
            self._first_step = ev.step
        elif self.keep == "first_last":
            self.records = [r for r in self.records if r["step"] == self._first_step]
        if self._w0 is None:
            self._w0 = [w.copy() for w in net.weights]
            self.initial = {
                "step": ev.step,
                "cost": ev.cost.tolist(),
                "output_mean": np.mean(ev.cache.A[-1], axis=(1, 2)).tolist(),
                "output_std": _std(ev.cache.A[-1]).tolist(),
                "input_second_moment": float(np.mean(np.square(ev.X))),
            }
        L = net.depth
        for l in range(L):
            g = net.activations[l]
            W, b = net.weights[l], net.biases[l]
            Z, A = ev.cache.Z[l], ev.cache.A[l + 1]
            dW, dZ = ev.grads.dW[l], ev.grads.dZ[l]
            dA = ev.grads.dA[l]
            uW = ev.updates[2 * l]
            stats = {
                "z_mean": np.mean(Z, axis=(1, 2)),
                "z_std": _std(Z),
                "a_mean": np.mean(A, axis=(1, 2)),
                "a_std": _std(A),
                "a_rms": _rms(A),
                "a_zero": np.mean(A.reshape(K, -1) == 0, axis=1),
                "dZ_norm": _norm(dZ),
                "dZ_rms": _rms(dZ),
                "dW_norm": _norm(dW),
                "dW_std": _std(dW),
                "db_norm": _norm(ev.grads.db[l]),
                "w_mean": np.mean(W, axis=(1, 2)),
                "w_std": _std(W),
                "update_std": _std(uW),
            }
            if dA is not None:
                stats["dA_norm"] = _norm(dA)
                stats["dA_rms"] = _rms(dA)
            sat = saturation(g.name, A, self.t)
            dead = dead_units(g.name, A)
            w0 = self._w0[l]
            base = _norm(w0)
            change = _norm(W - w0)
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_data = stats["dW_std"] / stats["w_std"]
                update_data = stats["update_std"] / stats["w_std"]
                rel_change = np.where(base > 0, change / np.where(base > 0, base, 1.0), change)
            for k in members:
                rec: dict[str, Any] = {
                    "step": ev.step,
                    "member": k,
                    "layer": l + 1,
                    "units": net.sizes[l + 1],
                    "activation": g.spec,
                    "hidden": l < L - 1,
                    "cost": float(ev.cost[k]),
                    "active": bool(ev.active[k]),
                }
                for key, v in stats.items():
                    rec[key] = float(v[k])
                rec["saturated"] = None if sat is None else float(sat[k])
                rec["dead"] = None if dead is None else float(dead[k])
                rec["grad_data"] = float(grad_data[k])
                rec["update_data"] = float(update_data[k])
                rec["log10_update_data"] = (
                    float(np.log10(update_data[k])) if update_data[k] > 0 else None
                )
                rec["weight_change"] = float(rel_change[k])
                if self.do_symmetry and l < L - 1:
                    rec.update(symmetry(W[k], b[k, 0], A[k], self.t))
                if self.histograms:
                    ez = self._edges(k, f"z{l + 1}", g.name, Z[k], bounded=False)
                    ea = self._edges(k, f"a{l + 1}", g.name, A[k], bounded=True)
                    rec["z_hist"] = _hist(Z[k], ez)[0]
                    counts, below, above = _hist(A[k], ea)
                    rec["a_hist"] = counts
                    rec["a_hist_outside"] = [below, above]
                    rec["dZ_hist"] = _log_hist(dZ[k])
                    rec["dW_hist"] = _log_hist(dW[k])
                self.records.append(rec)

    def result(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "edges": {
                "grad_log10": GRAD_LOG10_EDGES.tolist(),
                "members": {str(k): dict(v) for k, v in self.edges.items()},
            },
            "initial": self.initial,
            "thresholds": self.t.to_dict(),
        }


def hist_edges(history: History, member: int = 0) -> dict[str, list[float]]:
    """Histogram bin edges recorded for ``member``: ``"a{l}"``, ``"z{l}"``, ``"grad_log10"``."""
    layer_stats(history, member)  # the clear error if there is no LayerStats record
    e = history.records[LayerStats.name]["edges"]
    return {**e["members"].get(str(member), {}), "grad_log10": e["grad_log10"]}


def layer_stats(history: History, member: int | None = None) -> list[dict[str, Any]]:
    """The records of the :class:`LayerStats` probe in ``history`` (one member, or all)."""
    rec = history.records.get(LayerStats.name)
    if rec is None:
        raise ValueError(
            "this History has no per-layer statistics: train with "
            "probes=[initlab.diagnostics.LayerStats(...)] (or `initlab train --diagnose`)"
        )
    rows = rec["records"]
    return rows if member is None else [r for r in rows if r["member"] == member]


# --------------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Finding:
    """One failure mode with its evidence: where (layer, step), what was measured (figure) and
    the threshold it crossed, in a sentence."""

    mode: str
    message: str
    member: int = 0
    layer: int | None = None
    step: int | None = None
    figure: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mode}: {self.message}"


def _by_step(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["step"], []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r["layer"])
    return out


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


def verdict(
    history: History,
    member: int = 0,
    reference: History | np.ndarray | None = None,
    reference_member: int = 0,
    thresholds: Thresholds = THRESHOLDS,
) -> list[Finding]:
    """The failure modes member ``member`` of ``history`` shows, each with its evidence;
    ``[Finding("healthy", ...)]`` if none.  ``reference`` (another History or a cost curve)
    enables the ``slow`` rule.  The rules and thresholds are those of :class:`Thresholds`."""
    t = thresholds
    rows = layer_stats(history, member)
    steps = _by_step(rows)
    found: list[Finding] = []
    first_step = min(steps) if steps else None
    last_step = max(steps) if steps else None
    first = steps.get(first_step, [])
    last = steps.get(last_step, [])

    d = history.diverged_at[member]
    if d is not None:
        found.append(
            Finding(
                "diverged", f"the cost or an update became NaN/inf at step {d}", member, None, d
            )
        )

    for r in last:
        if r["hidden"] and r["units"] > 1 and r.get("distinct_units") == 1:
            found.append(
                Finding(
                    "symmetric",
                    f"all {r['units']} units of layer {r['layer']} are the same unit at step "
                    f"{r['step']} (max cosine {fmt(r['max_cosine'])}): symmetry never broke",
                    member,
                    r["layer"],
                    r["step"],
                    1.0,
                    1.0,
                    {"effective_width": r["effective_width"]},
                )
            )
            break

    hidden_last = [r for r in last if r["hidden"]]
    if hidden_last and last_step != first_step:
        changes = [r["weight_change"] for r in hidden_last]
        if all(math.isfinite(c) and c <= t.no_change for c in changes):
            found.append(
                Finding(
                    "no_learning",
                    f"the hidden weights never changed in {last_step} steps (largest relative "
                    f"change {fmt(max(changes))})",
                    member,
                    None,
                    last_step,
                    max(changes),
                    t.no_change,
                )
            )

    if first:
        # back-propagated gradient norm across the hidden layers, from the last to the first
        hidden = [r for r in first if r["hidden"]]
        grads_known = all(r.get("dZ_norm") is not None for r in first)
        factor = per_layer_factor([r["dZ_norm"] for r in reversed(hidden)]) if grads_known else None
        finite_grads = not grads_known or all(
            math.isfinite(r["dZ_norm"]) and math.isfinite(r["dW_norm"]) for r in first
        )
        if factor is not None:
            h0, h1 = hidden[0], hidden[-1]
            if factor < 1.0 / t.grad_factor:
                found.append(
                    Finding(
                        "vanishing",
                        f"at step {first_step} the gradient norm |dZ| shrinks by "
                        f"x{fmt(1 / factor)} per hidden layer toward the input "
                        f"({fmt(h1['dZ_norm'])} in layer {h1['layer']}, {fmt(h0['dZ_norm'])} "
                        "in layer 1)",
                        member,
                        1,
                        first_step,
                        factor,
                        1.0 / t.grad_factor,
                        {"dZ_norm": [r["dZ_norm"] for r in first]},
                    )
                )
            elif factor > t.grad_factor:
                found.append(
                    Finding(
                        "exploding",
                        f"at step {first_step} the gradient norm |dZ| grows by x{fmt(factor)} "
                        f"per hidden layer toward the input ({fmt(h1['dZ_norm'])} in layer "
                        f"{h1['layer']}, {fmt(h0['dZ_norm'])} in layer 1)",
                        member,
                        1,
                        first_step,
                        factor,
                        t.grad_factor,
                        {"dZ_norm": [r["dZ_norm"] for r in first]},
                    )
                )
        if grads_known and not any(f.mode == "vanishing" for f in found) and len(first) > 1:
            u_first = first[0]["update_data"]
            u_last = first[-1]["update_data"]
            if (
                math.isfinite(u_first)
                and math.isfinite(u_last)
                and u_last > 0
                and u_first < t.update_ratio_gap * u_last
            ):
                found.append(
                    Finding(
                        "vanishing",
                        f"at step {first_step} layer 1's update:data {fmt(u_first)} is "
                        f"{fmt(u_first / u_last)} of layer {first[-1]['layer']}'s ({fmt(u_last)})",
                        member,
                        1,
                        first_step,
                        u_first / u_last,
                        t.update_ratio_gap,
                    )
                )
        act = per_layer_factor([r["a_rms"] for r in hidden])
        if (
            act is not None
            and act > t.activation_factor
            and not any(f.mode == "exploding" for f in found)
        ):
            found.append(
                Finding(
                    "exploding",
                    f"at step {first_step} the hidden activations grow by x{fmt(act)} per layer "
                    f"(RMS {fmt(hidden[0]['a_rms'])} in layer 1 to {fmt(hidden[-1]['a_rms'])} in "
                    f"layer {hidden[-1]['layer']})",
                    member,
                    hidden[-1]["layer"],
                    first_step,
                    act,
                    t.activation_factor,
                )
            )
        if not finite_grads and not any(f.mode == "exploding" for f in found):
            found.append(
                Finding(
                    "exploding",
                    f"the gradients overflow at step {first_step}",
                    member,
                    None,
                    first_step,
                )
            )
        for r in hidden:
            if r["saturated"] is not None and r["saturated"] > t.saturated_fraction:
                found.append(
                    Finding(
                        "saturated",
                        f"at step {first_step} {fmt(100 * r['saturated'], 3)}% of layer "
                        f"{r['layer']}'s {r['activation']} activations are saturated",
                        member,
                        r["layer"],
                        first_step,
                        r["saturated"],
                        t.saturated_fraction,
                    )
                )
                break
        for when in (first, last):
            dead = [
                r
                for r in when
                if r["hidden"] and r["dead"] is not None and r["dead"] > t.dead_fraction
            ]
            if dead:
                r = dead[0]
                found.append(
                    Finding(
                        "dead_relu",
                        f"at step {r['step']} {fmt(100 * r['dead'], 3)}% of layer {r['layer']}'s "
                        f"ReLU units output 0 for every example",
                        member,
                        r["layer"],
                        r["step"],
                        r["dead"],
                        t.dead_fraction,
                    )
                )
                break

    if reference is not None:
        ref = reference.cost[reference_member] if isinstance(reference, History) else reference
        ref = np.asarray(ref, dtype=float)
        ref = ref[np.isfinite(ref)]
        if ref.size > 1 and ref[0] > ref[-1]:
            target = ref[0] - t.slow_target * (ref[0] - ref[-1])
            n_ref = steps_to_cost(ref, target)
            n_run = steps_to_cost(history.cost[member], target)
            if n_ref is not None and (n_run is None or n_run > t.slow_factor * max(n_ref, 1)):
                took = "never" if n_run is None else f"after {n_run} steps"
                found.append(
                    Finding(
                        "slow",
                        f"reaches cost {fmt(target)} {took}; the reference does in {n_ref} steps",
                        member,
                        None,
                        n_run,
                        None if n_run is None else n_run / max(n_ref, 1),
                        t.slow_factor,
                    )
                )
    if not found:
        found.append(
            Finding(
                "healthy",
                "no failure mode found: gradients neither vanish nor explode, units differ, "
                "weights learn",
                member,
            )
        )
    return found


def predicted_variance(history: History, member: int = 0) -> dict[str, Any]:
    """The mean-field prediction (:mod:`initlab.theory`) for member ``member``'s network at
    initialization, next to what was measured at the first record.

    Returns ``{"layers", "measured_q", "predicted_q", "measured_grad", "predicted_grad",
    "note"}``: ``q`` is ``Var(Z_l)``, ``grad`` is ``Var(dZ_l)`` with the prediction anchored at
    the measured output layer (the theory fixes only ratios backward).  The input variance is
    the measured mean of ``X^2``.  Where the theory does not apply (a constant or non-random
    scheme, a non-zero mean) the predicted lists are None and ``note`` says why."""
    from initlab.schemes import distribution, parse_scheme
    from initlab.theory import predict_network

    rows = layer_stats(history, member)
    steps = _by_step(rows)
    first = steps[min(steps)]
    init = history.records[LayerStats.name]["initial"]
    out: dict[str, Any] = {
        "layers": [r["layer"] for r in first],
        "measured_q": [r["z_std"] ** 2 for r in first],
        "measured_grad": [r["dZ_rms"] ** 2 for r in first],
        "predicted_q": None,
        "predicted_grad": None,
        "note": "",
    }
    meta = history.meta
    try:
        sizes = list(meta["sizes"])
        acts = list(meta["activations"])
        scheme = meta["weight_init"][member]
        bias = parse_scheme(meta["bias_init"][member])
        bias_var = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            d = distribution(bias, n_in, n_out)
            if d is None or d.mean != 0:
                raise ValueError(f"bias scheme {bias} has no zero-mean law")
            bias_var.append(d.variance)
        pred = predict_network(
            sizes,
            acts[:-1],
            scheme,
            bias_variance=bias_var,
            input_variance=init.get("input_second_moment", 1.0),
            output_activation=acts[-1] if acts[-1] != "softmax" else "linear",
            output_grad_variance=out["measured_grad"][-1] or 1.0,
        )
    except (KeyError, ValueError, TypeError) as exc:
        out["note"] = f"no mean-field prediction: {exc}"
        return out
    out["predicted_q"] = list(pred.q_forward)
    out["predicted_grad"] = list(pred.grad_variance)
    out["note"] = "mean-field prediction (initlab.theory) for the scheme's variance"
    return out


# --------------------------------------------------------------------------------- report


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


#: The columns of the per-layer table: header and how to read it from a record.
LAYER_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("layer", lambda r: r["layer"]),
    ("units", lambda r: r["units"]),
    ("act", lambda r: r["activation"]),
    ("mean", lambda r: r["a_mean"]),
    ("std", lambda r: r["a_std"]),
    ("sat %", lambda r: _pct(r["saturated"])),
    ("dead %", lambda r: _pct(r["dead"])),
    ("distinct", lambda r: r.get("distinct_units")),
    ("|dW|", lambda r: r["dW_norm"]),
    ("dZ rms", lambda r: r["dZ_rms"]),
    ("update:data", lambda r: r["update_data"]),
)


def format_layer_stats(
    rows: Sequence[dict[str, Any]],
    prediction: dict[str, Any] | None = None,
    columns: Sequence[tuple[str, Any]] = LAYER_COLUMNS,
) -> str:
    """A text table of per-layer records (one recorded step), pandas-free: by default layer,
    units, activation, mean, std, saturated %, dead %, distinct units, |dW|, dZ RMS and
    update:data; with ``prediction`` (from :func:`predicted_variance`) the measured and
    predicted Var(Z) and Var(dZ) too.  ``columns`` are ``(header, record -> value)`` pairs."""
    headers = [h for h, _ in columns]
    with_pred = prediction is not None and prediction.get("predicted_q") is not None
    if with_pred:
        headers += ["Var(Z)", "predicted", "Var(dZ)", "predicted"]
    out = []
    for i, r in enumerate(rows):
        row = [get(r) for _, get in columns]
        if with_pred:
            row += [
                prediction["measured_q"][i],
                prediction["predicted_q"][i],
                prediction["measured_grad"][i],
                prediction["predicted_grad"][i],
            ]
        out.append(tuple(row))
    return format_table(headers, out)


def report(result: Any, member: int = 0, reference: History | None = None) -> str:
    """Text report of a run (a :class:`initlab.config.RunResult` or a History): the per-layer
    table at the first and the last recorded step, then the verdict with its evidence."""
    history = result.history if hasattr(result, "history") else result
    rows = layer_stats(history, member)
    steps = _by_step(rows)
    lines = []
    first, last = min(steps), max(steps)
    prediction = predicted_variance(history, member)
    lines.append(f"per-layer statistics at step {first} (initialization):")
    lines.append(format_layer_stats(steps[first], prediction))
    if prediction["predicted_q"] is not None:
        lines.append("(predicted: mean-field theory for the init scheme, initlab.theory)")
    if last != first:
        lines.append("")
        lines.append(f"per-layer statistics at step {last} (end):")
        lines.append(format_layer_stats(steps[last]))
    lines.append("")
    findings = verdict(history, member, reference)
    lines.append("verdict: " + ", ".join(f.mode for f in findings))
    for f in findings:
        lines.append(f"  - {f.mode}: {f.message}")
    return "\n".join(lines)
