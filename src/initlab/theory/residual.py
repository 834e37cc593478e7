"""The variance recursion of a residual MLP at initialization (mean-field, infinite width).

A residual block maps the stream ``A_{l-1}`` (width n) to
``A_l = A_{l-1} + alpha_l * g(Z_l)`` with ``Z_l = A_{l-1} W_l + b_l``, ``W_l`` i.i.d. with
mean 0 and variance ``sigma_w^2 / n`` and ``b_l`` with variance ``sigma_b^2``.  Per unit, with
``p_l = E[A_l^2]`` (the stream's second moment), ``mu_l = E[A_l]`` (its mean) and
``q_l = Var(Z_l)``::

    q_l  = sigma_w^2 p_{l-1} + sigma_b^2                     (W has mean 0)
    m_l  = E[g(u)],  s_l = E[g(u)^2],   u ~ N(0, q_l)
    mu_l = mu_{l-1} + alpha_l m_l
    p_l  = p_{l-1} + 2 alpha_l mu_{l-1} m_l + alpha_l^2 s_l

At infinite width a unit's pre-activation ``Z_l`` is independent of the same unit of the
stream (it sums n terms, each O(1/sqrt(n))), which gives the cross term
``E[A_{l-1} g(Z_l)] = mu_{l-1} m_l``.  The stream's variance is ``p_l - mu_l^2``.

Consequences, with He weights (``sigma_w^2 = 2``), ``sigma_b = 0`` and a zero-mean input
with ``p_0 = 1``.  For a zero-mean branch output (``m = 0``: an odd activation such as tanh,
or a linear one) ``p_l = p_{l-1} + alpha^2 s_l``; for a linear branch ``s_l = 2 p_{l-1}`` and
so unscaled branches (alpha = 1) give ``p_L = 3^L``, branches scaled by ``alpha = 1 /
sqrt(2L)`` (GPT-2) ``(1 + 1/L)^L -> e``.  A ReLU branch has ``s_l = p_{l-1}`` but also a
positive mean ``m_l = sqrt(q_l / (2 pi))``: the stream's mean grows by ``alpha m`` per block
and the cross term ``2 alpha mu m`` makes the second moment grow far faster than the
zero-mean ``(1 + alpha^2)^L`` (at L = 64: about 160 with ``alpha = 1 / sqrt(2L)`` instead of
``e^(1/2)``).  Zero-initialised branches (``sigma_w^2 = 0``, ``b = 0``, ``g(0) = 0``) leave
the stream as it came in: ``p_L = p_0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from initlab._checks import check_finite_real, check_positive_int
from initlab.theory.meanfield import activation_moments, as_activation

__all__ = ["ResidualPrediction", "residual_stream"]


@dataclass(frozen=True)
class ResidualPrediction:
    """The predicted stream statistics after each block ``l = 0..L`` (index 0 is the input):
    ``second_moment[l] = E[A_l^2]``, ``mean[l] = E[A_l]``, ``variance[l] = p_l - mu_l^2``,
    and ``branch_variance[l - 1] = q_l``, the pre-activation variance inside block ``l``."""

    activation: str
    alpha: tuple[float, ...]
    sigma_w2: float
    sigma_b2: float
    second_moment: tuple[float, ...]
    mean: tuple[float, ...]
    variance: tuple[float, ...]
    branch_variance: tuple[float, ...]

    def growth(self) -> float:
        """``p_L / p_0``: how much the stream's second moment grew over the blocks."""
        return self.second_moment[-1] / self.second_moment[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "alpha": list(self.alpha),
            "sigma_w2": self.sigma_w2,
            "sigma_b2": self.sigma_b2,
            "second_moment": list(self.second_moment),
            "mean": list(self.mean),
            "variance": list(self.variance),
            "branch_variance": list(self.branch_variance),
        }


def _alphas(alpha: float | Sequence[float], depth: int) -> tuple[float, ...]:
    if isinstance(alpha, int | float):
        return (check_finite_real("alpha", alpha),) * depth
    values = tuple(alpha)
    if len(values) != depth:
        raise ValueError(f"alpha lists {len(values)} branch scales for depth={depth} blocks")
    return tuple(check_finite_real(f"alpha[{i}]", a) for i, a in enumerate(values))


def residual_stream(
    activation: Any,
    depth: int,
    alpha: float | Sequence[float] = 1.0,
    sigma_w2: float = 2.0,
    sigma_b2: float = 0.0,
    *,
    p0: float = 1.0,
    mean0: float = 0.0,
) -> ResidualPrediction:
    """The recursion of the module docstring over ``depth`` blocks with branch scale ``alpha``
    (one number, or one per block), weight variance ``sigma_w2 / n`` and bias variance
    ``sigma_b2``, from an input with second moment ``p0`` and mean ``mean0`` per unit.

    Example: ReLU, He weights, unscaled branches, 3 blocks from a zero-mean unit-variance
    input: ``residual_stream("relu", 3).second_moment[1] == 2.0`` (``1 + E[relu(u)^2]``
    with ``u ~ N(0, 2)``)."""
    act = as_activation(activation)
    L = check_positive_int("depth", depth)
    alphas = _alphas(alpha, L)
    sw2 = check_finite_real("sigma_w2", sigma_w2, low=0.0)
    sb2 = check_finite_real("sigma_b2", sigma_b2, low=0.0)
    p = check_finite_real("p0", p0, low=0.0)
    mu = check_finite_real("mean0", mean0)
    if mu * mu > p * (1 + 1e-12):
        raise ValueError(f"mean0={mean0!r} is impossible with p0={p0!r}: need mean0^2 <= p0")
    ps, mus, qs = [p], [mu], []
    for a in alphas:
        q = sw2 * p + sb2
        if not math.isfinite(q):
            q = math.inf
        mom = activation_moments(act, q) if math.isfinite(q) else {"mean": math.inf, "phi2": q}
        m, s = mom["mean"], mom["phi2"]
        p = p + 2.0 * a * mu * m + a * a * s
        mu = mu + a * m
        ps.append(p)
        mus.append(mu)
        qs.append(q)
    var = tuple(
        max(pp - mm * mm, 0.0) if math.isfinite(pp) else pp for pp, mm in zip(ps, mus, strict=True)
    )
    return ResidualPrediction(act.spec, alphas, sw2, sb2, tuple(ps), tuple(mus), var, tuple(qs))
