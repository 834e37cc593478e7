"""Argument checks of :func:`initlab.torch.initialize`: each bad value raises an error naming
the argument, the value and what is allowed, before any tensor is written."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from initlab import schemes
from initlab.schemes import SchemeSpec
from initlab.torch._init import Activation, Choice
from initlab.torch._layers import NORM, activation_gain, check_key

__all__ = [
    "ELEMENTWISE",
    "Args",
    "OVERRIDE_FIELDS",
    "Generators",
    "as_bias",
    "as_fan_free",
    "as_keys",
    "as_override",
    "as_scheme",
    "parse_args",
]

ELEMENTWISE = ("constant", "normal", "uniform", "truncated_normal")
#: What an override may set: the weight's scheme, its bias, the activation its gain comes from,
#: a factor the drawn weight is multiplied by, norm layers' weight and bias, the forget-gate
#: bias of LSTM/GRU, per-gate schemes ({"forget": "orthogonal", ...}) and the scheme of the
#: recurrent (hidden-to-hidden) weights.
OVERRIDE_FIELDS = (
    "scheme",
    "bias",
    "activation",
    "scale",
    "norm_weight",
    "norm_bias",
    "forget_bias",
    "gates",
    "recurrent",
)


def as_scheme(value: Any, param: str) -> SchemeSpec:
    if not isinstance(value, str | SchemeSpec):
        raise TypeError(
            f"{param} must be a scheme name or spec such as 'he_normal' or "
            f"'random_normal:std=0.02', got {value!r}"
        )
    spec = schemes.parse_scheme(value, field=param)
    if spec.info.data_dependent:
        raise ValueError(
            f"{param}={str(value)!r} is data-dependent: use initlab.torch.lsuv(model, batch), "
            "which starts from an orthogonal draw and rescales each layer on a batch"
        )
    return spec


def as_bias(value: Any, param: str = "bias") -> SchemeSpec | None:
    """None or "keep": leave biases alone; a number: that constant; else an elementwise scheme."""
    if value is None or (isinstance(value, str) and value.strip() == "keep"):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return schemes.get("constant", value=float(value))
    if not isinstance(value, str | SchemeSpec):
        raise TypeError(
            f"{param} must be 'zeros', 'keep', a number, or an elementwise scheme spec such as "
            f"'torch_default' or 'random_normal:std=0.01', got {value!r}"
        )
    spec = schemes.parse_scheme(value)
    law = schemes.distribution(spec, 4, 4)
    if law is None or law.kind not in ELEMENTWISE:
        raise ValueError(
            f"{param}={str(value)!r}: a bias takes an elementwise scheme (zeros, constant, "
            "random_normal, random_uniform, truncated_normal, torch_default, he_*, xavier_*, "
            "...), not a structured one"
        )
    return spec


def as_fan_free(value: Any, param: str) -> SchemeSpec | None:
    """A scheme for a tensor without fans (a norm layer's weight or bias, a custom vector): a
    number, "keep"/None, or an elementwise scheme whose law does not depend on fans."""
    spec = as_bias(value, param)
    if spec is None:
        return None
    a, b = schemes.distribution(spec, 3, 5), schemes.distribution(spec, 7, 11)
    if (a.mean, a.std, a.low, a.high) != (b.mean, b.std, b.low, b.high):
        raise ValueError(
            f"{param}={str(value)!r} scales with the fans, and this tensor has none; use a "
            "number (e.g. 1.0) or a fan-free law such as 'random_normal:std=0.02'"
        )
    return spec


def as_keys(value: Any, param: str) -> list[Any]:
    if value is None:
        return []
    items = [value] if isinstance(value, str | type) else list(value)
    for k in items:
        check_key(param, k)
    return items


def _as_gates(value: Any, where: str) -> dict[str, SchemeSpec]:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{where} must be a mapping {{gate name: scheme}}, e.g. {{'forget': 'orthogonal'}} "
            f"(LSTM gates: input, forget, cell, output; GRU: reset, update, new; attention's "
            f"packed in_proj: q, k, v), got {value!r}"
        )
    allowed = ("input", "forget", "cell", "output", "reset", "update", "new", "q", "k", "v")
    out = {}
    for gate, spec in value.items():
        if gate not in allowed:
            raise ValueError(f"{where} has unknown gate {gate!r}; allowed: {', '.join(allowed)}")
        out[gate] = as_scheme(spec, f"{where}[{gate!r}]")
    return out


def as_override(key: Any, value: Any) -> dict[str, Any]:
    """One override value checked: a scheme (for a norm type key: its weight), or a dict of
    :data:`OVERRIDE_FIELDS`."""
    where = f"overrides[{key!r}]"
    if not isinstance(value, Mapping):
        if isinstance(key, type) and issubclass(key, NORM):
            return {"norm_weight": as_fan_free(value, where)}
        return {"scheme": as_scheme(value, where)}
    unknown = sorted(set(value) - set(OVERRIDE_FIELDS))
    if unknown:
        raise ValueError(
            f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(OVERRIDE_FIELDS)}"
        )
    out: dict[str, Any] = {}
    for name, v in value.items():
        sub = f"{where}[{name!r}]"
        if name in ("scheme", "recurrent"):
            out[name] = as_scheme(v, sub)
        elif name == "bias":
            out[name] = as_bias(v, sub)
        elif name in ("norm_weight", "norm_bias"):
            out[name] = as_fan_free(v, sub)
        elif name == "activation":
            out[name] = None if v is None else activation_gain(v)
        elif name == "gates":
            out[name] = _as_gates(v, sub)
        else:  # scale, forget_bias: finite numbers (forget_bias may be None: no change)
            if name == "forget_bias" and v is None:
                out[name] = None
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not abs(v) < float("inf"):
                raise TypeError(f"{sub} must be a finite number, got {v!r}")
            out[name] = float(v)
    return out


class Generators:
    """The generator for each parameter: the one given (its device checked), or per-device
    generators seeded from an int, or None (torch's default generator)."""

    def __init__(self, generator: Any) -> None:
        if generator is not None and not isinstance(generator, torch.Generator):
            if isinstance(generator, bool) or not isinstance(generator, numbers.Integral):
                raise TypeError(
                    f"generator must be a torch.Generator, a non-negative int seed or None, "
                    f"got {generator!r}"
                )
            if int(generator) < 0:
                raise ValueError(f"generator seed must be >= 0, got {generator!r}")
        self.generator = generator
        self._seeded: dict[torch.device, torch.Generator] = {}

    def check(self, t: torch.Tensor, name: str) -> None:
        g = self.generator
        if isinstance(g, torch.Generator):
            gd, td = g.device, t.device
            if gd.type != td.type or (gd.index is not None and td.index not in (None, gd.index)):
                raise ValueError(
                    f"generator is on device {gd} but parameter {name!r} is on {td}; pass a "
                    f"torch.Generator(device={str(td)!r}) or an int seed"
                )

    def __call__(self, t: torch.Tensor) -> torch.Generator | None:
        g = self.generator
        if g is None or isinstance(g, torch.Generator):
            return g
        if t.device not in self._seeded:
            self._seeded[t.device] = torch.Generator(device=t.device).manual_seed(int(g))
        return self._seeded[t.device]


@dataclass
class Args:
    """:func:`initlab.torch.initialize`'s arguments, checked: the base choice, the explicit
    activation, skip keys, override items (a model-level scheme's first, then the caller's,
    types before name patterns) and ``tensors`` items (None: keep)."""

    base: Choice
    explicit: Activation
    skip: list[Any]
    overrides: list[tuple[Any, dict[str, Any]]]
    tensors: list[tuple[str, SchemeSpec | None]]


def _as_overrides(overrides: Any) -> list[tuple[Any, dict[str, Any]]]:
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(
            f"overrides must be a mapping {{module type or name pattern: scheme or dict}}, "
            f"got {type(overrides).__name__}"
        )
    items = []
    for key, value in (overrides or {}).items():
        check_key("overrides", key)
        items.append((key, as_override(key, value)))
    # types first, then name patterns: a name pattern beats a type, later beats earlier
    items.sort(key=lambda kv: isinstance(kv[0], str))
    return items


def _as_tensors(tensors: Any) -> list[tuple[str, SchemeSpec | None]]:
    if tensors is not None and not isinstance(tensors, Mapping):
        raise TypeError(
            f"tensors must be a mapping {{tensor name pattern: scheme, number or 'keep'}}, "
            f"got {type(tensors).__name__}"
        )
    out: list[tuple[str, SchemeSpec | None]] = []
    for key, value in (tensors or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"tensors keys must be tensor-name patterns (str), got {key!r}")
        where = f"tensors[{key!r}]"
        if isinstance(value, str) and value.strip() == "keep":
            out.append((key, None))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            out.append((key, as_bias(value, where)))
        else:
            out.append((key, as_scheme(value, where)))
    return out


def parse_args(
    scheme: Any,
    bias: Any,
    activation: Any,
    norm_weight: Any,
    norm_bias: Any,
    forget_bias: Any,
    overrides: Any,
    skip: Any,
    tensors: Any,
    extra: list[tuple[Any, dict[str, Any]]],
) -> Args:
    """Check every argument of :func:`initlab.torch.initialize` (``extra``: a model-level
    scheme's override items)."""
    explicit = None
    if activation is not None:
        explicit = (*activation_gain(activation), "activation= given")
    fb = None
    if forget_bias is not None:
        fb = as_override("forget_bias", {"forget_bias": forget_bias})["forget_bias"]
    base = Choice(
        as_scheme(scheme, "scheme"),
        as_bias(bias),
        explicit,
        as_fan_free(norm_weight, "norm_weight"),
        as_fan_free(norm_bias, "norm_bias"),
        forget_bias=fb,
    )
    checked = [(key, as_override(key, value)) for key, value in extra]
    items = [*checked, *_as_overrides(overrides)]
    return Args(base, explicit, as_keys(skip, "skip"), items, _as_tensors(tensors))
