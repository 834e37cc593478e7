"""Gain from the forward graph: the same layer gets the same gain in any container, F.relu in a
custom forward counts, conv -> BN -> ReLU is ReLU, and the summary says where each gain came
from.  Expected gains are the published ones (ReLU sqrt(2), tanh 5/3, leaky_relu(a)
sqrt(2 / (1 + a^2)), linear 1)."""

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from initlab.torch import initialize  # noqa: E402

SQRT2 = math.sqrt(2.0)


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Linear(8, 2)

    def forward(self, x):
        x = F.relu(self.a(x))
        x = F.leaky_relu(self.b(x), 0.2)
        return self.c(x)


def test_same_layers_same_gains_in_any_container():
    seq = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.LeakyReLU(0.2))
    seq.append(nn.Linear(8, 2))
    s_seq = initialize(seq, "he_normal")
    s_custom = initialize(Custom(), "he_normal")
    want = [SQRT2, math.sqrt(2 / 1.04), 1.0]
    assert [s_seq[f"{i}.weight"].gain for i in (0, 2, 4)] == pytest.approx(want)
    assert [s_custom[f"{n}.weight"].gain for n in "abc"] == pytest.approx(want)
    assert s_custom["a.weight"].source == "relu (traced)"
    assert s_custom["b.weight"].source == "leaky_relu:0.2 (traced)"
    # he_* on the model's output layer: gain 1, and the summary says what that means
    assert s_custom["c.weight"].source == "linear (traced): he_normal with gain 1 is LeCun here"
    assert "LeCun" in str(s_seq)


def test_conv_bn_relu_and_residual_add_are_seen_through():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            y = torch.tanh(self.bn(self.conv(x)) + x)
            return F.log_softmax(self.head(y.mean((2, 3))), dim=-1)

    s = initialize(Block(), "he_normal")
    assert s["conv.weight"].gain == pytest.approx(5 / 3)
    assert s["conv.weight"].source == "tanh (traced)"
    assert s["head.weight"].gain == 1.0  # a softmax head: logits, linear


def test_unknown_successor_and_mixed_uses_keep_the_default():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)

        def forward(self, x):
            h = self.a(x)
            return self.b(torch.relu(h)) + torch.tanh(h)  # two different activations

    s = initialize(Mixed(), "he_normal")
    assert s["a.weight"].activation is None
    assert s["a.weight"].gain == pytest.approx(SQRT2)
    assert s["a.weight"].source == "default (unknown successor)"


def test_untraceable_models_fall_back_to_structure():
    layer = nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", batch_first=True)
    s = initialize(layer, "he_normal")
    assert s["linear1.weight"].source == "gelu (TransformerLayer.activation)"
    assert s["linear2.weight"].gain == 1.0  # the residual branch's output
    assert s["self_attn.in_proj_weight"].source.startswith("linear (attention projection)")


def test_explicit_and_override_activations_win():
    s = initialize(Custom(), "he_normal", activation="tanh")
    assert {s[f"{n}.weight"].source for n in "abc"} == {"tanh (activation= given)"}
    s = initialize(Custom(), "he_normal", overrides={"c": {"activation": "relu"}})
    assert s["c.weight"].gain == pytest.approx(SQRT2) and s["c.weight"].source == "relu (override)"


def test_shape_queries_are_not_uses():
    class Reshaping(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 8)
            self.b = nn.Linear(8, 2)

        def forward(self, x):
            h = self.a(x)
            h = h.view(h.size(0), -1)  # h.size() reads the shape only
            return self.b(F.silu(h))

    s = initialize(Reshaping(), "he_normal")
    assert s["a.weight"].source == "silu (traced)"
    # silu's gain 1 / sqrt(E[silu(z)^2]), z ~ N(0, 1), by quadrature: 1.6766
    assert s["a.weight"].gain == pytest.approx(1.6766, abs=1e-3)


def test_untraceable_models_use_forward_hooks_with_an_example():
    class Branchy(nn.Module):  # data-dependent control flow: torch.fx cannot trace it
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.act = nn.Tanh()
            self.drop = nn.Dropout(0.1)
            self.b = nn.Linear(4, 2)

        def forward(self, x):
            if x.sum() > 1e9:
                return x
            return self.b(self.drop(self.act(self.a(x))))

    s = initialize(Branchy(), "he_normal")
    assert s["a.weight"].source == "default (unknown successor)"
    s = initialize(Branchy(), "he_normal", example=torch.randn(3, 4))
    assert s["a.weight"].source == "tanh (hooks)" and s["a.weight"].gain == pytest.approx(5 / 3)
    assert s["b.weight"].gain == 1.0  # the model's returned value: linear
    with pytest.raises(ValueError, match=r"example: model\(example\) failed for tensor"):
        initialize(Branchy(), example=torch.randn(3, 5))


def test_recurrent_layers_keep_their_own_rule_with_hooks():
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            if x.sum() > 1e9:  # untraceable
                return x
            return self.head(self.lstm(x)[0])

    s = initialize(LM(), "he_normal", example=torch.randn(5, 2, 4))
    assert s["lstm.weight_ih_l0"].source == "default (unknown successor)"
    assert s["head.weight"].source.startswith("linear (hooks)")
