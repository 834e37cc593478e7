"""Singular values of an MLP's Jacobian at initialization: per layer and end to end.

With row vectors (``A_l = g(A_{l-1} W_l + b_l)``) the Jacobian of layer l at one example is
the ``n_{l-1} x n_l`` matrix ``J_l = W_l diag(g'(z_l))`` and the input-output Jacobian after
l layers is ``P_l = J_1 J_2 ... J_l``.  Two results describe their singular values ``s``:

* **Mean square, exact at infinite width** (Poole et al. 2016; Pennington et al. 2017):
  ``E[s^2] = tr(P_l P_l^T) / n_0 = (n_l / n_0) prod_{k <= l} chi_k`` with
  ``chi_k = sigma_w^2 E[g'(u)^2]``, ``u ~ N(0, q_k)``, ``q_k`` from the variance map
  ``q_k = sigma_w^2 E[g(u_{k-1})^2] + sigma_b^2`` (``Var(W) = sigma_w^2 / fan_in``).
* **Mean and spread, by Monte Carlo** of the same random-matrix model: Gaussian ``W_k`` with
  variance ``sigma_w^2 / n_{k-1}`` and ``z_k ~ N(0, q_k)`` drawn independently of ``W_k`` (the
  mean-field assumption; at large width the spectrum depends on the weights' variance only,
  so a uniform law of the same variance gives the same answer).  The free-probability
  result (Pennington et al.) is the limit of this ensemble; the Monte Carlo mean carries a
  standard error, returned with it.

Known values: one square Gaussian layer with ``g' = 1`` has the quarter-circle law, mean
singular value ``8 sigma_w / (3 pi) ~= 0.849 sigma_w``; so Glorot & Bengio's "standard"
``U(-1/sqrt(n), 1/sqrt(n))`` (``sigma_w^2 = 1/3``) gives about 0.49 and their normalised
init (``sigma_w^2 = 1``) about 0.85 before the tanh derivative shrinks it.

:func:`jacobian_singular_values` computes the singular values of given weights and
derivatives (a network's own, or sampled ones); :func:`jacobian_spectrum` is the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab._checks import check_finite_real, check_positive_int
from initlab.theory.meanfield import activation_moments, as_activation

__all__ = ["JacobianSpectrum", "jacobian_singular_values", "jacobian_spectrum"]


def jacobian_singular_values(
    weights: Sequence[np.ndarray], derivatives: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Singular values of each layer's Jacobian ``J_l = W_l diag(d_l)`` and of the products
    ``P_l = J_1 ... J_l``, at every example.

    ``weights[l]``: ``W_{l+1}``, shape ``(n_l, n_{l+1})``; ``derivatives[l]``: ``g'(Z_{l+1})``,
    shape ``(m, n_{l+1})`` for m examples.  Returns ``(layer, product)``: lists with one array
    per layer, shapes ``(m, min(n_l, n_{l+1}))`` and ``(m, min(n_0, n_{l+1}))`` (the product
    has rank at most its smallest width; the other values are ~0)."""
    if len(weights) != len(derivatives):
        raise ValueError(f"{len(weights)} weight matrices but {len(derivatives)} derivative arrays")
    layer, product = [], []
    P = None
    for i, (W, d) in enumerate(zip(weights, derivatives, strict=True)):
        W, d = np.asarray(W, dtype=np.float64), np.asarray(d, dtype=np.float64)
        if W.ndim != 2 or d.ndim != 2 or d.shape[1] != W.shape[1]:
            raise ValueError(
                f"layer {i + 1}: weights of shape {W.shape} need derivatives of shape "
                f"(m, {W.shape[1] if W.ndim == 2 else '?'}), got {d.shape}"
            )
        J = W[None, :, :] * d[:, None, :]
        layer.append(np.linalg.svd(J, compute_uv=False))
        P = J if P is None else P @ J
        product.append(np.linalg.svd(P, compute_uv=False))
    return layer, product


