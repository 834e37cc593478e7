"""Statistics of the draws: moments, bounds and distribution (KS) against each scheme's law."""

import math

import numpy as np
import pytest
from scipy import stats
from stats_helpers import KURTOSIS, check_mean, check_variance

from initlab import schemes as S

SHAPE = (400, 500)  # 200,000 draws; fans 400 -> 500


def _cdf(d: S.Distribution):
    if d.kind == "normal":
        return stats.norm(d.mean, d.std).cdf
    if d.kind == "uniform":
        return stats.uniform(d.low, d.high - d.low).cdf
    if d.kind == "truncated_normal":
        a, b = (d.low - d.loc) / d.sigma, (d.high - d.loc) / d.sigma
        return stats.truncnorm(a, b, loc=d.loc, scale=d.sigma).cdf
    raise AssertionError(d.kind)


RANDOM = [
    n
    for n in S.available()
    if S.distribution(n, *SHAPE) is not None
    and S.distribution(n, *SHAPE).kind in ("normal", "uniform", "truncated_normal")
]


def test_every_random_scheme_is_covered():
    assert {
        "xavier_normal",
        "xavier_uniform",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
        "small",
        "large",
        "truncated_normal",
        "torch_default",
        "variance_scaling",
        "random_normal",
        "random_uniform",
    } <= set(RANDOM)


@pytest.mark.parametrize("name", RANDOM)
def test_draws_match_the_law(name):
    d = S.distribution(name, *SHAPE)
    w = S.get(name)(SHAPE, rng=2024)
    assert w.shape == SHAPE and w.dtype == np.float64
    x = w.ravel()
    check_mean(x, d.mean, d.std)
    kurt = (
        3.0
        + stats.truncnorm((d.low - d.loc) / d.sigma, (d.high - d.loc) / d.sigma).stats(moments="k")
        if d.kind == "truncated_normal"
        else KURTOSIS[d.kind]
    )
    check_variance(x, d.variance, float(kurt))
    assert x.min() >= d.low and x.max() <= d.high
    if d.kind == "uniform":
        assert x.max() < d.high
    assert stats.kstest(x, _cdf(d)).pvalue > 1e-3


def test_kolmogorov_smirnov_detects_a_wrong_scale():
    # the test above can fail: a draw 3% too wide is rejected at this sample size
    x = S.he_normal(SHAPE, rng=1).ravel() * 1.03
    assert stats.kstest(x, stats.norm(0, math.sqrt(2 / 400)).cdf).pvalue < 1e-6


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("dist", ["normal", "truncated_normal", "uniform"])
def test_variance_scaling_draws(mode, dist):
    d = S.distribution("variance_scaling", *SHAPE, scale=2.0, mode=mode, distribution=dist)
    x = S.variance_scaling(SHAPE, 7, scale=2.0, mode=mode, distribution=dist).ravel()
    assert stats.kstest(x, _cdf(d)).pvalue > 1e-3
    assert x.min() >= d.low and x.max() <= d.high


@pytest.mark.parametrize(
    "a,b", [(-2, 2), (-1, 3), (0, np.inf), (3, np.inf), (3, 3.5), (-6, -4), (-np.inf, -5), (8, 9)]
)
def test_truncated_normal_by_rejection_any_interval(a, b):
    x = S.truncated_normal(100_000, 3, std=1.0, a=a, b=b, correct_std=False)
    assert stats.kstest(x, stats.truncnorm(a, b).cdf).pvalue > 1e-3
    assert x.min() >= a and x.max() <= b


def test_truncated_normal_gives_the_requested_std():
    x = S.truncated_normal(200_000, 5, std=0.3, mean=1.0)  # a=-2, b=2, corrected
    t = stats.truncnorm(-2, 2)
    check_variance(x, 0.09, 3.0 + float(t.stats(moments="k")))
    sigma = 0.3 / 0.87962566103423978
    assert x.min() >= 1.0 - 2 * sigma and x.max() <= 1.0 + 2 * sigma
    # uncorrected: the std shrinks by the factor
    y = S.truncated_normal(200_000, 5, std=0.3, correct_std=False)
    check_variance(y, (0.3 * 0.87962566103423978) ** 2, 3.0 + float(t.stats(moments="k")))


