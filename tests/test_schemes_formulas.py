"""Exact formulas: the std and bounds each scheme gives, against the seed's formulas."""

import math

import numpy as np
import pytest

from initlab import schemes as S

FANS = [(1, 1), (2, 2), (3, 1000), (256, 128), (784, 300), (4096, 10)]


@pytest.mark.parametrize("fi,fo", FANS)
def test_seed_formulas(fi, fo):
    # Xavier normal: N(0, 2/(fan_in+fan_out))
    d = S.distribution("xavier_normal", fi, fo)
    assert d.kind == "normal" and d.mean == 0
    assert d.variance == pytest.approx(2.0 / (fi + fo), rel=1e-14)
    # Xavier uniform: U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out)))
    d = S.distribution("xavier_uniform", fi, fo)
    assert d.kind == "uniform"
    assert d.high == pytest.approx(math.sqrt(6.0 / (fi + fo)), rel=1e-14)
    assert d.low == -d.high
    # He normal: N(0, 2/fan_in)
    d = S.distribution("he_normal", fi, fo)
    assert d.kind == "normal" and d.variance == pytest.approx(2.0 / fi, rel=1e-14)
    # He uniform: U(-sqrt(6/fan_in), +sqrt(6/fan_in))
    d = S.distribution("he_uniform", fi, fo)
    assert d.high == pytest.approx(math.sqrt(6.0 / fi), rel=1e-14) and d.low == -d.high
    # LeCun: Var = 1/fan_in
    assert S.distribution("lecun_normal", fi, fo).variance == pytest.approx(1.0 / fi, rel=1e-14)
    assert S.distribution("lecun_uniform", fi, fo).high == pytest.approx(math.sqrt(3.0 / fi))
    # PyTorch default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); Keras default: Glorot uniform
    assert S.distribution("torch_default", fi, fo).high == pytest.approx(1 / math.sqrt(fi))
    assert S.distribution("keras_default", fi, fo).high == pytest.approx(math.sqrt(6 / (fi + fo)))


def test_uniform_and_normal_forms_have_equal_variance():
    for fi, fo in FANS:
        for a, b in (
            ("xavier_normal", "xavier_uniform"),
            ("he_normal", "he_uniform"),
            ("lecun_normal", "lecun_uniform"),
            ("small", "small_uniform"),
        ):
            assert S.distribution(a, fi, fo).variance == pytest.approx(
                S.distribution(b, fi, fo).variance, rel=1e-12
            )


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("dist", ["normal", "truncated_normal", "uniform"])
def test_variance_scaling_variance(mode, dist):
    fi, fo = 300, 50
    fan = {
        "fan_in": fi,
        "fan_out": fo,
        "fan_avg": (fi + fo) / 2,
        "fan_geo_avg": math.sqrt(fi * fo),
    }[mode]
    d = S.distribution("variance_scaling", fi, fo, scale=3.0, mode=mode, distribution=dist)
    assert d.variance == pytest.approx(3.0 / fan, rel=1e-12)
    if dist == "truncated_normal":
        # truncated at 2 std of the underlying normal, whose std is corrected by 0.8796...
        assert d.sigma == pytest.approx(math.sqrt(3.0 / fan) / 0.87962566103423978, rel=1e-12)
        assert d.high == pytest.approx(2 * d.sigma)


def test_truncation_correction_factor():
    assert S.truncated_normal_std(-2.0, 2.0) == pytest.approx(0.87962566103423978, abs=1e-15)
    # against SciPy's truncated normal for several intervals, asymmetric and one-sided too
    from scipy import stats

    for a, b in [(-2, 2), (-1, 3), (0, np.inf), (-np.inf, 0.5), (3, 5), (-6, -4)]:
        assert S.truncated_normal_std(a, b) == pytest.approx(stats.truncnorm(a, b).std(), rel=1e-9)


def test_gain_table():
    assert S.calculate_gain("linear") == 1.0
    assert S.calculate_gain("sigmoid") == 1.0
    assert S.calculate_gain("tanh") == 5.0 / 3.0
    assert S.calculate_gain("relu") == math.sqrt(2.0)
    assert S.calculate_gain("selu") == 0.75
    assert S.calculate_gain("conv2d") == 1.0
    assert S.calculate_gain("leaky_relu", 0.2) == pytest.approx(1.3867504906, abs=1e-10)
    assert S.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    # NumPy scalar slopes are accepted
    assert S.calculate_gain("leaky_relu", np.float64(0.2)) == pytest.approx(1.3867504906, abs=1e-10)
    assert S.calculate_gain("leaky_relu", np.float32(0.2)) == pytest.approx(1.3867504906, abs=1e-7)


def test_numeric_gain_reproduces_the_closed_forms():
    assert S.numeric_gain(lambda z: np.maximum(z, 0)) == pytest.approx(math.sqrt(2), abs=1e-12)
    assert S.numeric_gain(lambda z: z) == pytest.approx(1.0, abs=1e-12)
    for a in (0.01, 0.2, 0.5):
        leaky = lambda z, a=a: np.where(z > 0, z, a * z)  # noqa: E731
        assert S.numeric_gain(leaky) == pytest.approx(S.calculate_gain("leaky_relu", a), abs=1e-12)


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus", "mish", "tanh", "sigmoid"])
def test_numeric_gain_against_scipy_quadrature(name):
    from scipy import integrate, special, stats

    funcs = {
        "gelu": lambda z: z * stats.norm.cdf(z),
        "silu": lambda z: z * special.expit(z),
        "elu": lambda z: z if z > 0 else math.expm1(z),
        "softplus": lambda z: np.logaddexp(0, z),
        "mish": lambda z: z * math.tanh(np.logaddexp(0, z)),
        "tanh": math.tanh,
        "sigmoid": special.expit,
    }
    f = funcs[name]
    m2 = sum(
        integrate.quad(lambda z: f(z) ** 2 * stats.norm.pdf(z), lo, hi, epsabs=1e-14, epsrel=1e-13)[
            0
        ]
        for lo, hi in ((-np.inf, 0), (0, np.inf))
    )
    from initlab.activations import get_activation

    assert S.numeric_gain(get_activation(name).forward) == pytest.approx(
        1 / math.sqrt(m2), rel=1e-10
    )
    if name not in S.GAIN_TABLE:
        assert S.calculate_gain(name) == pytest.approx(1 / math.sqrt(m2), rel=1e-10)


def test_numeric_gain_of_any_callable():
    mish = lambda z: z * np.tanh(np.logaddexp(0, z))  # noqa: E731
    assert 1.0 < S.calculate_gain(mish) < 2.0
    with pytest.raises(ValueError, match="second moment"):
        S.numeric_gain(lambda z: np.zeros_like(z))
