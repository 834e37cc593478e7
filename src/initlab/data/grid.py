"""The mesh for decision-boundary plots (:func:`decision_grid`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from initlab._checks import check_finite_real, check_positive_int
from initlab.data._validate import _as_float_matrix


def decision_grid(
    X: Any, steps: int = 100, margin: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``steps x steps`` mesh over the range of 2-D data, for decision-boundary plots.

    ``xx[i, j] = linspace(min x1 - margin, max x1 + margin, steps)[j]`` and likewise ``yy`` along
    ``i`` (``numpy.meshgrid``); ``points`` is ``(steps^2, 2)`` = ``(xx.ravel(), yy.ravel())``, so
    ``predict(points).reshape(xx.shape)`` lines up with the mesh.  ``margin`` is in data units.
    """
    A = _as_float_matrix("X", X)
    if A.shape[1] != 2:
        raise ValueError(
            f"decision_grid needs 2-D points (X of shape (m, 2)), got shape {A.shape}; "
            "a decision boundary can only be drawn for 2 features"
        )
    n = check_positive_int("steps", steps, minimum=2)
    m = check_finite_real("margin", margin, low=0.0)
    lo, hi = A.min(axis=0) - m, A.max(axis=0) + m
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])
