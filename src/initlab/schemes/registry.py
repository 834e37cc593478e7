"""The registry of schemes: one table that the API, the CLI, the study, the web page and the
PyTorch adapter all read, filled by the :func:`scheme` decorator where each scheme is defined.

A scheme is one definition (see :mod:`initlab.schemes.library` and docs/schemes.md):

* a **law** ``(fans, *, params) -> Distribution`` (or ``(*, params)`` for a scheme that ignores
  the fans): what one entry is drawn from;
* or, for a structured scheme, a **rule** ``(shape, source, *, params, layout, fans) -> array``
  that builds the float64 values from a random ``source`` (see :mod:`initlab.schemes.sources`),
  with an optional ``law=(shape, layout, fans, **params) -> Distribution`` for the moments of
  its entries.

The decorator reads everything else from the definition: the defaults from its signature, the
summary from the first line of its docstring and the formula from its ``Formula:`` line.  It
returns the array function ``(shape, rng, dtype, *, params, layout, fans) -> numpy array``, the
public API (generated in :mod:`initlab.schemes.arrays`), which samples the law with
:func:`initlab.schemes.sampling.draw` (one sampler) or runs the rule with a NumPy source.  The
torch adapter samples the same laws and runs the same rules with torch's generator.

``get("he_normal")`` returns a :class:`SchemeSpec`, a callable that is also plain data (name and
parameters); ``parse_scheme("random_normal:std=0.5")`` reads the same thing from text.

**Model-level schemes** (category ``"model"``: gpt2, fixup, t_fixup, deepnorm, mup; defined in
:mod:`initlab.schemes.model`) need a structure a single tensor does not have (residual branches,
a base-width model), so they are registered with ``needs=`` (that structure), ``paper=`` and
``entry=`` (the function that applies them, e.g. ``initlab.torch.initialize``).  Their
definition ``(*, params) -> str | None`` names the per-tensor scheme of the model's ordinary
tensors (GPT-2: ``random_normal:std=0.02``).  :func:`available` lists them only when asked
(``available("model")`` or ``model_level=True``), and :func:`get`/:func:`parse_scheme` refuse
them unless ``model_level=True``, so every per-tensor surface (``RunConfig``, the web page,
``init_network``) refuses them with a :class:`~initlab._checks.ParameterError` naming the field
and the function to use instead.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import (
    ParameterError,
    check_choice,
    suggest,
)
from initlab.schemes.arrays import array_function
from initlab.schemes.fans import Fans, compute_fans
from initlab.schemes.gains import calculate_gain
from initlab.schemes.sampling import Distribution
from initlab.schemes.sources import NumpySource, Source

__all__ = [
    "CATEGORIES",
    "MODEL",
    "TENSOR_CATEGORIES",
    "SchemeInfo",
    "SchemeSpec",
    "available",
    "distribution",
    "get",
    "info",
    "parse_scheme",
    "recommend",
    "scheme",
]

#: the category of model-level schemes (see the module docstring)
MODEL = "model"
#: the categories of per-tensor schemes, the ones ``RunConfig``, the web page and the NumPy
#: engine offer
TENSOR_CATEGORIES = ("failure", "plain", "variance_scaling", "library_default", "structured")
CATEGORIES = (*TENSOR_CATEGORIES, MODEL)
_CALL = ("shape", "rng", "dtype", "layout", "fans")  # the array function's own arguments
_RULE_ARGS = ("shape", "source", "layout", "fans")


@dataclass(frozen=True)
class SchemeInfo:
    """What the registry knows about one scheme, all of it read from its one definition."""

    name: str
    fn: Callable[..., np.ndarray] = field(repr=False)  # the public array function
    summary: str
    formula: str
    category: str
    recommended_for: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    data_dependent: bool = False
    #: the law ``(fans?, **params) -> Distribution`` (elementwise schemes) or ``(shape, layout,
    #: fans, **params) -> Distribution`` (structured schemes; None where no single law applies)
    law: Callable[..., Distribution] | None = field(default=None, repr=False)
    #: the structured rule ``(shape, source, *, layout, fans, **params) -> float64 array``
    rule: Callable[..., np.ndarray] | None = field(default=None, repr=False)
    uses_fans: bool = True
    #: shape and layout of the trial call that validates a rule's parameters up front
    trial: tuple[tuple[int, ...], Any] = ((4, 4), None)
    #: the gain comes from the activation after the layer (the torch adapter sets ``gain``
    #: from it unless the spec fixes ``gain``): Xavier, He, orthogonal
    gain_from_activation: bool = False
    #: a model-level scheme's definition ``(**params) -> per-tensor scheme text or None``
    base_rule: Callable[..., Any] | None = field(default=None, repr=False)
    #: model-level schemes: the structure they need, their paper and the function applying them
    needs: str = ""
    paper: str = ""
    entry: str = ""

    @property
    def model_level(self) -> bool:
        """Whether the scheme needs a model's structure (category ``"model"``)."""
        return self.category == MODEL

    def base(self, **params: Any) -> SchemeSpec | None:
        """A model-level scheme's per-tensor scheme for the model's ordinary tensors (None
        where it has none), from its definition at ``params`` over the defaults."""
        if not self.model_level:
            raise ValueError(f"scheme {self.name!r} is per-tensor; base() is for model-level ones")
        spec = self.definition(**self.bind(params))
        return None if spec is None else parse_scheme(spec)

    @property
    def definition(self) -> Callable[..., Any]:
        """The function the scheme is defined by (its rule, else its law)."""
        for d in (self.rule, self.law, self.base_rule):
            if d is not None:
                return d
        raise AssertionError(self.name)  # pragma: no cover - every scheme has one

    @property
    def defaults(self) -> dict[str, Any]:
        """The scheme's own parameters and their defaults (read from its definition)."""
        return _defaults(self.definition)

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter of the scheme: ``params`` over the defaults (unknown names refused)."""
        allowed = self.defaults
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(
                f"scheme {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {', '.join(allowed) or 'none'}"
            )
        return {**allowed, **params}

    def law_at(
        self, shape: tuple[int, ...], layout: Any = None, fans: Any = None, **params: Any
    ) -> Distribution | None:
        """The law of one entry of a weight of ``shape`` (None where no single law applies)."""
        if self.model_level:
            base = self.base(**params)
            return None if base is None else base.info.law_at(shape, layout, fans, **base.params)
        p = self.bind(params)
        if self.rule is not None:
            d = None if self.law is None else self.law(shape, layout, fans, **p)
        elif self.uses_fans:
            d = self.law(compute_fans(shape, layout, fans), **p)  # type: ignore[misc]
        else:
            d = self.law(**p)  # type: ignore[misc]
        return None if d is None else _checked(d, self.name, params)

    def values(
        self, shape: tuple[int, ...], source: Source, layout: Any = None, fans: Any = None, **params
    ) -> np.ndarray:
        """Float64 values of ``shape`` drawn from ``source``: the rule's, or the law sampled by
        ``source.law``.  The one sampling path that both back ends run."""
        if self.rule is not None:
            if self.law is not None and math.prod(shape) > 0:  # refuses overflowing laws
                self.law_at(shape, layout, fans, **params)
            return self.rule(shape, source, layout=layout, fans=fans, **self.bind(params))
        if math.prod(shape) == 0:  # needs no fans; the parameters are still checked
            self.law_at((1, 1), None, (1, 1) if fans is None else fans, **params)
            return np.zeros(shape)
        d = self.law_at(shape, layout, fans, **params)
        return source.law(d, shape)  # type: ignore[arg-type]


def _defaults(definition: Callable[..., Any]) -> dict[str, Any]:
    return dict(_default_items(definition))


@functools.cache
def _default_items(definition: Callable[..., Any]) -> tuple[tuple[str, Any], ...]:
    """The keyword-only parameters of a definition and their defaults, read once."""
    return tuple(
        (p.name, p.default)
        for p in inspect.signature(definition).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("layout", "fans")
    )


def _checked(d: Distribution, name: str, params: Mapping[str, Any]) -> Distribution:
    """Refuse a law whose moments or bounds overflow float64 (naming the parameters given)."""
    numbers = [d.mean, d.std, d.variance]
    if d.kind in ("uniform", "constant"):  # a truncated normal may have infinite bounds
        numbers += [d.low, d.high]
    if all(math.isfinite(v) for v in numbers):
        return d
    given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "its defaults"
    raise ValueError(
        f"scheme {name!r} with {given}: the law's mean {d.mean:g}, std {d.std:g} (variance "
        f"{d.variance:g}) or bounds [{d.low:g}, {d.high:g}] overflow float64 (largest "
        f"{np.finfo(np.float64).max:g}); choose smaller values"
    )


def _section(doc: str, name: str, key: str) -> str:
    """The text after ``key`` in ``doc``, continued over the following lines up to a blank."""
    lines = doc.splitlines()
    for k, line in enumerate(lines):
        if line.strip().startswith(key):
            parts = [line.strip()[len(key) :].strip()]
            for more in lines[k + 1 :]:
                if not more.strip():
                    break
                parts.append(more.strip())
            return " ".join(parts)
    raise ValueError(f"scheme {name!r}: its docstring needs a line starting with {key!r}")


# --------------------------------------------------------------------------- registration

_REGISTRY: dict[str, SchemeInfo] = {}
_ALIASES: dict[str, str] = {}


def _model_function(i: SchemeInfo) -> Callable[..., np.ndarray]:
    """The array function of a model-level scheme: it refuses, naming where to use it."""

    def fn(*args: Any, **kwargs: Any) -> np.ndarray:
        raise _model_level_error(_REGISTRY[i.name], "scheme", i.name)

    return fn


def _check_model_args(name: str, category: str, needs: str, entry: str, **tensor: Any) -> None:
    if (category == MODEL) != bool(needs and entry):
        raise TypeError(
            f"scheme {name!r}: needs= and entry= are given exactly for category {MODEL!r}"
        )
    if category == MODEL and any(tensor.values()):
        given = ", ".join(k for k, v in tensor.items() if v)
        raise TypeError(f"scheme {name!r}: a model-level scheme takes no {given}")


def scheme(
    category: str,
    *,
    recommended: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    data_dependent: bool = False,
    law: Callable[..., Distribution] | None = None,
    trial: tuple[tuple[int, ...], Any] = ((4, 4), None),
    gain_from_activation: bool = False,
    needs: str = "",
    paper: str = "",
    entry: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., np.ndarray]]:
    """Register the decorated law (or rule) as a scheme and return its array function.

    The definition's first positional parameter says what it is: ``fans`` (a law of the fans),
    none (a law that ignores the fans), or ``shape, source`` (a structured rule, with ``law``
    giving the moments of its entries where a single law describes them).  ``trial`` is the
    shape and layout a rule is tried on to validate parameters in :func:`get`.
    ``gain_from_activation``: the torch adapter sets the scheme's ``gain`` from the layer's
    activation.  Category ``"model"`` (with ``needs``, ``paper`` and ``entry``): a model-level
    scheme, whose definition ``(*, params)`` returns the per-tensor scheme of ordinary tensors
    (or None); its array function refuses."""
    check_choice("category", category, CATEGORIES)

    def register(definition: Callable[..., Any]) -> Callable[..., np.ndarray]:
        name = definition.__name__
        doc = inspect.getdoc(definition) or ""
        positional = [
            p.name
            for p in inspect.signature(definition).parameters.values()
            if p.kind
            in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
        is_rule = positional[:2] == ["shape", "source"]
        if not is_rule and positional not in ([], ["fans"]):
            raise TypeError(
                f"scheme {name!r}: a law takes (fans, *, params) or (*, params); a rule takes "
                f"(shape, source, *, params, layout, fans); got ({', '.join(positional)})"
            )
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"scheme {name!r} is registered twice")
        _check_model_args(
            name,
            category,
            needs,
            entry,
            recommended=recommended,
            law=law,
            rule=is_rule,
            fans=positional == ["fans"],
            gain_from_activation=gain_from_activation,
            data_dependent=data_dependent,
        )
        i = SchemeInfo(
            name=name,
            fn=lambda *a, **k: None,  # replaced below
            summary=doc.splitlines()[0].strip() if doc else "",
            formula=_section(doc, name, "Formula:"),
            category=category,
            recommended_for=tuple(recommended),
            aliases=tuple(aliases),
            data_dependent=data_dependent,
            law=law if is_rule else (None if category == MODEL else definition),
            rule=definition if is_rule else None,
            base_rule=definition if category == MODEL else None,
            uses_fans=positional == ["fans"],
            trial=trial,
            gain_from_activation=gain_from_activation,
            needs=needs,
            paper=paper,
            entry=entry,
        )
        fn = _model_function(i) if i.model_level else array_function(i, definition)
        if i.model_level:
            functools.update_wrapper(fn, definition)
        object.__setattr__(i, "fn", fn)
        _REGISTRY[name] = i
        _ALIASES.update({a: name for a in aliases})
        return fn

    return register


# --------------------------------------------------------------------------- lookups


def available(category: str | None = None, *, model_level: bool = False) -> list[str]:
    """Every registered per-tensor scheme name (aliases excluded), optionally only one
    category's.  Model-level schemes are listed by ``available("model")``, and together with
    the others by ``model_level=True``."""
    if category is not None:
        check_choice("category", category, CATEGORIES)
    return [
        n
        for n, i in _REGISTRY.items()
        if (category is None and (model_level or not i.model_level)) or i.category == category
    ]


def info(name: str, *, field: str = "scheme") -> SchemeInfo:
    """The :class:`SchemeInfo` of ``name`` (aliases such as ``glorot_uniform`` accepted;
    model-level schemes too).  An unknown name is a ParameterError for ``field``."""
    if isinstance(name, str):
        key = _ALIASES.get(name, name)
        if key in _REGISTRY:
            return _REGISTRY[key]
    names = ", ".join(available())
    raise ParameterError(
        field,
        name,
        f"a registered scheme: {names}",
        f"unknown initialization scheme {name!r}; available: {names} "
        f"(aliases: {', '.join(sorted(_ALIASES))}; model-level schemes, for "
        f"initlab.torch: {', '.join(available(MODEL))})" + suggest(name, [*_REGISTRY, *_ALIASES]),
    )


def _model_level_error(i: SchemeInfo, field: str, value: Any) -> ParameterError:
    tensor = available()
    allowed = "a per-tensor scheme: " + ", ".join(tensor)
    return ParameterError(
        field,
        value,
        allowed,
        f"{field}={str(value)!r} is a model-level scheme: it needs {i.needs}, which one tensor "
        f"does not have; apply it to a PyTorch model with {i.entry}(model, {i.name!r}, ...), "
        f"or choose a per-tensor scheme for {field}{suggest(i.name, tensor)}: " + ", ".join(tensor),
    )


@dataclass(frozen=True)
class SchemeSpec:
    """A scheme name with its parameters: callable like a scheme, and plain data.

    ``SchemeSpec("random_normal", {"std": 0.5})((3, 4), rng=0)`` draws a 3x4 array;
    ``str(spec)`` is ``"random_normal:std=0.5"``, which :func:`parse_scheme` reads back.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(
        self,
        shape: Any,
        rng: Any = None,
        dtype: Any = np.float64,
        *,
        layout: Any = None,
        fans: Any = None,
    ) -> np.ndarray:
        return info(self.name).fn(shape, rng, dtype, layout=layout, fans=fans, **self.params)

    @property
    def info(self) -> SchemeInfo:
        return info(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in self.params.items())


