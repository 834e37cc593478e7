"""How one tensor is written: the law of every entry from :func:`initlab.schemes.distribution`
(one source of truth with the NumPy schemes), the gain from the activation, and torch's RNG
for the sampling (see :mod:`initlab.torch._sample`).

:mod:`initlab.torch._plan` decides which rule each parameter and buffer of a model gets; this
module turns one decision into a :class:`Step`: a function that writes the tensor in place
(under ``torch.no_grad()``, by the caller) and the :class:`ParamInit` row that describes it.
Everything that can be checked without writing is checked while the step is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from initlab import schemes
from initlab.schemes import SchemeSpec
from initlab.torch._layers import NORM_BUFFERS, Weight
from initlab.torch._sample import fill_, writer
from initlab.torch._summary import ParamInit

__all__ = ["Choice", "Step", "norm_steps", "tensor_step", "weight_steps"]

_ELEMENTWISE = ("constant", "normal", "uniform", "truncated_normal")

#: (label, gain, where it came from), or None: not known.
Activation = tuple[str, float, str] | None


@dataclass
class Step:
    """One tensor to write: ``run(generator)`` writes it; ``record`` describes it."""

    tensor: torch.Tensor
    run: Callable[[torch.Generator | None], None]
    record: ParamInit


@dataclass
class Choice:
    """What a module gets, after the base arguments and every matching override."""

    scheme: SchemeSpec
    bias: SchemeSpec | None
    activation: Activation
    norm_weight: SchemeSpec | None
    norm_bias: SchemeSpec | None
    forget_bias: float | None = None
    scale: float = 1.0
    gates: Mapping[str, SchemeSpec] = field(default_factory=dict)
    recurrent: SchemeSpec | None = None


def with_gain(
    spec: SchemeSpec, activation: tuple[str, float] | Activation
) -> tuple[SchemeSpec, float | None]:
    """The spec with ``gain`` set from ``activation`` (for a scheme registered with
    ``gain_from_activation``, unless the spec fixes ``gain`` itself), and the gain the scheme
    will use (None if it has none)."""
    info = spec.info
    if activation is not None and info.gain_from_activation and "gain" not in spec.params:
        spec = schemes.get(spec, gain=activation[1])
    defaults = info.defaults
    gain = spec.params.get("gain", defaults.get("gain")) if "gain" in defaults else None
    return spec, None if gain is None else float(gain)


def gain_source(spec: SchemeSpec, act: Activation) -> str:
    """Where the gain of ``spec`` came from, in words for the summary."""
    name = spec.info.name
    if not spec.info.gain_from_activation:
        return "" if "gain" not in spec.info.defaults else "the scheme's own"
    if "gain" in spec.params:
        return "fixed in the spec"
    if act is None:
        return "default (unknown successor)"
    label, gain, where = act
    text = f"{label} ({where})"
    if name.startswith("he_") and gain == 1.0:
        text += f": {name} with gain 1 is LeCun here"
    return text


def _writer(
    spec: SchemeSpec, w: Weight, shape: tuple[int, ...]
) -> tuple[Callable[[torch.Tensor, torch.Generator | None], None], float | None]:
    """How to fill one chunk of shape ``shape`` with ``spec``, and the std of what it writes:
    the scheme's one definition in the registry, sampled with torch (:func:`writer`)."""
    return writer(spec, w, shape)


def _write_rows(
    pname: str, mtype: str, w: Weight, spec: SchemeSpec, choice: Choice, recurrent: bool
) -> tuple[list[tuple[torch.Tensor, Callable[..., None]]], SchemeSpec, float | None, float | None]:
    """The writer of each chunk of ``w`` (per-gate schemes included), the spec after the gain,
    the gain and the std of chunk 0's law."""
    views = w.chunk_views()
    shape = w.chunk_shape()
    gates = choice.gates if w.chunk_names else {}
    writers: dict[str, tuple[Callable[..., None], float | None]] = {}
    out = []
    first_spec, first_gain, first_std = spec, None, None
    for i, view in enumerate(views):
        chunk_spec = gates.get(w.chunk_names[i], spec) if gates else spec
        chunk_spec, gain = with_gain(chunk_spec, choice.activation)
        key = str(chunk_spec)
        if key not in writers:
            try:
                writers[key] = _writer(chunk_spec, w, shape)
            except (ValueError, TypeError) as exc:
                shown = tuple(w.tensor.shape)
                raise type(exc)(f"{pname} ({mtype}, shape {shown}): {exc}") from exc
        if i == 0:
            first_spec, first_gain, first_std = chunk_spec, gain, writers[key][1]
        out.append((view, writers[key][0]))
    return out, first_spec, first_gain, first_std


