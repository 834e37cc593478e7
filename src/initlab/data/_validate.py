"""The one check every array entering :mod:`initlab.data` goes through: a finite 2-D float
matrix."""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_float_matrix(name: str, X: Any, allow_empty: bool = False) -> np.ndarray:
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {type(X).__name__}") from exc
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {A.shape}")
    if A.shape[1] == 0 or (A.shape[0] == 0 and not allow_empty):
        raise ValueError(f"{name} must have at least one row and one column, got shape {A.shape}")
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite, but {name}[{r}, {c}] = {A[r, c]} "
            f"({int(bad.sum())} non-finite value(s))"
        )
    return A