def test_truncation_is_in_std_units_not_absolute():
    # torch.nn.init.trunc_normal_(std=10) truncates at +-2 absolute; here it is +-2 std.
    x = S.truncated_normal(50_000, 0, std=10.0, correct_std=False)
    assert x.max() > 15 and x.min() < -15


def test_small_std_truncation_has_no_pile_up_at_the_bounds():
    # Inverse-CDF tricks leave mass at the bounds for small std; rejection does not.
    x = S.truncated_normal(200_000, 1, std=1e-4, correct_std=False)
    top = np.mean(x > 1.99e-4)
    expected = (stats.norm.cdf(2) - stats.norm.cdf(1.99)) / (2 * stats.norm.cdf(2) - 1)
    assert top == pytest.approx(expected, rel=0.25)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_and_bounds_after_cast(dtype):
    for name in (
        "xavier_uniform",
        "he_uniform",
        "he_normal",
        "truncated_normal",
        "orthogonal",
        "zeros",
        "sparse",
        "identity",
    ):
        w = S.get(name)((300, 200), 0, dtype)
        assert w.dtype == dtype
    # a bound whose float32 rounding lies above it: no cast value may reach it
    bound = math.sqrt(6.0 / 7.0)
    assert float(np.float32(bound)) > bound
    w = S.random_uniform(1_000_000, 0, np.float32, low=-bound, high=bound)
    assert float(w.max()) < bound and float(w.min()) >= -bound


def test_float16_overflow_is_an_error_not_inf():
    with pytest.raises(ValueError, match="float16"):
        S.constant((3, 3), 0, np.float16, value=1e6)
    with pytest.raises(ValueError, match="float16"):
        S.random_normal((1000,), 0, np.float16, std=1e6)


def test_reproducible_and_seed_sensitive():
    a = S.he_normal((50, 40), 3)
    assert np.array_equal(a, S.he_normal((50, 40), 3))
    assert np.array_equal(a, S.he_normal((50, 40), np.random.default_rng(3)))
    assert not np.array_equal(a, S.he_normal((50, 40), 4))
    g = np.random.default_rng(9)
    assert not np.array_equal(S.he_normal((50, 40), g), S.he_normal((50, 40), g))
    for name in ("orthogonal", "sparse", "truncated_normal", "xavier_uniform"):
        assert np.array_equal(S.get(name)((30, 20), 11), S.get(name)((30, 20), 11))


def test_float32_is_the_cast_of_float64():
    # sampled in float64 and cast: the same seed gives the same numbers in both dtypes
    a64 = S.xavier_normal((64, 32), 5, np.float64)
    a32 = S.xavier_normal((64, 32), 5, np.float32)
    assert np.array_equal(a64.astype(np.float32), a32)


def test_orthogonal_is_orthogonal():
    for shape in [(5, 3), (3, 5), (4, 4), (100, 10), (1, 7)]:
        w = S.orthogonal(shape, 0, gain=2.0)
        small = min(shape)
        g = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(g, 4.0 * np.eye(small), atol=1e-12)
    # float32 to float tolerance
    w = S.orthogonal((64, 64), 0, np.float32)
    np.testing.assert_allclose(w.T @ w, np.eye(64), atol=1e-5)


