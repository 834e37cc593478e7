"""Analytic predictions of signal propagation in randomly initialised networks.

Four parts, all plain functions returning plain data:

* :mod:`initlab.theory.propagation`: the predicted per-layer variance of the pre-activations
  (forward) and of the back-propagated gradients (backward) of a given MLP with a given
  scheme, and the verdict it implies (vanishing / stable / exploding), before training::

      from initlab import theory
      r = theory.predict_network([784, 300, 300, 300, 10], "tanh", "xavier_normal")
      print(r.format_table()); r.verdict

* :mod:`initlab.theory.meanfield`: the mean-field maps of Poole et al. 2016 and Schoenholz
  et al. 2017 for any elementwise activation: ``q*``, ``chi_1``, the correlation map and
  ``c*``, the edge of chaos and the depth scales::

      theory.critical_sigma_w2("relu")        # 2.0  -> Var(W) = 2 / fan_in (He)
      theory.critical_sigma_w2("tanh")        # 1.0  -> Var(W) = 1 / fan_in (LeCun)
      theory.mean_field("tanh", 1.5, 0.05)    # q*, chi_1, phase, c*, xi_q, xi_c

* :mod:`initlab.theory.residual`: the variance recursion of residual blocks
  ``A_l = A_{l-1} + alpha g(A_{l-1} W_l + b_l)`` (the stream grows with depth unless the
  branches are scaled): ``theory.residual_stream("relu", 64, alpha=1 / 128 ** 0.5)``.
* :mod:`initlab.theory.jacobian`: the singular values of each layer's Jacobian and of the
  input-output Jacobian at initialization, mean and spread per depth (exact mean square,
  Monte Carlo mean and spread): ``theory.jacobian_spectrum("tanh", [64] * 6, 1.0)``.

Everything depends only on NumPy, the schemes library (for ``Var(W)`` of a scheme: one source
of truth) and the activations; nothing here runs the training engine.
"""

from initlab.theory.jacobian import (
    JacobianSpectrum,
    jacobian_singular_values,
    jacobian_spectrum,
)
from initlab.theory.meanfield import (
    PHASE_TOLERANCE,
    Q_LARGE,
    Q_SMALL,
    CriticalPoint,
    DepthScales,
    MeanFieldPoint,
    PhaseDiagram,
    activation_moments,
    as_activation,
    c_star,
    chi_1,
    correlation_map,
    critical_point,
    critical_sigma_w2,
    critical_weight_variance,
    depth_scale,
    depth_scales,
    mean_field,
    phase_diagram,
    q_star,
    variance_map,
)
from initlab.theory.propagation import (
    VERDICT_LAYER_FACTOR,
    VERDICT_TOTAL_FACTOR,
    VERDICTS,
    LayerPrediction,
    PropagationResult,
    Trend,
    judge,
    layer_weight_variances,
    predict_network,
)
from initlab.theory.residual import ResidualPrediction, residual_stream

__all__ = [
    "PHASE_TOLERANCE",
    "Q_LARGE",
    "Q_SMALL",
    "VERDICTS",
    "VERDICT_LAYER_FACTOR",
    "VERDICT_TOTAL_FACTOR",
    "CriticalPoint",
    "DepthScales",
    "JacobianSpectrum",
    "LayerPrediction",
    "MeanFieldPoint",
    "PhaseDiagram",
    "PropagationResult",
    "ResidualPrediction",
    "Trend",
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
    "jacobian_singular_values",
    "jacobian_spectrum",
    "judge",
    "layer_weight_variances",
    "mean_field",
    "phase_diagram",
    "predict_network",
    "q_star",
    "residual_stream",
    "variance_map",
]
