"""Fans checked by what they are for: with ``Var(W) = 1 / fan_in`` a layer keeps the forward
variance (``Var(y) / Var(x) = 1``), with ``Var(W) = 1 / fan_out`` the backward one
(``Var(dL/dx) / Var(dL/dy) = 1``), on random inputs, for every layer type initialize knows.

Tolerance: the ratio is, up to sampling noise, ``sum(W^2) * fan / n_weights``, whose relative
standard deviation is ``sqrt(2 / n_weights)`` (<= 1.6 % for the >= 8,192 weights of every layer
here), plus the noise of the variance over many outputs (smaller); 10 % is over 6 standard
deviations.
Borders are cropped where padding or the kernel's reach makes positions see fewer taps.
"""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import init as tinit  # noqa: E402

from initlab.torch import initialize  # noqa: E402

FAN_IN = "he_normal:gain=1"  # Var(W) = 1 / fan_in
FAN_OUT = "he_normal:mode=fan_out,gain=1"  # Var(W) = 1 / fan_out


def _x(*shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1))


def _crop(t, c):
    if c == 0:
        return t
    sl = tuple(slice(c, -c) for _ in t.shape[2:])
    return t[(slice(None), slice(None), *sl)]


def forward_ratio(layer, x, crop=0):
    with torch.no_grad():
        y = layer(x)
    return float(_crop(y, crop).var() / x.var())


def backward_ratio(layer, x, crop=0):
    x = x.clone().requires_grad_(True)
    y = layer(x)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
    y.backward(dy)
    return float(_crop(x.grad, crop).var() / dy.var())


# name: (layer factory, input shape, crop of the output (forward), crop of the input (backward))
LAYERS = {
    "Linear": (lambda: nn.Linear(256, 128, bias=False), (512, 256), 0, 0),
    "Conv1d": (lambda: nn.Conv1d(32, 64, 5, bias=False), (16, 32, 200), 0, 4),
    "Conv2d": (lambda: nn.Conv2d(32, 32, 3, bias=False), (8, 32, 32, 32), 0, 2),
    "Conv3d": (lambda: nn.Conv3d(16, 24, 3, bias=False), (4, 16, 14, 14, 14), 0, 2),
    "Conv2d_groups": (lambda: nn.Conv2d(64, 128, 3, groups=4, bias=False), (8, 64, 24, 24), 0, 2),
    "Conv2d_depthwise": (
        lambda: nn.Conv2d(512, 512, 5, groups=512, bias=False),
        (4, 512, 24, 24),
        0,
        4,
    ),
    "Conv2d_stride2_k4": (
        lambda: nn.Conv2d(32, 32, 4, stride=2, bias=False),
        (8, 32, 42, 42),
        0,
        3,
    ),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(32, 32, 3, bias=False), (8, 32, 32, 32), 2, 0),
    "ConvTranspose2d_stride2_k4": (  # DCGAN's layer
        lambda: nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, bias=False),
        (8, 64, 32, 32),
        2,
        1,
    ),
    "ConvTranspose1d_stride3_k6_groups": (
        lambda: nn.ConvTranspose1d(64, 96, 6, stride=3, groups=4, bias=False),
        (16, 64, 200),
        5,
        0,
    ),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_forward_variance_ratio_with_fan_in(name):
    factory, shape, crop_out, _ = LAYERS[name]
    layer = factory()
    initialize(layer, FAN_IN, generator=torch.Generator().manual_seed(0))
    assert forward_ratio(layer, _x(*shape), crop_out) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_variance_ratio_with_fan_out(name):
    factory, shape, _, crop_in = LAYERS[name]
    layer = factory()
    initialize(layer, FAN_OUT, generator=torch.Generator().manual_seed(0))
    assert backward_ratio(layer, _x(*shape), crop_in) == pytest.approx(1.0, abs=0.1)


def test_torch_nn_init_differs_for_depthwise_and_strided_transpose():
    """The differences documented in initlab.torch._layers, measured: torch's fan_out for
    Conv2d(512, 512, 5, groups=512) is out * rf = 12800, 512x the real 25, so its fan_out He
    gives a backward ratio of 1/512; its fan_in for ConvTranspose2d(64, 32, 4, stride=2) is
    out * rf = 512, while one output sees in * rf / s^2 = 256 inputs: a forward ratio of 1/2.
    (12,800 and 32,768 weights: relative sd of the ratio <= 1.3 %; rel=0.1 is > 7 sd.)"""
    g = torch.Generator().manual_seed(0)
    factory, shape, _, crop_in = LAYERS["Conv2d_depthwise"]
    dw = factory()
    tinit.kaiming_normal_(dw.weight, mode="fan_out", nonlinearity="linear", generator=g)
    assert backward_ratio(dw, _x(*shape), crop_in) == pytest.approx(1 / 512, rel=0.1)
    factory, shape, crop_out, _ = LAYERS["ConvTranspose2d_stride2_k4"]
    ct = factory()
    tinit.kaiming_normal_(ct.weight, mode="fan_in", nonlinearity="linear", generator=g)
    assert forward_ratio(ct, _x(*shape), crop_out) == pytest.approx(0.5, rel=0.1)


def test_attention_projection_and_hf_conv1d_ratios():
    pytest.importorskip("transformers")
    from transformers.pytorch_utils import Conv1D

    c = Conv1D(96, 256)  # (in=256, out=96) weight layout
    initialize(c, FAN_IN, generator=torch.Generator().manual_seed(0))
    assert tuple(c.weight.shape) == (256, 96)
    assert forward_ratio(c, _x(512, 256)) == pytest.approx(1.0, abs=0.1)
    initialize(c, FAN_OUT, generator=torch.Generator().manual_seed(0))
    assert backward_ratio(c, _x(512, 256)) == pytest.approx(1.0, abs=0.1)
    # q, k and v blocks of a packed in_proj: each an (E, E) map of fan_in E
    m = nn.MultiheadAttention(128, 4, bias=False)
    initialize(m, FAN_IN, generator=torch.Generator().manual_seed(0))
    x = _x(512, 128)
    for block in m.in_proj_weight.detach().chunk(3):
        assert float((x @ block.T).var() / x.var()) == pytest.approx(1.0, abs=0.1)


def test_recurrent_gate_blocks_ratio():
    lstm = nn.LSTM(128, 96, bias=False)
    initialize(lstm, FAN_IN, generator=torch.Generator().manual_seed(0))
    x, h = _x(512, 128), _x(512, 96)
    for block in lstm.weight_ih_l0.detach().chunk(4):
        assert float((x @ block.T).var() / x.var()) == pytest.approx(1.0, abs=0.1)
    for block in lstm.weight_hh_l0.detach().chunk(4):
        assert float((h @ block.T).var() / h.var()) == pytest.approx(1.0, abs=0.1)
