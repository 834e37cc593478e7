"""Plain data for JSON: the one converter every module uses for results, records and configs."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(x: Any) -> Any:
    """``x`` as plain Python for strict JSON, recursively: arrays and tuples become lists, NumPy
    scalars Python numbers, dict keys strings, and non-finite floats the strings ``"nan"``,
    ``"inf"`` and ``"-inf"`` (a diverged run is a result, and strict JSON has no NaN).  Anything
    else that is not a string or None becomes its ``repr``."""
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        v = float(x)
        if math.isfinite(v):
            return v
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if x is None or isinstance(x, str):
        return x
    return repr(x)
