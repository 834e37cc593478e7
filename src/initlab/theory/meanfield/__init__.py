"""Mean-field theory of deep random networks: the variance map, its fixed point q*, the
correlation map, the order-to-chaos boundary (edge of chaos) and the depth scales.

Setting (Poole et al. 2016, "Exponential expressivity in deep neural networks through transient
chaos"; Schoenholz et al. 2017, "Deep information propagation").  A wide network with
i.i.d. zero-mean weights of variance ``sigma_w^2 / fan_in`` and biases of variance
``sigma_b^2``; ``z`` and ``z1, z2`` are independent standard normals.

* Variance map: the variance of the next layer's pre-activations,
  ``M(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``; ``q*`` is its fixed point.
* ``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``: the factor by which the variance of a
  back-propagated gradient (and of a small perturbation) changes per layer.  ``chi_1 < 1`` is
  the ordered phase (inputs become correlated, gradients vanish), ``chi_1 > 1`` the chaotic
  phase (inputs decorrelate, gradients explode), ``chi_1 = 1`` the edge of chaos.
* Correlation map: for two inputs whose pre-activations have variance ``q`` and correlation
  ``c``, with ``u1 = sqrt(q) z1`` and ``u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2)``,
  ``C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / M(q)``.  At ``q = q*`` the denominator
  is ``q*``, the papers' form.  ``c = 1`` is always a fixed point; ``c*`` is the stable one.
* Its slope ``chi_c = sigma_w^2 q E[phi'(u1) phi'(u2)] / M(q)`` at ``c*`` (Price's theorem:
  ``d/dc E[phi(u1) phi(u2)] = q E[phi'(u1) phi'(u2)]``); at ``c* = 1`` it equals ``chi_1``.
* Depth scales (Schoenholz et al. 2017, eqs. 5 and 9): ``xi_q = -1 / log(chi_q)`` and
  ``xi_c = -1 / log(chi_c)``, where
  ``chi_q = chi_1 + sigma_w^2 E[phi''(sqrt(q*) z) phi(sqrt(q*) z)]`` is the slope ``M'(q*)`` of
  the variance map.  By Gaussian integration by parts (Stein's lemma) it equals
  ``sigma_w^2 E[u phi(u) phi'(u)] / q*`` with ``u = sqrt(q*) z``, which needs no second
  derivative and holds for activations with kinks; that is how it is computed here.  A depth
  scale is ``inf`` where the rate is >= 1 (at the edge of chaos, or where q diverges) and 0
  where the rate is 0.

Expectations are one- and two-dimensional Gaussian integrals, evaluated by composite
Gauss-Legendre quadrature with panel edges at the kink of the activation
(:func:`initlab._quadrature.gaussian_expectation_wide`,
:func:`initlab._quadrature.bivariate_gaussian_expectation`) rather than by Gauss-Hermite: ReLU,
leaky ReLU, ELU and SELU have a kink at 0, where Gauss-Hermite converges only algebraically,
while panels that end at 0 are exact to rounding for them; added panel edges at the scales where
activations bend keep the rules accurate for variances from 1e-60 to 1e100.

Finding ``q*``.  The fixed point reached from ``q0`` (default 1, the input's variance) by the
recursion ``q_l = M(q_{l-1})``: ``M`` is increasing for the activations here, so the recursion
moves monotonically from ``q0`` to the nearest fixed point in the direction of ``M(q0) - q0``.
That fixed point is bracketed by steps of a factor 16 (growing once q leaves [1e-6, 1e6],
where the activations have no features left) and then solved with a bracketed root finder
(exact to ~1e-15 relative; plain iteration would need thousands of steps near criticality).
``q0`` itself is returned when ``|M(q0) - q0| <= 1e-13 q0``.  When the recursion runs away,
the result is a number, not an error: ``q* = inf`` when ``M(q) > q`` up to ``q = 1e100``
(e.g. ReLU with ``sigma_w^2 > 2``), ``q* = 0`` when ``M(q) < q`` down to ``q = 1e-60``
(e.g. tanh with ``sigma_b = 0``, ``sigma_w^2 < 1``).  At ``q* = 0`` and ``q* = inf`` every
other quantity is the limit ``q -> 0+`` or ``q -> inf`` (evaluated at ``q = 1e-60`` and
``q = 1e100``); e.g. ``chi_1 = sigma_w^2 / 2`` for ReLU in both limits.

Note on orthogonal weights: the theory treats every scheme through the variance of one entry
(for orthogonal ``gain^2 / max(fan_in, fan_out)``) as if the entries were Gaussian; for wide
layers the forward and backward variances are the same to leading order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from initlab._checks import check_finite_real, check_positive_int
from initlab._json import jsonable
from initlab._quadrature import bivariate_gaussian_expectation, gaussian_expectation_wide
from initlab.activations import Activation, parse_activation
from initlab.theory._roots import bracketed_root

__all__ = [
    "PHASE_TOLERANCE",
    "Q_LARGE",
    "Q_SMALL",
    "CriticalPoint",
    "DepthScales",
    "MeanFieldPoint",
    "PhaseDiagram",
    "activation_moments",
    "as_activation",
    "c_star",
    "chi_1",
    "correlation_map",
    "critical_point",
    "critical_sigma_w2",
    "critical_weight_variance",
    "depth_scale",
    "depth_scales",
    "mean_field",
    "phase_diagram",
    "q_star",
    "variance_map",
]

#: Where the limit q -> 0+ is evaluated, and the smallest q the search for q* visits.
Q_SMALL = 1e-60
#: Where the limit q -> inf is evaluated, and the largest q the search for q* visits.
Q_LARGE = 1e100
#: ``chi_1`` within this of 1 is "critical"; below "ordered", above "chaotic".
PHASE_TOLERANCE = 1e-9
_FIXED_RTOL = 1e-13  # |M(q) - q| <= this * q: q is a fixed point
_STEP = 16.0  # factor between the points tried when bracketing q* ...
_FAR = 1e6  # ... until q leaves [1e-6, 1e6]; then the factor is squared at each step


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
    """The q at which a mean-field quantity is evaluated: limits at 0 and inf (see above)."""
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
    """The fixed point ``q* = M(q*)`` of the variance map reached from ``q0`` (see the module
    docstring for the method, and for ``q* = 0`` and ``q* = inf``).

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


