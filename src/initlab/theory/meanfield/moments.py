"""Validation of the mean-field arguments and the Gaussian moments of an activation that every
map is built from; see :mod:`initlab.theory.meanfield` for the setting and the limits
``q -> 0+`` and ``q -> inf``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from initlab._checks import check_finite_real
from initlab._quadrature import gaussian_expectation_wide
from initlab.activations import Activation, parse_activation

#: Where the limit q -> 0+ is evaluated, and the smallest q the search for q* visits.
Q_SMALL = 1e-60
#: Where the limit q -> inf is evaluated, and the largest q the search for q* visits.
Q_LARGE = 1e100
#: ``chi_1`` within this of 1 is "critical"; below "ordered", above "chaotic".
PHASE_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- validation


def as_activation(activation: Any, name: str = "activation") -> Activation:
    """An elementwise :class:`Activation` from a name (``"tanh"``, ``"leaky_relu:0.2"``) or an
    Activation; softmax and other non-elementwise functions are refused."""
    if isinstance(activation, str):
        try:
            act = parse_activation(activation)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    elif isinstance(activation, Activation):
        act = activation
    else:
        raise TypeError(
            f"{name} must be an activation name such as 'tanh' or 'leaky_relu:0.2', or an "
            f"initlab.activations.Activation, got {activation!r}"
        )
    if not act.elementwise:
        raise ValueError(
            f"{name}={act.spec!r} is not elementwise; mean-field theory needs an elementwise "
            "activation (softmax can only be the output layer's)"
        )
    return act


def _variance(name: str, value: Any) -> float:
    return check_finite_real(name, value, low=0.0)


def _q0(value: Any) -> float:
    return check_finite_real("q0", value, low=0.0, low_inclusive=False)


def _q_arg(value: Any) -> float:
    return check_finite_real("q", value, low=0.0, allow_inf=True)


# --------------------------------------------------------------------------- expectations


def _phi(act: Activation) -> Callable[[np.ndarray], np.ndarray]:
    return act.forward


def _dphi(act: Activation) -> Callable[[np.ndarray], np.ndarray]:
    return lambda u: act.derivative(u, act.forward(u))


def _limit_q(q: float) -> float:
    """The q at which a mean-field quantity is evaluated: limits at 0 and inf (see the
    :mod:`initlab.theory.meanfield` docstring)."""
    return min(max(q, Q_SMALL), Q_LARGE)


def _second_moment(act: Activation, q: float) -> float:
    """``E[phi(sqrt(q) z)^2]`` at exactly this ``q`` (``q = 0``: ``phi(0)^2``)."""
    phi = act.forward
    return gaussian_expectation_wide(lambda u: np.square(phi(u)), math.sqrt(q))


def _derivative_moment(act: Activation, q: float) -> float:
    """``E[phi'(sqrt(q) z)^2]`` at exactly this ``q``."""
    dphi = _dphi(act)
    return gaussian_expectation_wide(lambda u: np.square(dphi(u)), math.sqrt(q))


def _variance_slope(act: Activation, q: float) -> float:
    """``d/dq E[phi(sqrt(q) z)^2] = E[u phi(u) phi'(u)] / q`` with ``u = sqrt(q) z``."""
    phi, dphi = act.forward, _dphi(act)
    return gaussian_expectation_wide(lambda u: u * phi(u) * dphi(u), math.sqrt(q)) / q


def activation_moments(activation: Any, q: float) -> dict[str, float]:
    """The Gaussian moments of an activation at pre-activation variance ``q``:
    ``{"phi2": E[phi(u)^2], "dphi2": E[phi'(u)^2], "mean": E[phi(u)]}``, ``u ~ N(0, q)``,
    at exactly this ``q`` (``q = 0`` gives the values at 0).  Example:
    ``activation_moments("relu", 2.0)["phi2"] == 1.0``."""
    act = as_activation(activation)
    q = check_finite_real("q", q, low=0.0)
    return {
        "phi2": _second_moment(act, q),
        "dphi2": _derivative_moment(act, q),
        "mean": gaussian_expectation_wide(act.forward, math.sqrt(q)),
    }
