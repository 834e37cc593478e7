"""The variance map and its fixed point ``q*`` (with ``chi_1``), and the correlation map and
its stable fixed point ``c*``; see :mod:`initlab.theory.meanfield` for the method."""

from __future__ import annotations

import math
from typing import Any

from initlab._checks import check_finite_real
from initlab._quadrature import bivariate_gaussian_expectation
from initlab.activations import Activation
from initlab.theory._roots import bracketed_root
from initlab.theory.meanfield.moments import (
    PHASE_TOLERANCE,
    Q_LARGE,
    Q_SMALL,
    _derivative_moment,
    _dphi,
    _limit_q,
    _q0,
    _q_arg,
    _second_moment,
    _variance,
    as_activation,
)

_FIXED_RTOL = 1e-13  # |M(q) - q| <= this * q: q is a fixed point
_STEP = 16.0  # factor between the points tried when bracketing q* ...
_FAR = 1e6  # ... until q leaves [1e-6, 1e6]; then the factor is squared at each step


# --------------------------------------------------------------------------- variance map


def variance_map(activation: Any, q: float, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """``M(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``: the pre-activation variance of the
    next layer when this one has variance ``q`` (at exactly this ``q``).

    Example: ``variance_map("relu", 3.0, 2.0) == 3.0`` (He keeps ReLU's variance)."""
    act = as_activation(activation)
    q = check_finite_real("q", q, low=0.0)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    return sw2 * _second_moment(act, q) + sb2


def _q_star(act: Activation, sw2: float, sb2: float, q0: float) -> float:
    def gap(q: float) -> float:
        return sw2 * _second_moment(act, q) + sb2 - q

    def settled(q: float, g: float) -> bool:
        return abs(g) <= _FIXED_RTOL * q

    g0 = gap(q0)
    if settled(q0, g0):
        return q0
    factor = _STEP
    if g0 > 0:  # q grows: find the first q above q0 where the gap closes
        lo, glo = q0, g0
        while True:
            hi = lo * factor
            if hi > Q_LARGE:
                return math.inf
            ghi = gap(hi)
            if settled(hi, ghi):
                return hi
            if ghi < 0:
                break
            lo, glo = hi, ghi
            if lo > _FAR:  # beyond any activation's features M(q)/q is ~constant
                factor *= factor
    else:  # q shrinks
        hi, ghi = q0, g0
        while True:
            lo = hi / factor
            if lo < Q_SMALL:
                return 0.0
            glo = gap(lo)
            if settled(lo, glo):
                return lo
            if glo > 0:
                break
            hi, ghi = lo, glo
            if hi < 1.0 / _FAR:
                factor *= factor
    if hi <= lo * _STEP:
        return bracketed_root(gap, lo, hi, fa=glo, fb=ghi, rtol=1e-15)
    t = bracketed_root(lambda t: gap(math.exp(t)), math.log(lo), math.log(hi), fa=glo, fb=ghi)
    return math.exp(t)


def q_star(activation: Any, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0) -> float:
    """The fixed point ``q* = M(q*)`` of the variance map reached from ``q0`` (see the
    :mod:`initlab.theory.meanfield` docstring for the method, and for ``q* = 0`` and
    ``q* = inf``).

    Examples: ReLU ``q* = sigma_b^2 / (1 - sigma_w^2 / 2)`` for ``sigma_w^2 < 2``; ``inf`` for
    ``sigma_w^2 > 2``; every q is a fixed point at ``sigma_w^2 = 2, sigma_b = 0`` (``q0`` is
    returned)."""
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    return _q_star(act, sw2, sb2, _q0(q0))


def _chi_1(act: Activation, sw2: float, q: float) -> float:
    return sw2 * _derivative_moment(act, _limit_q(q))


def chi_1(
    activation: Any,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    q: float | None = None,
    q0: float = 1.0,
) -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]`` at the fixed point ``q*`` reached from ``q0``
    (or at the given ``q``; ``q = 0`` and ``q = inf`` are read as limits).

    Examples: ReLU ``chi_1 = sigma_w^2 / 2``; tanh with ``sigma_b = 0, sigma_w^2 <= 1``:
    ``q* = 0`` and ``chi_1 = sigma_w^2``."""
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    qq = _q_star(act, sw2, sb2, _q0(q0)) if q is None else _q_arg(q)
    return _chi_1(act, sw2, qq)


# --------------------------------------------------------------------------- correlation map


def _check_corr(c: Any) -> float:
    return check_finite_real("c", c, low=-1.0, high=1.0)


def _corr_map(act: Activation, sw2: float, sb2: float, q: float, c: float) -> float:
    if c == 1.0:
        return 1.0
    qe = _limit_q(q)
    denom = sw2 * _second_moment(act, qe) + sb2
    s = math.sqrt(qe)
    cross = bivariate_gaussian_expectation(act.forward, act.forward, s, s, c)
    return (sw2 * cross + sb2) / denom if denom > 0 else math.nan


def _corr_slope(act: Activation, sw2: float, sb2: float, q: float, c: float) -> float:
    qe = _limit_q(q)
    denom = sw2 * _second_moment(act, qe) + sb2
    if denom <= 0:
        return math.nan
    dphi = _dphi(act)
    if c == 1.0:
        cross = _derivative_moment(act, qe)
    else:
        s = math.sqrt(qe)
        cross = bivariate_gaussian_expectation(dphi, dphi, s, s, c)
    return sw2 * qe * cross / denom


def correlation_map(
    c: float,
    activation: Any,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    *,
    q: float | None = None,
    q0: float = 1.0,
) -> float:
    """The correlation of two inputs' pre-activations one layer later, given correlation ``c``:
    ``C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / M(q)`` with ``u1 = sqrt(q) z1``,
    ``u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2)``, at ``q = q*`` (from ``q0``) unless ``q`` is given.

    Example (arc-cosine kernel): ReLU with ``sigma_b = 0`` maps ``c`` to
    ``(sqrt(1 - c^2) + (pi - arccos c) c) / pi`` for every ``q`` and ``sigma_w``."""
    cc = _check_corr(c)
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    qq = _q_star(act, sw2, sb2, _q0(q0)) if q is None else _q_arg(q)
    return _corr_map(act, sw2, sb2, qq, cc)


def _c_star(act: Activation, sw2: float, sb2: float, q: float) -> tuple[float, float]:
    """``(c*, chi_c)``: the largest stable fixed point of the correlation map, and its slope."""
    slope_at_1 = _corr_slope(act, sw2, sb2, q, 1.0)
    if not slope_at_1 > 1.0 + PHASE_TOLERANCE:  # c = 1 is stable (or the slope is NaN)
        return 1.0, slope_at_1

    def h(c: float) -> float:
        return _corr_map(act, sw2, sb2, q, c) - c

    c_hi = None
    for k in range(3, 13, 2):
        if h(1.0 - 10.0**-k) < 0:
            c_hi = 1.0 - 10.0**-k
            break
    if c_hi is None:  # the fixed point is closer to 1 than 1e-11
        return 1.0, slope_at_1
    candidates = sorted(
        {1.0 - 10.0**-k for k in range(1, 12)} | {0.75, 0.5, 0.25, 0.0, -0.5, -1.0},
        reverse=True,
    )
    upper, h_upper = c_hi, None
    for c in candidates:
        if c >= c_hi:
            continue
        hc = h(c)
        if hc >= 0:
            root = bracketed_root(h, c, upper, fa=hc, fb=h_upper, xtol=1e-14)
            return root, _corr_slope(act, sw2, sb2, q, root)
        upper, h_upper = c, hc
    return -1.0, _corr_slope(act, sw2, sb2, q, -1.0)


def c_star(activation: Any, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0) -> float:
    """The stable fixed point ``c*`` of the correlation map at ``q*`` (from ``q0``).

    ``c* = 1`` when ``c = 1`` is stable (slope ``chi_1 <= 1``: ordered phase and the edge of
    chaos).  Otherwise (chaotic phase) the largest root of ``C(c) = c`` below 1, found by
    scanning down from 1 and a bracketed root finder; for odd activations with
    ``sigma_b = 0`` it is 0."""
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    q = _q_star(act, sw2, sb2, _q0(q0))
    return _c_star(act, sw2, sb2, q)[0]
