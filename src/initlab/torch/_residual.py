"""Residual branches of a torch model, and the schemes of the residual era built on them.

**Finding the branches** (:func:`find_branches`).  A residual branch is the part of a block
whose output is added to the stream (``x + f(x)``).  Rules, by module structure:

=================================  ==========================================================
block                              branches (weight layers, the last is the branch output)
=================================  ==========================================================
ResNet BasicBlock / Bottleneck     one: ``conv1, conv2[, conv3]``; the last norm ``bn2``/
(children ``conv1``, ``conv2``,    ``bn3`` is the branch's last norm (``zero_init_residual``
``bn1``, ``bn2``, torchvision      sets its weight to 0); ``downsample`` is the shortcut, not
names)                             a branch
``nn.TransformerEncoderLayer``     ``self_attn`` (in_proj, ``out_proj``) and the MLP
                                   (``linear1``, ``linear2``)
``nn.TransformerDecoderLayer``     ``self_attn``, ``multihead_attn`` and the MLP
HF ``GPT2Block``                   ``attn`` (``c_attn``, ``c_proj``), ``mlp`` (``c_fc``,
                                   ``c_proj``)
HF ``BertLayer``                   ``attention`` (``self.query/key/value``,
                                   ``output.dense``), MLP (``intermediate.dense``,
                                   ``output.dense``)
``residual_outputs=[patterns]``    each weight layer whose name matches is a branch output
                                   (a branch of that one layer), replacing the rules above
=================================  ==========================================================

**The schemes** (gpt2, fixup, t_fixup, deepnorm, mup) are registered once, with their
formulas, papers, defaults, the structure they need and the per-tensor scheme of ordinary
tensors, in :mod:`initlab.schemes.model` (``initlab schemes --category model``); the factors
of the tensors they pick out are its pure functions (``gpt2_branch_std``,
``fixup_multiplier``, ``t_fixup_factors``, ``deepnorm_constants``).  This module finds the
branches and turns a scheme into a base scheme plus per-layer override items:

* ``gpt2``: each branch output gets ``random_normal:std=std/sqrt(L)``;
* ``fixup``: branch layers but the last ``scale``d, branch outputs and the classifier (the
  model's last Linear outside every branch) ``zeros``;
* ``t_fixup``, ``deepnorm``: the attention's value block (a ``gates`` override of the packed
  ``in_proj``) and ``out_proj``, and both MLP weights ``scale``d; T-Fixup's embeddings
  ``lecun_normal`` (``N(0, 1/d)``), scaled too when there is a decoder;
* ``mup`` needs a base model, so it is :func:`initlab.torch.mup`, not ``initialize``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from initlab import schemes
from initlab._checks import ParameterError
from initlab.schemes import SchemeInfo, SchemeSpec
from initlab.schemes.model import (
    deepnorm_constants,
    fixup_multiplier,
    gpt2_branch_std,
    t_fixup_factors,
)
from initlab.torch._layers import NORM, is_weight_layer

__all__ = ["Branch", "expand_model_scheme", "find_branches", "zero_init_items"]


@dataclass(frozen=True)
class Branch:
    """One residual branch: its block, kind ("conv", "encoder", "decoder", "user"), weight
    layers in order (the last is the output), the norm inside it (or None) and, for attention
    branches, the ``nn.MultiheadAttention`` whose value block the branch scales."""

    block: str
    kind: str
    layers: tuple[str, ...]
    norm: str | None = None
    attention: str | None = None

    @property
    def output(self) -> str:
        return self.layers[-1]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _conv_block(name: str, m: nn.Module) -> Branch | None:
    kids = dict(m.named_children())
    convs = [c for c in ("conv1", "conv2", "conv3") if c in kids and is_weight_layer(kids[c])]
    norms = [b for b in ("bn1", "bn2", "bn3") if b in kids and isinstance(kids[b], NORM)]
    if len(convs) < 2 or len(norms) < 2:
        return None
    return Branch(name, "conv", tuple(_join(name, c) for c in convs), _join(name, norms[-1]))


def _torch_layer(name: str, m: nn.Module) -> list[Branch]:
    kind = "encoder" if isinstance(m, nn.TransformerEncoderLayer) else "decoder"
    out = []
    for attn in ("self_attn", "multihead_attn"):
        if isinstance(getattr(m, attn, None), nn.MultiheadAttention):
            a = _join(name, attn)
            out.append(Branch(name, kind, (a, _join(a, "out_proj")), attention=a))
    out.append(Branch(name, kind, (_join(name, "linear1"), _join(name, "linear2"))))
    return out


def _hf_block(name: str, m: nn.Module) -> list[Branch]:
    cls = type(m).__name__
    if cls == "GPT2Block":
        return [
            Branch(name, "decoder", (_join(name, "attn.c_attn"), _join(name, "attn.c_proj"))),
            Branch(name, "decoder", (_join(name, "mlp.c_fc"), _join(name, "mlp.c_proj"))),
        ]
    if cls == "BertLayer":
        attn = tuple(_join(name, f"attention.self.{p}") for p in ("query", "key", "value"))
        return [
            Branch(name, "encoder", (*attn, _join(name, "attention.output.dense"))),
            Branch(
                name, "encoder", (_join(name, "intermediate.dense"), _join(name, "output.dense"))
            ),
        ]
    return []


def find_branches(model: nn.Module, residual_outputs: Sequence[str] | None = None) -> list[Branch]:
    """The residual branches of ``model``, by the rules in the module docstring."""
    if residual_outputs is not None:
        patterns = [residual_outputs] if isinstance(residual_outputs, str) else residual_outputs
        out, used = [], set()
        for name, m in model.named_modules():
            for p in patterns:
                if is_weight_layer(m) and fnmatch.fnmatchcase(name, p):
                    out.append(Branch(name.rpartition(".")[0], "user", (name,)))
                    used.add(p)
        unused = [p for p in patterns if p not in used]
        if unused:
            raise ValueError(
                f"residual_outputs pattern(s) {', '.join(map(repr, unused))} match no weight "
                "layer of the model"
            )
        return out
    branches: list[Branch] = []
    for name, m in model.named_modules():
        if isinstance(m, nn.TransformerEncoderLayer | nn.TransformerDecoderLayer):
            branches.extend(_torch_layer(name, m))
        elif type(m).__name__ in ("GPT2Block", "BertLayer"):
            branches.extend(_hf_block(name, m))
        else:
            b = _conv_block(name, m)
            if b is not None:
                branches.append(b)
    return branches


def _stack_sizes(branches: list[Branch]) -> tuple[int, int]:
    enc = len({b.block for b in branches if b.kind == "encoder"})
    dec = len({b.block for b in branches if b.kind == "decoder"})
    return enc, dec


Items = list[tuple[Any, dict[str, Any]]]
Expanded = tuple[str, Items, list[str]]


def _need(branches: list[Branch], i: SchemeInfo) -> None:
    if not branches:
        raise ValueError(
            f"scheme {i.name!r} needs {i.needs}, and none was found in the model (rules: ResNet "
            "BasicBlock/Bottleneck, nn.TransformerEncoderLayer/DecoderLayer, HF GPT2Block/"
            "BertLayer); name the branch outputs with residual_outputs=['*.c_proj', ...]"
        )


def _gpt2(model: nn.Module, branches: list[Branch], i: SchemeInfo, std: float) -> Expanded:
    _need(branches, i)
    n = len(branches)
    scaled = gpt2_branch_std(std, n)
    items: Items = [(b.output, {"scheme": f"random_normal:std={scaled!r}"}) for b in branches]
    note = f"gpt2: {n} residual branch outputs get std {std:g}/sqrt({n})"
    return str(i.base(std=std)), items, [note]


def _fixup(model: nn.Module, branches: list[Branch], i: SchemeInfo) -> Expanded:
    _need(branches, i)
    n = len(branches)
    items: Items = []
    for b in branches:
        if len(b.layers) >= 2:
            factor = fixup_multiplier(n, len(b.layers))
            items.extend((layer, {"scale": factor}) for layer in b.layers[:-1])
        items.append((b.output, {"scheme": "zeros"}))
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    inside = {layer for b in branches for layer in b.layers}
    head = [n_ for n_ in linears if n_ not in inside and not n_.endswith("out_proj")]
    notes = [f"fixup: L = {n} branches; branch layers x L^(-1/(2m-2)), branch outputs 0"]
    if head:
        items.append((head[-1], {"scheme": "zeros", "bias": 0.0}))
        notes.append(f"fixup: classifier {head[-1]} set to 0")
    notes.append("fixup: add the scalar biases and multiplier to your blocks (architecture)")
    return str(i.base()), items, notes


def _stack(branches: list[Branch], i: SchemeInfo) -> tuple[int, int]:
    """``(N, M)``: the encoder and decoder layers among the branches' blocks."""
    enc = len({b.block for b in branches if b.kind == "encoder"})
    dec = len({b.block for b in branches if b.kind == "decoder"})
    if not enc and not dec:
        _need([], i)
    return enc, dec


