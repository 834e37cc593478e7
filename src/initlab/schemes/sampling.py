"""Distributions and the one place where random numbers are drawn.

Every random scheme describes what it draws as a :class:`Distribution` (plain numbers) and
calls :func:`draw`.  Drawing follows four rules:

* every draw, re-draws included, goes through the one ``numpy.random.Generator`` passed in;
* values are sampled in float64 and cast to the requested dtype, and the bounds are checked
  again after the cast (a value that rounds onto or past a bound is re-drawn, never clipped);
* "normal" always means untruncated;
* a truncated normal is sampled by rejection (never by the inverse CDF, which leaves
  outliers at the bounds for small std), choosing the proposal that is efficient for the
  interval: the normal itself, a uniform on [a, b], or Robert's (1995) exponential proposal
  for an interval far in a tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab._checks import check_finite_real

__all__ = [
    "Distribution",
    "constant_distribution",
    "draw",
    "RejectionPlan",
    "normal_distribution",
    "rejection_plan",
    "truncated_normal_distribution",
    "truncated_normal_std",
    "uniform_distribution",
]

_SQRT2 = math.sqrt(2.0)
_MAX_REDRAW_ROUNDS = 1000


@dataclass(frozen=True)
class Distribution:
    """What a random scheme draws from.

    ``kind`` is ``"constant"``, ``"normal"``, ``"uniform"`` or ``"truncated_normal"``; ``mean``
    and ``std`` are the moments of the values drawn (truncation included); ``low``/``high`` the
    support.  For a truncated normal ``loc`` and ``sigma`` are the parameters of the normal
    before truncation and the support is ``[loc + a sigma, loc + b sigma]``.
    """

    kind: str
    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf
    loc: float = math.nan
    sigma: float = math.nan

    @property
    def variance(self) -> float:
        return self.std * self.std


def constant_distribution(value: float) -> Distribution:
    """Every entry equals ``value``."""
    v = check_finite_real("value", value)
    return Distribution("constant", v, 0.0, v, v)


def normal_distribution(std: float, mean: float = 0.0) -> Distribution:
    """``N(mean, std^2)``, untruncated."""
    s = check_finite_real("std", std, low=0.0)
    m = check_finite_real("mean", mean)
    return Distribution("normal", m, s, loc=m, sigma=s)


def uniform_distribution(low: float, high: float) -> Distribution:
    """``U[low, high)``: mean ``(low + high) / 2``, std ``(high - low) / sqrt(12)``."""
    lo = check_finite_real("low", low)
    hi = check_finite_real("high", high)
    if not lo < hi:
        raise ValueError(f"low must be < high, got low={low!r}, high={high!r}")
    return Distribution("uniform", (lo + hi) / 2.0, (hi - lo) / math.sqrt(12.0), lo, hi)


def _phi(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _mass(a: float, b: float) -> float:
    """``Phi(b) - Phi(a)`` without cancellation in either tail."""
    if a >= 0.0:
        return 0.5 * (math.erfc(a / _SQRT2) - math.erfc(b / _SQRT2))
    if b <= 0.0:
        return 0.5 * (math.erfc(-b / _SQRT2) - math.erfc(-a / _SQRT2))
    return 1.0 - 0.5 * (math.erfc(-a / _SQRT2) + math.erfc(b / _SQRT2))


def _truncated_moments(a: float, b: float) -> tuple[float, float]:
    """Mean and std of a standard normal truncated to [a, b]."""
    z = _mass(a, b)
    if z <= 0.0:
        raise ValueError(f"the interval [{a}, {b}] has no probability mass under N(0, 1)")
    pa, pb = _phi(a), _phi(b)
    apa = 0.0 if math.isinf(a) else a * pa
    bpb = 0.0 if math.isinf(b) else b * pb
    mean = (pa - pb) / z
    var = 1.0 + (apa - bpb) / z - mean * mean
    return mean, math.sqrt(max(var, 0.0))


def truncated_normal_std(a: float = -2.0, b: float = 2.0) -> float:
    """Std of a standard normal truncated to ``[a, b]``; 0.87962566103423978 for ``[-2, 2]``.

    ``var = 1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2`` with
    ``Z = Phi(b) - Phi(a)``.
    """
    return _truncated_moments(a, b)[1]


def truncated_normal_distribution(
    std: float, mean: float = 0.0, a: float = -2.0, b: float = 2.0, correct_std: bool = True
) -> Distribution:
    """A normal truncated at ``a`` and ``b`` standard deviations, by rejection.

    With ``correct_std=True`` the normal before truncation has ``sigma = std / s(a, b)``, where
    ``s(a, b)`` is :func:`truncated_normal_std`, so the values drawn have exactly the requested
    ``std``; the support is ``[mean + a sigma, mean + b sigma]``.  With ``correct_std=False``,
    ``sigma = std`` and the values drawn have the smaller std ``std * s(a, b)``.  ``mean`` is
    the location of the normal; the values' mean equals it when ``a = -b``.
    """
    s = check_finite_real("std", std, low=0.0)
    m = check_finite_real("mean", mean)
    lo = check_finite_real("a", a, allow_inf=True)
    hi = check_finite_real("b", b, allow_inf=True)
    if not lo < hi:
        raise ValueError(f"a must be < b (in standard deviations), got a={a!r}, b={b!r}")
    t_mean, t_std = _truncated_moments(lo, hi)
    if t_std <= 0.0:
        raise ValueError(f"the truncation interval [{a}, {b}] is too narrow to sample")
    sigma = s / t_std if correct_std else s
    return Distribution(
        "truncated_normal",
        mean=m + sigma * t_mean,
        std=sigma * t_std,
        low=m + lo * sigma if sigma > 0 else m,
        high=m + hi * sigma if sigma > 0 else m,
        loc=m,
        sigma=sigma,
    )


@dataclass(frozen=True)
class RejectionPlan:
    """How to sample ``N(0, 1)`` conditioned on ``[a, b]`` (``b >= 0``; mirror a left-tail
    interval first) by rejection, with the proposal that accepts most:

    * ``"normal"``: the normal itself, acceptance ``Phi(b) - Phi(a)``;
    * ``"uniform"``: ``x ~ U[a, b]`` accepted with probability ``exp((peak^2 - x^2) / 2)``,
      ``peak`` the point of ``[a, b]`` nearest 0;
    * ``"exp"``: Robert's (1995) shifted exponential for a right-tail interval,
      ``x = a + Exp(alpha)`` with ``alpha = (a + sqrt(a^2 + 4)) / 2``, accepted with probability
      ``exp(-(x - alpha)^2 / 2)`` and ``x <= b``.

    Shared by the NumPy sampler here and the torch sampler of :mod:`initlab.torch`."""

    kind: str
    acceptance: float
    peak: float
    alpha: float


def rejection_plan(a: float, b: float) -> RejectionPlan:
    """The :class:`RejectionPlan` for ``[a, b]`` with ``b >= 0``."""
    mass = _mass(a, b)
    if mass <= 0.0:
        raise ValueError(f"the interval [{a}, {b}] has no probability mass under N(0, 1)")
    finite = math.isfinite(a) and math.isfinite(b)
    peak = 0.0 if a <= 0.0 <= b else a
    accept_uniform = (
        mass * math.sqrt(2.0 * math.pi) / ((b - a) * math.exp(-0.5 * peak * peak))
        if finite
        else 0.0
    )
    alpha = (a + math.sqrt(a * a + 4.0)) / 2.0 if a > 0.0 else 0.0
    accept_exp = 0.7 * (1.0 - math.exp(-alpha * (b - a))) if a > 0.0 else 0.0
    kind, acceptance = max(
        (("normal", mass), ("uniform", accept_uniform), ("exp", accept_exp)), key=lambda p: p[1]
    )
    return RejectionPlan(kind, acceptance, peak, alpha)


def _standard_truncated(rng: np.random.Generator, n: int, a: float, b: float) -> np.ndarray:
    """``n`` draws of N(0, 1) conditioned on [a, b], by rejection (see :class:`RejectionPlan`)."""
    if b < 0.0:  # mirror the left tail onto the right
        return -_standard_truncated(rng, n, -b, -a)
    plan = rejection_plan(a, b)
    peak, alpha = plan.peak, plan.alpha
    out = np.empty(n)
    filled = 0
    for _ in range(_MAX_REDRAW_ROUNDS * 10):
        need = n - filled
        if need == 0:
            return out
        batch = int(need / max(plan.acceptance, 1e-6) * 1.1) + 16
        if plan.kind == "normal":
            x = rng.standard_normal(batch)
            x = x[(x >= a) & (x <= b)]
        elif plan.kind == "uniform":
            x = rng.uniform(a, b, batch)
            u = rng.random(batch)
            x = x[u <= np.exp(0.5 * (peak * peak - x * x))]
        else:
            x = a + rng.exponential(1.0 / alpha, batch)
            u = rng.random(batch)
            x = x[(u <= np.exp(-0.5 * (x - alpha) ** 2)) & (x <= b)]
        take = min(need, x.size)
        out[filled : filled + take] = x[:take]
        filled += take
    raise RuntimeError(f"rejection sampling on [{a}, {b}] did not finish")  # pragma: no cover


def _sample(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    if dist.kind == "normal":
        return dist.loc + dist.sigma * rng.standard_normal(n)
    if dist.kind == "uniform":
        return rng.uniform(dist.low, dist.high, n)
    if dist.kind == "truncated_normal":
        if dist.sigma == 0.0:
            return np.full(n, dist.loc)
        a = (dist.low - dist.loc) / dist.sigma
        b = (dist.high - dist.loc) / dist.sigma
        return dist.loc + dist.sigma * _standard_truncated(rng, n, a, b)
    if dist.kind == "constant":
        return np.full(n, dist.mean)
    raise ValueError(f"unknown distribution kind {dist.kind!r}")  # pragma: no cover


def _outside(x: np.ndarray, dist: Distribution) -> np.ndarray:
    """Entries of the cast array that break the distribution's support."""
    if dist.kind == "uniform":
        return (x < dist.low) | (x >= dist.high)
    if dist.kind == "truncated_normal":
        return (x < dist.low) | (x > dist.high)
    return np.zeros(x.shape, dtype=bool)


