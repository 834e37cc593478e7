"""Which torch modules initlab initializes, their weights' fans, and activation gains.

Fans, per module type (``rf`` is the kernel's receptive field, the product of its sizes;
``g`` the groups, ``S = prod(stride)``; computed by :func:`initlab.schemes.compute_fans`):

====================================  =====================  ===================  ============
module (weight shape)                 fan_in                 fan_out              torch.nn.init
====================================  =====================  ===================  ============
Linear ``(out, in)``                  in                     out                  same
HF Conv1D ``(in, out)``               in                     out                  --
ConvNd ``(out, in/g, *k)``            in/g * rf              out/g * rf / S       differs
ConvTransposeNd ``(in, out/g, *k)``   in/g * rf / S          out/g * rf           differs
MultiheadAttention in_proj, per q/k/v E (kdim, vdim)         E                    differs
Embedding ``(num, dim)``              dim                    num                  same
RNN/LSTM/GRU weight_ih, per gate      input size             hidden size          see below
  ``(gates * hidden, input)``
RNN/LSTM/GRU weight_hh, per gate      hidden (proj) size     hidden size          see below
LSTM weight_hr ``(proj, hidden)``     hidden                 proj                 same
====================================  =====================  ===================  ============

* **Grouped, depthwise and strided convolutions**: one output channel reads ``in/g`` input
  channels and one input channel feeds ``out/g`` output channels, so ``fan_out = out/g * rf``
  (``torch.nn.init``: ``out * rf``, 64x too large for ``Conv2d(64, 64, 3, groups=64)``); a
  stride ``s`` makes one input feed ``rf / S`` positions per output channel on average.  Checked
  by variance ratios in ``tests/test_torch_fans.py`` (forward with fan_in, backward with
  fan_out, each within 10 % of 1).
* **ConvTranspose**: ``ConvTransposeNd(in, out, k, stride=s, groups=g)`` scatters each input
  to ``out/g * rf`` outputs (``fan_out``), and each output position receives ``rf / S`` taps per
  input channel (``fan_in = in/g * rf / S``; DCGAN's ``ConvTranspose2d(in, out, 4, stride=2)``:
  ``in * 4``).  ``torch.nn.init`` reads ``fan_in = size(1) * rf = out/g * rf`` and ``fan_out =
  size(0) * rf = in * rf`` whatever the layer, which gives DCGAN's layers a forward variance
  ratio of 1/2 (stride 2, ``in = 2 out``) where 1 is wanted.
* **Attention**: ``nn.MultiheadAttention``'s packed ``in_proj_weight (3E, E)`` is three
  ``(E, E)`` maps, each initialized on its own (``torch``'s own Xavier uses ``fan_out = 3E``);
  ``q/k/v_proj_weight`` (``kdim``/``vdim`` differ) each with its own fans; ``out_proj`` is a
  Linear.  The q/k/v projections are read linearly (gain 1, "attention projection").
* **Embedding**: the rows are the vectors a model consumes, so ``fan_in = embedding_dim``
  (``torch.nn.init``'s reading and Flax's default embedding initializer): the fan-in schemes
  set the squared norm of a row to about ``gain^2`` (LeCun: 1), while Xavier, whose fan_out is
  ``num_embeddings``, makes rows much shorter (``nn.Embedding``'s own default, N(0, 1), makes
  it ``dim``).  ``padding_idx``'s row is set back to 0, as ``nn.Embedding`` does.
* **Recurrent layers**: the fused weight ``(gates * hidden, cols)`` is ``gates`` separate maps
  (LSTM: input, forget, cell, output; GRU: reset, update, new); each gate block
  ``(hidden, cols)`` is initialized on its own, with ``fan_in = cols`` and ``fan_out = hidden``.
  Fan-in schemes therefore agree with ``torch.nn.init`` on the fused matrix, while Xavier
  (``torch.nn.init`` would use ``fan_out = gates * hidden``) and orthogonal (each gate's block is
  orthogonal, e.g. every recurrent ``hidden x hidden`` block, instead of one tall matrix whose
  blocks are not) differ on purpose.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.schemes import Fans, calculate_gain, compute_fans, numeric_gain

__all__ = [
    "CONV",
    "CONV_TRANSPOSE",
    "RECURRENT",
    "SUPPORTED",
    "Weight",
    "activation_gain",
    "layer_weights",
    "sequential_activations",
]

CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
CONV_TRANSPOSE = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
RECURRENT = (nn.RNN, nn.LSTM, nn.GRU)
SUPPORTED: tuple[type[nn.Module], ...] = (
    nn.Linear,
    *CONV,
    *CONV_TRANSPOSE,
    nn.Embedding,
    *RECURRENT,
)
SUPPORTED_NAMES = (
    "Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding, RNN, LSTM, GRU (and their subclasses)"
)


@dataclass
class Weight:
    """One weight of a supported module, with what initializing it needs."""

    name: str  # the parameter's name inside its module, e.g. "weight" or "weight_hh_l0"
    tensor: torch.Tensor
    fans: Fans  # fans of one chunk
    chunks: int = 1  # blocks initialized separately (recurrent gates, attention's q/k/v)
    layout: str = "torch"  # "torch" or "torch_transpose" (dirac, sparse need it)
    groups: int = 1
    biases: list[tuple[str, torch.Tensor]] = field(default_factory=list)
    padding_idx: int | None = None
    chunk_dim: int = 0  # the axis the chunks split (HF Conv1D's fused q/k/v: 1)
    chunk_names: tuple[str, ...] = ()  # e.g. ("input", "forget", "cell", "output")
    role: str = ""  # "attention" for q/k/v projections (their gain is linear)

    def chunk_views(self) -> list[torch.Tensor]:
        if self.chunks == 1:
            return [self.tensor]
        return list(self.tensor.chunk(self.chunks, dim=self.chunk_dim))

    def chunk_shape(self) -> tuple[int, ...]:
        shape = list(self.tensor.shape)
        shape[self.chunk_dim] //= self.chunks
        return tuple(shape)


def conv_fans(module: nn.Module, shape: tuple[int, ...]) -> Fans:
    """``ConvNd(in, out, k, groups=g, stride=s)``, weight ``(out, in/g, *k)``: ``fan_in = in/g *
    rf`` (the inputs one output reads), ``fan_out = out/g * rf / prod(s)`` (the outputs one
    input feeds, on average); :func:`initlab.schemes.compute_fans` with ``groups``/``stride``."""
    return compute_fans(shape, "torch", groups=module.groups, stride=tuple(module.stride))


def conv_transpose_fans(module: nn.Module, shape: tuple[int, ...]) -> Fans:
    """``ConvTransposeNd(in, out, k, stride=s, groups=g)``, weight ``(in, out/g, *k)``:
    ``fan_in = in/g * rf / prod(s)`` (on average, the inputs that reach one output: each
    output position is hit by ``rf / prod(s)`` kernel taps), ``fan_out = out/g * rf`` (one input
    is scattered to every tap of its group's ``out/g`` channels)."""
    return compute_fans(shape, "torch_transpose", groups=module.groups, stride=tuple(module.stride))


def _bias(module: nn.Module, name: str) -> list[tuple[str, torch.Tensor]]:
    b = getattr(module, name, None)
    return [(name, b)] if isinstance(b, torch.Tensor) else []


GATE_NAMES = {
    "LSTM": ("input", "forget", "cell", "output"),
    "GRU": ("reset", "update", "new"),
    "RNN": (),
}


def gate_names(module: nn.Module) -> tuple[str, ...]:
    for cls in type(module).__mro__:
        if cls.__name__ in GATE_NAMES and cls.__module__.startswith("torch.nn"):
            return GATE_NAMES[cls.__name__]
    return ()


def _recurrent_weights(module: nn.Module) -> list[Weight]:
    params = dict(module.named_parameters(recurse=False))
    out = []
    for name, p in params.items():
        if not name.startswith("weight_"):
            continue
        shape = tuple(p.shape)
        kind = name.split("_")[1]  # ih, hh or hr
        if kind == "hr":
            out.append(Weight(name, p, compute_fans(shape, "torch")))
            continue
        gates = shape[0] // module.hidden_size
        suffix = name[len("weight_") :]
        biases = (
            [(f"bias_{suffix}", params[f"bias_{suffix}"])] if f"bias_{suffix}" in params else []
        )
        fans = compute_fans((module.hidden_size, *shape[1:]), "torch")
        names = gate_names(module) if gates > 1 else ()
        out.append(Weight(name, p, fans, chunks=gates, biases=biases, chunk_names=names))
    return out


def _attention_weights(m: nn.MultiheadAttention) -> list[Weight]:
    """The q/k/v projections of ``nn.MultiheadAttention``; ``out_proj`` is its own Linear.

    Packed ``in_proj_weight (3E, E)``: three ``(E, E)`` blocks, each with fans ``(E, E)``
    (torch's ``_reset_parameters`` draws Xavier on the packed matrix, fan_out ``3E``).
    ``q/k/v_proj_weight`` (when ``kdim``/``vdim`` differ from E): ``(E, kdim)`` etc."""
    e = m.embed_dim
    biases = _bias(m, "in_proj_bias") + _bias(m, "bias_k") + _bias(m, "bias_v")
    if m.in_proj_weight is not None:
        fans = Fans(e, e)
        return [
            Weight(
                "in_proj_weight",
                m.in_proj_weight,
                fans,
                chunks=3,
                biases=biases,
                chunk_names=("q", "k", "v"),
                role="attention",
            )
        ]
    out = []
    for i, n in enumerate(("q_proj_weight", "k_proj_weight", "v_proj_weight")):
        w = getattr(m, n)
        out.append(
            Weight(
                n,
                w,
                compute_fans(tuple(w.shape), "torch"),
                biases=biases if i == 0 else [],
                role="attention",
            )
        )
    return out


def is_hf_conv1d(module: nn.Module) -> bool:
    """HuggingFace's ``Conv1D`` (GPT-2): a linear layer whose weight is ``(in, out)``."""
    w = module._parameters.get("weight")  # not getattr: torch.fx patches it while tracing
    return (
        type(module).__name__ == "Conv1D"
        and hasattr(module, "nf")
        and isinstance(w, torch.Tensor)
        and w.dim() == 2
        and w.shape[1] == module.nf
    )


def is_weight_layer(module: nn.Module) -> bool:
    """A module :func:`layer_weights` knows (SUPPORTED, nn.MultiheadAttention, HF Conv1D)."""
    return isinstance(module, (*SUPPORTED, nn.MultiheadAttention)) or is_hf_conv1d(module)


def layer_weights(module: nn.Module) -> list[Weight]:
    """The weights of a supported module (an empty list for any other module)."""
    if isinstance(module, CONV_TRANSPOSE):
        w = module.weight
        return [
            Weight(
                "weight",
                w,
                conv_transpose_fans(module, tuple(w.shape)),
                layout="torch_transpose",
                groups=module.groups,
                biases=_bias(module, "bias"),
            )
        ]
    if isinstance(module, CONV):
        w = module.weight
        fans = conv_fans(module, tuple(w.shape))
        return [Weight("weight", w, fans, groups=module.groups, biases=_bias(module, "bias"))]
    if isinstance(module, nn.Linear):
        w = module.weight
        return [
            Weight("weight", w, compute_fans(tuple(w.shape), "torch"), biases=_bias(module, "bias"))
        ]
    if isinstance(module, nn.Embedding):
        w = module.weight
        fans = compute_fans(tuple(w.shape), "torch")
        return [Weight("weight", w, fans, padding_idx=module.padding_idx)]
    if isinstance(module, RECURRENT):
        return _recurrent_weights(module)
    if isinstance(module, nn.MultiheadAttention):
        return _attention_weights(module)
    if is_hf_conv1d(module):
        w = module.weight  # (in, out): the layout of a transposed conv with no kernel
        fans = compute_fans(tuple(w.shape), "torch_transpose")
        return [Weight("weight", w, fans, layout="torch_transpose", biases=_bias(module, "bias"))]
    return []


# --------------------------------------------------------------------------- normalisation

_NORM_NAMES = (
    "BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm LayerNorm GroupNorm RMSNorm "
    "InstanceNorm1d InstanceNorm2d InstanceNorm3d"
).split()
#: Normalisation layers: weight (gamma) and bias (beta) are set to ``norm_weight``/``norm_bias``
#: (default 1 and 0), running statistics reset (mean 0, variance 1, count 0).
NORM: tuple[type[nn.Module], ...] = tuple(getattr(nn, n) for n in _NORM_NAMES if hasattr(nn, n))
#: Buffers of a norm layer and the value a reset gives them.
NORM_BUFFERS = {"running_mean": 0.0, "running_var": 1.0, "num_batches_tracked": 0}


# --------------------------------------------------------------------------- activations

_TRANSPARENT_NAMES = (
    "Identity Flatten Unflatten Dropout Dropout1d Dropout2d Dropout3d AlphaDropout "
    "FeatureAlphaDropout BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm LayerNorm GroupNorm "
    "RMSNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d LocalResponseNorm MaxPool1d MaxPool2d "
    "MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d "
    "AdaptiveMaxPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d LPPool1d LPPool2d "
    "ZeroPad1d ZeroPad2d ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d ReflectionPad1d "
    "ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d "
    "CircularPad1d CircularPad2d CircularPad3d Upsample PixelShuffle PixelUnshuffle "
    "ChannelShuffle"
).split()
#: Modules looked through when searching for the activation after a layer: they do not change
#: which nonlinearity the layer's output meets (normalisation, dropout, pooling, reshaping).
TRANSPARENT: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, n) for n in _TRANSPARENT_NAMES if hasattr(nn, n)
)
#: Output heads: the layer before them produces logits, so it is linear (gain 1).
_OUTPUT_HEADS = (nn.Softmax, nn.LogSoftmax, nn.Softmin)
#: Activation modules that are not elementwise and so have no gain.
_NOT_ELEMENTWISE = (nn.GLU, nn.MultiheadAttention, nn.Softmax2d)


