"""Activations and losses: values, derivatives, numerical stability, target checks."""

import warnings

import numpy as np
import pytest
from scipy import special, stats

from initlab.activations import ACTIVATIONS, get_activation, parse_activation
from initlab.losses import get_loss

ELEMENTWISE = [a for a in ACTIVATIONS if a != "softmax"]

REFERENCE = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "selu": lambda z: (
        1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0)))
    ),
    "gelu": lambda z: z * stats.norm.cdf(z),
    "silu": lambda z: z * special.expit(z),
    "softplus": lambda z: np.logaddexp(0, z),
    "mish": lambda z: z * np.tanh(np.logaddexp(0, z)),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_matches_reference(name):
    z = np.linspace(-8, 8, 2001)
    np.testing.assert_allclose(get_activation(name)(z), REFERENCE[name](z), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name):
    z = np.linspace(-6, 6, 1201) + 0.0005  # avoid the kink at exactly 0
    g = get_activation(name)
    h = 1e-6
    numeric = (REFERENCE[name](z + h) - REFERENCE[name](z - h)) / (2 * h)
    np.testing.assert_allclose(g.derivative(z, g(z)), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_stable_at_extremes(name):
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    g = get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        a = g(z)
        d = g.derivative(z, a)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    if name in ("sigmoid",):
        assert a[0] == 0.0 and a[-1] == 1.0
    if name == "softplus":
        assert a[-1] == 1000.0 and a[0] == 0.0


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_dtype_preserved(name):
    z = np.linspace(-3, 3, 11, dtype=np.float32)
    g = get_activation(name)
    assert g(z).dtype == np.float32
    assert g.derivative(z, g(z)).dtype == np.float32


def test_parametric_activations():
    g = parse_activation("leaky_relu:0.2")
    assert g.param == 0.2 and g.spec == "leaky_relu:0.2"
    np.testing.assert_array_equal(g(np.array([-1.0, 2.0])), [-0.2, 2.0])
    assert parse_activation("elu:2")(np.array([-1e9]))[0] == -2.0
    with pytest.raises(ValueError, match="activation='relux'.*relu"):
        parse_activation("relux")
    with pytest.raises(ValueError, match="takes no parameter"):
        get_activation("tanh", 0.3)
    with pytest.raises(ValueError, match="must be a number"):
        parse_activation("leaky_relu:abc")


def test_softmax_rows():
    from initlab.activations import softmax

    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(softmax(z), special.softmax(z, axis=-1), rtol=1e-14)


def test_bce_from_logits_is_finite_and_exact_when_saturated():
    bce = get_loss("binary_cross_entropy")
    Z = np.array([[[1000.0], [-1000.0], [1000.0], [-1000.0]]])
    Y = np.array([[1.0], [0.0], [0.0], [1.0]])
    # right and confident: 0; wrong and confident: |z| = 1000 each
    assert bce.cost(Z, special.expit(Z), Y)[0] == pytest.approx((0 + 0 + 1000 + 1000) / 4)
    z = np.random.default_rng(0).standard_normal((1, 50, 1))
    y = (np.random.default_rng(1).random((50, 1)) > 0.5) * 1.0
    a = special.expit(z)
    expected = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    assert bce.cost(z, a, y)[0] == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_and_mse_values():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((2, 30, 4)) * 5
    Y = np.eye(4)[rng.integers(0, 4, 30)]
    ce = get_loss("cross_entropy")
    expected = -(Y * special.log_softmax(z, axis=-1)).sum(-1).mean(-1)
    np.testing.assert_allclose(ce.cost(z, special.softmax(z, -1), Y), expected, rtol=1e-12)
    mse = get_loss("mse")
    t = rng.standard_normal((30, 4))
    np.testing.assert_allclose(mse.cost(z, z, t), ((z - t) ** 2).mean(axis=(1, 2)), rtol=1e-12)


def test_targets_that_do_not_fit_the_loss():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        get_loss("bce").check_targets(np.array([[0.0], [2.0]]))
    with pytest.raises(ValueError, match="one column per class"):
        get_loss("cross_entropy").check_targets(np.array([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="summing to 1"):
        get_loss("cross_entropy").check_targets(np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        get_loss("mse").check_targets(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="loss='hinge'"):
        get_loss("hinge")


def test_bce_keeps_the_small_cost_of_confident_right_answers_in_float32():
    bce = get_loss("binary_cross_entropy")
    for z in (10.0, 15.0, 30.0):
        Z = np.array([[[z]]], dtype=np.float32)
        got = bce.cost(Z, special.expit(Z), np.ones((1, 1), dtype=np.float32))[0]
        assert got == pytest.approx(np.log1p(np.exp(-z)), rel=1e-5)