@dataclass(frozen=True)
class JacobianSpectrum:
    """Predicted singular values per depth ``l = 1..L``: ``layer_mean``/``layer_sd`` of
    ``J_l`` alone, ``mean``/``sd`` of the product ``P_l`` (Monte Carlo, with the standard
    error ``mean_se`` of the mean), and the mean square ``E[s^2]`` of ``P_l`` both from the
    Monte Carlo (``mean_square``, standard error ``mean_square_se``) and exactly
    (``mean_square_theory = (n_l / n_0) prod chi_k``)."""

    activation: str
    sizes: tuple[int, ...]
    sigma_w2: tuple[float, ...]
    sigma_b2: float
    samples: int
    q: tuple[float, ...]
    chi: tuple[float, ...]
    layer_mean: tuple[float, ...]
    layer_sd: tuple[float, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    mean_se: tuple[float, ...]
    mean_square: tuple[float, ...]
    mean_square_se: tuple[float, ...]
    mean_square_theory: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _per_layer(value: float | Sequence[float], L: int) -> tuple[float, ...]:
    if isinstance(value, int | float):
        return (check_finite_real("sigma_w2", value, low=0.0),) * L
    vals = tuple(value)
    if len(vals) != L:
        raise ValueError(f"sigma_w2 lists {len(vals)} values for {L} layers")
    return tuple(check_finite_real(f"sigma_w2[{i}]", v, low=0.0) for i, v in enumerate(vals))


def _se(values: Sequence[float]) -> float:
    """Standard error of the mean of independent draws (NaN for one draw)."""
    n = len(values)
    return float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else math.nan


def jacobian_spectrum(
    activation: Any,
    sizes: Sequence[int],
    sigma_w2: float | Sequence[float],
    sigma_b2: float = 0.0,
    *,
    q0: float = 1.0,
    samples: int = 16,
    seed: int = 0,
) -> JacobianSpectrum:
    """The singular values of the Jacobians of an MLP with layer ``sizes`` (``n_0`` inputs,
    then one width per layer), ``Var(W_l) = sigma_w2 / n_{l-1}`` (one value or one per layer)
    and ``Var(b) = sigma_b2``, for inputs with second moment ``q0`` per unit; see the module
    docstring.  ``samples`` independent draws of the whole network (one example each).

    Example: ``jacobian_spectrum("linear", [200, 200], 1.0).layer_mean[0]`` is about
    ``8 / (3 pi) = 0.849``."""
    act = as_activation(activation)
    sizes = tuple(check_positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes))
    if len(sizes) < 2:
        raise ValueError(f"sizes={list(sizes)!r} needs an input size and at least one layer")
    L = len(sizes) - 1
    sw2 = _per_layer(sigma_w2, L)
    sb2 = check_finite_real("sigma_b2", sigma_b2, low=0.0)
    q_in = check_finite_real("q0", q0, low=0.0)
    n = check_positive_int("samples", samples)
    rng = np.random.default_rng(check_positive_int("seed", seed, minimum=0))
    qs, chis = [], []
    second = q_in  # E[A^2] of the layer's input
    for l in range(L):
        q = sw2[l] * second + sb2
        mom = activation_moments(act, q)
        qs.append(q)
        chis.append(sw2[l] * mom["dphi2"])
        second = mom["phi2"]
    lay: list[list[np.ndarray]] = [[] for _ in range(L)]
    prod: list[list[np.ndarray]] = [[] for _ in range(L)]
    ms: list[list[float]] = [[] for _ in range(L)]
    for _ in range(n):
        Ws = [
            rng.normal(0.0, math.sqrt(sw2[l] / sizes[l]), (sizes[l], sizes[l + 1]))
            for l in range(L)
        ]
        ds = []
        for l in range(L):
            z = rng.normal(0.0, math.sqrt(qs[l]), (1, sizes[l + 1]))
            ds.append(act.derivative(z, act.forward(z)))
        layer, product = jacobian_singular_values(Ws, ds)
        for l in range(L):
            lay[l].append(layer[l].ravel())
            prod[l].append(product[l].ravel())
            ms[l].append(float(np.sum(product[l] ** 2)) / sizes[0])
    means = [float(np.mean([s.mean() for s in prod[l]])) for l in range(L)]
    se = [_se([s.mean() for s in prod[l]]) for l in range(L)]
    return JacobianSpectrum(
        activation=act.spec,
        sizes=sizes,
        sigma_w2=sw2,
        sigma_b2=sb2,
        samples=n,
        q=tuple(qs),
        chi=tuple(chis),
        layer_mean=tuple(float(np.concatenate(lay[l]).mean()) for l in range(L)),
        layer_sd=tuple(float(np.concatenate(lay[l]).std()) for l in range(L)),
        mean=tuple(means),
        sd=tuple(float(np.concatenate(prod[l]).std()) for l in range(L)),
        mean_se=tuple(se),
        mean_square=tuple(float(np.mean(ms[l])) for l in range(L)),
        mean_square_se=tuple(_se(ms[l]) for l in range(L)),
        mean_square_theory=tuple(
            sizes[l + 1] / sizes[0] * float(np.prod(chis[: l + 1])) for l in range(L)
        ),
    )