def _module_gain(module: nn.Module) -> float:
    """Numeric gain ``1 / sqrt(E[g(z)^2])`` of an elementwise torch module ``g``."""

    def g(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float64))).numpy()

    return numeric_gain(g)


def _is_activation_module(module: nn.Module) -> bool:
    return type(module).__module__ == "torch.nn.modules.activation"


def activation_gain(activation: Any) -> tuple[str, float]:
    """The label and gain of an activation, as :func:`initialize` uses them.

    ``activation`` is a name (``"relu"``, ``"tanh"``, ``"leaky_relu:0.2"``, ``"gelu"``, any name
    :func:`initlab.schemes.calculate_gain` knows), a torch activation module (instance or class),
    or an elementwise callable on NumPy arrays.  Modules map to initlab's gains: ``nn.ReLU`` ->
    ``sqrt(2)``, ``nn.LeakyReLU(a)`` -> ``sqrt(2 / (1 + a^2))`` (``nn.PReLU`` and ``nn.RReLU``
    through their mean slope), ``nn.Tanh`` -> 5/3, ``nn.Sigmoid`` -> 1, ``nn.SELU`` -> 3/4,
    ``nn.GELU``/``nn.SiLU``/``nn.Mish``/``nn.ELU``/``nn.Softplus`` -> the numeric gain
    ``1 / sqrt(E[g(z)^2])`` (which ``torch.nn.init.calculate_gain`` does not offer), any other
    elementwise module of ``torch.nn`` -> its numeric gain, ``nn.Identity`` and the output heads
    ``nn.Softmax``/``nn.LogSoftmax`` -> 1 (linear).
    Example: ``activation_gain(nn.GELU())`` is ``("gelu", 1.5335...)``.
    """
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        try:
            activation = activation()
        except TypeError as exc:
            raise TypeError(
                f"activation={activation.__name__} needs arguments; pass an instance"
            ) from exc
    if isinstance(activation, str):
        name, sep, rest = activation.strip().partition(":")
        param: float | None = None
        if sep:
            try:
                param = float(rest)
            except ValueError:
                raise ValueError(
                    f"activation={activation!r}: the part after ':' must be a number, "
                    "e.g. 'leaky_relu:0.2'"
                ) from None
        return activation.strip(), calculate_gain(name.strip(), param)
    if isinstance(activation, nn.Module):
        return _module_activation(activation)
    if callable(activation):
        label = getattr(activation, "__name__", type(activation).__name__)
        return f"{label} (numeric)", calculate_gain(activation)
    raise TypeError(
        "activation must be a name such as 'relu' or 'leaky_relu:0.2', a torch activation "
        f"module, or an elementwise callable; got {activation!r}"
    )


