"""The quadrature rules the theory module adds to initlab._quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from initlab._quadrature import (
    bivariate_gaussian_expectation,
    gaussian_expectation,
    gaussian_expectation_wide,
)


def relu(u):
    return np.maximum(u, 0.0)


def step(u):
    return (u > 0).astype(float)


def sech4(u):
    return 1.0 / np.cosh(np.minimum(np.abs(u), 150.0)) ** 4


def arccos_kernel(q, c):
    """E[relu(u1) relu(u2)] for Var = q, Corr = c (Cho & Saul 2009)."""
    return q / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)


@pytest.mark.parametrize("std", [1e-6, 0.3, 1.0, 7.0, 1e3, 1e8])
@pytest.mark.parametrize("c", [-1.0, -0.7, -0.1, 0.0, 0.4, 0.9, 0.999, 1 - 1e-9, 1.0])
def test_bivariate_relu_matches_arccos_kernel(std, c):
    q = std * std
    got = bivariate_gaussian_expectation(relu, relu, std, std, c)
    assert got == pytest.approx(arccos_kernel(q, c), rel=1e-12, abs=1e-13 * q)
    got_step = bivariate_gaussian_expectation(step, step, std, std, c)
    assert got_step == pytest.approx((math.pi - math.acos(c)) / (2 * math.pi), abs=1e-13)


def test_bivariate_independent_and_identical_limits():
    f, g = np.tanh, lambda u: u * u + np.sin(u)
    product = gaussian_expectation_wide(f, 1.3) * gaussian_expectation_wide(g, 0.7)
    assert bivariate_gaussian_expectation(f, g, 1.3, 0.7, 0.0) == pytest.approx(product, abs=1e-14)
    same = gaussian_expectation_wide(lambda u: f(u) * g(u * 0.7 / 1.3), 1.3)
    assert bivariate_gaussian_expectation(f, g, 1.3, 0.7, 1.0) == pytest.approx(same, abs=1e-14)
    flipped = gaussian_expectation_wide(lambda u: f(u) * g(-u * 0.7 / 1.3), 1.3)
    assert bivariate_gaussian_expectation(f, g, 1.3, 0.7, -1.0) == pytest.approx(flipped, abs=1e-14)


def test_bivariate_is_symmetric_in_its_two_variables():
    f, g = np.tanh, lambda u: np.maximum(u, 0) ** 1.5
    a = bivariate_gaussian_expectation(f, g, 0.8, 2.5, 0.35)
    b = bivariate_gaussian_expectation(g, f, 2.5, 0.8, 0.35)
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("c", [-0.6, 0.3, 0.95])
def test_bivariate_tanh_matches_scipy(c):
    s1, s2 = 1.5, 0.9
    r = math.sqrt(1 - c * c)

    def integrand(z2, z1):
        dens = math.exp(-0.5 * (z1 * z1 + z2 * z2)) / (2 * math.pi)
        return math.tanh(s1 * z1) * math.tanh(s2 * (c * z1 + r * z2)) * dens

    ref, err = integrate.dblquad(integrand, -12, 12, -12, 12, epsabs=1e-13, epsrel=1e-12)
    got = bivariate_gaussian_expectation(np.tanh, np.tanh, s1, s2, c)
    assert got == pytest.approx(ref, abs=1e-10)


def test_price_theorem_derivative_in_the_correlation():
    """d/dc E[phi(u1) phi(u2)] = q E[phi'(u1) phi'(u2)] (a check of both rules together)."""
    s, c, h = 1.2, 0.4, 1e-5
    up = bivariate_gaussian_expectation(np.tanh, np.tanh, s, s, c + h)
    down = bivariate_gaussian_expectation(np.tanh, np.tanh, s, s, c - h)

    def dtanh(u):
        return 1 - np.tanh(u) ** 2

    slope = s * s * bivariate_gaussian_expectation(dtanh, dtanh, s, s, c)
    assert (up - down) / (2 * h) == pytest.approx(slope, rel=1e-8)


def _reference(f, std):
    """E[f(std z)] by scipy.integrate.quad, split where f changes shape."""

    def g(t):
        return float(f(np.array([std * t]))[0]) * math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)

    cuts = {-12.0, 0.0, 12.0}
    cuts |= {s * 2.0**k / std for k in range(-8, 8) for s in (1, -1) if 2.0**k / std < 12}
    pts = sorted(cuts)
    return sum(
        integrate.quad(g, a, b, epsabs=0, epsrel=1e-13, limit=400)[0]
        for a, b in zip(pts[:-1], pts[1:], strict=False)
    )


@pytest.mark.parametrize("std", [1e-3, 1.0, 30.0, 1e3, 1e5])
@pytest.mark.parametrize(
    "f", [sech4, lambda u: np.tanh(u) ** 2, relu], ids=["sech4", "tanh2", "relu"]
)
def test_wide_rule_is_accurate_for_large_std(std, f):
    ref = _reference(f, std)
    assert gaussian_expectation_wide(f, std) == pytest.approx(ref, rel=1e-10)


def test_wide_rule_agrees_with_the_fixed_rule_near_std_one():
    for f in (np.tanh, lambda u: np.exp(-(u**2)), relu):
        for std in (0.5, 1.0, 2.0):
            assert gaussian_expectation_wide(f, std) == pytest.approx(
                gaussian_expectation(f, std), abs=1e-14
            )


def test_wide_rule_at_std_zero_is_the_value_at_zero():
    assert gaussian_expectation_wide(lambda u: np.cos(u) + 2, 0.0) == pytest.approx(3.0)


def test_wide_rule_refuses_non_elementwise_functions():
    with pytest.raises(ValueError, match="elementwise"):
        gaussian_expectation_wide(lambda u: np.sum(u), 1.0)
