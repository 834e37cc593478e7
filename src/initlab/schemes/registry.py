"""The registry of scheme names: one table that the API, the CLI, the study, the web page and the
PyTorch adapter all read.

``get("he_normal")`` returns a :class:`SchemeSpec`, a callable ``(shape, rng, dtype, *, layout,
fans) -> array`` that is also plain data (name and parameters), so it can be stored in a config
and written to JSON.  ``parse_scheme("random_normal:std=0.5")`` reads the same thing from text.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._checks import check_choice
from initlab.schemes import library as L
from initlab.schemes.fans import Fans
from initlab.schemes.gains import calculate_gain
from initlab.schemes.sampling import (
    Distribution,
    constant_distribution,
    normal_distribution,
    truncated_normal_distribution,
    uniform_distribution,
)

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
]

CATEGORIES = ("failure", "plain", "variance_scaling", "library_default", "structured")


@dataclass(frozen=True)
class SchemeInfo:
    """What the registry knows about one scheme."""

    name: str
    fn: Callable[..., np.ndarray] = field(repr=False)
    summary: str
    formula: str
    category: str
    recommended_for: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    data_dependent: bool = False
    #: ``(fans, **params) -> Distribution`` of the entries, or None where no single law applies.
    law: Callable[..., Distribution | None] | None = field(default=None, repr=False)
    #: shape and keyword arguments for the trial call that validates parameters up front.
    trial: tuple[tuple[int, ...], Mapping[str, Any]] = ((4, 4), {})

    @property
    def defaults(self) -> dict[str, Any]:
        """The scheme's own parameters and their defaults (read from its signature)."""
        sig = inspect.signature(self.fn)
        return {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("layout", "fans")
        }


_VS = L.variance_scaling_distribution
_ORTHO_NOTE = "entries ~ gain / sqrt(max(fan_in, fan_out))"


def _orthogonal_law(f: Fans, gain: float = 1.0) -> Distribution:
    # the matrix is fan_in x (fan_out / receptive field): e.g. (out, in * k * k) for a torch
    # conv kernel, (k * k * in, out) for a channels-last one; entries have variance
    # gain^2 / (its larger side)
    rows, cols = f.fan_in, f.fan_out // max(f.receptive_field, 1)
    return Distribution("orthogonal", 0.0, gain / math.sqrt(max(rows, cols)), -gain, gain)


def _sparse_law(f: Fans, sparsity: float = 0.1, std: float = 0.01) -> Distribution:
    kept = 1.0 - math.ceil(sparsity * f.fan_in) / f.fan_in
    return Distribution("sparse", 0.0, std * math.sqrt(kept))


def _scaled_law(f: Fans, base: str = "xavier_normal", factor: float = 10.0) -> Distribution | None:
    d = distribution(base, f.fan_in, f.fan_out)
    if d is None:
        return None
    lo, hi = sorted((factor * d.low, factor * d.high))
    return Distribution(
        d.kind, factor * d.mean, abs(factor) * d.std, lo, hi, factor * d.loc, abs(factor) * d.sigma
    )