def _slope_label(name: str, slope: float) -> tuple[str, float]:
    return f"leaky_relu:{slope:g}" + name, calculate_gain("leaky_relu", slope)


def _module_activation(m: nn.Module) -> tuple[str, float]:
    simple: list[tuple[type[nn.Module], str]] = [
        (nn.ReLU, "relu"),
        (nn.Tanh, "tanh"),
        (nn.Sigmoid, "sigmoid"),
        (nn.SELU, "selu"),
        (nn.SiLU, "silu"),
        (nn.Mish, "mish"),
    ]
    for cls, name in simple:
        if type(m) is cls:
            return name, calculate_gain(name)
    if isinstance(m, nn.Identity) or isinstance(m, _OUTPUT_HEADS):
        return "linear", 1.0
    if isinstance(m, nn.LeakyReLU):
        return _slope_label("", float(m.negative_slope))
    if isinstance(m, nn.PReLU):
        return _slope_label(" (PReLU)", float(m.weight.detach().float().mean()))
    if isinstance(m, nn.RReLU):
        return _slope_label(" (RReLU)", (m.lower + m.upper) / 2.0)
    if type(m) is nn.ELU:
        return f"elu:{m.alpha:g}", calculate_gain("elu", float(m.alpha))
    if type(m) is nn.GELU and m.approximate == "none":
        return "gelu", calculate_gain("gelu")
    if type(m) is nn.Softplus and m.beta == 1.0:
        return "softplus", calculate_gain("softplus")
    if isinstance(m, _NOT_ELEMENTWISE) or not _is_activation_module(m):
        raise ValueError(
            f"{type(m).__name__} is not an elementwise activation, so it has no gain; "
            "pass a name such as 'relu', a torch activation module, or a callable"
        )
    return f"{type(m).__name__} (numeric)", _module_gain(m)


