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

**The schemes** (model-level: they need the structure, not only a layer's fans).  ``L`` is the
number of residual branches; Transformer stacks count ``N`` encoder and ``M`` decoder layers.

* ``gpt2`` (Radford et al. 2019; HF ``GPT2PreTrainedModel._init_weights``, nanoGPT): every
  weight ``W ~ N(0, 0.02^2)`` (embeddings included), biases 0, norms 1/0, and each residual
  branch output ``W ~ N(0, (0.02 / sqrt(L))^2)``; for GPT-2, ``L = 2 n_layer`` (attention and
  MLP in each block), i.e. HF's and nanoGPT's ``c_proj`` std ``0.02 / sqrt(2 n_layer)``.
  Parameter: ``gpt2:std=0.02``.
* ``fixup`` (Zhang, Dauphin & Ma 2019, "Fixup initialization"): He normal everywhere, then in
  each of the ``L`` branches of ``m`` layers the first ``m - 1`` layers are multiplied by
  ``L^(-1/(2m - 2))`` and the last is 0; the classifier (the model's last Linear) is 0, weight
  and bias.  Fixup's scalar biases and multiplier are architecture, not initialization; add
  them to the blocks yourself (and drop the norm layers, which Fixup replaces).
* ``t_fixup`` (Huang, Perez, Ba & Volkovs 2020, "Improving Transformer optimization through
  better initialization"): Xavier uniform (gain 1, whatever the activation) for the
  weights, embeddings ``N(0, d^-1)`` (std ``d^(-1/2)``, LeCun on the embedding dim);
  encoder layers: the attention's value block and ``out_proj`` and both MLP weights times
  ``0.67 N^(-1/4)``; decoder layers: the same (self- and cross-attention) times
  ``(9M)^(-1/4)``, and with a decoder the embeddings too.
  T-Fixup is meant for stacks without LayerNorm.  Needs ``nn.TransformerEncoderLayer``/
  ``DecoderLayer`` blocks (it scales q/k/v blocks of ``nn.MultiheadAttention``).
* ``deepnorm`` (Wang et al. 2022, "DeepNet"): residuals ``x <- LN(alpha x + f(x))`` with
  Xavier normal (gain 1), the MLP weights, the value block and ``out_proj`` times ``beta``.
  Encoder-only: ``alpha = (2N)^(1/4)``, ``beta = (8N)^(-1/4)``; decoder-only: ``alpha =
  (2M)^(1/4)``, ``beta = (8M)^(-1/4)``; encoder-decoder: encoder ``alpha = 0.81 (N^4 M)^(1/16)``,
  ``beta = 0.87 (N^4 M)^(-1/16)``, decoder ``alpha = (3M)^(1/4)``, ``beta = (12M)^(-1/4)``.
  initlab sets ``beta``; ``alpha`` belongs to the forward pass, and the summary's notes state it.
* ``mup`` (Yang & Hu 2021; Yang et al. 2022, "Tensor Programs V"): needs a base model, so it
  is :func:`initlab.torch.mup`, not ``initialize``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from initlab import schemes
from initlab.schemes import SchemeSpec
from initlab.torch._layers import NORM, is_weight_layer

__all__ = ["MODEL_SCHEMES", "Branch", "expand_model_scheme", "find_branches"]

#: name -> (paper, what it needs); the formulas are in this module's docstring.
MODEL_SCHEMES = {
    "gpt2": ("Radford et al. 2019 (GPT-2); HF and nanoGPT", "residual branch outputs"),
    "fixup": ("Zhang, Dauphin & Ma 2019 (Fixup)", "residual branches and a classifier"),
    "t_fixup": ("Huang et al. 2020 (T-Fixup)", "nn.TransformerEncoderLayer/DecoderLayer"),
    "deepnorm": ("Wang et al. 2022 (DeepNet)", "nn.TransformerEncoderLayer/DecoderLayer"),
    "mup": ("Yang & Hu 2021; Yang et al. 2022 (muP)", "a base model: initlab.torch.mup"),
}


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


def _need(branches: list[Branch], name: str, what: str) -> None:
    if not branches:
        raise ValueError(
            f"scheme {name!r} needs {what}, and none was found in the model (rules: ResNet "
            "BasicBlock/Bottleneck, nn.TransformerEncoderLayer/DecoderLayer, HF GPT2Block/"
            "BertLayer); name the branch outputs with residual_outputs=['*.c_proj', ...]"
        )


def _gpt2(model: nn.Module, branches: list[Branch], std: float = 0.02) -> tuple[str, Items, list]:
    _need(branches, "gpt2", "residual branches")
    scaled = std / math.sqrt(len(branches))
    items: Items = [(b.output, {"scheme": f"random_normal:std={scaled!r}"}) for b in branches]
    note = f"gpt2: {len(branches)} residual branch outputs get std {std:g}/sqrt({len(branches)})"
    return f"random_normal:std={std!r}", items, [note]


def _fixup(model: nn.Module, branches: list[Branch]) -> tuple[str, Items, list]:
    _need(branches, "fixup", "residual branches")
    n = len(branches)
    items: Items = []
    for b in branches:
        m = len(b.layers)
        if m >= 2:
            factor = n ** (-1.0 / (2 * m - 2))
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
    return "he_normal", items, notes


def _transformer(name: str, branches: list[Branch]) -> tuple[int, int]:
    _need(branches, name, "nn.TransformerEncoderLayer/DecoderLayer blocks")
    return _stack_sizes(branches)


def _scaled_branch(b: Branch, base: str, factor: float) -> Items:
    """Scale a transformer branch: attention -> value block and out_proj; MLP -> both."""
    if b.attention is not None:
        v = f"scaled:base={base},factor={factor!r}"
        return [(b.attention, {"gates": {"v": v}}), (b.output, {"scale": factor})]
    return [(layer, {"scale": factor}) for layer in b.layers]


def _t_fixup(model: nn.Module, branches: list[Branch]) -> tuple[str, Items, list]:
    enc, dec = _transformer("t_fixup", branches)
    items: Items = [(nn.Embedding, {"scheme": "lecun_normal"})]
    for b in branches:
        factor = 0.67 * enc**-0.25 if b.kind == "encoder" else (9 * dec) ** -0.25
        items.extend(_scaled_branch(b, "xavier_uniform", factor))
    notes = [f"t_fixup: N = {enc} encoder, M = {dec} decoder layers"]
    if dec:
        emb = (9 * dec) ** -0.25
        items.append((nn.Embedding, {"scheme": "lecun_normal", "scale": emb}))
        notes.append(f"t_fixup: embeddings x (9M)^(-1/4) = {emb:.4g}")
    return "xavier_uniform:gain=1", items, notes


def deepnorm_constants(enc: int, dec: int) -> dict[str, tuple[float, float]]:
    """``{"encoder": (alpha, beta), "decoder": (alpha, beta)}`` of DeepNorm for ``enc``
    encoder and ``dec`` decoder layers (Wang et al. 2022, table 1)."""
    if enc and dec:
        return {
            "encoder": (0.81 * (enc**4 * dec) ** (1 / 16), 0.87 * (enc**4 * dec) ** (-1 / 16)),
            "decoder": ((3 * dec) ** 0.25, (12 * dec) ** -0.25),
        }
    if enc:
        return {"encoder": ((2 * enc) ** 0.25, (8 * enc) ** -0.25)}
    return {"decoder": ((2 * dec) ** 0.25, (8 * dec) ** -0.25)}


def _deepnorm(model: nn.Module, branches: list[Branch]) -> tuple[str, Items, list]:
    enc, dec = _transformer("deepnorm", branches)
    consts = deepnorm_constants(enc, dec)
    items: Items = []
    for b in branches:
        items.extend(_scaled_branch(b, "xavier_normal", consts[b.kind][1]))
    notes = [
        f"deepnorm {kind}: beta = {beta:.4g} set; use alpha = {alpha:.4g} in LN(alpha x + f(x))"
        for kind, (alpha, beta) in consts.items()
    ]
    return "xavier_normal:gain=1", items, notes


_EXPANDERS = {"gpt2": _gpt2, "fixup": _fixup, "t_fixup": _t_fixup, "deepnorm": _deepnorm}


def expand_model_scheme(
    model: nn.Module, scheme: Any, residual_outputs: Sequence[str] | None = None
) -> tuple[Any, Items, list[str]]:
    """A model-level scheme as a base scheme, override items (by exact module name, lowest
    priority: the caller's overrides win) and notes; any other scheme passes through."""
    text = str(scheme) if isinstance(scheme, str | SchemeSpec) else None
    name, _, rest = (text or "").partition(":")
    name = name.strip()
    if name == "mup":
        raise ValueError(
            "scheme 'mup' needs a base model to read which dimensions grow with width; use "
            "initlab.torch.mup(model, base=model_at_base_width, lr=...), which initializes the "
            "model and returns the optimizer's parameter groups"
        )
    if name not in _EXPANDERS:
        if isinstance(scheme, str):
            try:
                schemes.parse_scheme(scheme)
            except ValueError as exc:
                if "unknown" not in str(exc):
                    raise
                extra = ", ".join(MODEL_SCHEMES)
                raise ValueError(f"{exc}; model-level schemes (initlab.torch): {extra}") from None
        return scheme, [], []
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, _, value = part.partition("=")
        if name != "gpt2" or key.strip() != "std":
            raise ValueError(
                f"scheme {name!r} has no parameter {key.strip()!r}"
                + ("; gpt2 takes std" if name == "gpt2" else "; it takes none")
            )
        try:
            params["std"] = float(value)
        except ValueError:
            raise ValueError(f"gpt2:std={value!r} must be a number") from None
        if not params["std"] > 0:
            raise ValueError(f"gpt2:std={value!r} must be > 0")
    branches = find_branches(model, residual_outputs)
    return _EXPANDERS[name](model, branches, **params)


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
