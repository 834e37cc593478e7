"""Activation functions: forward ``a = g(z)`` and derivative ``g'(z)``, numerically stable.

Every activation is an :class:`Activation`: plain data holding its name, its parameter (if any),
``forward(z)`` and ``derivative(z, a)``.  ``derivative`` receives both the pre-activation ``z`` and
the activation ``a = g(z)`` already computed in the forward pass, so functions like tanh and
sigmoid reuse ``a`` instead of recomputing it.  The dtype of ``z`` is preserved.

Formulas (``sigma`` is the logistic sigmoid, ``Phi`` the standard normal CDF):

==============  =======================================  =========================================
name            g(z)                                     g'(z)
==============  =======================================  =========================================
linear          z                                        1
relu            max(0, z)                                1 if z > 0 else 0
leaky_relu(a)   z if z > 0 else a z                      1 if z > 0 else a
tanh            tanh(z)                                  1 - tanh(z)^2
sigmoid         1 / (1 + exp(-z))                        sigma(z) (1 - sigma(z))
elu(a)          z if z > 0 else a (exp(z) - 1)           1 if z > 0 else a exp(z)
selu            lam * elu_alpha(z)                       lam * elu_alpha'(z)
gelu            z Phi(z)                                 Phi(z) + z phi(z)
silu            z sigma(z)                               sigma(z) (1 + z (1 - sigma(z)))
softplus        log(1 + exp(z))                          sigma(z)
mish            z tanh(softplus(z))                      tanh(sp) + z sigma(z) (1 - tanh(sp)^2)
softmax         exp(z_i) / sum_j exp(z_j)  (output only, over the last axis)
==============  =======================================  =========================================

SELU uses ``lam = 1.0507009873554804934`` and ``alpha = 1.6732632423543772848`` (Klambauer et al.
2017).  GELU is the exact form with the error function, not the tanh approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from initlab._checks import check_choice, check_finite_real
from initlab._special import normal_cdf, normal_pdf

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "parse_activation",
    "sigmoid",
    "softmax",
]

SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


@dataclass(frozen=True)
class Activation:
    """An activation function ``g`` with its derivative; ``param`` is its slope/alpha if any."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False, compare=False)
    param: float | None = None
    elementwise: bool = True

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)

    @property
    def spec(self) -> str:
        """The name as the CLI and configs write it, e.g. ``"leaky_relu:0.2"``."""
        return self.name if self.param is None else f"{self.name}:{self.param:g}"


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``.  For z < -709, ``exp(-z)`` overflows to inf and
    ``1 / inf = 0`` is the correctly rounded result, so the overflow is silenced, not avoided;
    the result is accurate to a few ulp everywhere and never NaN for finite z."""
    with np.errstate(over="ignore"):
        e = np.exp(-z)
    e += 1.0
    return np.reciprocal(e, out=e)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum so it cannot overflow."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _linear(z: np.ndarray) -> np.ndarray:
    return z


def _linear_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.ones_like(z)


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def _relu_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return (z > 0).astype(z.dtype)


def _tanh_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return 1.0 - a * a


def _sigmoid_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return a * (1.0 - a)


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


def _softplus_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return sigmoid(z)


def _gelu(z: np.ndarray) -> np.ndarray:
    return z * normal_cdf(z)


def _gelu_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return normal_cdf(z) + z * normal_pdf(z)


def _silu(z: np.ndarray) -> np.ndarray:
    return z * sigmoid(z)


def _silu_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _mish(z: np.ndarray) -> np.ndarray:
    return z * np.tanh(_softplus(z))


def _mish_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    t = np.tanh(_softplus(z))
    return t + z * sigmoid(z) * (1.0 - t * t)


def _softmax_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    raise ValueError(
        "softmax is not elementwise: it can only be the output activation, paired with "
        "the cross_entropy loss, whose gradient is taken with respect to the logits"
    )


def leaky_relu(alpha: float = 0.01) -> Activation:
    """Leaky ReLU ``g(z) = z if z > 0 else alpha * z``."""
    a = check_finite_real("leaky_relu alpha", alpha)
    return Activation(
        "leaky_relu",
        lambda z: np.where(z > 0, z, a * z),
        lambda z, _: np.where(z > 0, 1.0, a).astype(z.dtype, copy=False),
        param=a,
    )


def elu(alpha: float = 1.0) -> Activation:
    """ELU ``g(z) = z if z > 0 else alpha * (exp(z) - 1)``."""
    a = check_finite_real("elu alpha", alpha, low=0.0)
    return Activation(
        "elu",
        lambda z: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0))),
        lambda z, _: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0))).astype(z.dtype, copy=False),
        param=a,
    )


def _selu(z: np.ndarray) -> np.ndarray:
    return SELU_LAMBDA * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0)))


def _selu_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return (SELU_LAMBDA * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0)))).astype(
        z.dtype, copy=False
    )


_FIXED = {
    "linear": Activation("linear", _linear, _linear_grad),
    "relu": Activation("relu", _relu, _relu_grad),
    "tanh": Activation("tanh", np.tanh, _tanh_grad),
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_grad),
    "selu": Activation("selu", _selu, _selu_grad),
    "gelu": Activation("gelu", _gelu, _gelu_grad),
    "silu": Activation("silu", _silu, _silu_grad),
    "softplus": Activation("softplus", _softplus, _softplus_grad),
    "mish": Activation("mish", _mish, _mish_grad),
    "softmax": Activation("softmax", softmax, _softmax_grad, elementwise=False),
}
# name -> (factory taking the parameter, default parameter)
_PARAMETRIC: dict[str, tuple[Callable[[float], Activation], float]] = {
    "leaky_relu": (leaky_relu, 0.01),
    "elu": (elu, 1.0),
}
_ALIASES = {"identity": "linear", "swish": "silu", "logistic": "sigmoid"}

#: Every activation name accepted by :func:`get_activation`, the CLI and the web page.
ACTIVATIONS: tuple[str, ...] = tuple(sorted([*_FIXED, *_PARAMETRIC]))


def get_activation(name: str | Activation, param: float | None = None) -> Activation:
    """Return the activation called ``name`` (``param`` sets leaky_relu's slope or elu's alpha).

    An :class:`Activation` is returned unchanged, so callers may pass either.
    """
    if isinstance(name, Activation):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    check_choice("activation", key, ACTIVATIONS + tuple(_ALIASES))
    if key in _PARAMETRIC:
        factory, default = _PARAMETRIC[key]
        return factory(default if param is None else param)
    if param is not None:
        raise ValueError(f"activation {name!r} takes no parameter, got {param!r}")
    return _FIXED[key]


def parse_activation(spec: str | Activation) -> Activation:
    """Parse ``"relu"``, ``"leaky_relu:0.2"`` or ``"elu:1.5"`` into an :class:`Activation`."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"activation must be a name such as 'relu' or 'leaky_relu:0.2', got {spec!r}"
        )
    name, sep, rest = spec.partition(":")
    if not sep:
        return get_activation(name.strip())
    try:
        value = float(rest)
    except ValueError:
        raise ValueError(
            f"activation {spec!r}: the part after ':' must be a number, e.g. 'leaky_relu:0.2'"
        ) from None
    return get_activation(name.strip(), value)
