"""Tolerances for statistical tests, derived from the sample size.

With fixed seeds every test is deterministic; the bounds are set at Z standard errors so that a
correct implementation fails with probability ~1e-6 under a fresh seed, while a wrong scale
(even a few percent off at these sample sizes) fails reliably.
"""

import math

import numpy as np

Z = 5.0


def check_mean(x: np.ndarray, mean: float, std: float) -> None:
    n = x.size
    tol = Z * std / math.sqrt(n)
    assert abs(float(x.mean()) - mean) <= tol, (float(x.mean()), mean, tol)


def check_variance(x: np.ndarray, variance: float, kurtosis: float) -> None:
    """``Var(s^2) ~= sigma^4 (kurtosis - 1) / n`` for a sample of size n (kurtosis, not excess)."""
    n = x.size
    s2 = float(x.var(ddof=1))
    tol = Z * variance * math.sqrt((kurtosis - 1.0) / n)
    assert abs(s2 - variance) <= tol, (s2, variance, tol)


KURTOSIS = {"normal": 3.0, "uniform": 1.8}
