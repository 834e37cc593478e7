"""The symmetry measures and histograms of LayerStats are exact on wide layers too: the filtered
paths (sorted projections for distinct units, float32 cosines re-checked in float64, blocked
histograms) give what comparing every pair through the float64 Gram matrix, and np.histogram on
the whole array, give."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from initlab.diagnostics import _symmetry as Y
from initlab.diagnostics import stats as S


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
    r = Y.symmetry(W, b, A)
    assert r["distinct_units"] == _gram_distinct(W, b, A) == W.shape[1] - 4
    # the twins' cosine is 1 up to rounding; the same pair and value either way
    assert r["max_cosine"] == pytest.approx(_gram_max_cosine(W), abs=4e-16)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_wide_random_layer_max_cosine_is_the_largest_pair(backend, monkeypatch):
    if backend == "torch":
        pytest.importorskip("torch")
    else:  # the float32 cosines from numpy, as where torch is not imported
        monkeypatch.setitem(sys.modules, "torch", None)
    W, b, A = _wide(7)
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


def _reference_hist(x, edges):
    v = x.ravel()
    finite = v[np.isfinite(v)]
    counts = np.histogram(finite, bins=edges)[0].tolist()
    below = int(np.sum(finite < edges[0]))
    return counts, below, int(np.sum(finite > edges[-1])) + int(v.size - finite.size)


def _reference_log_hist(g):
    a = np.abs(g.ravel())
    with np.errstate(divide="ignore"):
        logs = np.log10(a[a > 0])
    counts, below, above = _reference_hist(logs, S.GRAD_LOG10_EDGES)
    return {"counts": counts, "below": below, "above": above, "zeros": int(np.sum(a == 0))}


def test_blocked_histograms_equal_whole_array_histograms():
    rng = np.random.default_rng(0)
    edges = np.linspace(-2.0, 2.0, S.HIST_BINS + 1)
    n = 3 * S._BLOCK + 123  # several blocks and a ragged last one
    x = rng.standard_normal(n)
    x[rng.integers(0, n, 50)] = rng.choice(edges, 50)  # values on the edges
    x[rng.integers(0, n, 20)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 20)
    assert S._hist(x, edges) == _reference_hist(x, edges)
    g = 10.0 ** rng.uniform(-18, 6, n) * rng.choice([-1.0, 1.0], n)
    g[rng.integers(0, n, 40)] = 10.0 ** rng.choice(S.GRAD_LOG10_EDGES, 40)  # on log edges
    g[rng.integers(0, n, 30)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 30)
    assert S._log_hist(g) == _reference_log_hist(g)
    assert S._log_hist(np.zeros(5)) == _reference_log_hist(np.zeros(5))
