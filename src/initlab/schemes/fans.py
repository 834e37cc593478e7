"""Fans of a weight tensor, computed in one place for every layout.

A weight's *fan-in* is the number of inputs that feed one output unit and its *fan-out*
the number of outputs one input feeds.  For a convolution both include the receptive
field (the product of the kernel's spatial sizes).  The layout of the weight is always
stated, never guessed from its rank:

============================  ==================================  ==========================
layout                        shape                               used by
============================  ==================================  ==========================
``None`` (2-D only)           ``(in, out)``                       initlab's engine, Keras Dense
``"channels_last"``           ``(*kernel, in, out)``              Keras, Flax, JAX, TensorFlow
``"torch"``                   ``(out, in, *kernel)``              PyTorch Linear and ConvNd
``"torch_transpose"``         ``(in, out, *kernel)``              PyTorch ConvTransposeNd
``Axes(in_axis, out_axis)``   anything                            attention / einsum kernels
============================  ==================================  ==========================

``fan_in = prod(shape[in_axes]) * receptive_field`` and
``fan_out = prod(shape[out_axes]) * receptive_field``, where ``receptive_field`` is the
product of every axis that is neither an input, an output nor a batch axis.

Note on ``"torch_transpose"``: for a transposed convolution with weight
``(in, out, *kernel)`` initlab uses ``fan_in = in * receptive_field``, the number of
inputs that reach one output.  ``torch.nn.init`` reads ``fan_in`` from ``size(1)``
whatever the layer, so for ConvTranspose it uses ``out * receptive_field`` instead.

Grouped and depthwise convolutions (``groups=g``): each output channel sees ``in / g``
input channels and each input channel feeds ``out / g`` output channels, so
``fan_in = in / g * rf`` and ``fan_out = out / g * rf``.  In the ``"torch"`` and
``"channels_last"`` layouts the weight already holds ``in / g`` on its input axis, so ``g``
divides the output fan; in ``"torch_transpose"`` (``(in, out / g, *kernel)``) it divides the
input fan.  ``torch.nn.init`` ignores groups, so its ``fan_out`` for ``Conv2d(64, 64, 3,
groups=64)`` is ``64 * 9`` where the layer's real fan-out is ``9``.

Strides (``stride=s`` or one per spatial axis): a convolution with stride ``s`` visits only
every ``s``-th input position, so on average one input feeds ``rf / prod(s)`` positions of
each output channel and ``fan_out`` is divided by ``prod(s)``.  A transposed convolution
places one kernel copy every ``s`` output positions, so one output receives on average
``rf / prod(s)`` taps per input channel and ``fan_in`` is divided by ``prod(s)`` (DCGAN's
``ConvTranspose2d(in, out, 4, stride=2)``: ``fan_in = in * 16 / 4``).  When ``prod(s)``
divides the fan exactly the fan stays an int, otherwise it is the (float) average.
``torch.nn.init`` ignores strides.

Zero-size weights need no fans (every scheme returns an empty array for them); a rank-0
or rank-1 shape (a bias, a gain vector) has no fans of its own and needs explicit
``fans=(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from initlab._checks import check_choice

__all__ = ["FAN_MODES", "LAYOUTS", "Axes", "Fans", "axes_tuple", "compute_fans", "fan_value"]

LAYOUTS = ("channels_last", "torch", "torch_transpose")
FAN_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
FanMode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]


@dataclass(frozen=True)
class Fans:
    """Fan-in, fan-out and receptive field of a weight."""

    fan_in: int | float  # a float only for a stride that does not divide the fan
    fan_out: int | float
    receptive_field: int = 1


@dataclass(frozen=True)
class Axes:
    """An explicit layout: which axes are inputs, which are outputs, which are batch axes.

    Every other axis counts as receptive field.  Example: an attention query kernel of
    shape ``(embed, heads, head_dim)`` is ``Axes(in_axis=0, out_axis=(1, 2))``; initlab's
    population weights ``(K, in, out)`` are ``Axes(in_axis=1, out_axis=2, batch_axis=0)``.
    """

    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    batch_axis: int | tuple[int, ...] = ()


def axes_tuple(name: str, value: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """Normalise an axis or tuple of axes to non-negative ints, checking the range."""
    items = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"{name}={value!r} is out of range for a shape of rank {ndim}")
        out.append(int(a) % ndim)
    return tuple(out)


def _axes_for(layout: str | Axes, ndim: int) -> Axes:
    if isinstance(layout, Axes):
        return layout
    check_choice("layout", layout, LAYOUTS)
    if layout == "channels_last":
        return Axes(in_axis=ndim - 2, out_axis=ndim - 1)
    if layout == "torch":
        return Axes(in_axis=1, out_axis=0)
    return Axes(in_axis=0, out_axis=1)  # torch_transpose


def _explicit_fans(fans: Any) -> Fans:
    if isinstance(fans, Fans):
        values: tuple[Any, ...] = (fans.fan_in, fans.fan_out)
        rf = fans.receptive_field
    else:
        try:
            values = tuple(fans)
        except TypeError:
            raise TypeError(f"fans must be a (fan_in, fan_out) pair, got {fans!r}") from None
        rf = 1
        if len(values) != 2:
            raise ValueError(f"fans must be a (fan_in, fan_out) pair, got {fans!r}")
    out = []
    for label, v in zip(("fan_in", "fan_out"), values, strict=True):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{label} must be a positive number, got {v!r}")
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"{label} must be a positive finite number, got {v!r}")
        out.append(int(v) if float(v).is_integer() else float(v))
    return Fans(out[0], out[1], rf)


def _stride_product(stride: Any, n_spatial: int) -> int:
    """``prod(stride)``: one positive int for every spatial axis, or one int for all of them."""
    items = (stride,) * n_spatial if isinstance(stride, numbers.Integral) else stride
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(
            f"stride must be a positive int or a tuple of {n_spatial} positive ints "
            f"(one per spatial axis), got {stride!r}"
        ) from None
    if len(items) != n_spatial:
        raise ValueError(
            f"stride={stride!r} has {len(items)} entries but the kernel has {n_spatial} spatial "
            f"axes; pass one int or a tuple of {n_spatial} ints"
        )
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 1:
            raise ValueError(f"stride entries must be positive ints, got stride={stride!r}")
    return math.prod(int(v) for v in items)


def _exact(value: int, divisor: int) -> int | float:
    return value // divisor if value % divisor == 0 else value / divisor


def _conv_structure(
    shape: tuple[int, ...], layout: Any, groups: Any, stride: Any
) -> tuple[int, int, int]:
    """``(groups, prod(stride), axis)`` where ``axis`` 0 means the groups and strides divide the
    input fan and 1 the output fan; checked against the layout and the shape."""
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or int(groups) < 1:
        raise ValueError(f"groups must be a positive int, got groups={groups!r}")
    g = int(groups)
    if g == 1 and (isinstance(stride, numbers.Integral) and not isinstance(stride, bool)):
        if int(stride) == 1:
            return 1, 1, 1
    if layout not in LAYOUTS or len(shape) < 3:
        raise ValueError(
            f"groups={groups!r} and stride={stride!r} describe a convolution: they need a "
            f"kernel of rank >= 3 in layout 'torch', 'torch_transpose' or 'channels_last', "
            f"got shape {shape} with layout={layout!r}"
        )
    s = _stride_product(stride, len(shape) - 2)
    if layout == "torch_transpose":  # (in, out / g, *k): in holds every channel
        full_axis, divides = 0, 0
    elif layout == "torch":  # (out, in / g, *k)
        full_axis, divides = 0, 1
    else:  # channels_last (*k, in / g, out)
        full_axis, divides = len(shape) - 1, 1
    if shape[full_axis] % g:
        raise ValueError(
            f"groups={g} must divide the channel count {shape[full_axis]} on axis {full_axis} "
            f"of shape {shape} (layout {layout!r})"
        )
    # a transposed conv's stride thins its inputs (fan_in), a conv's its outputs (fan_out)
    return g, s, divides


def compute_fans(
    shape: tuple[int, ...],
    layout: str | Axes | None = None,
    fans: Any = None,
    *,
    groups: int = 1,
    stride: int | tuple[int, ...] = 1,
) -> Fans:
    """Return the :class:`Fans` of a weight of ``shape`` in ``layout``.

    ``fans=(fan_in, fan_out)`` overrides the computation (required for rank 0 and 1).
    ``groups`` and ``stride`` describe a grouped or strided convolution (see the module
    docstring for the rules and how they differ from ``torch.nn.init``).

    >>> compute_fans((32, 16, 3, 3), "torch")           # Conv2d(16, 32, 3)
    Fans(fan_in=144, fan_out=288, receptive_field=9)
    >>> compute_fans((3, 3, 16, 32), "channels_last")   # the same layer, Keras layout
    Fans(fan_in=144, fan_out=288, receptive_field=9)
    >>> compute_fans((64, 1, 3, 3), "torch", groups=64)  # depthwise Conv2d(64, 64, 3)
    Fans(fan_in=9, fan_out=9, receptive_field=9)
    >>> compute_fans((128, 64, 4, 4), "torch_transpose", stride=2)  # DCGAN's up-sampling
    Fans(fan_in=512, fan_out=1024, receptive_field=16)
    """
    if fans is not None:
        if groups != 1 or stride != 1:
            raise ValueError(
                "groups and stride only apply to fans computed from a shape; with explicit "
                "fans=(fan_in, fan_out) pass the fans the layer really has"
            )
        return _explicit_fans(fans)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(
            f"a weight of shape {shape} (rank {ndim}) has no fans of its own; "
            "pass fans=(fan_in, fan_out), e.g. the fans of the layer a bias belongs to"
        )
    if layout is None:
        if ndim != 2:
            raise ValueError(
                f"shape {shape} has rank {ndim}: say how it is laid out with layout="
                f"{'|'.join(repr(x) for x in LAYOUTS)} or layout=Axes(in_axis=..., "
                "out_axis=...); initlab never guesses a convolution layout from the rank"
            )
        layout = "channels_last"  # a 2-D weight without a layout is (in, out)
    axes = _axes_for(layout, ndim)
    in_axes = axes_tuple("in_axis", axes.in_axis, ndim)
    out_axes = axes_tuple("out_axis", axes.out_axis, ndim)
    batch_axes = axes_tuple("batch_axis", axes.batch_axis, ndim)
    used = in_axes + out_axes + batch_axes
    if len(set(used)) != len(used):
        raise ValueError(
            f"in_axis {in_axes}, out_axis {out_axes} and batch_axis {batch_axes} must not overlap"
        )
    rf = math.prod(d for i, d in enumerate(shape) if i not in used)
    fan_in = math.prod(shape[i] for i in in_axes) * rf
    fan_out = math.prod(shape[i] for i in out_axes) * rf
    g, s, divides = _conv_structure(tuple(shape), layout, groups, stride)
    if divides == 0:
        return Fans(_exact(fan_in, g * s), fan_out, rf)
    return Fans(fan_in, _exact(fan_out, g * s), rf)


def fan_value(fans: Fans, mode: str) -> float:
    """The fan a scheme scales by: ``fan_in``, ``fan_out``, ``fan_avg = (fan_in + fan_out) / 2``
    or ``fan_geo_avg = sqrt(fan_in * fan_out)``."""
    check_choice("mode", mode, FAN_MODES)
    if mode == "fan_in":
        n = float(fans.fan_in)
    elif mode == "fan_out":
        n = float(fans.fan_out)
    elif mode == "fan_avg":
        n = (fans.fan_in + fans.fan_out) / 2.0
    else:
        n = math.sqrt(fans.fan_in * fans.fan_out)
    if n <= 0:
        raise ValueError(f"{mode} of {fans} is {n}; a variance-scaling scheme needs a positive fan")
    return n