def _entries() -> list[SchemeInfo]:
    sq = math.sqrt
    return [
        SchemeInfo(
            "zeros",
            L.zeros,
            "all weights 0: no symmetry breaking, no learning",
            "W = 0",
            "failure",
            law=lambda f: constant_distribution(0.0),
        ),
        SchemeInfo(
            "ones",
            L.ones,
            "all weights 1: symmetric, and large for wide layers",
            "W = 1",
            "failure",
            law=lambda f: constant_distribution(1.0),
        ),
        SchemeInfo(
            "constant",
            L.constant,
            "all weights equal: symmetry never breaks",
            "W = value",
            "failure",
            law=lambda f, value=0.5: constant_distribution(value),
        ),
        SchemeInfo(
            "small",
            L.small,
            "the seed's small random values: vanishing signals",
            "W ~ N(0, std^2), std = 0.01",
            "failure",
            law=lambda f, std=0.01: normal_distribution(std),
        ),
        SchemeInfo(
            "small_uniform",
            L.small_uniform,
            "small uniform values (the seed's worked example)",
            "W ~ U(-sqrt(3) std, sqrt(3) std), std = 0.01",
            "failure",
            law=lambda f, std=0.01: uniform_distribution(-sq(3) * std, sq(3) * std),
        ),
        SchemeInfo(
            "large",
            L.large,
            "the seed's large random values: saturation / explosion",
            "W ~ N(0, std^2), std = 10",
            "failure",
            law=lambda f, std=10.0: normal_distribution(std),
        ),
        SchemeInfo(
            "scaled",
            L.scaled,
            "another scheme times a factor (e.g. Xavier x 10)",
            "W = factor * W_base",
            "failure",
            law=_scaled_law,
        ),
        SchemeInfo(
            "random_normal",
            L.random_normal,
            "normal with a fixed std",
            "W ~ N(mean, std^2)",
            "plain",
            law=lambda f, std=1.0, mean=0.0: normal_distribution(std, mean),
        ),
        SchemeInfo(
            "random_uniform",
            L.random_uniform,
            "uniform on fixed bounds",
            "W ~ U[low, high)",
            "plain",
            law=lambda f, low=-0.05, high=0.05: uniform_distribution(low, high),
        ),
        SchemeInfo(
            "truncated_normal",
            L.truncated_normal,
            "normal truncated at a, b std, variance-corrected",
            "W ~ N(mean, sigma^2) on [mean + a sigma, mean + b sigma], sigma = std / s(a, b)",
            "plain",
            law=lambda f, std=1.0, mean=0.0, a=-2.0, b=2.0, correct_std=True: (
                truncated_normal_distribution(std, mean, a, b, correct_std)
            ),
        ),
        SchemeInfo(
            "variance_scaling",
            L.variance_scaling,
            "the general mechanism: Var(W) = scale / fan",
            "Var(W) = scale / fan(mode); normal, truncated normal or uniform",
            "variance_scaling",
            law=lambda f, scale=1.0, mode="fan_in", distribution="truncated_normal": _VS(
                f, scale, mode, distribution
            ),
        ),
        SchemeInfo(
            "xavier_normal",
            L.xavier_normal,
            "Xavier/Glorot normal",
            "W ~ N(0, gain^2 * 2 / (fan_in + fan_out))",
            "variance_scaling",
            ("tanh", "sigmoid", "linear", "softmax"),
            ("glorot_normal",),
            law=lambda f, gain=1.0: _VS(f, gain**2, "fan_avg", "normal"),
        ),
        SchemeInfo(
            "xavier_uniform",
            L.xavier_uniform,
            "Xavier/Glorot uniform",
            "W ~ U(-l, l), l = gain * sqrt(6 / (fan_in + fan_out))",
            "variance_scaling",
            ("tanh", "sigmoid", "linear", "softmax"),
            ("glorot_uniform",),
            law=lambda f, gain=1.0: _VS(f, gain**2, "fan_avg", "uniform"),
        ),
        SchemeInfo(
            "he_normal",
            L.he_normal,
            "He/Kaiming normal",
            "W ~ N(0, gain^2 / fan_in), gain = sqrt(2)",
            "variance_scaling",
            ("relu", "leaky_relu", "elu", "gelu", "silu", "mish", "softplus"),
            ("kaiming_normal",),
            law=lambda f, gain=L.SQRT2, mode="fan_in": _VS(f, gain**2, mode, "normal"),
        ),
        SchemeInfo(
            "he_uniform",
            L.he_uniform,
            "He/Kaiming uniform",
            "W ~ U(-l, l), l = gain * sqrt(3 / fan_in) = sqrt(6 / fan_in)",
            "variance_scaling",
            ("relu", "leaky_relu", "elu", "gelu", "silu", "mish", "softplus"),
            ("kaiming_uniform",),
            law=lambda f, gain=L.SQRT2, mode="fan_in": _VS(f, gain**2, mode, "uniform"),
        ),
        SchemeInfo(
            "lecun_normal",
            L.lecun_normal,
            "LeCun normal",
            "W ~ N(0, 1 / fan_in)",
            "variance_scaling",
            ("selu", "linear"),
            law=lambda f: _VS(f, 1.0, "fan_in", "normal"),
        ),
        SchemeInfo(
            "lecun_uniform",
            L.lecun_uniform,
            "LeCun uniform",
            "W ~ U(-l, l), l = sqrt(3 / fan_in)",
            "variance_scaling",
            ("selu", "linear"),
            law=lambda f: _VS(f, 1.0, "fan_in", "uniform"),
        ),
        SchemeInfo(
            "torch_default",
            L.torch_default,
            "PyTorch's Linear/Conv default (kaiming_uniform, a = sqrt(5))",
            "W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
            "library_default",
            law=lambda f: uniform_distribution(-1 / sq(f.fan_in), 1 / sq(f.fan_in)),
        ),
        SchemeInfo(
            "torch_default_bias",
            L.torch_default_bias,
            "PyTorch's Linear/Conv bias default (fan_in of the weight)",
            "b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
            "library_default",
            law=lambda f: uniform_distribution(-1 / sq(f.fan_in), 1 / sq(f.fan_in)),
        ),
        SchemeInfo(
            "keras_default",
            L.keras_default,
            "Keras's Dense/Conv default (Glorot uniform)",
            "W ~ U(-l, l), l = sqrt(6 / (fan_in + fan_out))",
            "library_default",
            law=lambda f: _VS(f, 1.0, "fan_avg", "uniform"),
        ),
        SchemeInfo(
            "orthogonal",
            L.orthogonal,
            "(semi-)orthogonal matrix times gain",
            f"Q from QR of a Gaussian, sign-fixed; W = gain * Q; {_ORTHO_NOTE}",
            "structured",
            ("tanh", "linear"),
            law=_orthogonal_law,
        ),
        SchemeInfo(
            "identity",
            L.identity,
            "identity matrix times gain",
            "W = gain * I",
            "structured",
            ("linear",),
            ("eye",),
        ),
        SchemeInfo(
            "dirac",
            L.dirac,
            "identity for convolution kernels",
            "W[i, i, centre] = gain, else 0",
            "structured",
            trial=((4, 4, 3, 3), {"layout": "torch"}),
        ),
        SchemeInfo(
            "sparse",
            L.sparse,
            "sparse normal: a fraction of each column set to 0",
            "W ~ N(0, std^2), ceil(sparsity * rows) zeros per column",
            "structured",
            law=_sparse_law,
        ),
        SchemeInfo(
            "lsuv",
            L.lsuv,
            "data-dependent: orthogonal, then unit output variance",
            "orthogonal start; W <- W / std(layer output) until Var = 1",
            "structured",
            ("relu", "tanh", "leaky_relu", "elu", "gelu", "silu", "selu", "linear"),
            data_dependent=True,
        ),
    ]


