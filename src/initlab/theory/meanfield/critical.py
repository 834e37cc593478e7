"""The edge of chaos ``chi_1 = 1``: the critical ``sigma_w^2`` (and weight variance) for a bias
variance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab._checks import check_positive_int
from initlab.activations import Activation
from initlab.theory._roots import bracketed_root
from initlab.theory.meanfield.moments import (
    PHASE_TOLERANCE,
    _derivative_moment,
    _second_moment,
    _variance,
    as_activation,
)


@dataclass(frozen=True)
class CriticalPoint:
    """The edge of chaos for one bias variance: ``chi_1 = 1`` at ``sigma_w2``, reached with the
    fixed point ``q_star`` (``inf``: only in the limit of diverging variance; NaN: every q is
    a fixed point there, as for ReLU and linear with ``sigma_b = 0``)."""

    activation: str
    sigma_b2: float
    sigma_w2: float
    q_star: float

    def weight_variance(self, fan_in: int) -> float:
        """``Var(W) = sigma_w2 / fan_in`` for a layer with this fan-in."""
        return self.sigma_w2 / fan_in


_CLEAR = 1e-12  # chi_1 - 1 beyond this counts as clearly chaotic when scanning


def _critical_point(act: Activation, sb2: float) -> CriticalPoint:
    """Follow the curve of fixed points parametrised by q* (Poole et al. 2016): a fixed point
    at ``q`` needs ``sigma_w^2(q) = (q - sigma_b^2) / V(q)`` and has
    ``chi(q) = (q - sigma_b^2) D(q) / V(q)``, ``V = E[phi^2]``, ``D = E[phi'^2]``.  Return the
    first crossing of ``chi = 1`` as q grows from ``sigma_b^2``."""

    def chi(d: float) -> float:  # d = q - sigma_b^2 > 0
        q = sb2 + d
        return float(d * _derivative_moment(act, q) / _second_moment(act, q))

    def sw2_of(d: float) -> float:
        return float(d / _second_moment(act, sb2 + d))

    # log10(q - sigma_b^2) from far below sigma_b^2 (1e-60 when sigma_b = 0) up to 1e100
    lowest = -60.0 if sb2 == 0 else max(-60.0, math.floor(math.log10(sb2)) - 8.0)
    exps = [float(e) for e in np.arange(lowest, 100.0 + 1e-9, 1.0)]
    values: list[float] = []
    clear = None
    for k, e in enumerate(exps):  # scan up to the first clearly chaotic point
        values.append(chi(10.0**e))
        if values[-1] >= 1.0 + _CLEAR:
            clear = k
            break
    if clear is None:
        if all(abs(v - 1.0) <= PHASE_TOLERANCE for v in values):
            # chi = 1 all along the curve (ReLU, leaky ReLU, linear with sigma_b = 0)
            return CriticalPoint(act.spec, sb2, sw2_of(10.0 ** exps[0]), math.nan)
        if abs(values[-1] - 1.0) <= PHASE_TOLERANCE:  # chi -> 1 only as q -> inf
            return CriticalPoint(act.spec, sb2, sw2_of(10.0 ** exps[-1]), math.inf)
        return CriticalPoint(act.spec, sb2, math.nan, math.nan)
    # the last point before it that is clearly ordered (values within 1e-12 of 1 are noise)
    below = next((k for k in range(clear - 1, -1, -1) if values[k] < 1.0 - _CLEAR), None)
    if below is None:  # chi >= 1 from the start: the edge is the end q -> sigma_b^2 (= 0)
        return CriticalPoint(act.spec, sb2, sw2_of(10.0 ** exps[0]), sb2)
    t = bracketed_root(
        lambda e: chi(10.0**e) - 1.0,
        exps[below],
        exps[clear],
        fa=values[below] - 1.0,
        fb=values[clear] - 1.0,
        xtol=1e-15,
        rtol=1e-16,
    )
    d = 10.0**t
    return CriticalPoint(act.spec, sb2, sw2_of(d), sb2 + d)


def critical_point(activation: Any, sigma_b2: float = 0.0) -> CriticalPoint:
    """The edge of chaos ``chi_1 = 1`` for a bias variance: ``sigma_w^2`` and the ``q*`` there.

    Method: along the curve of fixed points parametrised by ``q*`` (Poole et al. 2016), the
    first ``q*`` (from ``sigma_b^2`` upward) where ``chi_1`` crosses 1, by a bracketed root
    finder on a log grid of ``q* - sigma_b^2`` from 1e-60 to 1e100.  When ``sigma_b = 0`` and
    ``phi(0) = 0`` the curve starts at ``q* = 0`` with ``chi_1 = 1`` and
    ``sigma_w^2 = 1 / lim_{q->0} E[phi'(sqrt(q) z)^2]``: if the curve is chaotic right away
    that end is the edge (tanh: ``sigma_w^2 = 1``; ReLU: 2).  For activations whose variance
    map has several stable fixed points the crossing with the smallest ``q*`` is returned.
    ``sigma_w2`` is NaN where no crossing exists."""
    act = as_activation(activation)
    return _critical_point(act, _variance("sigma_b2", sigma_b2))


def critical_sigma_w2(activation: Any, sigma_b2: float = 0.0) -> float:
    """The ``sigma_w^2 = fan_in * Var(W)`` at the edge of chaos (see :func:`critical_point`).

    Examples: 2 for ReLU (any ``sigma_b``), 1 for tanh with ``sigma_b = 0``; so the critical
    weight variance is ``2 / fan_in`` (He) and ``1 / fan_in`` (LeCun)."""
    return critical_point(activation, sigma_b2).sigma_w2


def critical_weight_variance(activation: Any, fan_in: int, sigma_b2: float = 0.0) -> float:
    """``Var(W) = critical_sigma_w2 / fan_in``: the edge-of-chaos weight variance of a layer."""
    n = check_positive_int("fan_in", fan_in)
    return critical_sigma_w2(activation, sigma_b2) / n
