"""The torch verdict judged along the real graph: which consecutive layers are linked, which
modules are boundaries, and a pooled conv net whose verdict does not depend on the input size."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import initlab.torch as it  # noqa: E402


def _he(model, scale=1.0):
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            with torch.no_grad():
                m.weight.mul_(scale)
            nn.init.zeros_(m.bias)
    return model


def _pooled():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10),
    )  # fmt: skip


def test_sequential_links_are_known_through_dropout():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Linear(8, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 16), nn.Tanh(),
        nn.Linear(16, 2),
    )  # fmt: skip
    r = it.inspect(m, torch.randn(32, 8), torch.randint(0, 2, (32,)))
    assert [x["boundary"] for x in r.layers] == [None, None, None]
    assert r.verdict.init_figures["links"] == 1 and not r.verdict.boundaries


def test_pool_and_norm_are_boundaries():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 4),
    )  # fmt: skip
    r = it.inspect(m, torch.randn(8, 3, 12, 12), torch.randint(0, 4, (8,)))
    b = [x["boundary"] for x in r.layers]
    assert b[0] == "BatchNorm2d" and "AdaptiveAvgPool2d" in b[1] and "Flatten" in b[1]
    assert any("BatchNorm2d" in s for s in r.verdict.boundaries)
    assert "not judged across" in r.report()


def test_residual_join_is_a_boundary():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

        def forward(self, x):
            return x + self.b(torch.relu(self.a(x)))

    m = nn.Sequential(nn.Linear(4, 8), Block(), nn.Linear(8, 2))
    r = it.inspect(m, torch.randn(16, 4), torch.randint(0, 2, (16,)))
    # the first layer's output also feeds the join; a -> b goes through F.relu (not a
    # module); b's output meets the join: no relation is known
    b = [x["boundary"] for x in r.layers]
    assert b == ["output used outside an nn.Sequential chain", *["functional operation"] * 2, None]


def test_pooled_conv_net_verdict_does_not_depend_on_input_size():
    # before: "healthy" on 4x4 and "vanishing" on 8x8 to 64x64 (the drop is at the pool)
    modes = {}
    for size in (4, 8, 16, 32):
        torch.manual_seed(0)
        m = _he(_pooled())
        r = it.inspect(m, torch.randn(32, 3, size, size), torch.randint(0, 10, (32,)))
        modes[size] = r.modes
    assert all(v == ["healthy"] for v in modes.values()), modes


def test_exploding_outputs_of_a_3x_he_pre_ln_transformer():
    # the case: output std ~100, loss ~200 at init, judged "healthy" before
    torch.manual_seed(0)

    class Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Linear(8, 32)
            layer = nn.TransformerEncoderLayer(
                32, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.enc = nn.TransformerEncoder(layer, 8, enable_nested_tensor=False)
            self.head = nn.Linear(32, 5)

        def forward(self, x):
            return self.head(self.enc(self.emb(x)).mean(1))

    x, y = torch.randn(64, 10, 8), torch.randint(0, 5, (64,))
    r = it.inspect(_he(Enc(), 3.0), x, y)
    assert "exploding" in r.modes and r.loss > 50
    assert r.verdict.sentence.startswith("At initialization the outputs had std")
    torch.manual_seed(0)
    assert "exploding" not in it.inspect(Enc(), x, y).modes  # torch's default
