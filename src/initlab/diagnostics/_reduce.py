"""The reductions of :class:`initlab.diagnostics.LayerStats`: per-member moments and histograms
that stay exact and cheap on arrays of any size and memory layout.

Small arrays (at most :data:`BLOCK` values per member: most of the NumPy engine's layers) are
reduced with the plain NumPy expressions, so their figures are what they always were, to the
last bit (sums of float32 arrays are now float64 sums, as for a torch model).  Larger ones (a
torch model's layers: 2.4 million weights in one of a ResNet-18's convolutions; a 600-unit
engine layer) agree with those expressions to float64 rounding (~1e-16 relative) and are read
once, in memory order (a transposed view is not copied), :data:`BLOCK` values at a
time, so that every temporary stays in cache:

* moments: per block the sum and the sum of squared deviations from the block's mean
  (``M2_b``; the sum of squares is ``M2_b + n_b mean_b^2``, two terms that cannot cancel),
  combined as ``M2 = sum_b M2_b + sum_b n_b (mean_b - mean)^2`` (Chan, Golub and
  LeVeque's update), so ``std = sqrt(M2 / n)`` keeps the accuracy of NumPy's two-pass formula
  (and agrees with it to about 1e-15 relative) in one pass over memory;
* histograms: counted per block, the values sorted once and the edges located by binary search
  (``np.histogram``'s own method).  A block whose values are all float32 numbers (float32
  input, or a float32 model's values converted to float64) is sorted as float32, about twice
  as fast, against float32 thresholds that select exactly the same values (:func:`_up32`,
  :func:`_log10_up32`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "BLOCK",
    "GRAD_LOG10_EDGES",
    "hist",
    "log_hist",
    "max_abs_of",
    "moments",
    "sumsq_of_difference",
    "values",
]

#: Values per block: temporaries of 512 KiB (float64) stay in cache.
BLOCK = 1 << 16

#: Fixed bins of the log10 |gradient| histograms, comparable across steps and layers.
GRAD_LOG10_EDGES = np.linspace(-16.0, 4.0, 81)


def values(x: np.ndarray) -> np.ndarray:
    """The values of ``x`` as a 1-D array in memory order: a view when ``x`` is contiguous in
    some order of its axes (a transposed array included), else a copy."""
    return x.ravel(order="K")


def _blocks(v: np.ndarray) -> Any:
    return (v[i : i + BLOCK] for i in range(0, v.size, BLOCK))


# --------------------------------------------------------------------------------- moments


def moments(
    x: np.ndarray,
    *,
    mean: bool = False,
    std: bool = False,
    sumsq: bool = False,
    max_abs: bool = False,
) -> dict[str, np.ndarray]:
    """Per member ``k`` (the first axis of ``x``), over every value of ``x[k]``: the ``mean``,
    the ``std`` (population: ``sqrt(mean((x - mean)^2))``), the sum of squares ``sumsq`` and
    ``max_abs = max |x|``, each an array of shape (K,), for the ones asked for (large arrays
    give the first three together: one pass computes them).  Non-finite values propagate as in
    NumPy (NaN/inf).  Sums are float64 also for float32 input (a torch model's gradients)."""
    K = x.shape[0]
    per_member = x[0].size if K else 0
    f8 = np.float64
    axes = tuple(range(1, x.ndim))
    out: dict[str, np.ndarray] = {}
    if per_member <= BLOCK:
        if mean:
            out["mean"] = np.mean(x, axis=axes, dtype=f8)
        flat = x.reshape(K, -1)
        if std:
            out["std"] = flat.std(axis=1, dtype=f8)
        if sumsq:
            out["sumsq"] = np.sum(np.multiply(flat, flat, dtype=f8), axis=1)
        if max_abs:
            out["max_abs"] = max_abs_of(x, axes)
        return out
    if sumsq and not (mean or std or max_abs):  # a gradient's norm: one product, one sum
        return {"sumsq": np.array([_blocked_sumsq(values(x[k])) for k in range(K)])}
    parts = [_blocked_moments(values(x[k]), max_abs) for k in range(K)]
    keys = ("mean", "std", "sumsq", "max_abs")[: 4 if max_abs else 3]
    return {key: np.array([p[i] for p in parts]) for i, key in enumerate(keys)}


def max_abs_of(x: np.ndarray, axes: Any = None) -> Any:
    """``max |x|`` over ``axes`` without an ``|x|`` temporary (NaN where x holds NaN, as
    ``np.max`` gives; 0 for no values)."""
    if x.size == 0:
        return np.zeros(x.shape[0]) if axes else 0.0
    return np.maximum(np.max(x, axis=axes), -np.min(x, axis=axes)).astype(np.float64)


def sumsq_of_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per member, the sum of squares of ``x - y`` (same shape; a weight's change since a
    step), in float64: small arrays as ``moments(x - y, sumsq=True)``; large ones of the same
    layout block by block, without an ``x - y`` temporary."""
    if x[0].size <= BLOCK or x.strides != y.strides:
        return moments(np.subtract(x, y, dtype=np.float64), sumsq=True)["sumsq"]
    buf = np.empty(BLOCK)
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(x.shape[0]):
            parts = []
            for a, b in zip(_blocks(values(x[k])), _blocks(values(y[k])), strict=True):
                d = np.subtract(a, b, out=buf[: a.size], dtype=np.float64)
                parts.append(float(np.sum(np.multiply(d, d, out=d))))
            out.append(float(np.sum(parts)))
    return np.array(out)


def _blocked_sumsq(v: np.ndarray) -> float:
    """The sum of squares of the 1-D ``v``, one block at a time, in float64."""
    buf = np.empty(min(BLOCK, v.size))
    with np.errstate(over="ignore", invalid="ignore"):
        parts = [
            float(np.sum(np.multiply(c, c, out=buf[: c.size], dtype=np.float64)))
            for c in _blocks(v)
        ]
    return float(np.sum(parts))


def _blocked_moments(v: np.ndarray, max_abs: bool = False) -> tuple[float, ...]:
    """``(mean, std, sumsq)`` of the 1-D ``v``, one block at a time (see the module docstring),
    and ``max |v|`` after them when asked for."""
    n = v.size
    sums, squares, m2s, counts, extent = [], [], [], [], []
    buf = np.empty(min(BLOCK, n))
    with np.errstate(invalid="ignore", over="ignore"):
        for c in _blocks(v):
            d = buf[: c.size]
            s = float(np.sum(c, dtype=np.float64))
            np.subtract(c, s / c.size, out=d, dtype=np.float64)
            np.multiply(d, d, out=d)
            m2 = float(np.sum(d))
            m2s.append(m2)
            if np.isfinite(m2):  # sum c^2 = M2_b + n_b mean_b^2: both terms >= 0
                squares.append(m2 + s * (s / c.size))  # (s * s could overflow alone)
            else:  # inf/NaN in the block: as NumPy's sum of squares gives it
                squares.append(float(np.sum(np.multiply(c, c, out=d, dtype=np.float64))))
            sums.append(s)
            counts.append(c.size)
            if max_abs:  # the block is in cache
                extent.append(float(max_abs_of(c)))
        S, N = np.array(sums), np.array(counts, dtype=np.float64)
        mean = float(np.sum(S)) / n
        dev = S / N - mean
        m2 = float(np.sum(m2s)) + float(np.sum(N * dev * dev))
    figures = (mean, float(np.sqrt(m2 / n)), float(np.sum(squares)))
    return (*figures, float(np.max(extent))) if max_abs else figures


# ------------------------------------------------------------------------------ histograms


def _up32(e: np.ndarray) -> np.ndarray:
    """The smallest float32 at or above each float64 ``e``: for a float32 number ``x``,
    ``x >= e`` exactly when ``x >= _up32(e)``."""
    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, still the right bound
        f = e.astype(np.float32)
    low = f.astype(np.float64) < e
    f[low] = np.nextafter(f[low], np.float32(np.inf))
    return f


def _down32(e: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each ``e``: ``x <= e`` exactly when ``x <= _down32(e)``."""
    with np.errstate(over="ignore"):
        f = e.astype(np.float32)
    high = f.astype(np.float64) > e
    f[high] = np.nextafter(f[high], np.float32(-np.inf))
    return f


def _as_float32(c: np.ndarray, buf: np.ndarray) -> np.ndarray | None:
    """``c`` copied into the float32 buffer ``buf`` when every value of ``c`` is a float32 number
    (a float32 ``c``; a float64 one whose values all are: NaN is not), else None."""
    b = buf[: c.size]
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf: not equal
        if c.dtype != np.float32 and not np.array_equal(c[:16].astype(np.float32), c[:16]):
            return None  # float64 values, told from the first few without copying the block
        np.copyto(b, c, casting="unsafe")
    return b if c.dtype == np.float32 or np.array_equal(b, c) else None


def _normal32(t: np.ndarray) -> bool:
    """True when no float32 threshold is zero or subnormal.  With flush-to-zero and
    denormals-are-zero on (``torch.set_flush_denormal(True)``) float32 comparisons read a
    subnormal value as 0; against such thresholds that changes no count."""
    return bool(np.all(np.abs(t.astype(np.float64)) >= np.finfo(np.float32).tiny))


def _sorted_counts(s: np.ndarray, lo: np.ndarray, top: Any) -> np.ndarray:
    """Bin counts of the sorted ``s`` for bins ``[lo_0, lo_1), ..., [lo_last, top]``."""
    cut = np.append(s.searchsorted(lo, "left"), s.searchsorted(top, "right"))
    return np.diff(cut)


def hist(x: np.ndarray, edges: np.ndarray) -> tuple[list[int], int, int]:
    """Counts of ``x``'s values in ``edges`` (``np.histogram``'s bins: the last one includes its
    right edge) plus the counts below and above them (nothing is dropped: non-finite values
    count as above), one block at a time."""
    v = values(x)
    edges = np.asarray(edges, dtype=np.float64)
    lo32, top32 = _up32(edges[:-1]), _down32(edges[-1:])[0]
    fast = _normal32(np.append(lo32, top32))
    counts = np.zeros(edges.size - 1, dtype=np.int64)
    below = above = 0
    buf = np.empty(min(BLOCK, v.size), dtype=np.float32)
    for c in _blocks(v):
        finite = int(np.count_nonzero(np.isfinite(c)))
        if finite != c.size:
            above += c.size - finite
            c = c[np.isfinite(c)]
        f = _as_float32(c, buf) if fast else None
        if f is not None:  # the same values sorted as float32, against float32 thresholds
            f.sort()
            below += int(f.searchsorted(lo32[0], "left"))
            above += c.size - int(f.searchsorted(top32, "right"))
            counts += _sorted_counts(f, lo32, top32)
            continue
        below += int(np.count_nonzero(c < edges[0]))
        above += int(np.count_nonzero(c > edges[-1]))
        counts += np.histogram(c, bins=edges)[0]
    return counts.tolist(), below, above


def _log10_up32(e: float) -> np.float32:
    """The smallest positive float32 ``x`` with ``log10(float64(x)) >= e``.  On float32 numbers
    ``log10`` is strictly increasing (neighbouring float32 numbers differ by 2^-24 relative,
    their logarithms by over 1e-8, far above float64's rounding of the result), so for every
    float32 ``x``: ``log10(x) >= e`` exactly when ``x >= _log10_up32(e)``."""
    x = np.float32(10.0**e)
    down, up = np.float32(0.0), np.float32(np.inf)
    while x > 0 and np.log10(np.float64(np.nextafter(x, down))) >= e:
        x = np.nextafter(x, down)
    while np.log10(np.float64(x)) < e:
        x = np.nextafter(x, up)
    return x


def _log10_down32(e: float) -> np.float32:
    """The largest float32 ``x`` with ``log10(float64(x)) <= e``."""
    x = np.float32(10.0**e)
    down, up = np.float32(0.0), np.float32(np.inf)
    while np.isfinite(x) and np.log10(np.float64(np.nextafter(x, up))) <= e:
        x = np.nextafter(x, up)
    while np.log10(np.float64(x)) > e:
        x = np.nextafter(x, down)
    return x


_TINY32 = np.finfo(np.float32).tiny
#: :data:`GRAD_LOG10_EDGES` as float32 thresholds on ``|g|`` (lower edges, then the top one).
_LOG_LO32 = np.array([_log10_up32(float(e)) for e in GRAD_LOG10_EDGES[:-1]], dtype=np.float32)
_LOG_TOP32 = _log10_down32(float(GRAD_LOG10_EDGES[-1]))


def log_hist(g: np.ndarray) -> dict[str, Any]:
    """Counts of ``log10 |g|`` on :data:`GRAD_LOG10_EDGES`, with the exact zeros apart and
    ``|g| = inf`` above (NaN is not counted), one block at a time; float32 blocks compare
    ``|g|`` with the float32 thresholds of the edges instead of taking logarithms."""
    v = values(g)
    edges = GRAD_LOG10_EDGES
    counts = np.zeros(edges.size - 1, dtype=np.int64)
    below = above = zeros = 0
    buf = np.empty(min(BLOCK, v.size))
    buf32 = np.empty(min(BLOCK, v.size), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in _blocks(v):
            f = _as_float32(c, buf32)
            if f is not None:  # NaN last once sorted, and not counted
                np.abs(f, out=f)
                f.sort()
                # the exact zeros, told from subnormals by their bits (flush-to-zero reads
                # subnormals as 0), are first; every threshold is a normal number
                k = int(f.searchsorted(_TINY32, "left"))
                z = int(np.count_nonzero(f[:k].view(np.uint32) == 0))
                zeros += z
                below += int(f.searchsorted(_LOG_LO32[0], "left")) - z
                end = int(f.searchsorted(np.float32(np.inf), "right"))
                above += end - int(f.searchsorted(_LOG_TOP32, "right"))
                counts += _sorted_counts(f, _LOG_LO32, _LOG_TOP32)
                continue
            a = buf[: c.size]
            np.abs(c, out=a)
            np.log10(a, out=a)  # 0 -> -inf, inf -> inf, NaN -> NaN
            z = int(np.count_nonzero(a == -np.inf))
            zeros += z
            below += int(np.count_nonzero(a < edges[0])) - z  # the zeros' -inf apart
            above += int(np.count_nonzero(a > edges[-1]))  # +inf included, NaN not
            counts += np.histogram(a, bins=edges)[0]  # inside the edges only: no NaN, no inf
    return {"counts": counts.tolist(), "below": below, "above": above, "zeros": zeros}
