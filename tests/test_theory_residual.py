"""The residual variance recursion against closed forms and a wide simulated network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initlab.theory import residual_stream


def test_linear_branches_have_closed_forms() -> None:
    # linear branch, He weights: s_l = 2 p_{l-1}, m = 0, so p_l = (1 + 2 alpha^2) p_{l-1}
    for L, alpha in [(10, 1.0), (64, 1 / math.sqrt(128)), (5, 0.3)]:
        r = residual_stream("linear", L, alpha)
        assert r.growth() == pytest.approx((1 + 2 * alpha**2) ** L, rel=1e-9)
        assert all(abs(m) < 1e-12 for m in r.mean)  # quadrature of an odd function


def test_relu_first_block_by_hand() -> None:
    # u ~ N(0, 2): E[relu(u)^2] = 1, E[relu(u)] = sqrt(2 / (2 pi)) = 1 / sqrt(pi)
    r = residual_stream("relu", 2, alpha=1.0)
    assert r.second_moment[1] == pytest.approx(2.0, rel=1e-9)
    assert r.mean[1] == pytest.approx(1 / math.sqrt(math.pi), rel=1e-9)
    # block 2: q = 4, m = sqrt(4 / (2 pi)), s = 2; p = 2 + 2 mu m + s
    m2 = math.sqrt(4 / (2 * math.pi))
    assert r.second_moment[2] == pytest.approx(2 + 2 * r.mean[1] * m2 + 2, rel=1e-9)


def test_zero_branches_keep_the_stream() -> None:
    r = residual_stream("relu", 32, alpha=1.0, sigma_w2=0.0, p0=1.7)
    assert r.second_moment == (1.7,) * 33


def test_scaling_orders_the_growth() -> None:
    L = 32
    unscaled = residual_stream("relu", L, 1.0).growth()
    gpt2 = residual_stream("relu", L, 1 / math.sqrt(2 * L)).growth()
    fixup = residual_stream("relu", L, 1.0, sigma_w2=2.0 / L).growth()
    assert unscaled > 1e6 * fixup
    assert fixup > gpt2 > 1.0


def _simulate(L: int, alpha: float, n: int, m: int, seed: int) -> np.ndarray:
    """E[A_l^2] of a wide ReLU residual net with He weights, written here independently."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    out = [float(np.mean(A**2))]
    for _ in range(L):
        W = rng.normal(0.0, math.sqrt(2.0 / n), (n, n))
        A = A + alpha * np.maximum(A @ W, 0.0)
        out.append(float(np.mean(A**2)))
    return np.array(out)


def test_matches_a_wide_network() -> None:
    # width 1000: the mean-field prediction is exact up to O(1/n) corrections and sampling
    # noise of the second moment; over 8 blocks the per-layer relative fluctuation of the
    # branch variance (about sqrt(2 / n) = 4.5% for one layer's q, averaged over m examples)
    # compounds to a few per cent, so the simulated mean over 4 seeds must be within 6%.
    L, alpha = 8, 0.5
    pred = np.array(residual_stream("relu", L, alpha).second_moment)
    sims = np.mean([_simulate(L, alpha, 1000, 64, s) for s in range(4)], axis=0)
    np.testing.assert_allclose(sims, pred, rtol=0.06)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="alpha lists 2"):
        residual_stream("relu", 3, alpha=[1.0, 1.0])
    with pytest.raises(ValueError, match="sigma_w2"):
        residual_stream("relu", 3, sigma_w2=-1.0)
    with pytest.raises(ValueError, match="depth"):
        residual_stream("relu", 0)
    with pytest.raises(ValueError, match="softmax"):
        residual_stream("softmax", 3)
