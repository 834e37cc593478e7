"""Per-layer statistics recorded while training: the :class:`LayerStats` probe.

:class:`LayerStats` is a probe (see :mod:`initlab.train`).  At step 0, every ``every`` steps and at
the last step it records, for every population member and every layer ``l = 1..L``, one
:class:`~initlab.diagnostics.LayerRecord` (stored in its JSON form):

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

The verdict rules that read these records are in :mod:`initlab.diagnostics.rules`; every
threshold lives in :data:`initlab.diagnostics.THRESHOLDS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab.diagnostics._reduce import (
    GRAD_LOG10_EDGES,
    hist,
    log_hist,
    moments,
    sumsq_of_difference,
)
from initlab.diagnostics._symmetry import symmetry
from initlab.diagnostics.records import LayerRecord, layer_stats
from initlab.diagnostics.thresholds import THRESHOLDS, Thresholds
from initlab.train import History, Schedule, StepEvent

__all__ = [
    "GRAD_LOG10_EDGES",
    "LayerStats",
    "dead_units",
    "hist_edges",
    "saturation",
    "symmetry",
    "tensor_stats",
]


HIST_BINS = 40
_BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0)}
_RELU_FAMILY = ("relu",)


# ------------------------------------------------------------------------------- statistics
# (the reductions themselves, exact and blocked for large arrays, are in diagnostics._reduce)


def _rms(sumsq: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-member root mean square from the sums of squares of ``x`` (as ``np.mean``: the sum
    divided by the count)."""
    return np.sqrt(sumsq / x[0].size)


def _fraction(mask: np.ndarray) -> np.ndarray:
    """Per-member fraction of true values of a boolean array (any layout, no copy)."""
    return mask.sum(axis=tuple(range(1, mask.ndim)), dtype=np.int64) / mask[0].size


def _same_data(x: np.ndarray, y: np.ndarray) -> bool:
    """True when ``x`` and ``y`` are views of the same memory with the same layout (``A = Z``
    for a layer without an activation), so that statistics of one are those of the other."""
    return (
        x.shape == y.shape
        and x.strides == y.strides
        and x.dtype == y.dtype
        and x.__array_interface__["data"][0] == y.__array_interface__["data"][0]
    )


def saturation(activation: str, A: np.ndarray, t: Thresholds = THRESHOLDS) -> np.ndarray | None:
    """Per-member fraction of saturated activations, or None for activations that do not
    saturate."""
    if activation == "tanh":
        sat = np.abs(A) > t.tanh_saturation
    elif activation == "sigmoid":
        sat = (A < t.sigmoid_low) | (A > t.sigmoid_high)
    else:
        return None
    return _fraction(sat)


def dead_units(activation: str, A: np.ndarray) -> np.ndarray | None:
    """Per-member fraction of units that output exactly 0 for every example (ReLU only)."""
    if activation not in _RELU_FAMILY:
        return None
    return np.all(A == 0, axis=1).mean(axis=1)


def tensor_stats(
    w: np.ndarray, dw: np.ndarray | None = None, u: np.ndarray | None = None
) -> dict[str, float | None]:
    """The weight figures of :class:`LayerStats` for one tensor ``w`` of any shape (a block
    of a layer's parameters, e.g. attention's q/k/v projections): ``w_std``; with its gradient
    ``dw``: ``dW_norm``, ``dW_std`` and ``grad_data = std(dW) / std(W)``; with an applied
    update ``u``: ``update_std`` and ``update_data = std(u) / std(W)``.  What was not given is
    None."""
    w_std = float(moments(w[None], std=True)["std"][0])
    out: dict[str, float | None] = dict.fromkeys(
        ("w_std", "dW_norm", "dW_std", "grad_data", "update_std", "update_data")
    )
    out["w_std"] = w_std
    with np.errstate(divide="ignore", invalid="ignore"):
        if dw is not None:
            g = moments(dw[None], std=True, sumsq=True)
            out["dW_norm"] = float(np.sqrt(g["sumsq"][0]))
            out["dW_std"] = float(g["std"][0])
            out["grad_data"] = float(np.float64(out["dW_std"]) / w_std)
        if u is not None:
            out["update_std"] = float(moments(u[None], std=True)["std"][0])
            out["update_data"] = float(np.float64(out["update_std"]) / w_std)
    return out