_REGISTRY: dict[str, SchemeInfo] = {i.name: i for i in _entries()}
_ALIASES: dict[str, str] = {a: i.name for i in _REGISTRY.values() for a in i.aliases}


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
    allowed = i.defaults
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"scheme {i.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(allowed) or 'none'}"
        )
    shape, kwargs = i.trial
    i.fn(shape, 0, np.float64, **kwargs, **params)  # validates every value up front
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
    name: str | SchemeSpec, fan_in: int, fan_out: int, **params: Any
) -> Distribution | None:
    """The law of one entry of scheme ``name`` for a layer with these fans, or None for the
    schemes no single law describes (identity, dirac, LSUV).  Used by ``initlab schemes`` and by
    the theory module to read ``Var(W)`` without sampling."""
    spec = get(name, **params)
    i = spec.info
    if i.law is None:
        return None
    return i.law(Fans(int(fan_in), int(fan_out)), **spec.params)


def recommend(activation: str, param: float | None = None) -> list[SchemeSpec]:
    """Schemes recommended for ``activation``, best first, gain-corrected where it matters.

    The seed's rule: Xavier for tanh and sigmoid, He for ReLU.  For an activation the gain
    table does not list (GELU, SiLU, ELU, softplus, Mish) the He schemes come with the numeric
    gain ``1 / sqrt(E[g(z)^2])`` instead of sqrt(2)."""
    out = []
    for i in _REGISTRY.values():
        if activation not in i.recommended_for:
            continue
        if i.name in ("he_normal", "he_uniform") and (activation != "relu" or param is not None):
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