def get(
    name: str | SchemeSpec, *, model_level: bool = False, field: str = "scheme", **params: Any
) -> SchemeSpec:
    """Return scheme ``name`` with ``params`` bound, checked now rather than at first use.

    Unknown names and parameters raise a ValueError that lists what is allowed; bad values
    raise the scheme's own error.  A model-level scheme raises a ParameterError for ``field``
    unless ``model_level=True``.  Example: ``get("he_normal")((256, 128), rng=0)``.
    """
    if isinstance(name, SchemeSpec):
        if params:
            merged = {**name.params, **params}
            return get(name.name, model_level=model_level, field=field, **merged)
        if name.info.model_level and not model_level:
            raise _model_level_error(name.info, field, str(name))
        return name
    i = info(name, field=field)
    if i.model_level and not model_level:
        raise _model_level_error(i, field, name)
    i.bind(params)
    if i.model_level:
        i.base(**params)  # validates every value up front
    elif i.rule is None:
        i.law_at((4, 4), None, None, **params)  # validates every value up front
    else:
        shape, layout = i.trial
        i.values(shape, NumpySource(np.random.default_rng(0)), layout, None, **params)
    return SchemeSpec(i.name, dict(params))


def _parse_value(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_scheme(
    spec: str | SchemeSpec, *, model_level: bool = False, field: str = "scheme"
) -> SchemeSpec:
    """Parse ``"name"``, ``"name:value"`` (the first parameter) or ``"name:k=v,k=v"``.

    Examples: ``"he_normal"``, ``"constant:0.3"``, ``"random_normal:std=0.5,mean=0"``,
    ``"scaled:base=xavier_normal,factor=10"``.  Model-level schemes (``"gpt2:std=0.01"``) only
    with ``model_level=True``; otherwise a ParameterError for ``field`` says where to use them.
    """
    if isinstance(spec, SchemeSpec):
        return get(spec, model_level=model_level, field=field)
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(
            field,
            spec,
            "a scheme name such as 'he_normal'",
            f"{field}: a scheme must be a name such as 'he_normal', got {spec!r}",
        )
    name, sep, rest = spec.strip().partition(":")
    name = name.strip()
    i = info(name, field=field)
    if i.model_level and not model_level:
        raise _model_level_error(i, field, spec.strip())
    if not sep or not rest.strip():
        return get(name, model_level=model_level, field=field)
    params: dict[str, Any] = {}
    for k, item in enumerate(rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            if k != 0 or not i.defaults:
                raise ParameterError(
                    field,
                    spec,
                    f"key=value parameters of {i.name}: {', '.join(i.defaults) or 'none'}",
                    f"{field}: scheme spec {spec!r}: write parameters as key=value "
                    f"(parameters of {i.name}: {', '.join(i.defaults) or 'none'})",
                )
            key, value = next(iter(i.defaults)), item
        params[key.strip()] = _parse_value(value)
    return get(name, model_level=model_level, field=field, **params)


def distribution(
    name: str | SchemeSpec, fan_in: float, fan_out: float, **params: Any
) -> Distribution | None:
    """The law of one entry of scheme ``name`` for a dense ``(fan_in, fan_out)`` layer, or None
    for the schemes no single law describes (identity, dirac, LSUV).  Used by ``initlab
    schemes`` and by the theory module to read ``Var(W)`` without sampling."""
    spec = get(name, **params)
    fans = Fans(fan_in, fan_out)
    return spec.info.law_at((fan_in, fan_out), None, fans, **spec.params)


def recommend(activation: str, param: float | None = None) -> list[SchemeSpec]:
    """Schemes recommended for ``activation``, best first, gain-corrected where it matters.

    The seed's rule: Xavier for tanh and sigmoid, He for ReLU.  For an activation the gain
    table does not list (GELU, SiLU, ELU, softplus, Mish) the schemes with a ``gain`` from the
    He family come with the numeric gain ``1 / sqrt(E[g(z)^2])`` instead of sqrt(2)."""
    out = []
    for i in _REGISTRY.values():
        if activation not in i.recommended_for:
            continue
        he_gain = i.defaults.get("gain") == math.sqrt(2.0)
        if he_gain and (activation != "relu" or param is not None):
            gain = calculate_gain(activation, param)
            out.append(get(i.name, gain=round(gain, 12)))
        else:
            out.append(get(i.name))
    if not out:
        raise ValueError(
            f"no scheme is registered as recommended for activation {activation!r}; known: "
            + ", ".join(sorted({a for i in _REGISTRY.values() for a in i.recommended_for}))
        )
    return out