def _shown(spec: SchemeSpec, choice: Choice, w: Weight) -> str:
    text = str(spec)
    if w.chunk_names and choice.gates:
        text += " (" + ", ".join(f"{g}: {s}" for g, s in choice.gates.items()) + ")"
    if choice.scale != 1.0:
        text += f" x {choice.scale:g}"
    return text


def weight_steps(
    qual: str, module: nn.Module, w: Weight, choice: Choice, taken: set[int]
) -> list[Step]:
    """The steps of one weight and its biases (tensors in ``taken`` are set elsewhere)."""
    pname = f"{qual}.{w.name}" if qual else w.name
    mtype = type(module).__name__
    recurrent = w.name.startswith("weight_hh")
    spec = choice.recurrent if recurrent and choice.recurrent is not None else choice.scheme
    steps: list[Step] = []
    if id(w.tensor) not in taken:
        steps.append(_weight_step(pname, mtype, w, spec, choice, recurrent))
    for bname, b in w.biases:
        if id(b) not in taken:
            steps.append(_bias_step(f"{qual}.{bname}" if qual else bname, mtype, w, b, choice))
    return steps


def _weight_step(
    pname: str, mtype: str, w: Weight, spec: SchemeSpec, choice: Choice, recurrent: bool
) -> Step:
    shape = tuple(w.tensor.shape)
    source = gain_source(spec, choice.activation)
    label = None if choice.activation is None else choice.activation[0]
    if w.tensor.numel() == 0:
        _, gain = with_gain(spec, choice.activation)
        rec = ParamInit(pname, mtype, shape, str(spec), None, None, gain, label, None, w.chunks)
        return Step(w.tensor, lambda gen: None, rec)
    writes, _, gain, std = _write_rows(pname, mtype, w, spec, choice, recurrent)
    padding, scale, tensor = w.padding_idx, choice.scale, w.tensor

    def run_weight(gen: torch.Generator | None) -> None:
        for view, write in writes:
            write(view, gen)
        if scale != 1.0:
            tensor.mul_(scale)
        if padding is not None:
            tensor[padding].fill_(0.0)

    std = None if std is None else abs(scale) * std
    fans = (w.fans.fan_in, w.fans.fan_out)
    rec = ParamInit(
        pname,
        mtype,
        shape,
        _shown(spec, choice, w),
        *fans,
        gain,
        label,
        std,
        w.chunks,
        source=source,
    )
    return Step(w.tensor, run_weight, rec)


_FORGET = {"forget", "update"}  # LSTM's forget gate; GRU's update gate keeps the old state


def _bias_step(bq: str, mtype: str, w: Weight, b: torch.Tensor, choice: Choice) -> Step:
    bshape = tuple(b.shape)
    bias = choice.bias
    gate = next((i for i, g in enumerate(w.chunk_names) if g in _FORGET), None)
    forget = None if gate is None else choice.forget_bias
    if bias is None and forget is None:
        rec = ParamInit(bq, mtype, bshape, "keep", None, None, None, None, None, w.chunks)
        return Step(b, lambda gen: None, replace(rec, left="bias='keep'"))
    law = None if bias is None else schemes.distribution(bias, w.fans.fan_in, w.fans.fan_out)
    is_ih = bq.rpartition(".")[2].startswith("bias_ih")

    def run_bias(gen: torch.Generator | None) -> None:
        if law is not None:
            fill_(b, law, gen)
        if forget is not None:
            block = b.chunk(w.chunks)[gate]
            block.fill_(forget if is_ih else 0.0)

    shown = "keep" if bias is None else str(bias)
    if forget is not None:
        part = forget if is_ih else 0.0
        shown += f", {w.chunk_names[gate]} gate = {part:g}"
    fans = (w.fans.fan_in, w.fans.fan_out)
    std = None if law is None else law.std
    rec = ParamInit(bq, mtype, bshape, shown, *fans, None, None, std, w.chunks)
    return Step(b, run_bias, rec)


