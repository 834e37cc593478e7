"""Fans of grouped, depthwise and strided (transposed) convolutions, checked against what
torch's convolutions actually do to the variance of random signals.

For a weight with i.i.d. entries and inputs of variance v, an output is a sum of ``n`` products
``w * x`` (``n`` = the inputs that really reach it), so ``Var(y) = n * E[w^2] * v``; likewise the
gradient reaching one input sums over the ``m`` outputs it feeds.  The forward ratio
``Var(y) / (fan_in * mean(W^2) * Var(x))`` is therefore 1 exactly when ``fan_in`` is the true
count, and the backward ratio ``Var(dx) / (fan_out * mean(W^2) * Var(dy))`` is 1 exactly when
``fan_out`` is.  Dividing by the realised ``mean(W^2)`` removes the weight draw's own noise; what
is left is the sampling noise of ``x`` and ``dy``: with >= 2e5 interior outputs the ratio's
relative standard error is below 1%, so the 10% band of the issue is > 10 standard errors wide,
while a wrong fan is off by a factor of 2 or more (and torch's, for these layers, by 4 to 64).
"""

import numpy as np
import pytest

from initlab import schemes as S

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _crop(t, m):
    """The interior of a (N, C, *spatial) tensor: ``m`` positions off every spatial edge, where
    fewer kernel taps reach (zero padding or the ends of a transposed convolution)."""
    return t[(slice(None), slice(None), *(slice(m, -m) for _ in t.shape[2:]))]


def _ratios(kind, c_in, c_out, k, groups, stride, padding, spatial, n=8):
    """``(shape, fans, forward ratio, backward ratio)`` for one layer (see the module doc)."""
    gen = torch.Generator().manual_seed(0)
    nd = len(spatial)
    if kind == "conv":
        shape = (c_out, c_in // groups, *(k,) * nd)
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
        layout = "torch"
    else:
        shape = (c_in, c_out // groups, *(k,) * nd)
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
        layout = "torch_transpose"
    fans = S.compute_fans(shape, layout, groups=groups, stride=stride)
    w = torch.from_numpy(S.random_normal(shape, 1, np.float32))
    x = torch.randn(n, c_in, *spatial, generator=gen, requires_grad=True)
    y = fn(x, w, stride=stride, padding=padding, groups=groups)
    dy = torch.randn(y.shape, generator=gen)
    (y * dy).sum().backward()
    y = y.detach()
    w2 = float((w.double() ** 2).mean())
    forward = float(_crop(y, k).var()) / (fans.fan_in * w2 * float(x.detach().var()))
    backward = float(_crop(x.grad, k).var()) / (fans.fan_out * w2 * float(dy.var()))
    return shape, fans, forward, backward


CASES = {
    # name: (kind, c_in, c_out, k, groups, stride, padding, spatial)
    "Conv2d(64, 64, 3, groups=64) depthwise": ("conv", 64, 64, 3, 64, 1, 1, (32, 32)),
    "Conv2d(32, 64, 3, groups=4)": ("conv", 32, 64, 3, 4, 1, 1, (24, 24)),
    "Conv2d(16, 32, 3, stride=2)": ("conv", 16, 32, 3, 1, 2, 1, (64, 64)),
    "Conv1d(8, 16, 5, groups=2, stride=3)": ("conv", 8, 16, 5, 2, 3, 2, (3000,)),
    "Conv3d(4, 8, 3, groups=4)": ("conv", 4, 8, 3, 4, 1, 1, (16, 16, 16)),
    "ConvTranspose2d(64, 32, 4, stride=2) DCGAN": ("transpose", 64, 32, 4, 1, 2, 1, (24, 24)),
    "ConvTranspose2d(32, 32, 3, stride=2, groups=8)": ("transpose", 32, 32, 3, 8, 2, 1, (32, 32)),
    "ConvTranspose1d(8, 4, 4, stride=2)": ("transpose", 8, 4, 4, 1, 2, 1, (4000,)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fans_give_unit_forward_and_backward_variance_ratios(case):
    _, fans, forward, backward = _ratios(*CASES[case])
    assert abs(forward - 1) < 0.1, (case, fans, forward)
    assert abs(backward - 1) < 0.1, (case, fans, backward)


def test_torch_nn_init_fans_are_off_for_these_layers():
    """The issue's figures: torch.nn.init's fan_out for a depthwise conv is 64x too large, and its
    fan_in for DCGAN's transposed conv is 2x (initlab's old stride-blind one 4x) too large."""
    tinit = torch.nn.init
    dw = torch.nn.Conv2d(64, 64, 3, groups=64).weight
    t_in, t_out = tinit._calculate_fan_in_and_fan_out(dw)
    ours = S.compute_fans(tuple(dw.shape), "torch", groups=64)
    assert (t_in, t_out) == (9, 576) and (ours.fan_in, ours.fan_out) == (9, 9)
    *_, backward = _ratios(*CASES["Conv2d(64, 64, 3, groups=64) depthwise"])
    assert backward * ours.fan_out / t_out == pytest.approx(1 / 64, rel=0.1)
    ct = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1).weight
    t_in, _ = tinit._calculate_fan_in_and_fan_out(ct)
    ours = S.compute_fans(tuple(ct.shape), "torch_transpose", stride=2)
    blind = S.compute_fans(tuple(ct.shape), "torch_transpose")
    assert (t_in, ours.fan_in, blind.fan_in) == (512, 256, 1024)
    _, _, forward, _ = _ratios(*CASES["ConvTranspose2d(64, 32, 4, stride=2) DCGAN"])
    assert forward * ours.fan_in / blind.fan_in == pytest.approx(0.25, rel=0.1)


def test_channels_last_grouped_fans_equal_the_torch_layout():
    torch_layout = S.compute_fans((64, 8, 3, 3), "torch", groups=4, stride=(2, 1))
    keras_layout = S.compute_fans((3, 3, 8, 64), "channels_last", groups=4, stride=(2, 1))
    assert torch_layout == keras_layout == S.Fans(72, 72, 9)


def test_a_stride_that_does_not_divide_gives_the_average_fan():
    f = S.compute_fans((6, 4, 3, 3), "torch_transpose", stride=2)
    assert f.fan_in == pytest.approx(6 * 9 / 4) and isinstance(f.fan_in, float)
    w = S.he_normal((6, 4, 3, 3), 0, layout="torch_transpose", fans=f)
    assert w.shape == (6, 4, 3, 3)


def test_grouped_and_strided_fans_errors_teach():
    with pytest.raises(ValueError, match="groups=3 must divide the channel count 64"):
        S.compute_fans((64, 8, 3, 3), "torch", groups=3)
    with pytest.raises(ValueError, match="groups must be a positive int, got groups=0"):
        S.compute_fans((64, 8, 3, 3), "torch", groups=0)
    with pytest.raises(ValueError, match="stride=\\(2, 2, 2\\) has 3 entries but the kernel has 2"):
        S.compute_fans((64, 8, 3, 3), "torch", stride=(2, 2, 2))
    with pytest.raises(ValueError, match="stride entries must be positive ints"):
        S.compute_fans((64, 8, 3, 3), "torch", stride=(2, 0))
    with pytest.raises(ValueError, match="describe a convolution.*rank >= 3"):
        S.compute_fans((64, 8), "torch", groups=2)
    with pytest.raises(ValueError, match="describe a convolution"):
        S.compute_fans((4, 8, 3), S.Axes(0, 1), stride=2)
    with pytest.raises(ValueError, match="only apply to fans computed from a shape"):
        S.compute_fans((4, 8), fans=(4, 8), groups=2)
