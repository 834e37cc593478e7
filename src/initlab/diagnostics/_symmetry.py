"""The symmetry measures of a layer (:func:`symmetry`, recorded by
:class:`initlab.diagnostics.LayerStats` for every hidden layer): distinct units, the largest
cosine between two units' incoming weights, and the effective width.

All three are exact.  Small layers compare every pair of units through float64 Gram matrices;
wide ones (a ResNet's 512-channel convolutions: 512 x 4608 weights) first narrow the pairs with
filters that cannot drop the answer, so that a recorded step costs milliseconds instead of the
two 512 x 512 x 4737 products it took (see docs/torch.md for the measurements).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable

import numpy as np

from initlab.diagnostics._reduce import max_abs_of
from initlab.diagnostics.thresholds import THRESHOLDS, Thresholds

__all__ = ["symmetry"]


def _components(n: int, pairs: Iterable[tuple[int, int]], close: Callable[[int, int], bool]) -> int:
    """Number of connected components of ``n`` nodes joined by the ``pairs`` (i, j) for which
    ``close(i, j)`` is true; ``close`` is not asked about pairs already joined."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj and close(i, j):
            parent[ri] = rj
    return len({find(i) for i in range(n)})


def _unit_groups(sig: np.ndarray, rtol: float) -> int:
    """Number of distinct rows of ``sig`` (n, d): rows closer than ``rtol`` relative to the
    larger norm are the same unit (connected components of that relation).  Every pair is
    compared through the Gram matrix ``sig sig^T``."""
    sq = np.einsum("ij,ij->i", sig, sig)
    gram = sig @ sig.T
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0)
    scale = np.maximum(sq[:, None], sq[None, :])
    close = d2 <= (rtol * rtol) * scale
    rows, cols = np.nonzero(np.triu(close, 1))
    pairs = zip(rows.tolist(), cols.tolist(), strict=True)
    return _components(sig.shape[0], pairs, lambda i, j: True)


#: At most this many candidate pairs per unit go through the sorted-projection and float32
#: filters; beyond (many units that nearly coincide: a symmetric initialization) every pair is
#: compared through the float64 Gram matrix.
_CANDIDATES_PER_UNIT = 8
#: Layers whose Gram matrix takes at most this many multiply-adds (units^2 * inputs) use it
#: directly: a few milliseconds, and the figures of every layer that small (the NumPy engine's
#: networks) stay those of the Gram matrix to the last bit.
_SMALL = 1 << 24
_EPS = float(np.finfo(np.float64).eps)
_U32 = 2.0**-24  # float32 unit roundoff


def _distinct_units(
    parts: list[tuple[np.ndarray, float]], rtol: float, colsq: list[np.ndarray | None]
) -> int | None:
    """:func:`_unit_groups` of the signatures ``sig = [W^T / s_W, b / s_W, A^T / s_A]`` given
    as ``parts`` ``(x, s)`` (x of shape (rows, n), column i for unit i; ``colsq``: the column
    sums of squares of each x where already computed, else None), without a Gram matrix; None
    when the filter leaves too many pairs (or values are not finite), for the caller to
    compare every pair.

    Two units whose signatures ``s_i``, ``s_j`` are close (``|s_i - s_j| <= rtol * R``, R the
    largest norm) have projections on a unit vector ``p`` within ``rtol * R`` (Cauchy-Schwarz),
    plus the rounding of the two dot products (at most ``d * eps * R`` each).  Sorting the
    projections and comparing only the pairs inside that window, by their exact difference,
    finds every close pair: the count is exact, not sampled."""
    parts = [(np.asarray(x, dtype=np.float64), s) for x, s in parts]
    n = parts[0][0].shape[1]
    sq = sum(
        (np.einsum("ij,ij->j", x, x) if c is None else c) / (s * s)
        for (x, s), c in zip(parts, colsq, strict=True)
    )
    if not np.all(np.isfinite(sq)):
        return None
    d = sum(x.shape[0] for x, _ in parts)
    p = np.random.default_rng(0).standard_normal(d)
    p /= np.linalg.norm(p)
    q, k = np.zeros(n), 0
    for x, s in parts:
        q += (p[k : k + x.shape[0]] @ x) / s
        k += x.shape[0]
    radius = math.sqrt(float(np.max(sq)))
    window = (rtol * (1.0 + 1e-6) + 4.0 * (d + 2) * _EPS) * radius
    order = np.argsort(q, kind="stable")
    qs = q[order]
    end = np.searchsorted(qs, qs + window, side="right")
    if int(np.sum(end - np.arange(n) - 1)) > _CANDIDATES_PER_UNIT * n:
        return None
    pairs = [(int(order[a]), int(order[c])) for a in range(n) for c in range(a + 1, int(end[a]))]

    def close(i: int, j: int) -> bool:
        d2 = sum(float(np.sum(np.square(x[:, i] - x[:, j]))) / (s * s) for x, s in parts)
        return d2 <= (rtol * rtol) * max(float(sq[i]), float(sq[j]))

    return _components(n, pairs, close)


