"""Jacobian singular values: the network computation against finite differences, the Monte
Carlo against known laws and against the exact mean square."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.theory import jacobian_singular_values, jacobian_spectrum


def test_singular_values_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    sizes = [5, 4, 6]
    Ws = [rng.normal(size=(sizes[i], sizes[i + 1])) / 2 for i in range(2)]
    x = rng.normal(size=5)

    def f(v: np.ndarray) -> np.ndarray:
        for W in Ws:
            v = np.tanh(v @ W)
        return v

    eps = 1e-6
    J = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    z1 = x @ Ws[0]
    z2 = np.tanh(z1) @ Ws[1]
    d = [1 - np.tanh(z1[None]) ** 2, 1 - np.tanh(z2[None]) ** 2]
    layer, product = jacobian_singular_values(Ws, d)
    np.testing.assert_allclose(product[1][0], np.linalg.svd(J, compute_uv=False), atol=1e-8)
    assert layer[0].shape == (1, 4) and product[1].shape == (1, 5)  # rank 4: one is ~0


def test_quarter_circle_mean() -> None:
    # one square Gaussian layer, g' = 1: quarter-circle law, mean 8 / (3 pi) sigma_w; at
    # n = 300 the finite-size bias is O(1/n) and the Monte Carlo error is given: 5 s.e. + 1%
    s = jacobian_spectrum("linear", [300, 300], 0.25, samples=4, seed=1)
    target = 8 / (3 * math.pi) * 0.5
    assert abs(s.layer_mean[0] - target) < 5 * s.mean_se[0] + 0.01 * target


def test_monte_carlo_mean_square_is_the_exact_product_of_chi() -> None:
    # E[s^2] of the product = (n_L / n_0) prod chi holds exactly for the sampled ensemble
    # (independent layers), so the Monte Carlo mean of 16 independent draws must lie within
    # 4 of its standard errors (a 1 in 15000 chance per value of failing when right)
    for act, sw2 in [("tanh", 1.0), ("tanh", 1 / 3), ("relu", 2.0)]:
        s = jacobian_spectrum(act, [80] * 7, sw2, 0.05, samples=16, seed=0)
        gap = np.abs(np.array(s.mean_square) - s.mean_square_theory)
        assert np.all(gap < 4 * np.array(s.mean_square_se)), (act, gap, s.mean_square_se)
    wrong = jacobian_spectrum("tanh", [80] * 7, 1.0, samples=16, seed=0)
    assert (
        abs(wrong.mean_square[-1] - 1.5 * wrong.mean_square_theory[-1])
        > 4 * wrong.mean_square_se[-1]
    )


def test_tanh_derivative_shrinks_the_layer_mean() -> None:
    # tanh' <= 1, so each layer's mean singular value is below the linear quarter-circle
    # value 8 sigma_w / (3 pi), and a larger input variance (more saturation) lowers it more
    lin = 8 / (3 * math.pi)
    small = jacobian_spectrum("tanh", [100, 100], 1.0, q0=0.01, samples=4).layer_mean[0]
    large = jacobian_spectrum("tanh", [100, 100], 1.0, q0=4.0, samples=4).layer_mean[0]
    assert large < small < lin
    assert small > 0.97 * lin  # q = 0.01: tanh'(u) ~ 1 - u^2, a 2% effect


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="sigma_w2 lists 1"):
        jacobian_spectrum("tanh", [4, 4, 4], [1.0])
    with pytest.raises(ValueError, match="sizes"):
        jacobian_spectrum("tanh", [4], 1.0)
    with pytest.raises(ValueError, match="derivatives of shape"):
        jacobian_singular_values([np.ones((3, 2))], [np.ones((1, 3))])