class LayerStats:
    """A probe recording per-layer statistics (see the module docstring) for every member.

    ``every``: record every N steps (plus step 0 and the last step).  ``members``: which
    population members to record (default all).  ``histograms=False`` skips the histograms.
    ``keep="first_last"`` keeps only the records of the first and of the latest recorded step
    (bounded memory for long interactive runs; :func:`verdict` needs no more).
    ``weight_change=False`` keeps no copy of the first record's weights (a one-step probe:
    :func:`initlab.torch.inspect`); ``weight_change`` is then 0 at the first record and None
    after it.  Histogram bins
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
        weight_change: bool = True,
    ) -> None:
        from initlab._checks import check_choice

        self.schedule = Schedule.every(every)
        self.every = self.schedule.period
        self.keep = check_choice("keep", keep, ("all", "first_last"))
        self.members = None if members is None else list(members)
        self.histograms = histograms
        self.do_symmetry = symmetry
        self.t = thresholds
        self.track_change = weight_change
        self.records: list[dict[str, Any]] = []  # LayerRecord.to_dict() of each record
        self.edges: dict[int, dict[str, list[float]]] = {}
        self.initial: dict[str, Any] = {}
        self._w0: list[np.ndarray] | None = None
        self._w0_norm: list[np.ndarray] = []  # |W_0| per layer and member, computed once
        self._first_step: int | None = None

    def edges_for(self, member: int) -> dict[str, list[float]]:
        """The histogram bin edges of ``member``: ``"a{l}"``/``"z{l}"`` per layer and
        ``"grad_log10"`` for the gradient histograms."""
        return {**self.edges.get(member, {}), "grad_log10": GRAD_LOG10_EDGES.tolist()}

    def _edges(
        self,
        member: int,
        key: str,
        activation: str,
        x: np.ndarray,
        bounded: bool,
        mean_std: tuple[float, float],
    ) -> np.ndarray:
        """The bins of ``key`` (set at the member's first record): ``mean +- 4 std`` of the
        finite values of ``x`` (``mean_std``: those of all its values, used when finite, which
        they are exactly when every value is), or the bounded activation's range."""
        table = self.edges.setdefault(member, {})
        if key not in table:
            if bounded and activation in _BOUNDED:
                lo, hi = _BOUNDED[activation]
            else:
                m, s = mean_std
                if not (np.isfinite(m) and np.isfinite(s)):
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
        # the first record (``initial`` is set there and never reset): the weights are their
        # own W_0, no change to measure
        fresh = not self.initial
        if fresh:
            if self.track_change:
                self._w0 = [w.copy(order="K") for w in net.weights]  # W's own layout
            out = moments(ev.cache.A[-1], mean=True, std=True)
            self.initial = {
                "step": ev.step,
                "cost": ev.cost.tolist(),
                "output_mean": out["mean"].tolist(),
                "output_std": out["std"].tolist(),
                "input_second_moment": float(np.mean(np.square(ev.X))),
            }
        L = net.depth
        res = tuple(getattr(net, "residual", ()) or ())

        def joined(i: int) -> bool:  # layer i + 1 is a residual block
            return 0 <= i < len(res) and res[i] is not None

        for l in range(L):
            g = net.activations[l]
            W, b = net.weights[l], net.biases[l]
            Z, A = ev.cache.Z[l], ev.cache.A[l + 1]
            dW, dZ = ev.grads.dW[l], ev.grads.dZ[l]
            dA = ev.grads.dA[l]
            uW = ev.updates[2 * l]
            dz = moments(dZ, sumsq=True)
            a_is_z = _same_data(Z, A)  # no activation (torch): the same figures, computed once
            sym = self.do_symmetry and l < L - 1  # max |W| and max |A| are its scales
            z = moments(Z, mean=True, std=True, sumsq=a_is_z, max_abs=sym and a_is_z)
            a = z if a_is_z else moments(A, mean=True, std=True, sumsq=True, max_abs=sym)
            dw = moments(dW, std=True, sumsq=True)
            w = moments(W, mean=True, std=True, max_abs=sym)
            dZ_norm, dZ_rms = np.sqrt(dz["sumsq"]), _rms(dz["sumsq"], dZ)
            stats = {
                "z_mean": z["mean"],
                "z_std": z["std"],
                "a_mean": a["mean"],
                "a_std": a["std"],
                "a_rms": _rms(a["sumsq"], A),
                "a_zero": _fraction(A == 0),
                "dZ_norm": dZ_norm,
                "dZ_rms": dZ_rms,
                "dW_norm": np.sqrt(dw["sumsq"]),
                "dW_std": dw["std"],
                "db_norm": np.sqrt(moments(ev.grads.db[l], sumsq=True)["sumsq"]),
                "w_mean": w["mean"],
                "w_std": w["std"],
                "update_std": moments(uW, std=True)["std"],
            }
            if dA is not None:
                if _same_data(dA, dZ):
                    stats["dA_norm"], stats["dA_rms"] = dZ_norm, dZ_rms
                else:
                    ss = moments(dA, sumsq=True)["sumsq"]
                    stats["dA_norm"], stats["dA_rms"] = np.sqrt(ss), _rms(ss, dA)
            sat = saturation(g.name, A, self.t)
            dead = dead_units(g.name, A)
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_data = stats["dW_std"] / stats["w_std"]
                update_data = stats["update_std"] / stats["w_std"]
                if fresh and np.all(np.isfinite(w["mean"])):
                    # |W - W_0| = 0 exactly (a finite mean: every value finite; NaN/inf: computed)
                    rel_change = np.zeros(K)
                elif self._w0 is None and not fresh:  # weight_change=False: no W_0 kept
                    rel_change = None
                else:
                    w0 = W if self._w0 is None else self._w0[l]  # (fresh: W is W_0)
                    if self._w0 is None:
                        base = np.sqrt(moments(w0, sumsq=True)["sumsq"])
                    else:  # computed once per layer
                        if len(self._w0_norm) <= l:
                            self._w0_norm.append(np.sqrt(moments(w0, sumsq=True)["sumsq"]))
                        base = self._w0_norm[l]
                    change = np.sqrt(sumsq_of_difference(W, w0))
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
                    "kind": "dense",
                    "fan_in": int(net.sizes[l]),
                    "connections": float(net.sizes[l]),
                    # a residual join: its skip path adds to the gradient (and the signal)
                    "boundary": "residual join"
                    if l < L - 1 and (joined(l) or joined(l + 1))
                    else None,
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
                rec["weight_change"] = None if rel_change is None else float(rel_change[k])
                if sym:
                    scales = (float(w["max_abs"][k]), float(a["max_abs"][k]))
                    rec.update(symmetry(W[k], b[k, 0], A[k], self.t, scales))
                if self.histograms:
                    zk = (float(z["mean"][k]), float(z["std"][k]))
                    ez = self._edges(k, f"z{l + 1}", g.name, Z[k], False, zk)
                    if a_is_z and g.name not in _BOUNDED:  # the same data: the same bins
                        self.edges[k].setdefault(f"a{l + 1}", list(self.edges[k][f"z{l + 1}"]))
                    ak = (float(a["mean"][k]), float(a["std"][k]))
                    ea = self._edges(k, f"a{l + 1}", g.name, A[k], True, ak)
                    z_hist = hist(Z[k], ez)
                    same = _same_data(Z[k], A[k]) and np.array_equal(ez, ea)
                    rec["z_hist"] = z_hist[0]
                    counts, below, above = z_hist if same else hist(A[k], ea)
                    rec["a_hist"] = counts
                    rec["a_hist_outside"] = [below, above]
                    rec["dZ_hist"] = log_hist(dZ[k])
                    rec["dW_hist"] = log_hist(dW[k])
                self.records.append(LayerRecord.from_dict(rec).to_dict())

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