def test_orthogonal_conv_layouts():
    # torch: (out, in, k, k) flattened to (out, in*k*k), like torch.nn.init.orthogonal_
    w = S.orthogonal((8, 4, 3, 3), 0, layout="torch").reshape(8, -1)
    np.testing.assert_allclose(w @ w.T, np.eye(8), atol=1e-12)
    # channels_last: (k, k, in, out) flattened to (k*k*in, out), like Keras
    w = S.orthogonal((3, 3, 4, 8), 0, layout="channels_last").reshape(-1, 8)
    np.testing.assert_allclose(w.T @ w, np.eye(8), atol=1e-12)
    # a batch axis: each slice its own orthogonal matrix
    w = S.orthogonal((6, 5, 5), 0, layout=S.Axes(in_axis=1, out_axis=2, batch_axis=0))
    for k in range(6):
        np.testing.assert_allclose(w[k].T @ w[k], np.eye(5), atol=1e-12)
    assert not np.allclose(w[0], w[1])
    with pytest.raises(ValueError, match="layout"):
        S.orthogonal((8, 4, 3, 3), 0)


def test_orthogonal_is_haar_distributed():
    # With the sign fix, Haar 2x2 rotations have a uniform angle and det +-1 equally often.
    w = S.orthogonal((20_000, 2, 2), 0, layout=S.Axes(in_axis=1, out_axis=2, batch_axis=0))
    angle = np.arctan2(w[:, 1, 0], w[:, 0, 0])
    assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    det = np.linalg.det(w)
    check_mean(det, 0.0, 1.0)


def test_identity_and_dirac():
    np.testing.assert_array_equal(S.identity((3, 4), gain=2.0), 2.0 * np.eye(3, 4))
    np.testing.assert_array_equal(S.eye((3, 3)), np.eye(3))
    k = S.dirac((4, 4, 3, 3), layout="torch")
    x = np.random.default_rng(0).standard_normal((4, 6, 6))
    # a 'same' correlation with this kernel returns the input
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros_like(x)
    for o in range(4):
        for i in range(4):
            for u in range(3):
                for v in range(3):
                    out[o] += k[o, i, u, v] * pad[i, u : u + 6, v : v + 6]
    np.testing.assert_allclose(out, x)
    kl = S.dirac((3, 3, 4, 4), layout="channels_last")
    np.testing.assert_array_equal(kl, np.transpose(k, (2, 3, 1, 0)))
    g = S.dirac((4, 2, 3), layout="torch", groups=2)  # 2 groups of 2 output channels
    assert g[0, 0, 1] == g[1, 1, 1] == g[2, 0, 1] == g[3, 1, 1] == 1 and g.sum() == 4
    with pytest.raises(ValueError, match="groups"):
        S.dirac((5, 2, 3), layout="torch", groups=2)


def test_sparse_zeros_per_column():
    w = S.sparse((40, 25), 0, sparsity=0.3, std=0.5)
    assert np.all((w == 0).sum(axis=0) == math.ceil(0.3 * 40))
    nz = w[w != 0]
    assert stats.kstest(nz, stats.norm(0, 0.5).cdf).pvalue > 1e-3


def test_scaled_multiplies_the_base():
    base = S.xavier_normal((100, 80), 3)
    np.testing.assert_allclose(S.scaled((100, 80), 3, base="xavier_normal", factor=10.0), 10 * base)


def test_constants():
    assert np.all(S.zeros((2, 3)) == 0) and np.all(S.ones((2, 3)) == 1)
    assert np.all(S.constant((2, 3), value=-0.25) == -0.25)


@pytest.mark.parametrize(
    ("shape", "layout", "side"),
    [
        ((32, 16, 3, 3), "torch", 144),  # (32, 144) like torch.nn.init
        ((16, 32, 3, 3), "torch_transpose", 288),  # (16, 288): the transposed kernel's rows
        ((3, 3, 16, 32), "channels_last", 144),  # (144, 32) like Keras
    ],
)
def test_orthogonal_law_matches_conv_draws(shape, layout, side):
    # the law of an entry uses the flattened matrix's larger side, for every layout
    law = S.info("orthogonal").law_at(shape, layout)
    w = S.orthogonal(shape, 0, layout=layout)
    assert law.std == pytest.approx(1 / math.sqrt(side))
    # the entries' mean square is exactly gain^2 / max(r, c)
    assert float((w**2).mean()) == pytest.approx(law.std**2, rel=1e-12)
