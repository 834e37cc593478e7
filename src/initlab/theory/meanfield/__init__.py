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

Layout: every name is importable from ``initlab.theory.meanfield``; the code lives in
``moments`` (argument checks, the Gaussian moments, ``Q_SMALL``/``Q_LARGE``/``PHASE_TOLERANCE``),
``maps`` (variance and correlation maps, ``q*``, ``chi_1``, ``c*``), ``depth`` (depth scales),
``critical`` (the edge of chaos) and ``summary`` (:func:`mean_field`, :func:`phase_diagram`).
"""

from initlab.theory.meanfield.critical import (
    CriticalPoint,
    critical_point,
    critical_sigma_w2,
    critical_weight_variance,
)
from initlab.theory.meanfield.depth import DepthScales, depth_scale, depth_scales
from initlab.theory.meanfield.maps import c_star, chi_1, correlation_map, q_star, variance_map
from initlab.theory.meanfield.moments import (
    PHASE_TOLERANCE,
    Q_LARGE,
    Q_SMALL,
    _derivative_moment,  # noqa: F401  (initlab.theory.propagation uses it)
    _second_moment,  # noqa: F401  (initlab.theory.propagation uses it)
    activation_moments,
    as_activation,
)
from initlab.theory.meanfield.summary import MeanFieldPoint, PhaseDiagram, mean_field, phase_diagram

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