def _cast(values: np.ndarray, dist: Distribution, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = values.astype(dtype)
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{dist.kind} values with mean {dist.mean:g} and std {dist.std:g} overflow "
            f"{np.dtype(dtype)} (largest finite value {np.finfo(dtype).max:g}); "
            "use a wider dtype or a smaller scale"
        )
    return x


def draw(
    dist: Distribution, shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """Sample ``shape`` values of ``dist`` in float64 with ``rng`` and cast them to ``dtype``.

    Entries whose cast value rounds onto or past a bound of the support are re-drawn with the
    same generator until every entry is valid.  A value that overflows the dtype (a std so large
    that float16 cannot hold it, say) is an error, never silently re-drawn or clipped.
    """
    n = math.prod(shape)
    x = _cast(_sample(dist, rng, n), dist, dtype)
    for _ in range(_MAX_REDRAW_ROUNDS):
        bad = np.flatnonzero(_outside(x, dist))
        if bad.size == 0:
            return x.reshape(shape)
        x[bad] = _cast(_sample(dist, rng, bad.size), dist, dtype)
    raise ValueError(
        f"cannot draw {dist.kind} values on [{dist.low:g}, {dist.high:g}] in {np.dtype(dtype)}: "
        "the cast values keep rounding onto or past the bounds"
    )