def _flatten(seq: nn.Sequential) -> Iterator[nn.Module]:
    for child in seq:  # iterating a Sequential keeps repeated (shared) entries
        if isinstance(child, nn.Sequential):
            yield from _flatten(child)
        else:
            yield child


def _after(items: list[nn.Module], i: int, at_end: tuple[str, float] | None) -> Any:
    for m in items[i + 1 :]:
        if isinstance(m, TRANSPARENT):
            continue
        if isinstance(m, SUPPORTED):
            return ("linear", 1.0)
        if _is_activation_module(m) and not isinstance(m, _NOT_ELEMENTWISE):
            return _module_activation(m)
        return None  # anything else (a custom block, attention ...): unknown
    return at_end


def sequential_activations(model: nn.Module) -> dict[int, tuple[str, float]]:
    """``id(layer) -> (label, gain)`` for every supported layer whose following activation is
    known from ``nn.Sequential`` structure.

    Nested ``nn.Sequential`` are flattened into one chain.  After a layer, modules in
    ``TRANSPARENT`` (dropout, normalisation, pooling, reshaping) are looked through; the first
    other module decides: an elementwise activation gives its gain, another supported layer
    gives "linear" (gain 1), anything else leaves the activation unknown.  At the end of the
    chain a layer is the model's output (linear, gain 1) only when the chain is the model
    itself (or the module inside ``nn.DataParallel``/``DistributedDataParallel``); the end of a
    Sequential inside a custom module is unknown.  Recurrent layers get
    nothing here (an ``nn.RNN`` uses its own ``nonlinearity``, see :func:`recurrent_activation`).
    """
    modules = dict(model.named_modules())
    roots = {""}
    if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
        roots.add("module")  # a wrapper's module is the model itself
    out: dict[int, tuple[str, float]] = {}
    for name, m in modules.items():
        if not isinstance(m, nn.Sequential):
            continue
        parent = name.rpartition(".")[0] if name else None
        if parent is not None and isinstance(modules.get(parent), nn.Sequential):
            continue  # flattened into its parent's chain
        items = list(_flatten(m))
        at_end = ("linear", 1.0) if name in roots else None
        for i, item in enumerate(items):
            if isinstance(item, SUPPORTED) and not isinstance(item, RECURRENT):
                found = _after(items, i, at_end)
                if found is not None and id(item) not in out:
                    out[id(item)] = found
    return out


def recurrent_activation(module: nn.Module) -> tuple[str, float] | None:
    """``nn.RNN``'s own ``nonlinearity`` ("tanh" or "relu"); None for LSTM and GRU, whose gates
    mix sigmoid and tanh (their weights keep the scheme's own default gain)."""
    if isinstance(module, nn.RNN):
        name = module.nonlinearity
        return name, calculate_gain(name)
    return None


def matches(name: str, module: nn.Module, key: Any) -> bool:
    """Does an override/skip key (a module type or an fnmatch pattern) match this module?"""
    if isinstance(key, type):
        return isinstance(module, key)
    return fnmatch.fnmatchcase(name, key)


def check_key(param: str, key: Any) -> None:
    if isinstance(key, type) and issubclass(key, nn.Module):
        return
    if isinstance(key, str):
        return
    raise TypeError(
        f"{param} keys must be nn.Module subclasses or module-name patterns (fnmatch, e.g. "
        f"'features.*'), got {key!r}"
    )
