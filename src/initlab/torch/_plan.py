"""``initialize``: walk a torch model and give every parameter and buffer a rule, or a reason.

Which rule a tensor gets, in this order:

1. ``skip`` (a module type or name pattern): the module and everything inside it are left.
2. A tensor already seen under another name (tied weights, a shared module) is set once, at
   its first name; later names get a row "tied to ...".
3. ``tensors={pattern: scheme}`` (fnmatch on the tensor's full name): that scheme, with the
   fans of the layer it belongs to where it has one.
4. The module's rule: weight layers (:func:`initlab.torch._layers.layer_weights`) get
   ``scheme`` with fans and a gain (see :func:`initialize`); norm layers get ``norm_weight``/
   ``norm_bias`` and their running statistics reset; anything else is left with its reason
   ("no rule for a parameter of MyBlock"), which ``tensors=`` can supply.

Nothing is written until every tensor has its step, so a bad choice anywhere fails first.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from initlab.schemes import SchemeSpec
from initlab.torch._args import Args, Generators, parse_args
from initlab.torch._init import Choice, Step, norm_steps, tensor_step, weight_steps
from initlab.torch._layers import (
    NORM,
    RECURRENT,
    SUPPORTED_NAMES,
    is_weight_layer,
    layer_weights,
    matches,
    recurrent_activation,
    sequential_activations,
)
from initlab.torch._residual import expand_model_scheme, find_branches, zero_init_items
from initlab.torch._sites import describe
from initlab.torch._summary import InitSummary, ParamInit
from initlab.torch._trace import (
    attention_projections,
    hooked_activations,
    successor_activations,
    transformer_layer_activations,
)

__all__ = ["Plan", "initialize", "plan"]


@dataclass
class Plan:
    """The tensors :func:`initialize` will write, checked, and a row for every tensor."""

    layers: list[tuple[str, nn.Module]]
    steps: list[Step]
    rows: list[ParamInit]


def _check_materialized(model: nn.Module) -> None:
    for full, p in [*model.named_parameters(), *model.named_buffers()]:
        if isinstance(p, nn.parameter.UninitializedParameter | nn.parameter.UninitializedBuffer):
            raise ValueError(
                f"{full!r} is not materialized yet (a lazy module); run one forward pass "
                "first, then initialize"
            )
        if p.is_meta:
            raise ValueError(
                f"{full!r} is on the meta device, which holds no values; materialize the model "
                "first with model.to_empty(device='cpu'), then call initialize(model, ..., "
                "strict=True), which sets every parameter and buffer or lists those it cannot"
            )


def _activations(model: nn.Module, example: Any = None) -> dict[int, tuple[str, float, str]]:
    """Per weight layer: the activation after it, from the traced graph, else (with an
    ``example`` batch) forward hooks, else the structure rules (transformer layers' own
    activation, attention projections, residual branch outputs, ``nn.Sequential`` chains)."""
    found = {k: (a, g, "Sequential") for k, (a, g) in sequential_activations(model).items()}
    modules = dict(model.named_modules())
    for b in find_branches(model):
        if b.output in modules:
            found[id(modules[b.output])] = ("linear", 1.0, "residual branch output")
    found.update(attention_projections(model))
    found.update(transformer_layer_activations(model))
    traced = successor_activations(model)
    undecided = [m for m in modules.values() if is_weight_layer(m) and id(m) not in traced]
    if example is not None and undecided:
        try:
            found.update(hooked_activations(model, example))
        except Exception as exc:
            raise ValueError(
                f"example: model(example) failed for {describe(example)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    found.update(traced)
    return found


def _choice(
    args: Args, qual: str, module: nn.Module, found: dict[int, Any], used: set[int]
) -> Choice:
    act = args.explicit
    if act is None:
        act = found.get(id(module))
        if act is None and isinstance(module, RECURRENT):
            r = recurrent_activation(module)
            act = None if r is None else (*r, "RNN nonlinearity")
    c = replace(args.base, activation=act)
    for i, (key, fields) in enumerate(args.overrides):
        if matches(qual, module, key):
            used.add(i)
            f = dict(fields)
            if "activation" in f:
                a = f.pop("activation")
                f["activation"] = None if a is None else (*a, "override")
            c = replace(c, **f)
    return c


def _left_reason(module: nn.Module, pname: str, t: torch.Tensor, kind: str) -> str:
    mtype = type(module).__name__
    if not t.is_floating_point():
        return (
            f"{t.dtype} {kind} {pname} of {mtype}: initlab cannot know its values (an index "
            "table?); recompute it as the constructor does, then tensors={name: 'keep'}"
        )
    if kind == "buffer":
        return f"buffer {pname} of {mtype}: no rule for it (set it with tensors=)"
    return f"no rule for parameter {pname} of {mtype} (set it with tensors=)"


class _Walk:
    """The state of one walk over the model's modules."""

    def __init__(self, args: Args, generators: Generators | None) -> None:
        self.args = args
        self.generators = generators
        self.rows: list[ParamInit] = []
        self.steps: list[Step] = []
        self.layers: list[tuple[str, nn.Module]] = []
        self.seen: dict[int, str] = {}
        self.skipped: list[tuple[str, str]] = []
        self.used_overrides: set[int] = set()
        self.used_tensors: set[int] = set()

    def own(self, qual: str, module: nn.Module) -> list[tuple[str, str, torch.Tensor, str]]:
        out = []
        for pname, p in module.named_parameters(recurse=False):
            out.append((pname, f"{qual}.{pname}" if qual else pname, p, "parameter"))
        for bname, b in module.named_buffers(recurse=False):
            if b is not None:
                out.append((bname, f"{qual}.{bname}" if qual else bname, b, "buffer"))
        return out

    def add(self, step: Step) -> None:
        self.steps.append(step)
        self.rows.append(step.record)

    def module(self, qual: str, module: nn.Module, found: dict[int, Any]) -> None:
        own = self.own(qual, module)
        inside = next((s for s, _ in self.skipped if qual.startswith(s + ".") or s == ""), None)
        why = None
        if inside is not None:
            why = dict(self.skipped)[inside]
        elif any(matches(qual, module, k) for k in self.args.skip):
            why = "skip"
            self.skipped.append((qual, "skip"))
        elif torch.nn.utils.parametrize.is_parametrized(module):
            why = f"{type(module).__name__} with parametrized weights"
            self.skipped.append((qual, why))
        if why is not None:
            for _, full, t, kind in own:
                self.rows.append(_left(full, module, t, why, kind))
            return
        taken: set[int] = set()
        for _, full, t, kind in own:
            if id(t) in self.seen:
                taken.add(id(t))
                first = self.seen[id(t)]
                self.rows.append(_tied(full, module, t, kind, first))
                continue
            self.seen[id(t)] = full
        fans = self._fans(module)
        for _, full, t, kind in own:
            if id(t) in taken:
                continue
            spec = self._tensor_rule(full)
            if spec is False:
                continue
            taken.add(id(t))
            if spec is None:
                self.rows.append(_left(full, module, t, "tensors='keep'", kind, keep=True))
            else:
                self.add(tensor_step(full, module, t, spec, kind, fans.get(id(t))))
        self._rule(qual, module, found, own, taken)

    def _fans(self, module: nn.Module) -> dict[int, tuple[float, float]]:
        out = {}
        for w in layer_weights(module):
            out[id(w.tensor)] = (w.fans.fan_in, w.fans.fan_out)
            for _, b in w.biases:
                out[id(b)] = (w.fans.fan_in, w.fans.fan_out)
        return out

    def _tensor_rule(self, full: str) -> SchemeSpec | None | bool:
        rule: SchemeSpec | None | bool = False
        for i, (pattern, spec) in enumerate(self.args.tensors):
            if fnmatch.fnmatchcase(full, pattern):
                self.used_tensors.add(i)
                rule = spec
        return rule

    def _rule(
        self,
        qual: str,
        module: nn.Module,
        found: dict[int, Any],
        own: list[tuple[str, str, torch.Tensor, str]],
        taken: set[int],
    ) -> None:
        done = set(taken)
        if is_weight_layer(module):
            self.layers.append((qual, module))
            choice = _choice(self.args, qual, module, found, self.used_overrides)
            for w in layer_weights(module):
                if self.generators is not None:
                    self.generators.check(w.tensor, f"{qual}.{w.name}" if qual else w.name)
                if w.role == "attention" and choice.activation is None:
                    w_choice = replace(choice, activation=("linear", 1.0, "attention projection"))
                else:
                    w_choice = choice
                for step in weight_steps(qual, module, w, w_choice, done):
                    self.add(step)
                done.update(id(t) for t in [w.tensor, *(b for _, b in w.biases)])
        elif isinstance(module, NORM):
            choice = _choice(self.args, qual, module, found, self.used_overrides)
            for step in norm_steps(qual, module, choice, done):
                self.add(step)
                done.add(id(step.tensor))
        for pname, full, t, kind in own:
            if id(t) not in done:
                self.rows.append(_left(full, module, t, _left_reason(module, pname, t, kind), kind))


