"""Per-layer variance prediction: closed forms, Monte-Carlo measurements, verdicts, errors."""

import contextlib
import json
import math

import numpy as np
import pytest
from stats_helpers import Z

from initlab import schemes as S
from initlab import theory as T
from initlab.activations import get_activation

try:  # one BLAS thread: much faster on a busy 2-core machine
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def one_blas_thread():
    return threadpool_limits(1) if threadpool_limits else contextlib.nullcontext()


# --------------------------------------------------------------------------- closed forms


def test_relu_with_he_keeps_the_variance_exactly():
    sizes = [100, 300, 50, 200, 40]
    r = T.predict_network(sizes, "relu", "he_normal", input_variance=1.7)
    assert r.q_forward == pytest.approx([2 * 1.7] * 4, rel=1e-12)
    assert r.second_moment[:-1] == pytest.approx([1.7] * 3, rel=1e-12)
    # backward: chi = n_{l+1} (2 / n_l) (1/2), so Var(dZ_l) = n_L / n_l and |dZ_l|^2 = n_L
    assert r.grad_variance == pytest.approx([40 / n for n in sizes[1:]], rel=1e-12)
    assert r.grad_norm2 == pytest.approx([40.0] * 4, rel=1e-12)
    assert r.chi[:-1] == pytest.approx([1.0] * 3, rel=1e-12)
    assert math.isnan(r.chi[-1])
    assert r.weight_grad_variance[0] == pytest.approx(1.7 * 40 / 300, rel=1e-12)
    assert r.verdict == "stable"


def test_linear_network_follows_the_linear_recursion_exactly():
    sizes = [30, 80, 20, 60]
    std = [0.2, 0.15, 0.3]
    sb2 = [0.1, 0.0, 0.25]
    schemes = [f"random_normal:std={s}" for s in std]
    r = T.predict_network(sizes, "linear", schemes, sb2, input_variance=2.0)
    q, expected = 2.0, []
    for n_in, s, b in zip(sizes[:-1], std, sb2, strict=True):
        q = n_in * s * s * q + b
        expected.append(q)
    assert r.q_forward == pytest.approx(expected, rel=1e-12)
    v, grads = 1.0, [1.0]
    for n_out, s in zip(sizes[:1:-1], std[:0:-1], strict=True):
        v = n_out * s * s * v
        grads.insert(0, v)
    assert r.grad_variance == pytest.approx(grads, rel=1e-12)


def test_each_layer_uses_its_own_fans():
    """Xavier: sigma_w^2 = fan_in * 2 / (fan_in + fan_out), read from the scheme, per layer."""
    sizes = [784, 300, 100, 10]
    r = T.predict_network(sizes, "tanh", "xavier_uniform")
    for row, n_in, n_out in zip(r.layers, sizes[:-1], sizes[1:], strict=True):
        assert row.weight_variance == pytest.approx(2 / (n_in + n_out), rel=1e-12)
        assert row.sigma_w2 == pytest.approx(2 * n_in / (n_in + n_out), rel=1e-12)
    assert r.q_forward[0] == pytest.approx(2 * 784 / 1084, rel=1e-12)


def test_orthogonal_is_read_as_its_entry_variance():
    r = T.predict_network([64, 128, 32], "tanh", "orthogonal:gain=1.5")
    assert r.layers[0].weight_variance == pytest.approx(1.5**2 / 128, rel=1e-12)
    assert any("orthogonal" in n for n in r.notes)


# --------------------------------------------------------------------------- Monte Carlo


def measure(sizes, act_name, scheme, bias_var, input_variance, seeds, batch=32):
    """Mean square of Z_l and of dZ_l (from a Gaussian dZ_L) for random MLPs, one per seed.

    A plain NumPy forward/backward in the engine's conventions: W (in, out),
    Z = A_prev @ W + b, A = phi(Z); backward dA = dZ @ W.T, dZ = dA * phi'(Z)."""
    act = get_activation(act_name)
    spec = S.parse_scheme(scheme)
    depth = len(sizes) - 1
    qs, vs = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        weights = [spec((sizes[i], sizes[i + 1]), rng) for i in range(depth)]
        biases = [rng.normal(0.0, math.sqrt(bias_var), sizes[i + 1]) for i in range(depth)]
        a = rng.normal(0.0, math.sqrt(input_variance), (batch, sizes[0]))
        zs = []
        for i in range(depth):
            z = a @ weights[i] + biases[i]
            zs.append(z)
            a = act.forward(z) if i < depth - 1 else z
        dz = rng.standard_normal((batch, sizes[-1]))
        v = [float(np.mean(dz**2))]
        for i in range(depth - 2, -1, -1):
            dz = (dz @ weights[i + 1].T) * act.derivative(zs[i], act.forward(zs[i]))
            v.insert(0, float(np.mean(dz**2)))
        qs.append([float(np.mean(z**2)) for z in zs])
        vs.append(v)
    return np.array(qs), np.array(vs)


def assert_matches(measured, predicted, width, depth):
    """Mean over seeds within Z standard errors (over seeds) plus the mean-field's own
    finite-width error, O(depth / width)."""
    mean = measured.mean(axis=0)
    se = measured.std(axis=0, ddof=1) / math.sqrt(measured.shape[0])
    tol = Z * se + (depth / width) * np.abs(predicted)
    assert np.all(np.abs(mean - predicted) <= tol), (mean, predicted, tol)
    return np.abs(mean / predicted - 1)


