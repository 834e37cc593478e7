"""Optimizers against hand-computed steps; the training loop, mini-batches, divergence."""

import math

import numpy as np
import pytest

from initlab.network import init_network
from initlab.optim import Adam, GradientDescent, Momentum, RMSProp, get_optimizer
from initlab.train import Evaluate, Trainer, fit


def _steps(opt, grads):
    p = [np.zeros((1, 1, 1))]
    state = opt.init(p)
    return [float(opt.updates([np.full((1, 1, 1), g)], state)[0].ravel()[0]) for g in grads]


def test_gradient_descent_step():
    assert _steps(GradientDescent(0.1), [2.0, -1.0]) == pytest.approx([-0.2, 0.1])


def test_momentum_steps_by_hand():
    # v1 = 1, u1 = -0.1; v2 = 0.9 + 1 = 1.9, u2 = -0.19; v3 = 1.71 + 1 = 2.71
    assert _steps(Momentum(0.1, beta=0.9), [1, 1, 1]) == pytest.approx([-0.1, -0.19, -0.271])
    # Nesterov: u = -lr (g + beta v): u1 = -0.1 (1 + 0.9) ; u2 = -0.1 (1 + 0.9 * 1.9)
    assert _steps(Momentum(0.1, 0.9, nesterov=True), [1, 1]) == pytest.approx([-0.19, -0.271])


def test_rmsprop_steps_by_hand():
    # s1 = 0.1 * 4 = 0.4, u1 = -0.01 * 2 / (sqrt(0.4) + 1e-8)
    # s2 = 0.9 * 0.4 + 0.1 * 1 = 0.46, u2 = -0.01 * -1 / (sqrt(0.46) + 1e-8)
    got = _steps(RMSProp(0.01), [2.0, -1.0])
    assert got == pytest.approx(
        [-0.02 / (math.sqrt(0.4) + 1e-8), 0.01 / (math.sqrt(0.46) + 1e-8)], rel=1e-12
    )


def test_adam_steps_by_hand():
    # t=1, g=0.5: m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25 -> u = -lr * 0.5 / (0.5 + eps)
    # t=2, g=-1: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
    #   m_hat = -0.055 / 0.19, v_hat = 0.00124975 / (1 - 0.999^2)
    got = _steps(Adam(0.01), [0.5, -1.0])
    m_hat = -0.055 / 0.19
    v_hat = 0.00124975 / (1 - 0.999**2)
    assert got == pytest.approx(
        [-0.01 * 0.5 / (0.5 + 1e-8), -0.01 * m_hat / (math.sqrt(v_hat) + 1e-8)], rel=1e-10
    )


def test_per_member_learning_rates():
    opt = GradientDescent(np.array([0.1, 1.0]))
    u = opt.updates([np.ones((2, 1, 1))], opt.init([np.zeros((2, 1, 1))]))[0]
    np.testing.assert_allclose(u.ravel(), [-0.1, -1.0])


def test_optimizer_errors():
    with pytest.raises(ValueError, match="optimizer='adamw'"):
        get_optimizer("adamw")
    with pytest.raises(ValueError, match="no parameter 'momentum'.*beta1"):
        get_optimizer("adam", 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="lr must be > 0"):
        get_optimizer("gd", -0.1)
    with pytest.raises(ValueError, match="beta1 must be < 1"):
        Adam(beta1=1.0)


