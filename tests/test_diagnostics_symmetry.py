"""The symmetry measures of LayerStats are exact on wide layers too: the filtered paths (sorted
projections for distinct units, float32 cosines re-checked in float64) give what comparing every
pair through the float64 Gram matrix gives (the blocked histograms and moments are tested in
test_diagnostics_reduce.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from initlab.diagnostics import _symmetry as Y


def _gram_distinct(W: np.ndarray, b: np.ndarray, A: np.ndarray, rtol: float = 1e-6) -> int:
    sw = float(np.max(np.abs(W))) or 1.0
    sa = float(np.max(np.abs(A))) or 1.0
    sig = np.concatenate([W.T / sw, b[:, None] / sw, A.T / sa], axis=1)
    return Y._unit_groups(sig, rtol)


def _gram_max_cosine(W: np.ndarray) -> float:
    norms = np.linalg.norm(W, axis=0)
    cos = (W.T @ W) / np.outer(norms, norms)
    np.fill_diagonal(cos, -np.inf)
    return float(np.max(cos))


def _wide(seed: int, fan_in: int = 600, n: int = 200, m: int = 64):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((fan_in, n))
    b = 0.1 * rng.standard_normal(n)
    A = np.maximum(rng.standard_normal((m, n)), 0.0)
    assert n * n * (fan_in + 1 + m) > Y._SMALL  # the filtered paths, not the small-layer one
    return W, b, A


def _twin(W, b, A, i: int, j: int, scale: float = 1.0) -> None:
    W[:, j] = W[:, i] * scale
    b[j] = b[i] * scale
    A[:, j] = A[:, i]


@pytest.mark.parametrize("seed", range(3))
def test_wide_layers_give_the_gram_figures(seed):
    W, b, A = _wide(seed)
    _twin(W, b, A, 3, 7)  # an exact twin
    _twin(W, b, A, 10, 11, 1 + 3e-7)  # within rtol = 1e-6 of unit 10: the same unit
    _twin(W, b, A, 20, 21, 1 + 3e-5)  # outside it: another unit
    _twin(W, b, A, 30, 31)  # a chain 30 ~ 31 ~ 32: one unit
    _twin(W, b, A, 31, 32, 1 + 3e-7)
    r = Y.symmetry(_unit_major(W), b, _unit_major(A)) if seed == 2 else Y.symmetry(W, b, A)
    assert r["distinct_units"] == _gram_distinct(W, b, A) == W.shape[1] - 4
    # the twins' cosine: 1 up to the rounding of a float64 dot product of fan_in terms
    # (at most fan_in * eps relative), in either computation and either layout
    bound = W.shape[0] * np.finfo(np.float64).eps
    assert abs(r["max_cosine"] - 1.0) <= bound and abs(_gram_max_cosine(W) - 1.0) <= bound


def _unit_major(x: np.ndarray) -> np.ndarray:
    """``x`` as the transposed view of a C-ordered copy of ``x.T``: how initlab.torch hands a
    weight (``(units, fan_in)`` in memory) or a conv output to the statistics."""
    view = np.ascontiguousarray(x.T).T
    assert view.flags.f_contiguous and not view.flags.c_contiguous
    return view


@pytest.mark.parametrize("layout", ["rows", "unit-major"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_wide_random_layer_max_cosine_is_the_largest_pair(backend, layout, monkeypatch):
    if backend == "torch":
        pytest.importorskip("torch")
    else:  # the float32 cosines from numpy, as where torch is not imported
        monkeypatch.setitem(sys.modules, "torch", None)
    W, b, A = _wide(7)
    if layout == "unit-major":  # the other branch of _cosines32: blocks as U_i U_j^T
        W, A = _unit_major(W), _unit_major(A)
    r = Y.symmetry(W, b, A)
    # no twin: the largest of ~20k random cosines (~0.17) must be found exactly, not a
    # near-maximum: the float32 filter keeps every pair within its rounding bound of the top
    assert r["max_cosine"] == pytest.approx(_gram_max_cosine(W), rel=1e-14)
    assert r["distinct_units"] == W.shape[1]


def test_symmetric_and_degenerate_wide_layers_fall_back_to_the_gram_matrix():
    rng = np.random.default_rng(1)
    col = rng.standard_normal((600, 1))
    W = np.repeat(col, 200, axis=1)  # every unit the same: every pair is a candidate
    b = np.zeros(200)
    A = np.repeat(np.abs(rng.standard_normal((64, 1))), 200, axis=1)
    r = Y.symmetry(W, b, A)
    assert r["distinct_units"] == 1 and r["max_cosine"] == pytest.approx(1.0, abs=1e-15)
    W2, b2, A2 = _wide(2)
    W2[:, :5] = 0.0  # zero units: cosine 1 between two of them (the Gram path's rule)
    assert Y.symmetry(W2, b2, A2)["max_cosine"] == 1.0
    W3, b3, A3 = _wide(3)
    W3[0, 0] = np.nan  # a NaN unit's cosines count as 0 (the Gram path's rule): the others' max
    assert Y.symmetry(W3, b3, A3)["max_cosine"] == pytest.approx(
        _gram_max_cosine(W3[:, 1:]), rel=1e-14
    )


@pytest.mark.parametrize("rank", [None, 5])
def test_effective_width_of_wide_short_layers_takes_the_smaller_gram(rank):
    """m = 100 rows, n = 600 units (n^2 m above the small-layer bound): A A^T has the trace
    and Frobenius norm of A^T A, so the figure is the n x n one's to float64 rounding; a rank-5
    A (5 distinct directions) has an effective width of at most 5."""
    rng = np.random.default_rng(8)
    A = rng.standard_normal((100, 600))
    if rank is not None:
        A = rng.standard_normal((100, rank)) @ rng.standard_normal((rank, 600))
    assert 600 * 600 * 100 > Y._SMALL
    C = A.T @ A / 100
    direct = float(np.trace(C) ** 2 / np.sum(C * C))
    got = Y._eff_width(A)
    assert got == pytest.approx(direct, rel=1e-12)
    assert got <= (rank or 100) * (1 + 1e-12)
    assert Y._eff_width(np.zeros((100, 600))) == 0.0
