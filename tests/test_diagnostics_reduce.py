"""LayerStats' reductions (initlab.diagnostics._reduce) are exact on large arrays and in any
layout: blocked histograms count what np.histogram counts on the whole array, the float32 path
(sorting float32 values against float32 thresholds) selects exactly the values the float64
comparison selects, blocked moments agree with a correctly rounded two-pass reference, and
small arrays keep NumPy's own figures to the last bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.diagnostics import _reduce as R


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
    counts, below, above = _reference_hist(logs, R.GRAD_LOG10_EDGES)
    return {"counts": counts, "below": below, "above": above, "zeros": int(np.sum(a == 0))}


def test_blocked_histograms_equal_whole_array_histograms():
    rng = np.random.default_rng(0)
    edges = np.linspace(-2.0, 2.0, 41)
    n = 3 * R.BLOCK + 123  # several blocks and a ragged last one
    x = rng.standard_normal(n)
    x[rng.integers(0, n, 50)] = rng.choice(edges, 50)  # values on the edges
    x[rng.integers(0, n, 20)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 20)
    assert R.hist(x, edges) == _reference_hist(x, edges)
    g = 10.0 ** rng.uniform(-18, 6, n) * rng.choice([-1.0, 1.0], n)
    g[rng.integers(0, n, 40)] = 10.0 ** rng.choice(R.GRAD_LOG10_EDGES, 40)  # on log edges
    g[rng.integers(0, n, 30)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 30)
    assert R.log_hist(g) == _reference_log_hist(g)
    assert R.log_hist(np.zeros(5)) == _reference_log_hist(np.zeros(5))


def _float32_at_edges(edges: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """float32 numbers (as float64) with, for every edge, the float32 numbers just below, at
    and just above it: where rounding an edge to float32 the wrong way would miscount."""
    x = rng.standard_normal(n).astype(np.float32)
    up, down = np.float32(np.inf), np.float32(-np.inf)
    near = []
    for e in edges:
        f = np.float32(e)
        near += [np.nextafter(f, down), f, np.nextafter(f, up)]
    idx = rng.choice(n, size=len(near), replace=False)
    x[idx] = np.array(near, dtype=np.float32)
    return x.astype(np.float64)


def test_float32_blocks_count_exactly_what_float64_comparisons_count():
    rng = np.random.default_rng(1)
    # edges that are not float32 numbers: float32(e) is above some and below others
    edges = np.linspace(-2.0, 2.0, 41) + 1e-9 / 3
    x = _float32_at_edges(edges, rng, 2 * R.BLOCK + 77)
    assert R._as_float32(x[: R.BLOCK], np.empty(R.BLOCK, np.float32)) is not None  # fast path
    assert R.hist(x, edges) == _reference_hist(x, edges)
    x[5] = np.inf  # a non-finite value is dropped from the block, the rest stays float32
    assert R.hist(x, edges) == _reference_hist(x, edges)


def test_rounding_the_edges_to_nearest_would_miscount():
    """The sibling test's data can tell: with float32(e) (round to nearest) instead of the
    smallest float32 at or above e as thresholds, its counts change."""
    rng = np.random.default_rng(1)
    edges = np.linspace(-2.0, 2.0, 41) + 1e-9 / 3
    x = _float32_at_edges(edges, rng, 2 * R.BLOCK + 77)
    s = np.sort(x.astype(np.float32))
    nearest = edges.astype(np.float32)
    naive = np.diff(np.append(s.searchsorted(nearest[:-1]), s.searchsorted(nearest[-1], "right")))
    assert naive.tolist() != _reference_hist(x, edges)[0]


def test_float32_log_thresholds_select_the_float64_logarithms():
    e = R.GRAD_LOG10_EDGES
    lo = R._LOG_LO32
    below = np.array([np.nextafter(t, np.float32(0.0)) for t in lo], dtype=np.float32)
    assert np.all(np.log10(lo.astype(np.float64)) >= e[:-1])
    assert np.all(np.log10(below.astype(np.float64)) < e[:-1])
    top = R._LOG_TOP32
    assert np.log10(np.float64(top)) <= e[-1]
    assert np.log10(np.float64(np.nextafter(top, np.float32(np.inf)))) > e[-1]


def test_float32_log_histogram_equals_the_logarithms_histogram():
    rng = np.random.default_rng(2)
    n = 2 * R.BLOCK + 5
    g = (10.0 ** rng.uniform(-18, 6, n) * rng.choice([-1.0, 1.0], n)).astype(np.float32)
    edge_values = np.concatenate(
        [R._LOG_LO32, [np.nextafter(t, np.float32(0.0)) for t in R._LOG_LO32]]
    ).astype(np.float32)
    g[rng.choice(n, edge_values.size, replace=False)] = edge_values * rng.choice([-1, 1])
    g[rng.choice(n, 30, replace=False)] = rng.choice([np.inf, -np.inf, 0.0], 30)
    g[-1] = R._LOG_TOP32
    g[-2] = np.nextafter(R._LOG_TOP32, np.float32(np.inf))
    x = g.astype(np.float64)
    assert R.log_hist(x) == _reference_log_hist(x)
    x[7] = np.nan  # a block with NaN takes the float64 path; NaN is not counted
    assert R.log_hist(x) == _reference_log_hist(x)


def test_transposed_views_are_read_in_place_with_the_same_counts():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 500))
    view = np.ascontiguousarray(x.T).T  # the values of x, stored unit-major
    assert np.shares_memory(R.values(view), view)
    edges = np.linspace(-3.0, 3.0, 41)
    assert R.hist(view, edges) == R.hist(x, edges) == _reference_hist(x, edges)
    assert R.log_hist(view) == _reference_log_hist(x)


def _exact_moments(v: np.ndarray) -> tuple[float, float, float]:
    """Correctly rounded sums (math.fsum), two passes: the reference."""
    vals = v.ravel().tolist()
    n = len(vals)
    mean = math.fsum(vals) / n
    var = math.fsum((t - mean) ** 2 for t in vals) / n
    return mean, math.sqrt(var), math.fsum(t * t for t in vals)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_blocked_moments_agree_with_the_exact_two_pass_figures(offset):
    """Large arrays (several blocks, a ragged one), members in a transposed layout, and a mean
    1e4 times the std (a one-pass sum-of-squares formula loses 8 digits there).  Pairwise sums
    of n = 2e5 terms err by at most ~log2(n) eps = 2e-15 relative to the sum of |terms|; the
    tolerance 1e-13 keeps a factor 50 above that and far below any formula error."""
    rng = np.random.default_rng(4)
    x = offset + rng.standard_normal((2, 400, 501))
    view = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)
    got = R.moments(view, mean=True, std=True, sumsq=True)
    for k in range(2):
        mean, std, sumsq = _exact_moments(x[k])
        assert got["mean"][k] == pytest.approx(mean, rel=1e-13, abs=1e-13)
        assert got["std"][k] == pytest.approx(std, rel=1e-13)
        assert got["sumsq"][k] == pytest.approx(sumsq, rel=1e-13)


def test_small_arrays_keep_numpys_figures_to_the_last_bit():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 40, 50))
    got = R.moments(x, mean=True, std=True, sumsq=True)
    flat = x.reshape(3, -1)
    assert np.array_equal(got["mean"], np.mean(x, axis=(1, 2)))
    assert np.array_equal(got["std"], flat.std(axis=1))
    assert np.array_equal(got["sumsq"], np.sum(flat * flat, axis=1))
    assert R.moments(x, std=True).keys() == {"std"}


def test_blocked_moments_propagate_nan_and_inf():
    x = np.ones((1, 3 * R.BLOCK))
    x[0, 5] = np.inf
    got = R.moments(x, mean=True, std=True, sumsq=True)
    assert got["mean"][0] == np.inf and np.isnan(got["std"][0]) and got["sumsq"][0] == np.inf
    x[0, 6] = np.nan
    got = R.moments(x, mean=True, std=True, sumsq=True)
    assert np.isnan(got["mean"][0]) and np.isnan(got["std"][0]) and np.isnan(got["sumsq"][0])


def test_float32_input_gives_the_figures_of_its_float64_values():
    """A torch model's gradients come as float32 arrays: the counts are those of the same values
    in float64 exactly (NaN and inf included, in the float32 path itself), the moments agree
    to float64 rounding (sums in float64; the tolerance as for the blocked moments)."""
    rng = np.random.default_rng(6)
    n = 2 * R.BLOCK + 11
    g32 = (10.0 ** rng.uniform(-18, 6, n) * rng.choice([-1.0, 1.0], n)).astype(np.float32)
    g32[rng.choice(n, 40, replace=False)] = rng.choice([np.nan, np.inf, -np.inf, 0.0], 40)
    g64 = g32.astype(np.float64)
    assert R.log_hist(g32) == _reference_log_hist(g64)
    x32 = _float32_at_edges(np.linspace(-2.0, 2.0, 41) + 1e-9 / 3, rng, n).astype(np.float32)
    x32[3] = np.nan
    edges = np.linspace(-2.0, 2.0, 41) + 1e-9 / 3
    assert R.hist(x32, edges) == _reference_hist(x32.astype(np.float64), edges)
    for shape in [(2, 30, 40), (2, 300, 401)]:  # the small path and the blocked one
        y32 = (1e3 + rng.standard_normal(shape)).astype(np.float32)
        got = R.moments(y32, mean=True, std=True, sumsq=True)
        for k in range(2):
            mean, std, sumsq = _exact_moments(y32[k].astype(np.float64))
            assert got["mean"][k] == pytest.approx(mean, rel=1e-13)
            assert got["std"][k] == pytest.approx(std, rel=1e-13)
            assert got["sumsq"][k] == pytest.approx(sumsq, rel=1e-13)


def test_max_abs_is_exact_in_both_paths():
    rng = np.random.default_rng(7)
    for shape in [(2, 30, 40), (2, 300, 401)]:
        x = rng.standard_normal(shape)
        x[1, 3, 5] = -50.0  # the largest magnitude is negative in member 1
        got = R.moments(x, max_abs=True)["max_abs"]
        assert got.tolist() == np.max(np.abs(x), axis=(1, 2)).tolist()
        x[0, 0, 0] = np.nan
        assert np.isnan(R.moments(x, max_abs=True)["max_abs"][0])


def test_sumsq_of_difference_in_blocks_and_across_layouts():
    """A weight's change since W_0: blocked when both share a layout, through the difference
    otherwise; float32 against float64 values is computed in float64 (the tolerance as for the
    blocked moments)."""
    rng = np.random.default_rng(9)
    w0 = rng.standard_normal((2, 300, 401))
    w = w0 + 1e-3 * rng.standard_normal(w0.shape)
    exact = [math.fsum(((w[k] - w0[k]) ** 2).ravel().tolist()) for k in range(2)]
    view = np.ascontiguousarray(w.transpose(0, 2, 1)).transpose(0, 2, 1)
    view0 = np.ascontiguousarray(w0.transpose(0, 2, 1)).transpose(0, 2, 1)
    for a, b in [(w, w0), (view, view0), (view, w0)]:
        got = R.sumsq_of_difference(a, b)
        assert got == pytest.approx(exact, rel=1e-13)
    small = R.sumsq_of_difference(w[:, :10, :10], w0[:, :10, :10])
    d = (w[:, :10, :10] - w0[:, :10, :10]).reshape(2, -1)
    assert small.tolist() == np.sum(d * d, axis=1).tolist()  # NumPy's own figure


def test_flush_to_zero_does_not_change_the_counts():
    """torch.set_flush_denormal(True) makes float32 arithmetic read subnormal numbers as 0.
    Values (float64) that are float32 subnormals, edges at or in the subnormal range, and a
    float32 gradient's subnormals (as against its exact zeros) must still be counted where
    float64 puts them."""
    torch = pytest.importorskip("torch")
    g32 = np.array([1e-40, -1e-41, 1e-3, 0.0, 2.0] * 20000, dtype=np.float32)  # a gradient
    g = g32.astype(np.float64)  # converted before flush-to-zero is on
    edges = np.linspace(-1e-39, 1e-39, 5)
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    try:
        hist, log = R.hist(g, edges), R.log_hist(g32)
        normal = np.array([1e-3, -1e-3, 0.0, 2.0] * 20000)  # float32 numbers, none subnormal
        hist_normal = R.hist(normal, edges)  # against edges +-5e-40, float32 subnormals
    finally:
        torch.set_flush_denormal(False)
    assert hist == _reference_hist(g, edges)
    assert hist_normal == _reference_hist(normal, edges)
    assert log == _reference_log_hist(g)
    assert log["zeros"] == 20000 and log["below"] == 40000
