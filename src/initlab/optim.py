"""Optimizers: update rules on lists of parameter arrays.

An optimizer is plain data (its hyper-parameters).  ``state = opt.init(params)`` makes its
buffers; ``updates = opt.updates(grads, state)`` returns the arrays ``u`` that the training loop
adds to the parameters (``p <- p + u``), so the applied update is observable.  ``state`` is a
dict of arrays updated in place.  The learning rate may be a scalar or an array with one entry
per population member (shape ``(K,)``).

With gradient ``g`` at step ``t = 1, 2, ...``:

==============  ======================================================================
gd              u = -lr g
momentum        v <- beta v + g;  u = -lr v            (PyTorch's form; = the classic
                v <- beta v - lr g, u = v, for a constant lr)
nesterov        v <- beta v + g;  u = -lr (g + beta v)
rmsprop         s <- rho s + (1 - rho) g^2;  u = -lr g / (sqrt(s) + eps)
adam            m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
                m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t);
                u = -lr m_hat / (sqrt(v_hat) + eps)
==============  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from initlab._checks import ParameterError, check_choice, check_finite_real

__all__ = [
    "OPTIMIZERS",
    "Adam",
    "GradientDescent",
    "Momentum",
    "Optimizer",
    "RMSProp",
    "get_optimizer",
]

State = dict[str, Any]


class Optimizer(Protocol):
    """What the training loop needs from an optimizer."""

    name: str
    lr: Any

    def init(self, params: list[np.ndarray]) -> State: ...

    def updates(self, grads: list[np.ndarray], state: State) -> list[np.ndarray]: ...


def _lr(lr: Any) -> Any:
    """A scalar learning rate, or one per population member as an array shaped (K, 1, 1)."""
    if np.ndim(lr) == 0:
        return check_finite_real("lr", lr, low=0.0, low_inclusive=False)
    arr = np.asarray(lr, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(
            "lr",
            lr,
            "a number or a 1-D array with one rate per member",
            f"lr must be a number or a 1-D array with one rate per member, got {lr!r}",
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(
            "lr",
            arr.tolist(),
            "finite numbers > 0",
            f"every lr must be a finite number > 0, got {arr.tolist()}",
        )
    return arr.reshape(-1, 1, 1)


def _coef(lr: Any, dtype: np.dtype) -> Any:
    return lr.astype(dtype) if isinstance(lr, np.ndarray) else lr


@dataclass(frozen=True)
class GradientDescent:
    """Plain (stochastic) gradient descent: ``u = -lr g``."""

    lr: Any = 0.1
    name: str = "gd"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _lr(self.lr))

    def init(self, params: list[np.ndarray]) -> State:
        return {"t": 0}

    def updates(self, grads: list[np.ndarray], state: State) -> list[np.ndarray]:
        state["t"] += 1
        return [g * -_coef(self.lr, g.dtype) for g in grads]


@dataclass(frozen=True)
class Momentum:
    """Heavy-ball momentum (``nesterov=False``) or Nesterov momentum: see the module table."""

    lr: Any = 0.1
    beta: float = 0.9
    nesterov: bool = False
    name: str = "momentum"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _lr(self.lr))
        check_finite_real("beta", self.beta, low=0.0, high=1.0, high_inclusive=False)
        if self.nesterov:
            object.__setattr__(self, "name", "nesterov")

    def init(self, params: list[np.ndarray]) -> State:
        return {"t": 0, "v": [np.zeros_like(p) for p in params]}

    def updates(self, grads: list[np.ndarray], state: State) -> list[np.ndarray]:
        state["t"] += 1
        out = []
        for g, v in zip(grads, state["v"], strict=True):
            v *= self.beta
            v += g
            d = g + self.beta * v if self.nesterov else v.copy()
            d *= -_coef(self.lr, g.dtype)
            out.append(d)
        return out


@dataclass(frozen=True)
class RMSProp:
    """RMSProp (Tieleman & Hinton 2012): ``s <- rho s + (1 - rho) g^2``,
    ``u = -lr g / (sqrt(s) + eps)``."""

    lr: Any = 0.001
    rho: float = 0.9
    eps: float = 1e-8
    name: str = "rmsprop"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _lr(self.lr))
        check_finite_real("rho", self.rho, low=0.0, high=1.0, high_inclusive=False)
        check_finite_real("eps", self.eps, low=0.0, low_inclusive=False)

    def init(self, params: list[np.ndarray]) -> State:
        return {"t": 0, "s": [np.zeros_like(p) for p in params]}

    def updates(self, grads: list[np.ndarray], state: State) -> list[np.ndarray]:
        state["t"] += 1
        out = []
        for g, s in zip(grads, state["s"], strict=True):
            s *= self.rho
            s += (1.0 - self.rho) * (g * g)
            out.append(g * -_coef(self.lr, g.dtype) / (np.sqrt(s) + self.eps))
        return out


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015), bias-corrected; defaults beta1 0.9, beta2 0.999, eps 1e-8."""

    lr: Any = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name: str = "adam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _lr(self.lr))
        check_finite_real("beta1", self.beta1, low=0.0, high=1.0, high_inclusive=False)
        check_finite_real("beta2", self.beta2, low=0.0, high=1.0, high_inclusive=False)
        check_finite_real("eps", self.eps, low=0.0, low_inclusive=False)

    def init(self, params: list[np.ndarray]) -> State:
        return {
            "t": 0,
            "m": [np.zeros_like(p) for p in params],
            "v": [np.zeros_like(p) for p in params],
        }

    def updates(self, grads: list[np.ndarray], state: State) -> list[np.ndarray]:
        state["t"] += 1
        t = state["t"]
        c1 = 1.0 - self.beta1**t
        c2 = 1.0 - self.beta2**t
        out = []
        for g, m, v in zip(grads, state["m"], state["v"], strict=True):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            denom = np.sqrt(v / c2)
            denom += self.eps
            u = m / denom
            u *= -_coef(self.lr, g.dtype) / c1
            out.append(u)
        return out


_OPTIMIZERS = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "nesterov": lambda lr, **kw: Momentum(lr, nesterov=True, **kw),
    "rmsprop": RMSProp,
    "adam": Adam,
}
_PARAMS = {
    "gd": (),
    "momentum": ("beta", "nesterov"),
    "nesterov": ("beta",),
    "rmsprop": ("rho", "eps"),
    "adam": ("beta1", "beta2", "eps"),
}
_ALIASES = {"sgd": "gd", "gradient_descent": "gd"}

#: Every optimizer name accepted by :func:`get_optimizer`, the CLI and the web page.
OPTIMIZERS: tuple[str, ...] = tuple(_OPTIMIZERS)


def get_optimizer(name: str, lr: Any = 0.1, **params: Any) -> Optimizer:
    """The optimizer called ``name`` with learning rate ``lr`` and its own hyper-parameters
    (``beta`` for momentum; ``rho``, ``eps`` for rmsprop; ``beta1``, ``beta2``, ``eps`` for
    adam).  Unknown names or parameters raise a ValueError listing what is allowed."""
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    check_choice("optimizer", key, OPTIMIZERS + tuple(_ALIASES))
    allowed = _PARAMS[key]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"optimizer {key!r} has no parameter {', '.join(map(repr, unknown))}; its "
            f"parameters are: {', '.join(allowed) or 'none besides lr'}"
        )
    return _OPTIMIZERS[key](lr, **params)