def _scaled_branch(b: Branch, base: str, factor: float) -> Items:
    """Scale a transformer branch: attention -> value block and out_proj; MLP -> both."""
    if b.attention is not None:
        v = f"scaled:base={base},factor={factor!r}"
        return [(b.attention, {"gates": {"v": v}}), (b.output, {"scale": factor})]
    return [(layer, {"scale": factor}) for layer in b.layers]


def _t_fixup(model: nn.Module, branches: list[Branch], i: SchemeInfo) -> Expanded:
    enc, dec = _stack(branches, i)
    base = i.base()
    factors = t_fixup_factors(enc, dec)
    items: Items = [(nn.Embedding, {"scheme": "lecun_normal"})]
    for b in branches:
        if b.kind in factors:
            items.extend(_scaled_branch(b, base.name, factors[b.kind]))
    notes = [f"t_fixup: N = {enc} encoder, M = {dec} decoder layers"]
    if "embedding" in factors:
        emb = factors["embedding"]
        items.append((nn.Embedding, {"scheme": "lecun_normal", "scale": emb}))
        notes.append(f"t_fixup: embeddings x (9M)^(-1/4) = {emb:.4g}")
    return str(base), items, notes


def _deepnorm(model: nn.Module, branches: list[Branch], i: SchemeInfo) -> Expanded:
    enc, dec = _stack(branches, i)
    base = i.base()
    consts = deepnorm_constants(enc, dec)
    items: Items = []
    for b in branches:
        if b.kind in consts:
            items.extend(_scaled_branch(b, base.name, consts[b.kind][1]))
    notes = [
        f"deepnorm {kind}: beta = {beta:.4g} set; use alpha = {alpha:.4g} in LN(alpha x + f(x))"
        for kind, (alpha, beta) in consts.items()
    ]
    return str(base), items, notes


