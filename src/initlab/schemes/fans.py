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

    fan_in: int
    fan_out: int
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
        values = (fans.fan_in, fans.fan_out)
        rf = fans.receptive_field
    else:
        try:
            values = tuple(fans)
        except TypeError:
            raise TypeError(f"fans must be a (fan_in, fan_out) pair, got {fans!r}") from None
        rf = 1
        if len(values) != 2:
            raise ValueError(f"fans must be a (fan_in, fan_out) pair, got {fans!r}")
    for label, v in zip(("fan_in", "fan_out"), values, strict=True):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{label} must be a positive integer, got {v!r}")
        if int(v) <= 0:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    return Fans(int(values[0]), int(values[1]), rf)


def compute_fans(
    shape: tuple[int, ...], layout: str | Axes | None = None, fans: Any = None
) -> Fans:
    """Return the :class:`Fans` of a weight of ``shape`` in ``layout``.

    ``fans=(fan_in, fan_out)`` overrides the computation (required for rank 0 and 1).
    Examples: ``compute_fans((16, 32, 3, 3), "torch")`` is fan_in 144, fan_out 288 and
    receptive field 9; so is ``compute_fans((3, 3, 32, 16), "channels_last")`` for the
    same layer read the other way round.
    """
    if fans is not None:
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
    return Fans(fan_in, fan_out, rf)


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