def _row(
    full: str, module: nn.Module, t: torch.Tensor, kind: str, scheme: str, **fields: str
) -> ParamInit:
    """A row without a draw: a tensor left (``left=why``) or tied (``tied_to=first``)."""
    nothing = (None,) * 5  # fans, gain, activation, std
    return ParamInit(
        full, type(module).__name__, tuple(t.shape), scheme, *nothing, **fields, kind=kind
    )


def _left(
    full: str, module: nn.Module, t: torch.Tensor, why: str, kind: str, keep: bool = False
) -> ParamInit:
    return _row(full, module, t, kind, "keep" if keep else "left", left=why)


def _tied(full: str, module: nn.Module, t: torch.Tensor, kind: str, first: str) -> ParamInit:
    return _row(full, module, t, kind, "tied", tied_to=first)


def _order(rows: list[ParamInit], model: nn.Module) -> list[ParamInit]:
    """The rows in model order (each module's parameters, then its buffers)."""
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    names += [n for n, _ in model.named_buffers(remove_duplicate=False)]
    by_name = {r.name: r for r in rows}
    missing = [n for n in names if n not in by_name]
    if missing:  # pragma: no cover - every tensor gets a row; a gap is a bug
        raise RuntimeError(f"initialize: no row for {', '.join(missing)}")
    return [by_name[n] for n in names if n in by_name]


