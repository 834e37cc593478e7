"""initlab.torch.inspect: the same per-layer statistics and verdicts as the NumPy engine (the
engine computes them here from the same weights and batch, in float64), conv layers with
channels as units (checked against direct torch computations), the model left untouched, no
hook left after errors, and bad input."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from initlab import diagnostics as D  # noqa: E402
from initlab.network import init_network, network_from_arrays  # noqa: E402
from initlab.torch import initialize, inspect  # noqa: E402
from initlab.torch._capture import find_sites  # noqa: E402
from initlab.torch._layers import sequential_activations  # noqa: E402
from initlab.train import fit  # noqa: E402

TORCH_ACT = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}
#: statistics compared with the engine (relative difference), and the exact ones
CLOSE = (
    "a_mean",
    "a_std",
    "z_mean",
    "z_std",
    "a_rms",
    "dZ_rms",
    "dZ_norm",
    "dW_norm",
    "dA_rms",
    "db_norm",
    "grad_data",
    "w_std",
    "effective_width",
    "max_cosine",
)
EXACT = ("saturated", "dead", "distinct_units", "units", "hidden", "activation", "layer")
RTOL = 1e-9  # float64 on both sides: measured differences are ~1e-15


def circle_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    Y = ((X**2).sum(1) < 1.4).astype(float)[:, None]
    return X, Y


def torch_mlp(net, act, inplace=False, dtype=torch.float64):
    """The engine's network (member 0) as an nn.Sequential with the same parameters and a
    sigmoid output."""
    mods = []
    for l in range(net.depth):
        W, b = net.weights[l][0], net.biases[l][0, 0]
        lin = nn.Linear(*W.shape).to(dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if l < net.depth - 1:
            mods.append(nn.ReLU(inplace=True) if act == "relu" and inplace else TORCH_ACT[act]())
    mods.append(nn.Sigmoid())
    return nn.Sequential(*mods)


def engine_rows(net, X, Y):
    h = fit(net.copy(), X, Y, optimizer="gd", lr=0.1, steps=1, probes=[D.LayerStats(every=1)])
    return h, D.layer_stats(h)


def close(a, b, rtol=RTOL):
    if a is None or b is None:
        return a is b
    if math.isnan(b):
        return math.isnan(a)
    return abs(a - b) <= rtol * abs(b) + 1e-300


def no_hooks(model):
    for m in model.modules():
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_pre_hooks_with_kwargs",
            "_forward_hooks_always_called",
        ):
            if getattr(m, attr, None):
                return False
    return all(not p._backward_hooks for p in model.parameters())


# --------------------------------------------------------------------- same statistics


@pytest.mark.parametrize(
    ("init", "act", "inplace"),
    [
        ("xavier_normal", "tanh", False),
        ("he_normal", "relu", False),
        ("he_normal", "relu", True),  # in-place ReLU must not turn dZ into dA
        ("large", "sigmoid", False),
        ("random_normal:std=0.01", "tanh", False),
    ],
)
def test_records_agree_with_the_numpy_engine(init, act, inplace):
    X, Y = circle_data()
    net = init_network([2, 16, 16, 8, 1], act, "sigmoid", init, seed=3)
    h, rows = engine_rows(net, X, Y)
    model = torch_mlp(net, act, inplace)
    r = inspect(model, torch.from_numpy(X), torch.from_numpy(Y), nn.BCELoss())
    assert len(r.layers) == len(rows) == 4
    for ours, theirs in zip(r.layers, rows, strict=True):
        for k in CLOSE:
            if k in theirs:
                assert close(ours[k], theirs[k]), (k, ours[k], theirs[k])
        for k in EXACT:
            assert ours.get(k) == theirs.get(k), (k, ours.get(k), theirs.get(k))
        assert sum(ours["a_hist"]) + sum(ours["a_hist_outside"]) == X.shape[0] * ours["units"]
    # nn.BCELoss takes log of the rounded probability; the engine works from the logit
    assert r.loss == pytest.approx(h.cost[0, 0], rel=1e-7)
    # the verdict: the engine's rules on the engine's numbers agree
    assert r.modes == [f.mode for f in D.verdict(h)]


DEEP = [2, 32, 32, 32, 32, 32, 1]


@pytest.mark.parametrize(
    ("init", "act", "expected"),
    [
        ("zeros", "relu", "symmetric"),
        ("zeros", "tanh", "symmetric"),
        ("random_normal:std=0.01", "tanh", "vanishing"),
        ("he_normal", "relu", "healthy"),
        ("xavier_normal", "tanh", "healthy"),
    ],
)
def test_seed_cases_give_the_engines_verdict(init, act, expected):
    X, Y = circle_data()
    for seed in (0, 1):
        net = init_network(DEEP, act, "sigmoid", init, seed=seed)
        h, _ = engine_rows(net, X, Y)
        r = inspect(torch_mlp(net, act), torch.from_numpy(X), torch.from_numpy(Y), nn.BCELoss())
        assert expected in r.modes, (init, act, seed, r.modes)
        assert r.modes == [f.mode for f in D.verdict(h)]
        if expected == "healthy":
            assert r.modes == ["healthy"]


def test_seed_cases_with_initlab_torch_initialize():
    """Pure torch, float32: initialize then inspect."""
    x = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    y = (x.pow(2).sum(1, keepdim=True) < 1.4).float()

    def deep(act):
        return nn.Sequential(
            nn.Linear(2, 32),
            TORCH_ACT[act](),
            *[m for _ in range(4) for m in (nn.Linear(32, 32), TORCH_ACT[act]())],
            nn.Linear(32, 1),
            nn.Sigmoid(),
        )

    cases = [
        ("zeros", "relu", "symmetric"),
        ("random_normal:std=0.01", "tanh", "vanishing"),
        ("he_normal", "relu", "healthy"),
    ]
    for scheme, act, expected in cases:
        model = deep(act)
        initialize(model, scheme, generator=1)
        r = inspect(model, x, y, nn.BCELoss())
        assert expected in r.modes, (scheme, r.modes)


def test_forward_only_measures_activations_and_skips_gradient_rules():
    X, Y = circle_data()
    net = init_network(DEEP, "tanh", "sigmoid", "random_normal:std=0.01", seed=0)
    model = torch_mlp(net, "tanh")
    full = inspect(model, torch.from_numpy(X), torch.from_numpy(Y), nn.BCELoss())
    fwd = inspect(model, torch.from_numpy(X))
    assert "vanishing" in full.modes and "vanishing" not in fwd.modes
    assert fwd.loss is None and not fwd.gradients
    assert any("forward pass only" in n for n in fwd.notes)
    for a, b in zip(fwd.layers, full.layers, strict=True):
        assert a["a_mean"] == b["a_mean"] and a["a_std"] == b["a_std"]
        assert a.get("distinct_units") == b.get("distinct_units")
        assert a["dZ_rms"] is None and a["dW_norm"] is None and a["grad_data"] is None
    assert "gradients were not measured" in fwd.findings[0].message
    assert fwd.verdict.sentence.endswith("gradients were not measured.")
    # forward-only rules still apply: zeros are symmetric without a target
    zeros = init_network(DEEP, "tanh", "sigmoid", "zeros", seed=0)
    assert "symmetric" in inspect(torch_mlp(zeros, "tanh"), torch.from_numpy(X)).modes


def test_loss_without_target_and_default_losses():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(32, 5)
    labels = torch.randint(0, 3, (32,))
    r = inspect(model, x, labels)  # integer labels: cross-entropy
    assert r.loss_name == "cross_entropy"
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(x), labels))
    assert r.loss == pytest.approx(expected, rel=1e-6)
    r2 = inspect(model, x, loss_fn=lambda out: nn.functional.cross_entropy(out, labels))
    assert r2.loss == pytest.approx(r.loss, rel=1e-6)
    assert r2.layers[0]["dW_norm"] == pytest.approx(r.layers[0]["dW_norm"], rel=1e-6)
    target = torch.randn(32, 3)
    r3 = inspect(model, x, target)  # float targets: mean-squared error
    assert r3.loss_name == "mse"
    with torch.no_grad():
        expected = float(((model(x) - target) ** 2).mean())
    assert r3.loss == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- conv layers


def test_conv_channels_are_units():
    torch.manual_seed(0)
    conv1, conv2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 6, 3)
    with torch.no_grad():
        conv1.bias[2] = -100.0  # channel 2 never fires: one dead unit of four
        conv2.weight[1] = conv2.weight[0]  # two identical filters: 5 distinct units of 6
        conv2.bias[1] = conv2.bias[0]
        conv2.weight.mul_(3.0)  # push tanh toward saturation
    head = nn.Linear(6 * 6 * 6, 3)
    model = nn.Sequential(conv1, nn.ReLU(), conv2, nn.Tanh(), nn.Flatten(), head)
    x = torch.rand(16, 1, 8, 8)
    y = torch.randint(0, 3, (16,))
    r = inspect(model, x, y)
    l1, l2, l3 = r.layers
    assert (l1["units"], l2["units"], l3["units"]) == (4, 6, 3)
    assert (l1["activation"], l2["activation"], l3["activation"]) == ("relu", "tanh", "linear")
    assert l1["dead"] == 0.25 and l2["distinct_units"] == 5 and l1["distinct_units"] == 4

    # direct torch computations, channels as units, every position a row
    z1 = conv1(x)
    a1 = torch.relu(z1)
    z2 = conv2(a1)
    a2 = torch.tanh(z2)
    out = head(a2.flatten(1))
    loss = nn.functional.cross_entropy(out, y)
    dz1, dz2, dw1 = torch.autograd.grad(loss, [z1, z2, conv1.weight])
    d = lambda t: t.detach().double()  # noqa: E731
    assert l1["a_mean"] == pytest.approx(float(d(a1).mean()), rel=1e-5)
    assert l1["a_std"] == pytest.approx(float(d(a1).std(correction=0)), rel=1e-5)
    assert l2["saturated"] == pytest.approx(float((d(a2).abs() > 0.97).double().mean()), abs=1e-12)
    assert l1["dZ_rms"] == pytest.approx(float(d(dz1).pow(2).mean().sqrt()), rel=1e-5)
    assert l2["dZ_rms"] == pytest.approx(float(d(dz2).pow(2).mean().sqrt()), rel=1e-5)
    assert l1["dW_norm"] == pytest.approx(float(d(dw1).norm()), rel=1e-5)
    assert l1["w_std"] == pytest.approx(float(d(conv1.weight).std(correction=0)), rel=1e-5)
    # the same statistics from the engine's own functions on the (N*H*W, C) layout
    rows = d(a1).movedim(1, -1).reshape(-1, 4).numpy()[None]
    assert l1["dead"] == D.dead_units("relu", rows)[0]


def test_flattened_activation_and_conv_transpose():
    torch.manual_seed(1)
    # conv -> pool -> flatten -> ReLU: the activation's (N, C*P) output maps back to channels
    conv = nn.Conv2d(2, 3, 3, padding=1)
    with torch.no_grad():
        conv.bias[0] = -50.0
    up = nn.ConvTranspose2d(3, 4, 2, stride=2)
    with torch.no_grad():
        up.weight[:, 1] = up.weight[:, 3]  # output channels 1 and 3 get the same weights
        up.bias[1] = up.bias[3]
    model = nn.Sequential(
        conv,
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.ReLU(),
        nn.Unflatten(1, (3, 2, 2)),
        up,
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 1),
    )
    x = torch.randn(8, 2, 4, 4)
    r = inspect(model, x, torch.randn(8, 1))
    first, second, _ = r.layers
    assert first["activation"] == "relu" and first["dead"] == pytest.approx(1 / 3)
    assert second["module"] == "ConvTranspose2d" and second["units"] == 4
    assert second["distinct_units"] == 3
    # ConvTranspose (in, out, k, k): W as (in * k * k, out), one column per output channel
    w_std = float(up.weight.detach().double().std(correction=0))
    assert second["w_std"] == pytest.approx(w_std, rel=1e-6)


def test_activation_inference_matches_initialize():
    model = nn.Sequential(
        nn.Linear(4, 8),
        nn.Dropout(0.1),
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ELU(0.5)),
        nn.Linear(8, 8),
        nn.GELU(),
        nn.Linear(8, 8),
        nn.Linear(8, 2),
    )
    sites, _ = find_sites(model)
    labels = sequential_activations(model)
    for s in sites:
        assert s.activation.spec == labels[id(s.module)][0]

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.relu(self.fc(x))

    r = inspect(Custom(), torch.randn(16, 4))
    assert r.layers[0]["activation"] == "unknown" and r.layers[0]["dead"] is None
    assert any("not known" in n for n in r.notes)


# --------------------------------------------------------------------- model untouched


class Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def stateful_model():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Linear(6, 16),
        nn.BatchNorm1d(16),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(16, 16),
        nn.Tanh(),
        nn.Linear(16, 3),
    )
    model[4].weight.requires_grad_(False)  # a frozen layer
    model[0].weight.grad = torch.randn_like(model[0].weight)
    model[6].bias.grad = torch.zeros_like(model[6].bias)
    model.train()
    model[5].eval()  # a submodule in its own mode; dropout and BatchNorm stay in training
    return model


def snapshot(model):
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "requires": [p.requires_grad for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "training": [m.training for m in model.modules()],
        "rng": torch.get_rng_state(),
    }


def same(a, b):
    for key in ("params", "buffers"):
        assert all(torch.equal(x, y) for x, y in zip(a[key], b[key], strict=True)), key
    for x, y in zip(a["grads"], b["grads"], strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    assert a["requires"] == b["requires"] and a["training"] == b["training"]
    assert torch.equal(a["rng"], b["rng"])
    return True


def test_model_is_left_exactly_as_it_was():
    model = stateful_model()
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    before = snapshot(model)
    r = inspect(model, x, y)
    assert same(before, snapshot(model)) and no_hooks(model)
    # the frozen layer's gradient was measured all the same
    assert r["4"]["dW_norm"] > 0
    r_eval = inspect(model, x, y, mode="eval")
    assert same(before, snapshot(model)) and no_hooks(model)
    assert r_eval.mode == "eval"


def test_hooks_removed_after_an_error_in_forward_and_in_the_loss():
    model = stateful_model()
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    before = snapshot(model)
    broken = nn.Sequential(model, Boom())
    with pytest.raises(ValueError, match=r"in module '1' \(Boom\).*RuntimeError: boom"):
        inspect(broken, x, y)
    assert no_hooks(broken) and same(before, snapshot(model))

    def bad_loss(out, target):
        raise RuntimeError("loss exploded")

    with pytest.raises(ValueError, match="loss_fn.*loss exploded"):
        inspect(model, x, y, bad_loss)
    assert no_hooks(model) and same(before, snapshot(model))


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_a_clear_error():
    mlp = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(8, 20)
    with pytest.raises(ValueError, match="no layer initlab.torch can inspect.*ReLU"):
        inspect(nn.Sequential(nn.ReLU()), x)
    with pytest.raises(ValueError, match="no layer initlab.torch can inspect"):
        inspect(nn.Embedding(10, 4), torch.tensor([1, 2]))
    with pytest.raises(
        ValueError,
        match=r"in module '0' \(Linear\), which expects input of "
        r"shape \(\*, 20\).*got tensor of shape \(8, 7\)",
    ):
        inspect(mlp, torch.randn(8, 7))
    with pytest.raises(ValueError, match=r"'0' \(Linear\).*torch.float32.*torch.float64"):
        inspect(mlp, x.double())
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        inspect(conv, torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        inspect(mlp, x, torch.randn(8, 2))
    with pytest.raises(ValueError, match="class labels"):
        inspect(mlp, x, torch.randint(0, 3, (8, 3)))
    with pytest.raises(ValueError, match="out of bounds"):
        inspect(mlp, x, torch.full((8,), 7))
    with pytest.raises(ValueError, match="scalar"):
        inspect(mlp, x, torch.randint(0, 3, (8,)), nn.CrossEntropyLoss(reduction="none"))
    with pytest.raises(TypeError, match="batch must be a tensor"):
        inspect(mlp, x.numpy())
    with pytest.raises(TypeError, match="target must be a tensor"):
        inspect(mlp, x, [0, 1])
    with pytest.raises(ValueError, match="mode='test' is not allowed"):
        inspect(mlp, x, mode="test")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        inspect("model", x)
    assert no_hooks(mlp) and no_hooks(conv)


# --------------------------------------------------------------------------- plain data


def test_result_is_plain_data_with_a_table_and_a_report(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()
    )
    x = torch.randn(64, 4)
    r = inspect(model, x, (x[:, :1] > 0).float(), nn.BCELoss())
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert [row["name"] for row in d["layers"]] == ["0", "2", "4"]
    assert d["layers"][0]["update_data"] is None  # inspect applies no update
    table = r.table()
    assert table.splitlines()[0].split()[:5] == ["layer", "name", "module", "units", "act"]
    assert "Linear" in table and "tanh" in table
    text = str(r)
    assert text.startswith("verdict: At initialization ")  # the sentence first
    assert "modes: " + ", ".join(r.modes) in text and "loss (BCELoss)" in text
    assert r["2"] is r.layers[1] and r[0]["name"] == "0"
    # the engine's report and figures take the History unchanged
    assert "per-layer statistics at step 0" in D.report(r.history)
    pytest.importorskip("matplotlib")
    paths = r.write_figures(tmp_path)
    assert [p.name for p in paths] == ["activations.png", "gradients.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_engine_network_from_torch_weights_is_the_same_network():
    """The comparison above rests on network_from_arrays reproducing the torch model."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1), nn.Sigmoid()).double()
    net = network_from_arrays(
        [model[0].weight.detach().numpy().T, model[2].weight.detach().numpy().T],
        [model[0].bias.detach().numpy(), model[2].bias.detach().numpy()],
        "tanh",
        "sigmoid",
    )
    x = np.random.default_rng(0).standard_normal((10, 3))
    from initlab.network import predict

    np.testing.assert_allclose(
        predict(net, x)[0], model(torch.from_numpy(x)).detach().numpy(), rtol=1e-12
    )
