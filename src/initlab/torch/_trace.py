"""Which activation follows each layer, read from the forward graph (``torch.fx``).

:func:`successor_activations` traces the model with ``torch.fx`` (weight layers, norm layers,
activation modules and parameter-free leaf modules stay opaque calls) and follows each weight
layer's output through the graph until it meets something that decides its gain:

* an elementwise activation -- a module (``nn.ReLU()``, HF's ``NewGELUActivation``: any
  parameter-free module that acts elementwise gets its numeric gain ``1/sqrt(E[g(z)^2])``), a
  function (``F.relu``, ``torch.tanh``, ``F.leaky_relu(x, 0.2)``, ``F.gelu``, ...) or a tensor
  method (``x.relu()``): its gain;
* another weight layer, a softmax head, or the model's output (when the model is a container,
  not the layer itself): linear, gain 1;
* anything else (an unknown function, a custom module, the end of a sub-graph): unknown.

On the way it looks through what does not change which nonlinearity the output meets:
normalisation, dropout, pooling and means, padding, reshaping, concatenation, splitting,
indexing and residual additions (``conv -> BN -> + identity -> ReLU`` is ReLU); shape queries
(``x.size()``, ``x.shape``) are not uses.  A layer whose uses disagree (one path to a
ReLU, another to a tanh) is unknown.  Where the whole model does not trace (data-dependent
control flow, e.g. ``nn.TransformerEncoderLayer``'s fast path, HF models), each child is
traced on its own, recursively; layers in no traced graph get nothing here, and the caller
falls back to the module structure (``nn.Sequential`` chains, the transformer layers' own
``activation`` attribute) or to "unknown successor".
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from initlab.schemes import calculate_gain
from initlab.torch._layers import (
    _NOT_ELEMENTWISE,
    NORM,
    TRANSPARENT,
    _is_activation_module,
    _module_activation,
    _module_gain,
    is_weight_layer,
)

__all__ = ["Found", "hooked_activations", "run_batch", "successor_activations"]

#: (label, gain, how it was found)
Found = tuple[str, float, str]

_ACT_FUNCTIONS = {
    "relu": "relu",
    "relu_": "relu",
    "relu6": None,
    "tanh": "tanh",
    "tanh_": "tanh",
    "sigmoid": "sigmoid",
    "sigmoid_": "sigmoid",
    "gelu": "gelu",
    "silu": "silu",
    "selu": "selu",
    "elu": "elu",
    "mish": "mish",
    "softplus": "softplus",
    "leaky_relu": "leaky_relu",
    "leaky_relu_": "leaky_relu",
}
_TRANSPARENT_FUNCTIONS = {
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "flatten",
    "reshape",
    "view",
    "permute",
    "transpose",
    "contiguous",
    "unsqueeze",
    "squeeze",
    "getitem",
    "add",
    "iadd",
    "add_",
    "sub",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool2d",
    "layer_norm",
    "batch_norm",
    "group_norm",
    "rms_norm",
    "pad",
    "interpolate",
    "to",
    "float",
    "type_as",
    "mean",
    "cat",
    "chunk",
    "split",
}
_HEADS = {"softmax", "log_softmax", "softmin"}
_QUERIES = {"size", "dim", "numel", "getattr", "ndimension"}
_LINEAR = ("linear", 1.0)


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if is_weight_layer(m) or isinstance(m, NORM) or _is_activation_module(m):
            return True
        if not any(True for _ in m.children()) and not any(True for _ in m.parameters()):
            return True  # a parameter-free leaf (HF's activation classes)
        return super().is_leaf_module(m, qualname)


def _elementwise_gain(m: nn.Module) -> tuple[str, float] | None:
    """The gain of a parameter-free module that acts elementwise (checked on a probe)."""
    if isinstance(m, _NOT_ELEMENTWISE):
        return None
    if _is_activation_module(m):
        try:
            return _module_activation(m)
        except ValueError:
            return None
    try:
        with torch.no_grad():
            z = torch.linspace(-3.0, 3.0, 61, dtype=torch.float64)
            perm = torch.randperm(61, generator=torch.Generator().manual_seed(0))
            y = m(z)
            if not isinstance(y, torch.Tensor) or y.shape != z.shape:
                return None
            if not torch.allclose(m(z[perm]), y[perm]):
                return None
        return f"{type(m).__name__} (numeric)", _module_gain(m)
    except Exception:  # noqa: BLE001 - a module that cannot take a 1-D tensor is not elementwise
        return None


def _function_gain(name: str, node: fx.Node) -> tuple[str, float] | None:
    act = _ACT_FUNCTIONS.get(name)
    if act is None:
        return None
    if act == "leaky_relu":
        slope = node.kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
        if not isinstance(slope, int | float):
            return None
        return f"leaky_relu:{slope:g}", calculate_gain("leaky_relu", float(slope))
    if act == "elu":
        alpha = node.kwargs.get("alpha", node.args[1] if len(node.args) > 1 else 1.0)
        if not isinstance(alpha, int | float):
            return None
        return f"elu:{alpha:g}", calculate_gain("elu", float(alpha))
    if act == "gelu" and node.kwargs.get("approximate", "none") != "none":
        return None
    if act == "softplus" and (node.kwargs.get("beta", 1) != 1 or len(node.args) > 1):
        return None
    return act, calculate_gain(act)


def _callee_name(node: fx.Node) -> str:
    if node.op == "call_method":
        return str(node.target)
    t = node.target
    if t is operator.getitem:
        return "getitem"
    return getattr(t, "__name__", str(t))


class _Graph:
    def __init__(self, gm: fx.GraphModule, is_model: bool) -> None:
        self.gm = gm
        self.is_model = is_model
        self.memo: dict[fx.Node, tuple[str, float] | None] = {}

    def after(self, node: fx.Node, depth: int = 0) -> tuple[str, float] | None:
        """What the value of ``node`` meets first (None: unknown)."""
        if node in self.memo:
            return self.memo[node]
        self.memo[node] = None  # cycles cannot happen in fx, but guard the recursion
        found: set[tuple[str, float] | None] = set()
        for user in node.users:
            if user.op in ("call_method", "call_function") and _callee_name(user) in _QUERIES:
                continue  # x.size(), x.dim(), x.shape: read the shape, not the values
            found.add(self._consumer(user, depth))
            if len(found) > 1 or None in found:
                break
        result = found.pop() if len(found) == 1 else None
        self.memo[node] = result
        return result

    def _consumer(self, user: fx.Node, depth: int) -> tuple[str, float] | None:
        if depth > 64:
            return None
        if user.op == "output":
            return _LINEAR if self.is_model else None
        if user.op == "call_module":
            m = self.gm.get_submodule(str(user.target))
            if is_weight_layer(m):
                return _LINEAR
            if isinstance(m, TRANSPARENT):
                return self.after(user, depth + 1)
            if isinstance(m, nn.Softmax | nn.LogSoftmax | nn.Softmin):
                return _LINEAR
            return _elementwise_gain(m)
        if user.op in ("call_function", "call_method"):
            name = _callee_name(user)
            if name in _HEADS:
                return _LINEAR
            if name in _TRANSPARENT_FUNCTIONS or name.strip("_") in _TRANSPARENT_FUNCTIONS:
                return self.after(user, depth + 1)
            return _function_gain(name, user)
        return None


def _trace(module: nn.Module) -> fx.GraphModule | None:
    try:
        graph = _Tracer().trace(module)
    except Exception:  # noqa: BLE001 - any failure to trace means: try the children
        return None
    return fx.GraphModule(module, graph)


def successor_activations(model: nn.Module) -> dict[int, Found]:
    """``id(layer) -> (label, gain, "traced")`` for every weight layer whose successor the
    forward graph shows (see the module docstring)."""
    out: dict[int, Found] = {}
    if is_weight_layer(model):
        return out  # the model is one layer: nothing follows it inside the model

    def visit(module: nn.Module, is_model: bool) -> None:
        if is_weight_layer(module) or isinstance(module, NORM):
            return
        gm = _trace(module) if not isinstance(module, nn.ModuleList | nn.ModuleDict) else None
        if gm is None:
            for child in module.children():
                visit(child, False)
            return
        g = _Graph(gm, is_model)
        per_layer: dict[int, set[tuple[str, float] | None]] = {}
        for node in gm.graph.nodes:
            if node.op != "call_module":
                continue
            m = gm.get_submodule(str(node.target))
            if is_weight_layer(m) and not isinstance(m, nn.RNNBase):
                per_layer.setdefault(id(m), set()).add(g.after(node))
        for key, results in per_layer.items():
            if len(results) == 1 and None not in results:
                label, gain = next(iter(results))
                out.setdefault(key, (label, gain, "traced"))
        # a layer inside an untraceable leaf we kept opaque is never a leaf: nothing to do

    visit(model, True)
    return out


def attention_projections(model: nn.Module) -> dict[int, Found]:
    """Weight layers that are direct children of a module whose class name contains
    "Attention" (HF's ``GPT2Attention.c_attn``/``c_proj``, ``BertSelfAttention.query``, ...):
    projections into or out of the attention, read linearly (gain 1)."""
    out: dict[int, Found] = {}
    for m in model.modules():
        if "Attention" in type(m).__name__ and not is_weight_layer(m):
            for child in m.children():
                if is_weight_layer(child):
                    out[id(child)] = ("linear", 1.0, "attention projection")
    return out


def transformer_layer_activations(model: nn.Module) -> dict[int, Found]:
    """The structure rule for ``nn.TransformerEncoderLayer``/``DecoderLayer`` (which do not
    trace): ``linear1`` meets the layer's ``activation`` (``F.relu`` or ``F.gelu`` by name, or
    an activation module); ``linear2`` and the attention's ``out_proj`` feed the residual sum,
    which the next projection or the output reads linearly."""
    out: dict[int, Found] = {}
    for m in model.modules():
        if not isinstance(m, nn.TransformerEncoderLayer | nn.TransformerDecoderLayer):
            continue
        act = m.activation
        found: tuple[str, float] | None = None
        if isinstance(act, nn.Module):
            found = _elementwise_gain(act)
        elif act is F.relu or act is torch.relu:
            found = ("relu", calculate_gain("relu"))
        elif act is F.gelu:
            found = ("gelu", calculate_gain("gelu"))
        if found is not None:
            out[id(m.linear1)] = (*found, "TransformerLayer.activation")
        out[id(m.linear2)] = ("linear", 1.0, "residual branch output")
        for attn in (getattr(m, "self_attn", None), getattr(m, "multihead_attn", None)):
            if isinstance(attn, nn.MultiheadAttention):
                out[id(attn.out_proj)] = ("linear", 1.0, "residual branch output")
    return out


def run_batch(model: nn.Module, batch: Any) -> Any:
    """``model(batch)`` for a tensor, ``model(*batch)`` for a tuple/list, ``model(**batch)``
    for a dict."""
    if isinstance(batch, torch.Tensor):
        return model(batch)
    if isinstance(batch, Mapping):
        return model(**batch)
    return model(*batch)


def _tensors(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, tuple | list):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, Mapping):
        return [t for v in x.values() for t in _tensors(v)]
    return []


def _leaf(m: nn.Module) -> bool:
    return is_weight_layer(m) or not any(True for _ in m.children())


def hooked_activations(model: nn.Module, batch: Any) -> dict[int, Found]:
    """``id(layer) -> (label, gain, "hooks")`` from one forward pass on ``batch`` (eval mode,
    no grad), for models ``torch.fx`` cannot trace: forward hooks on every leaf module follow
    each weight layer's output tensor (by identity) through transparent modules to the first
    module that reads it.  An activation module gives its gain, a weight layer or the model's
    returned value linear; a layer whose output only meets functions (``F.gelu``, ``x + y``) is
    not decided here."""
    produced: dict[int, list[nn.Module]] = {}  # id(tensor) -> the layers it is the output of
    keep: list[Any] = []  # tensors stay alive during the pass, so their ids are not reused
    seen: dict[int, set[tuple[str, float] | None]] = {}
    layers = {id(m): m for m in model.modules() if is_weight_layer(m)}

    def pre(mod: nn.Module, args: Any) -> None:
        for t in _tensors(args):
            for layer in produced.get(id(t), []):
                if isinstance(mod, TRANSPARENT):
                    continue  # propagated by the post hook
                found = _LINEAR if is_weight_layer(mod) else _elementwise_gain(mod)
                seen.setdefault(id(layer), set()).add(found)

    def post(mod: nn.Module, args: Any, out: Any) -> None:
        keep.append((args, out))
        if is_weight_layer(mod) and not isinstance(mod, nn.RNNBase):  # RNNs: own gates
            for t in _tensors(out)[:1]:
                produced[id(t)] = [mod]
        elif isinstance(mod, TRANSPARENT):
            sources = [m for t in _tensors(args) for m in produced.get(id(t), [])]
            for t in _tensors(out):
                produced.setdefault(id(t), []).extend(sources)

    handles = []
    flags = [(m, m.training) for m in model.modules()]
    try:
        for m in model.modules():
            if _leaf(m) and m is not model:
                handles.append(m.register_forward_pre_hook(pre))
                handles.append(m.register_forward_hook(post))
        model.eval()
        with torch.no_grad():
            out = run_batch(model, batch)
        for t in _tensors(out)[:1]:
            for layer in produced.get(id(t), []):
                seen.setdefault(id(layer), set()).add(_LINEAR)
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag
    result: dict[int, Found] = {}
    for key, found in seen.items():
        if key in layers and len(found) == 1 and None not in found:
            label, gain = next(iter(found))
            result[key] = (label, gain, "hooks")
    return result
