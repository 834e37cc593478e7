"""Schoenholz et al.'s depth scales ``xi_q`` and ``xi_c``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from initlab.activations import Activation
from initlab.theory.meanfield.maps import _c_star, _q_star
from initlab.theory.meanfield.moments import (
    _limit_q,
    _q0,
    _variance,
    _variance_slope,
    as_activation,
)


def depth_scale(rate: float) -> float:
    """``xi = -1 / log(rate)``: the number of layers over which a deviation that shrinks by
    ``rate`` per layer falls by a factor e.  ``inf`` for ``rate >= 1`` (no exponential
    convergence), 0 for ``rate == 0``, NaN for NaN; a negative rate uses ``|rate|``."""
    r = abs(float(rate))
    if math.isnan(r):
        return math.nan
    if r >= 1.0:
        return math.inf
    if r == 0.0:
        return 0.0
    return -1.0 / math.log(r)


@dataclass(frozen=True)
class DepthScales:
    """Schoenholz et al.'s depth scales and the rates they come from."""

    xi_q: float
    xi_c: float
    chi_q: float
    chi_c: float


def _depth_scales(act: Activation, sw2: float, sb2: float, q: float) -> DepthScales:
    chi_q = sw2 * _variance_slope(act, _limit_q(q))
    chi_c = _c_star(act, sw2, sb2, q)[1]
    return DepthScales(depth_scale(chi_q), depth_scale(chi_c), chi_q, chi_c)


def depth_scales(
    activation: Any, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0
) -> DepthScales:
    """``xi_q = -1/log(chi_q)`` and ``xi_c = -1/log(chi_c)`` (Schoenholz et al. 2017): the
    depths over which the variance approaches ``q*`` and the correlation approaches ``c*``.

    ``chi_q = M'(q*) = sigma_w^2 E[u phi(u) phi'(u)] / q*`` (= the paper's
    ``chi_1 + sigma_w^2 E[phi'' phi]``), ``chi_c`` the slope of the correlation map at
    ``c*``.  ``xi_c`` diverges at the edge of chaos."""
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    q = _q_star(act, sw2, sb2, _q0(q0))
    return _depth_scales(act, sw2, sb2, q)