#: how each model-level scheme applied by ``initialize`` (``entry``) meets the branches
_EXPANDERS = {"gpt2": _gpt2, "fixup": _fixup, "t_fixup": _t_fixup, "deepnorm": _deepnorm}
_ENTRY = "initlab.torch.initialize"


def expand_model_scheme(
    model: nn.Module, scheme: Any, residual_outputs: Sequence[str] | None = None
) -> tuple[Any, Items, list[str]]:
    """A model-level scheme as a base scheme, override items (by exact module name, lowest
    priority: the caller's overrides win) and notes; any other scheme passes through."""
    if not isinstance(scheme, str | SchemeSpec):
        return scheme, [], []
    spec = schemes.parse_scheme(scheme, model_level=True)
    i = spec.info
    if not i.model_level:
        return scheme, [], []
    if i.entry != _ENTRY:  # mup: it needs the model at a base width too
        raise ParameterError(
            "scheme",
            str(scheme),
            f"a per-tensor scheme or one of: {', '.join(_EXPANDERS)}",
            f"scheme {str(scheme)!r} needs {i.needs}: use {i.entry}(model, "
            "base=model_at_base_width, lr=...), which initializes the model and returns the "
            "optimizer's parameter groups",
        )
    branches = find_branches(model, residual_outputs)
    return _EXPANDERS[i.name](model, branches, i, **i.bind(spec.params))


def zero_init_items(model: nn.Module, residual_outputs: Sequence[str] | None) -> Items:
    """``zero_init_residual``: the last norm inside each branch gets weight 0 (torchvision's
    ``zero_init_residual``), so every block starts as the identity."""
    branches = find_branches(model, residual_outputs)
    norms = [b.norm for b in branches if b.norm is not None]
    if not norms:
        raise ValueError(
            "zero_init_residual=True: no residual branch with a norm layer inside was found "
            "(the rule: ResNet BasicBlock/Bottleneck, whose bn2/bn3 end the branch)"
        )
    return [(n, {"norm_weight": 0.0}) for n in norms]