# --------------------------------------------------------------------------- depth scales


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


# --------------------------------------------------------------------------- edge of chaos


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


# --------------------------------------------------------------------------- summaries


def _phase(chi: float) -> str:
    if math.isnan(chi):
        return "undefined"
    if chi < 1.0 - PHASE_TOLERANCE:
        return "ordered"
    if chi > 1.0 + PHASE_TOLERANCE:
        return "chaotic"
    return "critical"


@dataclass(frozen=True)
class MeanFieldPoint:
    """Every mean-field quantity at one ``(sigma_w^2, sigma_b^2)``; ``phase`` is "ordered"
    (``chi_1 < 1``), "critical" (``|chi_1 - 1| <= 1e-9``) or "chaotic"."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    q0: float
    q_star: float
    chi_1: float
    phase: str
    c_star: float
    chi_c: float
    chi_q: float
    xi_q: float
    xi_c: float

    def to_dict(self) -> dict[str, Any]:
        """Plain, strictly JSON-serialisable values (non-finite numbers as "inf"/"nan")."""
        return {k: jsonable(v) for k, v in asdict(self).items()}


def mean_field(
    activation: Any, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0
) -> MeanFieldPoint:
    """:class:`MeanFieldPoint` for an activation at ``(sigma_w^2, sigma_b^2)``: ``q*``,
    ``chi_1``, the phase, ``c*``, ``chi_c``, ``chi_q`` and the depth scales."""
    act = as_activation(activation)
    sw2 = _variance("sigma_w2", sigma_w2)
    sb2 = _variance("sigma_b2", sigma_b2)
    qq0 = _q0(q0)
    q = _q_star(act, sw2, sb2, qq0)
    chi = _chi_1(act, sw2, q)
    cs, chi_c = _c_star(act, sw2, sb2, q)
    chi_q = sw2 * _variance_slope(act, _limit_q(q))
    return MeanFieldPoint(
        act.spec,
        sw2,
        sb2,
        qq0,
        q,
        chi,
        _phase(chi),
        cs,
        chi_c,
        chi_q,
        depth_scale(chi_q),
        depth_scale(chi_c),
    )


@dataclass(frozen=True)
class PhaseDiagram:
    """``chi_1`` and ``q*`` on a grid: ``chi_1[i, j]`` at ``sigma_b2[i]``, ``sigma_w2[j]``;
    ``boundary[i]`` is the critical ``sigma_w^2`` at ``sigma_b2[i]``."""

    activation: str
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    chi_1: np.ndarray
    q_star: np.ndarray
    boundary: np.ndarray
    q0: float

    def to_dict(self) -> dict[str, Any]:
        def clean(a: np.ndarray) -> Any:
            return [jsonable(float(v)) for v in a] if a.ndim == 1 else [clean(r) for r in a]

        return {
            "activation": self.activation,
            "q0": self.q0,
            "sigma_w2": clean(self.sigma_w2),
            "sigma_b2": clean(self.sigma_b2),
            "chi_1": clean(self.chi_1),
            "q_star": clean(self.q_star),
            "boundary": clean(self.boundary),
        }


def _grid(name: str, values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got {values!r}")
    for v in arr:
        _variance(name, float(v))
    return arr


def phase_diagram(
    activation: Any,
    sigma_w2: Sequence[float],
    sigma_b2: Sequence[float],
    *,
    q0: float = 1.0,
) -> PhaseDiagram:
    """``chi_1`` and ``q*`` for every pair of the grids, and the edge of chaos for each
    ``sigma_b2`` (the data of the order-to-chaos phase diagram)."""
    act = as_activation(activation)
    w = _grid("sigma_w2", sigma_w2)
    b = _grid("sigma_b2", sigma_b2)
    qq0 = _q0(q0)
    chi = np.empty((b.size, w.size))
    qs = np.empty((b.size, w.size))
    for i, sb2 in enumerate(b):
        for j, sw2 in enumerate(w):
            q = _q_star(act, float(sw2), float(sb2), qq0)
            qs[i, j] = q
            chi[i, j] = _chi_1(act, float(sw2), q)
    boundary = np.array([_critical_point(act, float(sb2)).sigma_w2 for sb2 in b])
    return PhaseDiagram(act.spec, w, b, chi, qs, boundary, qq0)
