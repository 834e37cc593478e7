"""Summaries: every mean-field quantity at one point (:func:`mean_field`) and the
order-to-chaos phase diagram on a grid (:func:`phase_diagram`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from initlab._json import jsonable
from initlab.theory.meanfield.critical import _critical_point
from initlab.theory.meanfield.depth import depth_scale
from initlab.theory.meanfield.maps import _c_star, _chi_1, _q_star
from initlab.theory.meanfield.moments import (
    PHASE_TOLERANCE,
    _limit_q,
    _q0,
    _variance,
    _variance_slope,
    as_activation,
)


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
