"""Gains: the factor by which an activation's scale is corrected in He/Xavier-style schemes.

The table (the same values as ``torch.nn.init.calculate_gain``):

===============  ==============================  =========================================
activation       gain                            why
===============  ==============================  =========================================
linear, conv*    1                               identity keeps the variance
sigmoid          1                               (convention)
tanh             5/3                             (convention, torch's value)
relu             sqrt(2)                         E[relu(z)^2] = 1/2 for z ~ N(0, 1)
leaky_relu(a)    sqrt(2 / (1 + a^2))             E[leaky(z)^2] = (1 + a^2) / 2
selu             3/4                             torch's value; for self-normalising nets
                                                 use gain 1 (lecun_normal) instead
===============  ==============================  =========================================

For any other elementwise activation the *numeric gain* is used:
``gain = 1 / sqrt(E[g(z)^2])`` with ``z ~ N(0, 1)``, evaluated by quadrature.  It is the gain that
keeps the second moment of the pre-activations at 1 from layer to layer under ``Var(W) =
gain^2 / fan_in``, and it reproduces the table's relu, leaky_relu and linear entries exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from initlab._checks import check_finite_real
from initlab._quadrature import gaussian_expectation

__all__ = ["GAIN_TABLE", "calculate_gain", "numeric_gain"]

#: The tabulated gains; leaky_relu is a function of its negative slope.
GAIN_TABLE: dict[str, float | Callable[[float], float]] = {
    "linear": 1.0,
    "identity": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    # sqrt(2) / hypot(1, a) is sqrt(2 / (1 + a^2)) without overflowing a^2 for huge slopes
    "leaky_relu": lambda a: math.sqrt(2.0) / math.hypot(1.0, a),
    "selu": 0.75,
}


def numeric_gain(activation: Callable[[np.ndarray], np.ndarray]) -> float:
    """``1 / sqrt(E[g(z)^2])`` for ``z ~ N(0, 1)``: the gain of any elementwise activation ``g``.

    Example: ``numeric_gain(lambda z: np.maximum(z, 0))`` is ``sqrt(2)`` to 1e-12.
    """
    if not callable(activation):
        raise TypeError(f"activation must be callable, got {activation!r}")
    second_moment = gaussian_expectation(lambda z: np.square(activation(z)))
    if not math.isfinite(second_moment) or second_moment <= 0.0:
        raise ValueError(
            f"the activation's second moment under N(0, 1) is {second_moment}; "
            "a gain needs a finite, positive second moment"
        )
    return 1.0 / math.sqrt(second_moment)


def calculate_gain(activation: Any, param: float | None = None) -> float:
    """Return the recommended gain for ``activation``.

    ``activation`` is a name from the table (``"relu"``, ``"leaky_relu"`` with ``param`` its
    negative slope, default 0.01), a name of an initlab activation the table does not list
    (``"gelu"``, ``"silu"``, ``"elu"``, ``"softplus"``, ``"mish"`` ...; numeric gain), an
    :class:`initlab.activations.Activation`, or any elementwise callable (numeric gain).
    Examples: ``calculate_gain("leaky_relu", 0.2) == 1.3867504905630728``;
    ``calculate_gain("tanh") == 5/3``.
    """
    from initlab.activations import ACTIVATIONS, Activation, get_activation

    if isinstance(activation, Activation):
        if activation.name in GAIN_TABLE:
            return calculate_gain(activation.name, activation.param)
        return numeric_gain(activation.forward)
    if isinstance(activation, str):
        if activation in GAIN_TABLE:
            entry = GAIN_TABLE[activation]
            if callable(entry):
                slope = (
                    0.01 if param is None else check_finite_real("param (negative slope)", param)
                )
                return entry(slope)
            if param is not None:
                raise ValueError(f"activation {activation!r} takes no parameter, got {param!r}")
            return float(entry)
        if activation in ACTIVATIONS and activation != "softmax":
            return numeric_gain(get_activation(activation, param).forward)
        known = sorted(set(GAIN_TABLE) | set(ACTIVATIONS) - {"softmax"})
        raise ValueError(
            f"activation={activation!r} has no gain; choose one of: {', '.join(known)}, "
            "or pass the activation itself as a callable"
        )
    if callable(activation):
        return numeric_gain(activation)
    raise TypeError(f"activation must be a name or a callable, got {activation!r}")
