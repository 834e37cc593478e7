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
public API, which samples the law with :func:`initlab.schemes.sampling.draw` (one sampler) or
runs the rule with a NumPy source.  The torch adapter samples the same laws and runs the same
rules with torch's generator.

``get("he_normal")`` returns a :class:`SchemeSpec`, a callable that is also plain data (name and
parameters); ``parse_scheme("random_normal:std=0.5")`` reads the same thing from text.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import as_generator, check_choice, check_float_dtype, check_shape
from initlab.schemes.fans import Fans, compute_fans
from initlab.schemes.gains import calculate_gain
from initlab.schemes.sampling import Distribution, draw
from initlab.schemes.sources import NumpySource, Source

__all__ = [
    "CATEGORIES",
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

CATEGORIES = ("failure", "plain", "variance_scaling", "library_default", "structured")
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

    @property
    def definition(self) -> Callable[..., Any]:
        """The function the scheme is defined by (its rule, else its law)."""
        return self.rule if self.rule is not None else self.law  # type: ignore[return-value]

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


# --------------------------------------------------------------------------- the array function

_REGISTRY: dict[str, SchemeInfo] = {}
_ALIASES: dict[str, str] = {}


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _physical_memory() -> int | None:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def check_memory(shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse, before allocating, a shape whose float64 draw and cast copy exceed the memory."""
    n = math.prod(shape)
    need = n * (8 + np.dtype(dtype).itemsize)
    have = _physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"shape {shape} has {n:,} entries: sampling it in float64 and casting to "
            f"{np.dtype(dtype)} needs {_format_bytes(need)}, more than this machine's "
            f"{_format_bytes(have)} of memory; use a smaller shape"
        )


def _sample(
    i: SchemeInfo, shape: Any, rng: Any, dtype: Any, layout: Any, fans: Any, params: Mapping
) -> np.ndarray:
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    gen = as_generator(rng)
    check_memory(shape, dt)
    empty = math.prod(shape) == 0
    if i.rule is None:
        if empty:
            return i.values(shape, NumpySource(gen), layout, fans, **params).astype(dt)
        d = i.law_at(shape, layout, fans, **params)
        return draw(d, shape, gen, dt)  # type: ignore[arg-type]
    values = i.values(shape, NumpySource(gen), layout, fans, **params)
    with np.errstate(over="ignore"):
        out = np.asarray(values, dtype=np.float64).astype(dt)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{i.name} values overflow {dt} (largest {np.finfo(dt).max:g})")
    return out


def _array_function(i: SchemeInfo, definition: Callable[..., Any]) -> Callable[..., np.ndarray]:
    own = _defaults(definition)
    hints = {k: v for k, v in definition.__annotations__.items() if k in own}

    def fn(
        shape: Any, rng: Any = None, dtype: Any = np.float64, *, layout: Any = None, **kw: Any
    ) -> np.ndarray:
        fans = kw.pop("fans", None)
        unknown = sorted(set(kw) - set(own))
        if unknown:
            raise TypeError(
                f"{i.name}() got an unexpected keyword argument {unknown[0]!r}; its parameters "
                f"are: {', '.join(own) or 'none'} (and layout, fans)"
            )
        return _sample(_REGISTRY[i.name], shape, rng, dtype, layout, fans, kw)

    P = inspect.Parameter
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            P("shape", P.POSITIONAL_OR_KEYWORD, annotation="int | tuple[int, ...]"),
            P("rng", P.POSITIONAL_OR_KEYWORD, default=None),
            P("dtype", P.POSITIONAL_OR_KEYWORD, default=np.float64),
            *(
                P(k, P.KEYWORD_ONLY, default=v, annotation=hints.get(k, P.empty))
                for k, v in own.items()
            ),
            P("layout", P.KEYWORD_ONLY, default=None),
            P("fans", P.KEYWORD_ONLY, default=None),
        ],
        return_annotation="numpy.ndarray",
    )
    fn.__name__ = fn.__qualname__ = i.name
    fn.__module__ = definition.__module__
    fn.__doc__ = definition.__doc__
    fn.__wrapped__ = definition  # type: ignore[attr-defined]
    fn.info = i  # type: ignore[attr-defined]
    return fn


def scheme(
    category: str,
    *,
    recommended: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    data_dependent: bool = False,
    law: Callable[..., Distribution] | None = None,
    trial: tuple[tuple[int, ...], Any] = ((4, 4), None),
) -> Callable[[Callable[..., Any]], Callable[..., np.ndarray]]:
    """Register the decorated law (or rule) as a scheme and return its array function.

    The definition's first positional parameter says what it is: ``fans`` (a law of the fans),
    none (a law that ignores the fans), or ``shape, source`` (a structured rule, with ``law``
    giving the moments of its entries where a single law describes them).  ``trial`` is the
    shape and layout a rule is tried on to validate parameters in :func:`get`."""
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
        i = SchemeInfo(
            name=name,
            fn=lambda *a, **k: None,  # replaced below
            summary=doc.splitlines()[0].strip() if doc else "",
            formula=_section(doc, name, "Formula:"),
            category=category,
            recommended_for=tuple(recommended),
            aliases=tuple(aliases),
            data_dependent=data_dependent,
            law=law if is_rule else definition,
            rule=definition if is_rule else None,
            uses_fans=positional == ["fans"],
            trial=trial,
        )
        fn = _array_function(i, definition)
        object.__setattr__(i, "fn", fn)
        _REGISTRY[name] = i
        _ALIASES.update({a: name for a in aliases})
        return fn

    return register


# --------------------------------------------------------------------------- lookups


def available(category: str | None = None) -> list[str]:
    """Every registered scheme name (aliases excluded), optionally only one category's."""
    if category is not None:
        check_choice("category", category, CATEGORIES)
    return [n for n, i in _REGISTRY.items() if category is None or i.category == category]


def info(name: str) -> SchemeInfo:
    """The :class:`SchemeInfo` of ``name`` (aliases such as ``glorot_uniform`` accepted)."""
    if isinstance(name, str):
        key = _ALIASES.get(name, name)
        if key in _REGISTRY:
            return _REGISTRY[key]
    names = ", ".join(available())
    raise ValueError(
        f"unknown initialization scheme {name!r}; available: {names} "
        f"(aliases: {', '.join(sorted(_ALIASES))})"
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


def get(name: str | SchemeSpec, **params: Any) -> SchemeSpec:
    """Return scheme ``name`` with ``params`` bound, checked now rather than at first use.

    Unknown names and parameters raise a ValueError that lists what is allowed; bad values
    raise the scheme's own error.  Example: ``get("he_normal")((256, 128), rng=0)``.
    """
    if isinstance(name, SchemeSpec):
        if params:
            return get(name.name, **{**name.params, **params})
        return name
    i = info(name)
    i.bind(params)
    if i.rule is None:
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


def parse_scheme(spec: str | SchemeSpec) -> SchemeSpec:
    """Parse ``"name"``, ``"name:value"`` (the first parameter) or ``"name:k=v,k=v"``.

    Examples: ``"he_normal"``, ``"constant:0.3"``, ``"random_normal:std=0.5,mean=0"``,
    ``"scaled:base=xavier_normal,factor=10"``.
    """
    if isinstance(spec, SchemeSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a scheme must be a name such as 'he_normal', got {spec!r}")
    name, sep, rest = spec.strip().partition(":")
    name = name.strip()
    if not sep or not rest.strip():
        return get(name)
    i = info(name)
    params: dict[str, Any] = {}
    for k, item in enumerate(rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            if k != 0 or not i.defaults:
                raise ValueError(
                    f"scheme spec {spec!r}: write parameters as key=value "
                    f"(parameters of {i.name}: {', '.join(i.defaults) or 'none'})"
                )
            key, value = next(iter(i.defaults)), item
        params[key.strip()] = _parse_value(value)
    return get(name, **params)


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
