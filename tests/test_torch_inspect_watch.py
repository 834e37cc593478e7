"""initlab.torch.watch: records of a torch training loop agree with the NumPy engine training
the same network with the same optimizer (float64, full batch), update:data is the applied
update, hooks exist only on recorded steps, misuse is reported, figures are written."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from test_torch_inspect import circle_data, close, no_hooks, torch_mlp  # noqa: E402
from torch import nn  # noqa: E402

from initlab import diagnostics as D  # noqa: E402
from initlab.network import init_network  # noqa: E402
from initlab.torch import WatchWarning, inspect, watch  # noqa: E402
from initlab.train import History, fit  # noqa: E402

KEYS = (
    "a_mean",
    "a_std",
    "z_std",
    "dZ_rms",
    "dW_norm",
    "grad_data",
    "update_data",
    "weight_change",
    "effective_width",
)
EXACT = ("saturated", "dead", "distinct_units", "units", "activation", "hidden")


def optimizer(name, params, lr):
    if name == "gd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def train_torch(model, X, Y, opt, steps, every, loss_fn=None):
    loss_fn = loss_fn or nn.BCELoss()
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    w = watch(model, every=every)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        w.step(loss)
    return w


@pytest.mark.parametrize(
    ("init", "act", "opt", "lr"),
    [
        ("xavier_normal", "tanh", "gd", 0.5),
        ("he_normal", "relu", "adam", 0.01),
    ],
)
def test_watch_agrees_with_the_engine_over_training(init, act, opt, lr):
    X, Y = circle_data()
    net = init_network([2, 16, 16, 8, 1], act, "sigmoid", init, seed=3)
    model = torch_mlp(net, act)
    h = fit(net, X, Y, optimizer=opt, lr=lr, steps=21, probes=[D.LayerStats(every=10)])
    w = train_torch(model, X, Y, optimizer(opt, model.parameters(), lr), 21, 10)
    hw = w.history()
    w.close()
    assert isinstance(hw, History) and hw.steps_run == 21 and hw.diverged_at == [None]
    np.testing.assert_allclose(hw.cost[0], h.cost[0], rtol=1e-10)
    ours = {(r["step"], r["layer"]): r for r in D.layer_stats(hw)}
    theirs = {(r["step"], r["layer"]): r for r in D.layer_stats(h)}
    assert sorted(ours) == sorted(theirs) and {s for s, _ in ours} == {0, 10, 20}
    for key, a in ours.items():
        b = theirs[key]
        for k in KEYS:
            if k in b:
                assert close(a[k], b[k], rtol=1e-8), (key, k, a[k], b[k])
        for k in EXACT:
            assert a.get(k) == b.get(k), (key, k)
    assert [f.mode for f in w.verdict()] == [f.mode for f in D.verdict(h)]
    # step 0 of the watch is what inspect sees on the same batch
    fresh = torch_mlp(init_network([2, 16, 16, 8, 1], act, "sigmoid", init, seed=3), act)
    r = inspect(fresh, torch.from_numpy(X), torch.from_numpy(Y), nn.BCELoss())
    for a in r.layers:
        assert close(a["dZ_rms"], ours[(0, a["layer"])]["dZ_rms"], rtol=1e-12)


def test_update_data_is_the_applied_update():
    """Plain SGD: u = -lr dW, so update:data = lr * std(dW) / std(W) = lr * grad:data."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)
    )
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with watch(model, every=3) as w:
        for _ in range(7):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            w.step(loss)
    rows = w.records
    assert sorted({r["step"] for r in rows}) == [0, 3, 6]
    for r in rows:
        assert r["update_data"] == pytest.approx(lr * r["grad_data"], rel=1e-5)
        assert r["name"] in ("0", "3")
    assert no_hooks(model)


def test_hooks_only_on_recorded_steps_and_removed_by_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    w = watch(model, every=4)
    seen = []
    for t in range(9):
        seen.append((w.recording, not no_hooks(model)))
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        assert w.step(loss) == (t % 4 == 0)
    assert seen == [(t % 4 == 0, t % 4 == 0) for t in range(9)]
    assert not w.recording and no_hooks(model)  # step 9 is not recorded
    w.close()
    assert no_hooks(model) and not w.recording
    with pytest.raises(ValueError, match="closed"):
        w.step()
    assert w.steps == 9 and len(w.history().cost[0]) == 9


def test_evaluation_without_gradients_is_not_recorded():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y, x_test = torch.randn(8, 3), torch.randn(8, 1), torch.randn(50, 3)
    w = watch(model, every=1)
    with torch.no_grad():
        model(x_test)  # an evaluation pass: ignored
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    w.step()
    assert {r["step"] for r in w.records} == {0}
    # rows: 8 examples, not 58
    assert sum(w.records[0]["a_hist"]) + sum(w.records[0]["a_hist_outside"]) == 8 * 4
    assert np.isnan(w.history().cost[0, 0])  # no loss given
    w.close()


def test_misuse_is_reported():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    w = watch(model, every=1)
    with pytest.raises(ValueError, match="no step has been recorded"):
        w.verdict()
    with pytest.raises(ValueError, match="no forward pass"):
        w.step()  # no training step happened
    assert no_hooks(model) is False and w.recording  # still usable: armed for the next step
    model(x)
    with pytest.raises(ValueError, match="no backward pass"):
        w.step()
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    with pytest.warns(WatchWarning, match="after optimizer.step"):
        w.step(loss)  # called before optimizer.step(): nothing changed
    opt.step()
    with pytest.raises(ValueError, match="scalar"):
        w.step(torch.ones(3))
    with pytest.raises(TypeError, match="loss must be"):
        w.step("0.5")
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        watch(model, every=0)
    with pytest.raises(ValueError, match="no layer initlab.torch can inspect"):
        watch(nn.Sequential(nn.ReLU()))
    w.close()
    assert no_hooks(model)


def test_divergence_and_figures(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    with watch(model, every=5) as w:
        for t in range(12):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            w.step(loss if t != 8 else torch.tensor(float("nan")))
    h = w.history()
    assert h.diverged_at == [8]
    assert "diverged" in [f.mode for f in w.verdict()]
    text = w.report()
    assert "per-layer statistics at step 0" in text and "at step 10 (end)" in text
    assert "layer 1 = '0' (Linear, relu)" in text
    pytest.importorskip("matplotlib")
    paths = w.write_figures(tmp_path)
    names = [p.name for p in paths]
    assert names == ["cost.png", "activations.png", "gradients.png", "update_ratio.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_no_warning_in_a_normal_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = watch(model, every=2)
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            w.step(loss)
        w.close()
    assert sorted({r["step"] for r in w.records}) == [0, 2, 4]
