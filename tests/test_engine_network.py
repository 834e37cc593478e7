"""Network construction, forward/backward (gradient check), the population axis."""

import numpy as np
import pytest

from initlab.activations import ACTIVATIONS
from initlab.losses import get_loss
from initlab.network import (
    backward,
    forward,
    gradient_check,
    init_network,
    lsuv_rescale,
    member_rng,
    network_from_arrays,
)
from initlab.schemes import he_normal

RNG = np.random.default_rng(0)
X = RNG.standard_normal((25, 3))
YB = (RNG.random((25, 1)) > 0.5) * 1.0
YC = np.eye(3)[RNG.integers(0, 3, 25)]


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a != "softmax"])
def test_gradient_check_every_activation(act):
    net = init_network(
        [3, 5, 4, 1], act, "sigmoid", "xavier_normal", "random_normal:std=0.1", population=2, seed=3
    )
    assert gradient_check(net, X, YB, "binary_cross_entropy") < 1e-6


@pytest.mark.parametrize(
    "loss,out,Y",
    [
        ("cross_entropy", "softmax", YC),
        ("mse", "linear", YC),
        ("mse", "tanh", YC * 0.5),
        ("mse", "sigmoid", YC),
    ],
)
def test_gradient_check_every_loss(loss, out, Y):
    net = init_network([3, 6, 3], "tanh", out, "xavier_normal", "random_normal:std=0.1", seed=4)
    assert gradient_check(net, X, Y, loss) < 1e-6


def test_gradient_check_detects_a_wrong_backward(monkeypatch):
    # the check can fail: a backward pass missing the activation derivative is caught
    import initlab.network as N

    net = init_network([3, 5, 1], "tanh", "sigmoid", "xavier_normal", seed=1)
    g = net.activations[0]
    from dataclasses import replace

    net.activations = (replace(g, derivative=lambda z, a: np.ones_like(z)), net.activations[1])
    assert N.gradient_check(net, X, YB, "bce") > 1e-2


def test_forward_reproduces_a_hand_computed_example():
    # 2 inputs, 2 ReLU hidden units, 1 sigmoid output (the seed's example), numbers by hand
    W1 = np.array([[0.1, -0.2], [0.3, 0.4]])  # (in, out)
    W2 = np.array([[0.5], [-0.6]])
    net = network_from_arrays([W1, W2], [np.array([0.0, 0.1]), np.array([0.2])], "relu", "sigmoid")
    x = np.array([[1.0, 2.0]])
    # Z1 = [0.1*1 + 0.3*2 + 0, -0.2*1 + 0.4*2 + 0.1] = [0.7, 0.7]; A1 = [0.7, 0.7]
    # Z2 = 0.5*0.7 - 0.6*0.7 + 0.2 = 0.13; A2 = 1/(1+e^-0.13)
    a, cache = forward(net, x)
    np.testing.assert_allclose(cache.Z[0][0], [[0.7, 0.7]], rtol=1e-15)
    np.testing.assert_allclose(cache.Z[1][0], [[0.13]], rtol=1e-14)
    np.testing.assert_allclose(a[0, 0, 0], 1 / (1 + np.exp(-0.13)), rtol=1e-15)
    # backward with y = 1: dZ2 = a - 1; dW2 = A1^T dZ2; dZ1 = dZ2 W2^T * relu'(Z1)
    g = backward(net, cache, np.array([[1.0]]), get_loss("bce"))
    dz2 = a[0, 0, 0] - 1.0
    np.testing.assert_allclose(g.dW[1][0], [[0.7 * dz2], [0.7 * dz2]], rtol=1e-14)
    np.testing.assert_allclose(
        g.dW[0][0], [[1 * 0.5 * dz2, 1 * -0.6 * dz2], [2 * 0.5 * dz2, 2 * -0.6 * dz2]], rtol=1e-14
    )
    np.testing.assert_allclose(g.db[0][0], [[0.5 * dz2, -0.6 * dz2]], rtol=1e-14)


def test_population_members_are_independent_networks():
    pop = init_network([3, 8, 4, 1], "relu", "sigmoid", "he_normal", population=5, seed=7)
    a_pop, _ = forward(pop, X)
    for k in (0, 3):
        single = pop.member(k)
        assert single.population == 1
        a, _ = forward(single, X)
        np.testing.assert_allclose(a[0], a_pop[k], rtol=1e-13)
    # member k's draws do not depend on the population size
    one = init_network([3, 8, 4, 1], "relu", "sigmoid", "he_normal", population=1, seed=7)
    np.testing.assert_array_equal(one.weights[0][0], pop.weights[0][0])
    np.testing.assert_array_equal(pop.weights[0][2], he_normal((3, 8), member_rng(7, 2)))


def test_population_with_different_schemes_and_paired_seeds():
    net = init_network(
        [3, 50, 1],
        "tanh",
        "sigmoid",
        ["xavier_normal", "small", "large"],
        population=3,
        seed=[1, 1, 1],
    )
    w = net.weights[0]
    # same underlying normal draws, different scales: the matrices are proportional
    np.testing.assert_allclose(w[1] / w[1].std(), w[2] / w[2].std(), rtol=1e-12)
    assert net.meta["weight_init"] == ["xavier_normal", "small", "large"]
    with pytest.raises(ValueError, match="3 entries for a population of 2"):
        init_network([3, 4, 1], weight_init=["zeros"] * 3, population=2)


def test_biases_with_fan_based_schemes():
    net = init_network(
        [3, 400, 1], "relu", "sigmoid", "torch_default", "torch_default_bias", seed=0
    )
    b = net.biases[0]
    assert b.shape == (1, 1, 400)
    assert np.abs(b).max() <= 1 / np.sqrt(3) and np.abs(b).max() > 0.9 / np.sqrt(3)


def test_float32_network():
    net = init_network([3, 5, 1], "tanh", "sigmoid", "xavier_normal", dtype=np.float32, seed=0)
    a, cache = forward(net, X.astype(np.float32))
    assert a.dtype == np.float32
    g = backward(net, cache, YB.astype(np.float32), get_loss("bce"))
    assert all(d.dtype == np.float32 for d in g.params)


def test_lsuv_reaches_unit_variance():
    x = np.random.default_rng(3).standard_normal((500, 10))
    net = init_network([10, 64, 64, 64, 1], "tanh", "sigmoid", "lsuv", data=x, seed=0)
    _, cache = forward(net, x)
    for z in cache.Z:
        assert abs(z.var() - 1.0) < 0.05
    with pytest.raises(ValueError, match="data-dependent"):
        init_network([10, 8, 1], weight_init="lsuv")
    with pytest.warns(RuntimeWarning, match="did not reach unit variance"):
        lsuv_rescale(
            init_network([10, 8, 1], "relu", "sigmoid", "small", seed=0), x, max_iter=2, tol=1e-18
        )


def test_bad_construction_input():
    with pytest.raises(ValueError, match="sizes must list"):
        init_network([3])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be an integer >= 1"):
        init_network([3, 0, 1])
    with pytest.raises(ValueError, match="only be an output activation"):
        init_network([3, 4, 1], "softmax")
    with pytest.raises(ValueError, match="2 activations for 1 hidden layers"):
        init_network([3, 4, 1], ["relu", "tanh"])
    with pytest.raises(ValueError, match="unknown initialization scheme"):
        init_network([3, 4, 1], weight_init="he")
    with pytest.raises(ValueError, match=r"weights\[1\] has shape"):
        network_from_arrays([np.ones((2, 3)), np.ones((4, 1))])
