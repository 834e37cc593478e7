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
]


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
        self.records: list[dict[str, Any]] = []  # LayerRecord.to_dict() of each record
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
