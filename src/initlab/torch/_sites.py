"""The geometry of an observed layer (a *site*) shared by :func:`initlab.torch.inspect` and
:class:`initlab.torch.Watch`: which activation follows it, and how its outputs, weights and
gradients map to the arrays of initlab's NumPy diagnostics (the hooks that capture them are in
:mod:`initlab.torch._capture`, attention sites in :mod:`initlab.torch._attention`).

The mapping, for each observed layer ``l`` (Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d,
HuggingFace Conv1D) in the order the forward pass first calls them:

==========================  =======================================================================
NumPy engine (K = 1)        torch
==========================  =======================================================================
``Z_l`` (m, n)              the layer's output.  Linear: ``(..., out)`` -> rows ``(m, out)`` with
                            ``m`` = every leading position.  Conv: **channels are the units**:
                            ``(N, C, *spatial)`` -> ``(N * prod(spatial), C)``, one row per example
                            and position (an unbatched ``(C, *spatial)`` likewise)
``A_l`` (m, n)              the output of the activation module that follows the layer in an
                            ``nn.Sequential`` chain (found the way :func:`initialize` infers
                            gains: dropout, normalisation, pooling and reshaping are looked
                            through), turned into rows the same way (a flattened conv output is
                            ``(N, C * P)``, channel-major, so it maps back to ``(N * P, C)``).
                            No activation (another layer or the model's end follows): ``A = Z``
                            and the activation is ``linear``.  Not in a Sequential chain (a
                            custom module's forward): ``A = Z`` and the activation is
                            ``unknown``, so the saturation and dead-unit rules do not apply
``W_l`` (fan_in, n)         Linear ``(out, in)`` transposed (HF Conv1D's ``(in, out)`` as it is);
                            Conv ``(out, in/g, *k)`` ->
                            ``(in/g * prod(k), out)``; ConvTranspose ``(in, out/g, *k)`` ->
                            ``(in/g * prod(k), out)`` (each output channel's incoming weights)
``b_l`` (n,)                the bias (zeros when the layer has none)
``dZ_l``, ``dA_l``          gradients of the loss w.r.t. those outputs, as rows like ``Z``, ``A``
``dW_l``, ``db_l``          gradients of the loss w.r.t. the weight and bias, laid out like them
==========================  =======================================================================

A layer called several times in one pass contributes the rows of every call.  Everything is
copied to CPU NumPy arrays as soon as it is captured (detached), so the statistics are computed
in float64 whatever the model's dtype and device: values as float64, gradients of a float32,
float16 or bfloat16 model as float32 (the same numbers, exactly), summed in float64.  The
copies are unit-major (a weight's ``(units, fan_in)``, a conv output's ``(C, N * P)``) and
handed on as their transposed views, the shapes above: the copy then converts without
reordering values one by one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.activations import Activation, parse_activation
from initlab.torch._layers import (
    _NOT_ELEMENTWISE,
    CONV,
    CONV_TRANSPOSE,
    SUPPORTED,
    TRANSPARENT,
    _flatten,
    _is_activation_module,
    is_hf_conv1d,
)

__all__ = [
    "CONV",
    "CONV_TRANSPOSE",
    "INSPECTED",
    "INSPECTED_NAMES",
    "PASS_THROUGH",
    "SUPPORTED",
    "UNKNOWN",
    "Conv1DSite",
    "Site",
    "describe",
    "following",
    "initlab_activation",
    "observed",
    "opaque",
    "site_for",
    "to_numpy",
]

#: Modules an input passes through unchanged in value for the graph's purpose (elementwise
#: masks and identities): the layer after one still reads the layer before's activation.
PASS_THROUGH: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
)


def opaque(m: nn.Module) -> bool:
    """Modules with children that compute without calling them (attention's projections)."""
    return isinstance(m, nn.MultiheadAttention | nn.RNNBase)


#: The layers whose statistics are recorded.
INSPECTED: tuple[type[nn.Module], ...] = (nn.Linear, *CONV, *CONV_TRANSPOSE)
INSPECTED_NAMES = (
    "Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d (and their subclasses), MultiheadAttention, "
    "HuggingFace Conv1D"
)

_LINEAR = parse_activation("linear")
#: The activation of a layer whose following nonlinearity is not known from the model's
#: structure: ``A = Z`` is recorded and no activation-specific rule applies.
UNKNOWN = dataclasses.replace(_LINEAR, name="unknown")

_BY_TYPE: list[tuple[type[nn.Module], str]] = [
    (nn.ReLU, "relu"),
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
    (nn.GELU, "gelu"),
    (nn.SiLU, "silu"),
    (nn.SELU, "selu"),
    (nn.Softplus, "softplus"),
    (nn.Mish, "mish"),
    (nn.Softmax, "softmax"),
    (nn.Identity, "linear"),
]


def initlab_activation(module: nn.Module | None) -> Activation:
    """The initlab activation (its name drives the saturation and dead-unit rules) of a torch
    activation module; ``None`` (no activation follows) is ``linear``.

    ``nn.ReLU`` -> relu, ``nn.Tanh`` -> tanh, ``nn.Sigmoid`` -> sigmoid, ``nn.GELU`` -> gelu,
    ``nn.SiLU`` -> silu, ``nn.LeakyReLU(a)`` -> ``leaky_relu:a``, ``nn.ELU(a)`` -> ``elu:a``,
    ``nn.SELU`` -> selu, ``nn.Softplus`` -> softplus, ``nn.Mish`` -> mish, ``nn.Softmax`` ->
    softmax, ``nn.Identity`` -> linear; any other module keeps its lower-cased class name (e.g.
    ``hardtanh``), for which no activation-specific rule applies."""
    if module is None:
        return _LINEAR
    for cls, name in _BY_TYPE:
        if isinstance(module, cls):
            return parse_activation(name)
    if isinstance(module, nn.LeakyReLU):
        return parse_activation(f"leaky_relu:{float(module.negative_slope)!r}")
    if isinstance(module, nn.ELU):
        return parse_activation(f"elu:{float(module.alpha)!r}")
    return dataclasses.replace(_LINEAR, name=type(module).__name__.lower())


def following(model: nn.Module) -> dict[int, nn.Module | None]:
    """``id(layer) -> the activation module after it`` (None: linear) for every supported layer
    of an ``nn.Sequential`` chain whose activation is known; the same walk as
    :func:`initlab.torch._layers.sequential_activations` (which returns gains, not modules)."""
    modules = dict(model.named_modules())
    roots = {""}
    if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
        roots.add("module")
    out: dict[int, nn.Module | None] = {}
    for name, m in modules.items():
        if not isinstance(m, nn.Sequential):
            continue
        parent = name.rpartition(".")[0] if name else None
        if parent is not None and isinstance(modules.get(parent), nn.Sequential):
            continue
        items = list(_flatten(m))
        for i, item in enumerate(items):
            if not observed(item) or id(item) in out:
                continue
            known, act = False, None
            for nxt in items[i + 1 :]:
                if isinstance(nxt, TRANSPARENT):
                    continue
                if isinstance(nxt, SUPPORTED):
                    known = True
                elif _is_activation_module(nxt) and not isinstance(nxt, _NOT_ELEMENTWISE):
                    known, act = True, nxt
                break
            else:
                known = name in roots
            if known:
                out[id(item)] = act
    return out


def _matrix(
    module: nn.Module, w: torch.Tensor, gradient: bool = False, copy: bool = True
) -> np.ndarray:
    """A weight (or its gradient: ``gradient=True``, see :func:`to_numpy`) as the engine's
    ``(fan_in, units)`` matrix: the transposed view of a unit-major ``(units, fan_in)`` copy,
    the weight's own layout, so the copy converts without reordering (the statistics do not
    depend on the layout); ``copy``: as for :func:`to_numpy`."""
    t = w.detach()
    if isinstance(module, CONV_TRANSPOSE):
        g = module.groups
        cin, cout_g = t.shape[0], t.shape[1]
        t = t.reshape(g, cin // g, cout_g, -1).permute(0, 2, 1, 3).reshape(g * cout_g, -1)
    else:
        t = t.reshape(t.shape[0], -1)
    return to_numpy(t, gradient=gradient, copy=copy).T


#: Tensor dtypes every value of which is a float32 number.
_FLOAT32_VALUES = (torch.float32, torch.float16, torch.bfloat16)


def to_numpy(t: torch.Tensor, *, gradient: bool = False, copy: bool = True) -> np.ndarray:
    """A detached CPU float64 copy of ``t`` as a NumPy array (one copy: the conversion's own,
    or a clone when ``t`` is already CPU float64).  ``gradient=True``: a float32 copy when
    every value of ``t`` is a float32 number (a float32, float16 or bfloat16 tensor), the same
    values in half the memory; gradients only feed sums and histograms, which
    :mod:`initlab.diagnostics._reduce` accumulates in float64.  ``copy=False``: ``t``'s own
    memory when it needs no conversion (for a tensor the caller owns and never changes, such
    as the gradients ``torch.autograd.grad`` returns)."""
    t = t.detach()
    dtype = torch.float32 if gradient and t.dtype in _FLOAT32_VALUES else torch.float64
    x = t.to(device="cpu", dtype=dtype, memory_format=torch.contiguous_format)
    return (x.clone(memory_format=torch.contiguous_format) if x is t and copy else x).numpy()


def _unit_rows(t: torch.Tensor, axis: int, gradient: bool = False) -> np.ndarray:
    """A conv output ``t`` with its channels on ``axis`` as rows ``(N * P, C)``: the transposed
    view of a channel-major ``(C, N * P)`` copy.  Moving the channels first copies whole runs
    of P positions; moving them last (a C-ordered ``(N * P, C)``) gathers every value alone and
    took 3x as long for a ResNet's first block."""
    n = t.shape[axis]
    return to_numpy(t.movedim(axis, 0).reshape(n, -1), gradient=gradient).T


@dataclass
class Site:
    """One observed layer: its name, module, the activation that follows it and the module
    whose output is its ``A`` (None: ``A = Z``)."""

    name: str
    module: nn.Module
    activation: Activation
    act_module: nn.Module | None

    @property
    def conv(self) -> bool:
        return isinstance(self.module, CONV + CONV_TRANSPOSE)

    @property
    def units(self) -> int:
        m = self.module
        return int(m.out_channels if self.conv else m.out_features)

    @property
    def kind(self) -> str:
        """The record's ``kind``: ``"dense"``, ``"conv"`` or ``"conv_transpose"``."""
        if isinstance(self.module, CONV_TRANSPOSE):
            return "conv_transpose"
        return "conv" if self.conv else "dense"

    @property
    def weight_module(self) -> nn.Module:
        """The module whose ``weight`` is the site's ``W`` (the layer itself)."""
        return self.module

    @property
    def weight_param(self) -> torch.Tensor:
        return self.weight_module.weight

    @property
    def bias_param(self) -> torch.Tensor | None:
        b = getattr(self.weight_module, "bias", None)
        return b if isinstance(b, torch.Tensor) else None

    @property
    def params(self) -> list[torch.Tensor]:
        """``W`` and ``b`` (when the layer has one)."""
        return [p for p in (self.weight_param, self.bias_param) if p is not None]

    @property
    def extra_params(self) -> list[torch.Tensor]:
        """The site's other tensors, with figures of their own (attention's in_proj)."""
        return []

    def _channel_axis(self, t: torch.Tensor) -> int:
        spatial = len(self.module.kernel_size)
        return 1 if t.dim() == spatial + 2 else 0

    def rows(
        self, t: torch.Tensor, like: torch.Size | None = None, gradient: bool = False
    ) -> np.ndarray:
        """A layer output (or its gradient: ``gradient=True``, see :func:`to_numpy`) as
        ``(rows, units)``; ``like`` is the shape of the layer's own output when ``t`` comes
        from the activation that follows it."""
        n = self.units
        t = t.detach()
        if not self.conv:
            if t.dim() == 0 or t.shape[-1] != n:
                raise ValueError(self._bad_shape(t, f"(..., {n})"))
            return to_numpy(t.reshape(-1, n), gradient=gradient)
        if like is not None and tuple(t.shape) != tuple(like):
            batch = like[0] if len(like) == len(self.module.kernel_size) + 2 else None
            ok_same = t.dim() == len(like) and t.shape[self._channel_axis(t)] == n
            if not ok_same:
                if batch is None or t.dim() == 0 or t.shape[0] != batch or t.numel() % (batch * n):
                    raise ValueError(self._bad_shape(t, f"({batch}, {n}, ...)"))
                t = t.reshape(batch, n, -1)  # flattened channel-major: (N, C * P) -> (N, C, P)
                return _unit_rows(t, 1, gradient)
        ax = self._channel_axis(t)
        if t.shape[ax] != n:
            raise ValueError(self._bad_shape(t, f"(N, {n}, ...)"))
        return _unit_rows(t, ax, gradient)

    def input_rows(self, t: torch.Tensor) -> np.ndarray:
        """The layer's input as rows ``(m, inputs)``: Linear ``(..., in)``; conv ``(N, C_in, ...)``
        with the input channels as columns (what the engine calls ``X`` or ``A_prev``)."""
        m = self.module
        t = t.detach()
        if not self.conv:
            return to_numpy(t.reshape(-1, m.in_features))
        return _unit_rows(t, self._channel_axis(t))

    def _bad_shape(self, t: torch.Tensor, expected: str) -> str:
        return (
            f"layer {self.name!r} ({type(self.module).__name__}): its output or the output of "
            f"the activation after it has shape {tuple(t.shape)}, which does not map to "
            f"{self.units} units {expected}"
        )

    @property
    def fan_in(self) -> int:
        """Rows of :meth:`weight`: inputs per unit (``in/groups * prod(kernel)`` for conv)."""
        w = self.weight_param
        if isinstance(self.module, CONV_TRANSPOSE):
            return int(w.shape[0] // self.module.groups * math.prod(w.shape[2:]))
        return int(math.prod(w.shape[1:]))

    def weight(self) -> np.ndarray:
        """``W`` as ``(fan_in, units)``."""
        return _matrix(self.weight_module, self.weight_param)

    def bias(self) -> np.ndarray:
        """``b`` as ``(units,)`` (zeros when the layer has none)."""
        b = self.bias_param
        return to_numpy(b) if b is not None else np.zeros(self.units)

    def weight_like(self, g: torch.Tensor | None) -> np.ndarray:
        """The weight's gradient ``g`` as ``(fan_in, units)`` (float32 when its values are, see
        :func:`to_numpy`; zeros for None).  ``g`` is the caller's own tensor (from
        ``torch.autograd.grad``, or a sum of hooked gradients): its memory may be used."""
        if g is None:
            return np.zeros((self.fan_in, self.units))
        return _matrix(self.weight_module, g, gradient=True, copy=False)

    def bias_like(self, g: torch.Tensor | None) -> np.ndarray:
        return np.zeros(self.units) if g is None else to_numpy(g).reshape(-1)


@dataclass
class Conv1DSite(Site):
    """HuggingFace's ``Conv1D`` (GPT-2's ``c_attn``, ``c_proj``, ``c_fc``): a linear layer
    ``y = x W + b`` whose weight is stored ``(in, out)``, already the engine's ``(fan_in,
    units)``; outputs and inputs are rows as for ``nn.Linear``."""

    @property
    def units(self) -> int:
        return int(self.weight_param.shape[1])

    @property
    def fan_in(self) -> int:
        return int(self.weight_param.shape[0])

    def weight(self) -> np.ndarray:
        return to_numpy(self.weight_param)

    def weight_like(self, g: torch.Tensor | None) -> np.ndarray:
        if g is None:
            return np.zeros((self.fan_in, self.units))
        return to_numpy(g, gradient=True, copy=False)

    def input_rows(self, t: torch.Tensor) -> np.ndarray:
        return to_numpy(t.detach().reshape(-1, self.fan_in))


def site_for(name: str, module: nn.Module, activation: Activation, act: nn.Module | None) -> Site:
    """The :class:`Site` of an observed layer (HF Conv1D: :class:`Conv1DSite`)."""
    cls = Conv1DSite if is_hf_conv1d(module) else Site
    return cls(name, module, activation, act)


def observed(module: nn.Module) -> bool:
    """Whether :func:`initlab.torch.inspect` records ``module`` as a layer of its own (the
    :data:`INSPECTED` types and HF Conv1D; attention is its own site)."""
    return isinstance(module, INSPECTED) or is_hf_conv1d(module)


def describe(x: Any) -> str:
    """A short description of a batch, an output or a target (shapes and dtypes)."""
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)} ({x.dtype}, {x.device})"
    if isinstance(x, tuple | list):
        return "(" + ", ".join(describe(v) for v in x) + ")"
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in x.items()) + "}"
    return type(x).__name__