@pytest.mark.parametrize(
    "act,scheme,bias_var,input_variance",
    [
        ("relu", "he_normal", 0.0, 1.0),
        ("tanh", "xavier_uniform", 0.05, 1.0),
        (
            "silu",
            "variance_scaling:scale=2.5,mode=fan_out,distribution=truncated_normal",
            0.02,
            1.0,
        ),
        ("gelu", "he_uniform", 0.0, 2.0),
    ],
)
def test_prediction_matches_wide_random_networks(act, scheme, bias_var, input_variance):
    sizes = [500, 600, 700, 500]  # width >= 500, fan_in != fan_out
    with one_blas_thread():
        q, v = measure(sizes, act, scheme, bias_var, input_variance, seeds=range(24))
    r = T.predict_network(sizes, act, scheme, bias_var, input_variance)
    dev_q = assert_matches(q, np.array(r.q_forward), min(sizes), len(sizes) - 1)
    dev_v = assert_matches(v, np.array(r.grad_variance), min(sizes), len(sizes) - 1)
    assert max(dev_q.max(), dev_v.max()) < 0.05  # "within a few percent"


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize(
    "act,scheme,expected",
    [
        ("tanh", "xavier_normal", "stable"),  # the seed: Xavier for tanh
        ("relu", "he_normal", "stable"),  # He for ReLU
        ("tanh", "small", "vanishing"),  # small random values
        ("relu", "small", "vanishing"),
        ("tanh", "large", "exploding"),  # large random values
        ("relu", "large", "exploding"),
        ("tanh", "zeros", "vanishing"),  # zero initialization: nothing propagates
        ("sigmoid", "zeros", "vanishing"),
    ],
)
def test_verdicts_reproduce_the_seeds_rules(act, scheme, expected):
    r = T.predict_network([784, 300, 300, 300, 10], act, scheme)
    assert r.verdict == expected


def test_xavier_is_fine_shallow_but_vanishes_for_deep_relu():
    assert T.predict_network([784, 256, 256, 10], "relu", "xavier_normal").verdict == "stable"
    deep = T.predict_network([784] + [256] * 20 + [10], "relu", "xavier_normal")
    assert deep.verdict == "vanishing"
    assert deep.forward.rms_per_layer == pytest.approx(math.sqrt(0.5), rel=0.05)


def test_sigmoid_gradients_vanish_with_depth():
    r = T.predict_network([784] + [300] * 6 + [10], "sigmoid", "xavier_normal")
    assert r.backward.verdict == "vanishing"
    assert r.forward.verdict == "stable"


def test_judge_thresholds():
    assert T.judge(1.0, T.VERDICT_TOTAL_FACTOR**2 * 1.01, 50) == "exploding"
    assert T.judge(1.0, T.VERDICT_TOTAL_FACTOR**2 * 0.99, 50) == "stable"
    assert T.judge(1.0, 0.99 / T.VERDICT_TOTAL_FACTOR**2, 50) == "vanishing"
    assert T.judge(1.0, T.VERDICT_LAYER_FACTOR**2 * 1.01, 1) == "exploding"
    assert T.judge(1.0, 1.01 / T.VERDICT_LAYER_FACTOR**2, 1) == "stable"
    assert T.judge(1.0, 0.0, 3) == "vanishing"
    assert T.judge(1.0, math.inf, 3) == "exploding"
    assert T.judge(2.0, 3.0, 0) == "stable"


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_overflow_is_a_result(act):
    r = T.predict_network([100] + [100] * 100 + [10], act, "large")
    assert math.isinf(r.q_forward[-1])
    assert r.verdict == "exploding"
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"inf"' in text


def test_records_table_and_json():
    r = T.predict_network([20, 30, 10], ["tanh"], "lecun_normal", [0.0, 0.1])
    records = r.to_records()
    assert [rec["layer"] for rec in records] == [1, 2]
    assert records[1]["bias_variance"] == 0.1
    assert records[0]["fan_in"] == 20 and records[0]["fan_out"] == 30
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["verdict"] == r.verdict
    table = r.format_table()
    assert "20->30" in table and "30->10" in table and "Var(dZ)" in table
    assert "verdict: " in r.summary()


def test_scheme_specs_and_per_layer_lists():
    spec = S.get("random_normal", std=0.1)
    r1 = T.predict_network([10, 20, 5], "relu", spec)
    r2 = T.predict_network([10, 20, 5], "relu", ["random_normal:std=0.1"] * 2)
    assert r1.q_forward == r2.q_forward
    assert r1.layers[0].weight_variance == pytest.approx(0.01)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"layer_sizes": [784]}, ValueError, "depth >= 1"),
        ({"layer_sizes": []}, ValueError, "depth >= 1"),
        ({"layer_sizes": [784, 0, 10]}, ValueError, r"layer_sizes\[1\] must be an integer >= 1"),
        ({"layer_sizes": "784,10"}, TypeError, "sequence of positive integers"),
        ({"activation": "swishy"}, ValueError, "activation='swishy' is not allowed"),
        ({"activation": "softmax"}, ValueError, "not elementwise"),
        ({"activation": ["tanh"]}, ValueError, "list of 2"),
        ({"weight_scheme": "constant"}, ValueError, "mean 0.5"),
        ({"weight_scheme": "ones"}, ValueError, "zero-mean"),
        ({"weight_scheme": "identity"}, ValueError, "no single law"),
        ({"weight_scheme": "lsuv"}, ValueError, "no single law"),
        ({"weight_scheme": "nonesuch"}, ValueError, "unknown initialization scheme"),
        ({"bias_variance": -0.1}, ValueError, r"bias_variance\[0\] must be >= 0"),
        ({"bias_variance": [0.1, 0.2]}, ValueError, "list of 3"),
        ({"input_variance": -1.0}, ValueError, "input_variance must be >= 0"),
        ({"output_grad_variance": math.nan}, ValueError, "output_grad_variance must be a finite"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, error, match):
    args = {"layer_sizes": [50, 40, 30, 10], "activation": "tanh", "weight_scheme": "he_normal"}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        T.predict_network(**args)