def plan(
    model: nn.Module,
    scheme: Any = "he_normal",
    bias: Any = "zeros",
    activation: Any = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    skip: Any = None,
    tensors: Mapping[str, Any] | None = None,
    norm_weight: Any = 1.0,
    norm_bias: Any = 0.0,
    forget_bias: float | None = None,
    generators: Generators | None = None,
    extra: list[tuple[Any, dict[str, Any]]] | None = None,
    example: Any = None,
    write: bool = True,
) -> Plan:
    """Check every argument and build the list of writes, touching no tensor.

    ``extra``: override items applied before ``overrides`` (a model-level scheme's rules).
    With ``write=False`` the argument checks still run (used by LSUV without a start scheme)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    args = parse_args(
        scheme,
        bias,
        activation,
        norm_weight,
        norm_bias,
        forget_bias,
        overrides,
        skip,
        tensors,
        list(extra or []),
    )
    modules = list(model.named_modules(remove_duplicate=False))
    names = [n or "<model>" for n, _ in modules]
    for key in [*args.skip, *(k for k, _ in args.overrides[len(extra or []) :])]:
        if not any(matches(n, m, key) for n, m in modules):
            what = key.__name__ if isinstance(key, type) else repr(key)
            shown = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
            raise ValueError(f"{what} (in skip or overrides) matches no module; modules: {shown}")
    _check_materialized(model)
    if forget_bias is not None and not any(isinstance(m, nn.LSTM | nn.GRU) for _, m in modules):
        raise ValueError(
            f"forget_bias={forget_bias!r} was given but the model has no LSTM or GRU layer"
        )
    if not any(is_weight_layer(m) or isinstance(m, NORM) for _, m in modules):
        found = sorted({type(m).__name__ for _, m in modules})
        raise ValueError(
            f"the model has no layer initlab.torch can initialize ({SUPPORTED_NAMES}, "
            f"nn.MultiheadAttention, HF Conv1D, norm layers); its modules are: {', '.join(found)}"
        )
    walk = _Walk(args, generators)
    found = _activations(model, example) if args.explicit is None else {}
    for qual, module in modules:
        walk.module(qual, module, found)
    _check_used(args, walk, len(extra or []))
    if not walk.steps and not any(r.tied_to for r in walk.rows):
        alone = "; ".join(f"{r.name} ({r.left})" for r in walk.rows[:10])
        raise ValueError(
            f"every initializable layer of the model was skipped or is parametrized; left "
            f"alone: {alone}"
        )
    return Plan(walk.layers, walk.steps if write else [], _order(walk.rows, model))


def _check_used(args: Args, walk: _Walk, n_extra: int) -> None:
    for i, (key, _) in enumerate(args.overrides):
        if i >= n_extra and i not in walk.used_overrides:
            what = key.__name__ if isinstance(key, type) else repr(key)
            raise ValueError(
                f"overrides[{what}] matches no tensor initlab sets (it matches only modules "
                "without weights, norm parameters or statistics); use tensors={name: scheme} "
                "for a custom parameter"
            )
    for i, (pattern, _) in enumerate(args.tensors):
        if i not in walk.used_tensors:
            shown = ", ".join(walk.seen.values())
            raise ValueError(
                f"tensors[{pattern!r}] matches no parameter or buffer; they are: {shown[:600]}"
            )


def _strict_error(rows: list[ParamInit]) -> str | None:
    blocking = [r for r in rows if r.left and r.left not in ("skip", "tensors='keep'")]
    blocking = [r for r in blocking if not r.left.startswith(("bias=", "norm_"))]
    if not blocking:
        return None
    listed = "; ".join(
        f"{r.name} ({r.kind}, {r.module}, shape {r.shape}: {r.left})" for r in blocking
    )
    floats = [r for r in blocking if "cannot know its values" not in r.left]
    example = ", ".join(f"{r.name!r}: 'zeros'" for r in floats[:3]) or "name: scheme"
    return (
        f"initialize(strict=True) would leave {len(blocking)} tensor(s) as they are, nothing "
        f"was written: {listed}. Give each a value with tensors={{{example}}} (any elementwise "
        "scheme or number; 'keep' leaves one as it is, for a tensor you set yourself), or skip "
        "its module"
    )


def initialize(
    model: nn.Module,
    scheme: str | SchemeSpec = "he_normal",
    bias: str | SchemeSpec | float | None = "zeros",
    activation: Any = None,
    generator: torch.Generator | int | None = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    skip: Any = None,
    tensors: Mapping[str, Any] | None = None,
    norm_weight: str | SchemeSpec | float | None = 1.0,
    norm_bias: str | SchemeSpec | float | None = 0.0,
    forget_bias: float | None = None,
    residual_outputs: Sequence[str] | None = None,
    zero_init_residual: bool = False,
    strict: bool = False,
    example: Any = None,
) -> InitSummary:
    """Initialize every parameter and buffer of ``model`` that initlab has a rule for; return
    an :class:`InitSummary` with one row per parameter and buffer (set, tied, or left with the
    reason).

    * Weight layers: Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding, RNN/LSTM/GRU,
      ``nn.MultiheadAttention`` (q/k/v blocks each with fans ``(E, E)``) and HuggingFace's
      ``Conv1D`` (weight ``(in, out)``).  ``scheme``: any registered scheme or spec
      (``"he_normal"``, ``"xavier_uniform"``, ``"orthogonal"``, ``"random_normal:std=0.02"``,
      ``"he_normal:mode=fan_out"``, ...); entries follow ``schemes.distribution(scheme, F)``
      for the weight's fans ``F``, e.g. he_normal: ``W ~ N(0, gain^2 / fan_in)``;
      xavier_uniform: ``W ~ U(-l, l)``, ``l = gain sqrt(6 / (fan_in + fan_out))``.  Fans: see
      :mod:`initlab.torch._layers` (grouped conv, ConvTranspose and recurrent gates differ from
      ``torch.nn.init`` on purpose).
    * ``bias``: ``"zeros"`` (default), ``"keep"``/None, a number, or an elementwise scheme drawn
      with the weight's fans (``"torch_default"``: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``).
    * Norm layers (BatchNorm, LayerNorm, GroupNorm, RMSNorm, InstanceNorm): ``weight <-
      norm_weight`` (default 1), ``bias <- norm_bias`` (default 0), running statistics reset
      (mean 0, variance 1, count 0).
    * ``forget_bias`` (LSTM: the forget gate; GRU: the update gate, which keeps the old state):
      ``b_ih[gate] = forget_bias`` and ``b_hh[gate] = 0``, so the gate's total bias is
      ``forget_bias`` (Jozefowicz et al. 2015 recommend 1.0).
    * ``activation`` and the gain: for the schemes registered with ``gain_from_activation``
      (Xavier, He, orthogonal; ``schemes.info(name).gain_from_activation``) whose spec does not
      fix ``gain``, ``gain = calculate_gain(activation)``.  ``activation=None``
      (default) reads it per layer from the forward graph (:mod:`initlab.torch._trace`:
      ``F.relu`` in a custom forward counts, conv -> BN -> ReLU is ReLU, the next layer or the
      model's output is linear), else from the module structure (``nn.Sequential`` chains,
      ``nn.TransformerEncoderLayer.activation``, ``nn.RNN.nonlinearity``; attention q/k/v
      projections are linear); where nothing is known the scheme keeps its own default gain
      (He ``sqrt(2)``, Xavier and orthogonal 1).  For models ``torch.fx`` cannot trace, an
      ``example`` batch (``model(example)``, ``model(*example)`` or ``model(**example)``) is run
      once, in eval mode without gradients, with forward hooks that follow each layer's output
      to the module that reads it.  The summary's "gain from" column says which rule decided.
    * ``generator``: a ``torch.Generator`` on the parameters' device, an int seed (one
      generator per device), or None (torch's default).  Every draw goes through it, in model
      order, so two fresh models with the same generator are identical in every tensor.
    * ``overrides``: ``{key: scheme}`` or ``{key: {field: value}}`` with fields ``scheme``,
      ``bias``, ``activation``, ``scale`` (multiply the drawn weight), ``norm_weight``,
      ``norm_bias``, ``forget_bias``, ``gates`` (per-gate schemes, ``{"forget": "orthogonal"}``)
      and ``recurrent`` (the hidden-to-hidden weights' scheme); a key is a module type or an
      fnmatch pattern on the module's name.  Type keys first, then patterns, each in order; a
      plain scheme on a norm type sets its weight.  A key that matches no tensor is an error.
    * ``tensors``: ``{tensor-name pattern: scheme, number or "keep"}`` for single tensors, e.g.
      a custom ``nn.Parameter`` (``{"pos_embed": "random_normal:std=0.02"}``).
    * ``skip``: module types or name patterns to leave alone, with all their submodules.
    * Model-level schemes (``"gpt2"``, ``"fixup"``, ``"t_fixup"``, ``"deepnorm"``; formulas,
      papers and defaults registered in :mod:`initlab.schemes.model`, ``initlab schemes
      --category model``) read the residual branches from the module
      structure, or from ``residual_outputs=["*.c_proj", ...]`` (patterns naming each branch's
      output layer); ``overrides`` still win over their per-layer rules.
    * ``zero_init_residual=True``: the last norm inside each residual branch (ResNet's
      ``bn2``/``bn3``) gets weight 0, so each block starts as the identity.
    * ``strict=True``: refuse (before writing anything) if any tensor would be left without a
      rule (kept biases and ``skip`` excepted), listing them; use it after ``to_empty``.

    Example::

        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        summary = initialize(model, "he_normal", generator=torch.Generator().manual_seed(0))
        print(summary)   # 0.weight gain sqrt(2) from relu (traced); 2.weight gain 1 (linear)
    """
    gens = Generators(generator)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    scheme, extra, notes = expand_model_scheme(model, scheme, residual_outputs)
    if not isinstance(zero_init_residual, bool):
        raise TypeError(f"zero_init_residual must be True or False, got {zero_init_residual!r}")
    if zero_init_residual:
        extra = [*extra, *zero_init_items(model, residual_outputs)]
    p = plan(
        model,
        scheme,
        bias,
        activation,
        overrides=overrides,
        skip=skip,
        tensors=tensors,
        norm_weight=norm_weight,
        norm_bias=norm_bias,
        forget_bias=forget_bias,
        generators=gens,
        extra=extra,
        example=example,
    )
    if strict:
        message = _strict_error(p.rows)
        if message:
            raise ValueError(message)
    with torch.no_grad():
        for step in p.steps:
            step.run(gens(step.tensor))
    return InitSummary(tuple(p.rows), tuple(notes))