def _circles(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    Y = ((X**2).sum(1) < 1.2).astype(float)[:, None]
    return X, Y


def test_training_reduces_the_cost():
    X, Y = _circles()
    for opt, lr in (
        ("gd", 0.5),
        ("momentum", 0.1),
        ("nesterov", 0.1),
        ("rmsprop", 0.01),
        ("adam", 0.02),
    ):
        net = init_network([2, 16, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
        h = fit(net, X, Y, optimizer=opt, lr=lr, steps=300)
        assert h.final_cost[0] < 0.5 * h.cost[0, 0], opt
        assert h.status(0) == "ok" and h.diverged_at == [None]


def test_population_trains_like_separate_networks():
    X, Y = _circles()
    pop = init_network([2, 8, 1], "tanh", "sigmoid", "xavier_normal", population=3, seed=5)
    singles = [pop.member(k) for k in range(3)]
    h = fit(pop, X, Y, optimizer="adam", lr=np.array([0.01, 0.02, 0.03]), steps=50)
    for k, net in enumerate(singles):
        hk = fit(net, X, Y, optimizer="adam", lr=[0.01, 0.02, 0.03][k], steps=50)
        np.testing.assert_allclose(hk.cost[0], h.cost[k], rtol=1e-12)
        np.testing.assert_allclose(net.weights[0][0], pop.weights[0][k], rtol=1e-12)


def test_divergence_stops_only_that_member():
    X, Y = _circles()
    net = init_network([2, 8, 8, 1], "relu", "sigmoid", "he_normal", population=3, seed=1)
    h = fit(net, X, Y, optimizer="gd", lr=np.array([0.1, 1e200, 0.1]), steps=30)
    assert h.diverged_at[0] is None and h.diverged_at[2] is None
    d = h.diverged_at[1]
    assert d is not None and h.status(1) == f"diverged at step {d}"
    assert np.isnan(h.final_cost[1]) and np.isfinite(h.final_cost[[0, 2]]).all()
    assert np.all(np.isfinite(net.weights[0][1]))  # the non-finite update was not applied
    assert np.isnan(h.cost[1, d + 1 :]).all() and np.isfinite(h.cost[0]).all()


def test_all_members_diverged_ends_the_run():
    X, Y = _circles()
    net = init_network([2, 8, 1], "relu", "sigmoid", "large", seed=0)
    h = fit(net, X, Y, optimizer="gd", lr=1e300, steps=100)
    assert h.diverged_at[0] is not None and h.steps_run == h.diverged_at[0] + 1 < 100


def test_minibatches_and_epochs():
    X, Y = _circles(n=103)
    net = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    h = fit(net, X, Y, optimizer="gd", lr=0.1, epochs=3, batch_size=10, seed=4)
    assert h.steps_run == 3 * 11 and h.meta["batch_size"] == 10
    net2 = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    h2 = fit(net2, X, Y, optimizer="gd", lr=0.1, epochs=3, batch_size=10, seed=4)
    np.testing.assert_array_equal(h.cost, h2.cost)
    net3 = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    h3 = fit(net3, X, Y, optimizer="gd", lr=0.1, epochs=3, batch_size=10, seed=5)
    assert not np.array_equal(h.cost, h3.cost)


def test_trainer_in_chunks_equals_one_run():
    X, Y = _circles()
    a = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    b = a.copy()
    ha = fit(a, X, Y, optimizer="adam", lr=0.01, steps=40, batch_size=32)
    tr = Trainer(b, X, Y, optimizer="adam", lr=0.01, batch_size=32)
    tr.run(15)
    tr.run(25)
    np.testing.assert_array_equal(ha.cost, tr.history().cost)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_probes_see_what_happens_and_evaluate_records():
    X, Y = _circles()
    seen = []

    class Spy:
        name, every = "spy", 10

        def wants(self, step, last):  # the probe decides: every 10th step and the run's last
            return step % self.every == 0 or step == last

        def __call__(self, ev):
            seen.append(ev.step)
            # the update is what gets applied: params after = before + update
            assert len(ev.updates) == 2 * ev.net.depth
            assert len(ev.cache.Z) == ev.net.depth and ev.grads.dA[0].shape == ev.cache.A[1].shape

        def result(self):
            return list(seen)

    net = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    before = net.weights[0].copy()
    captured = {}

    class Capture(Spy):
        name, every = "capture", 1000

        def __call__(self, ev):
            if ev.step == 0:
                captured["u"] = ev.updates[0].copy()
                captured["dW"] = ev.grads.dW[0].copy()
                captured["W"] = ev.net.weights[0].copy()

    h = fit(
        net,
        X,
        Y,
        optimizer="gd",
        lr=0.1,
        steps=25,
        probes=[Spy(), Capture(), Evaluate(X, Y, every=5)],
    )
    assert h.records["spy"] == [0, 10, 20, 24]
    ev = h.records["test"]
    assert ev["step"] == [0, 5, 10, 15, 20, 24] and ev["accuracy"].shape == (6, 1)
    np.testing.assert_allclose(ev["cost"][:, 0], h.cost[0, ev["step"]], rtol=1e-12)
    # probes see the parameters before the update, and the update is -lr * dW for gd
    np.testing.assert_array_equal(captured["W"], before)
    np.testing.assert_allclose(captured["u"], -0.1 * captured["dW"], rtol=1e-15)


def test_fit_input_errors():
    X, Y = _circles()
    net = init_network([2, 8, 1], "relu", "sigmoid", "he_normal", seed=0)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 2\)"):
        fit(net, X[:, :1], Y, steps=1)
    with pytest.raises(ValueError, match=r"Y must have shape \(200, 1\)"):
        fit(net, X, Y[:50], steps=1)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        fit(net, Xn, Y, steps=1)
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        fit(net, X, Y)
    with pytest.raises(ValueError, match="needs output activation 'softmax'"):
        fit(net, X, Y, loss="cross_entropy", steps=1)
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        fit(net, X, Y * 2, steps=1)
    with pytest.raises(ValueError, match="2 rates for a population of 1"):
        fit(net, X, Y, lr=np.array([0.1, 0.2]), steps=1)