#: Column blocks of the float32 cosine matrix: only the blocks on and above the diagonal are
#: computed (10 of 16 products), the others are -inf.
_COS_BLOCKS = 4


def _cosines32(W: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """The cosines ``w_i . w_j / (|w_i| |w_j|)`` of the columns of ``W`` in float32, on and
    above the diagonal blocks (-inf below them).  torch's BLAS when torch is already imported
    (several times numpy's here); the result only selects candidates, so either gives the same
    figures.  A ``W`` that is the transposed view of a unit-major array (a torch weight) is
    multiplied as rows, ``U_i U_j^T``, which reads it in its own order."""
    n = W.shape[1]
    cuts = [n * k // _COS_BLOCKS for k in range(_COS_BLOCKS + 1)]
    blocks = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    rows = W.flags.f_contiguous and not W.flags.c_contiguous
    X, scale = (W.T, norms[:, None]) if rows else (W, norms)
    torch = sys.modules.get("torch")
    if torch is not None:
        u = torch.from_numpy(X).to(torch.float32)
        u /= torch.from_numpy(scale.astype(np.float32))
        out = torch.full((n, n), -torch.inf, dtype=torch.float32)
    else:
        u = X.astype(np.float32)
        u /= scale.astype(np.float32)
        out = np.full((n, n), -np.inf, dtype=np.float32)
    for k, bi in enumerate(blocks):
        for bj in blocks[k:]:
            out[bi, bj] = u[bi] @ u[bj].T if rows else u[:, bi].T @ u[:, bj]
    return out.numpy() if torch is not None else out


def _max_cosine_filtered(W: np.ndarray, norms: np.ndarray) -> float | None:
    """The largest cosine between two columns of ``W`` (none zero, all finite), or None when
    the float32 filter leaves too many candidates.

    The cosines are computed in float32 from the normalised columns: rounding each entry to
    float32 and dividing it by its norm err by at most ``2 * 2^-24`` relative, and a float32
    dot product of d terms by ``d * 2^-24 * |u| |v|``, so each cosine is within
    ``(fan_in + 6) * 2^-24`` of the exact one and the pair with the largest exact cosine is
    among those within twice that of the float32 maximum.  Those are computed again in
    float64, as ``w_i . w_j / (|w_i| |w_j|)``."""
    n = W.shape[1]
    g = _cosines32(W, norms)
    np.fill_diagonal(g, -np.inf)
    bound = (W.shape[0] + 6) * _U32 * 1.01 + 1e-30
    rows, cols = np.nonzero(np.triu(g >= float(np.max(g)) - 2.0 * bound, 1))
    if rows.size > _CANDIDATES_PER_UNIT * n:
        return None
    return max(
        float(np.dot(W[:, i], W[:, j]) / (norms[i] * norms[j]))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
    )


def _max_cosine(W: np.ndarray, colsq: np.ndarray) -> float:
    """The largest cosine between two units' incoming weights (two all-zero units: 1; an
    all-zero unit and another: 0); ``colsq``: the columns' sums of squares."""
    if W.shape[1] < 2:
        return float("nan")
    norms = np.sqrt(colsq)
    large = W.shape[1] ** 2 * W.shape[0] > _SMALL
    if large and np.all(norms > 0) and np.all(np.isfinite(norms)):
        fast = _max_cosine_filtered(W, norms)
        if fast is not None:
            return fast
    norms = np.linalg.norm(W, axis=0)
    gram = W.T @ W
    both = np.outer(norms, norms)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(both > 0, gram / np.where(both > 0, both, 1.0), 0.0)
    zero = norms == 0
    cos[np.ix_(zero, zero)] = 1.0  # two all-zero units are the same direction
    np.fill_diagonal(cos, -np.inf)
    return float(np.max(cos))


def symmetry(
    W: np.ndarray,
    b: np.ndarray,
    A: np.ndarray,
    t: Thresholds = THRESHOLDS,
    scales: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Symmetry of one layer of one member: ``W`` (fan_in, n), ``b`` (n,), ``A`` (m, n);
    ``scales``: ``(max |W|, max |A|)`` where already known.

    ``distinct_units``: units whose signatures ``[w_i / max|W|, b_i / max|W|, a_i / max|A|]``
    lie within ``rtol`` of each other (relative to the larger norm) count as one (connected
    components); ``max_cosine``: ``max_{i != j} w_i . w_j / (|w_i| |w_j|)``;
    ``effective_width``: ``tr(C)^2 / ||C||_F^2`` with ``C = A^T A / m``.  All three are exact.
    Small layers (``units^2 * inputs <= 2^24``) compare every pair through the float64 Gram
    matrices; in wider ones the pairs are first narrowed by filters that cannot drop the answer
    (:func:`_distinct_units`, :func:`_max_cosine_filtered`; the same count, and the same cosine
    to float64 rounding), with the Gram matrices again when the filters do not narrow them (a
    symmetric layer)."""
    max_w, max_a = (max_abs_of(W), max_abs_of(A)) if scales is None else scales
    scale_w, scale_a = max_w or 1.0, max_a or 1.0
    n, d = W.shape[1], W.shape[0] + 1 + A.shape[0]
    parts = [(W, scale_w), (b[None, :], scale_w), (A, scale_a)]
    colsq = np.einsum("ij,ij->j", W, W)
    distinct = (
        None
        if n * n * d <= _SMALL
        else _distinct_units(parts, t.symmetry_rtol, [colsq, None, None])
    )
    if distinct is None:
        sig = np.concatenate([W.T / scale_w, b[:, None] / scale_w, A.T / scale_a], axis=1)
        distinct = _unit_groups(sig.astype(np.float64), t.symmetry_rtol)
    max_cos = _max_cosine(W, colsq)
    return {"distinct_units": distinct, "max_cosine": max_cos, "effective_width": _eff_width(A)}


def _eff_width(A: np.ndarray) -> float:
    """``tr(C)^2 / ||C||_F^2`` of ``C = A^T A / m`` (0 when ``A`` is all zeros).  The m's
    cancel, and ``A A^T`` has the same trace and Frobenius norm as ``A^T A`` (the same nonzero
    eigenvalues), so a wide layer with fewer rows than units (a ResNet's last stage: 128 rows,
    512 units) takes the smaller ``m x m`` product."""
    m, n = A.shape
    if m < n and n * n * m > _SMALL:
        G = A @ A.T
        fro2 = float(np.sum(G * G))
        return float(np.trace(G) ** 2 / fro2) if fro2 > 0 else 0.0
    C = (A.T @ A) / m
    fro2 = float(np.sum(C * C))
    return float(np.trace(C) ** 2 / fro2) if fro2 > 0 else 0.0