def left_row(name: str, module: nn.Module, t: torch.Tensor, why: str, kind: str) -> ParamInit:
    """The row of a tensor left as it is."""
    mtype = type(module).__name__
    return ParamInit(
        name, mtype, tuple(t.shape), "left", None, None, None, None, None, kind=kind, left=why
    )


def _fill_row(
    name: str, module: nn.Module, t: torch.Tensor, spec: SchemeSpec, fans: Any, kind: str
) -> Step:
    fan_in, fan_out = (1, 1) if fans is None else fans
    law = schemes.distribution(spec, fan_in, fan_out)

    def run(gen: torch.Generator | None) -> None:
        if t.is_floating_point():
            fill_(t, law, gen)
        else:
            t.fill_(int(law.mean))

    shown = None if fans is None else fans
    rec = ParamInit(
        name,
        type(module).__name__,
        tuple(t.shape),
        str(spec),
        None if shown is None else shown[0],
        None if shown is None else shown[1],
        None,
        None,
        law.std,
        kind=kind,
    )
    return Step(t, run, rec)


def norm_steps(qual: str, module: nn.Module, choice: Choice, taken: set[int]) -> list[Step]:
    """A norm layer: ``weight <- norm_weight`` (default 1), ``bias <- norm_bias`` (default 0);
    running statistics reset: ``running_mean <- 0``, ``running_var <- 1``,
    ``num_batches_tracked <- 0`` (what ``reset_running_stats`` does)."""
    out = []
    for pname, p in module.named_parameters(recurse=False):
        if id(p) in taken:
            continue
        full = f"{qual}.{pname}" if qual else pname
        spec = choice.norm_weight if pname == "weight" else choice.norm_bias
        if pname not in ("weight", "bias"):
            continue
        if spec is None:
            rec = left_row(full, module, p, f"{'norm_' + pname}='keep'", "parameter")
            out.append(Step(p, lambda gen: None, rec))
            continue
        out.append(_fill_row(full, module, p, spec, None, "parameter"))
    for bname, b in module.named_buffers(recurse=False):
        if id(b) in taken or b is None or bname not in NORM_BUFFERS:
            continue
        full = f"{qual}.{bname}" if qual else bname
        spec = schemes.get("constant", value=float(NORM_BUFFERS[bname]))
        step = _fill_row(full, module, b, spec, None, "buffer")
        out.append(
            Step(b, step.run, replace(step.record, scheme=f"reset to {NORM_BUFFERS[bname]}"))
        )
    return out


def tensor_step(
    name: str, module: nn.Module, t: torch.Tensor, spec: SchemeSpec, kind: str, fans: Any
) -> Step:
    """A tensor set by ``tensors={pattern: scheme}``: with its layer's fans where it has one,
    the torch layout's fans for a tensor of rank >= 2, none (a fan-free law only) otherwise."""
    if fans is None and t.dim() >= 2:
        f = schemes.compute_fans(tuple(t.shape), "torch")
        fans = (f.fan_in, f.fan_out)
    if fans is None:
        a, b = schemes.distribution(spec, 3, 5), schemes.distribution(spec, 7, 11)
        if a is None or (a.mean, a.std, a.low, a.high) != (b.mean, b.std, b.low, b.high):
            raise ValueError(
                f"tensors[{name!r}]={str(spec)!r} scales with the fans, and {name} (shape "
                f"{tuple(t.shape)}) has none; use a number or a law such as "
                "'random_normal:std=0.02'"
            )
    law = schemes.distribution(spec, *(fans or (1, 1)))
    if law is None or law.kind not in _ELEMENTWISE:
        w = Weight(name, t, schemes.Fans(*fans))
        write, std = _writer(spec, w, tuple(t.shape))
        rec = ParamInit(
            name,
            type(module).__name__,
            tuple(t.shape),
            str(spec),
            *fans,
            None,
            None,
            std,
            kind=kind,
        )
        return Step(t, lambda gen: write(t, gen), rec)
    return _fill_row(name, module, t, spec, fans, kind)
