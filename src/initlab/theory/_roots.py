"""A bracketed root finder in plain Python (the core does not depend on SciPy).

``bracketed_root(f, a, b)`` needs ``f(a)`` and ``f(b)`` of opposite signs (or one of them 0)
and returns ``x`` in ``[a, b]`` with a sign change of ``f`` inside ``[x - tol, x + tol]``.  It
takes the Illinois (modified regula falsi) step, which converges superlinearly for smooth
``f``, and falls back to bisection whenever a step fails to halve the bracket, so it never
needs more than about twice the bisection count even for discontinuous ``f``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["bracketed_root"]


def bracketed_root(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    fa: float | None = None,
    fb: float | None = None,
    xtol: float = 0.0,
    rtol: float = 4e-16,
    maxiter: int = 400,
) -> float:
    """A root of ``f`` in the bracket ``[a, b]`` (see the module docstring).

    Stops when the bracket is narrower than ``xtol + rtol * |x|`` or ``f`` is exactly 0.
    Raises ValueError when ``f(a)`` and ``f(b)`` have the same sign or either is NaN."""
    if a > b:
        a, b, fa, fb = b, a, fb, fa
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    if math.isnan(fa) or math.isnan(fb):
        raise ValueError(f"the function is NaN at an end of the bracket [{a!r}, {b!r}]")
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError(f"no sign change in [{a!r}, {b!r}]: f(a) = {fa!r}, f(b) = {fb!r}")
    side = 0  # which end was kept last time (for the Illinois halving)
    checkpoint, slow_steps = b - a, 0
    for _ in range(maxiter):
        if b - a <= xtol + rtol * max(abs(a), abs(b)):
            break
        x = (a * fb - b * fa) / (fb - fa)  # regula falsi
        if slow_steps >= 3 or not (a < x < b):
            x = 0.5 * (a + b)  # bisection when the bracket has not halved in 3 steps
        fx = f(x)
        if math.isnan(fx):
            raise ValueError(f"the function is NaN at {x!r} inside the bracket")
        if fx == 0.0:
            return x
        if (fx > 0) == (fa > 0):
            a, fa = x, fx
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = x, fx
            if side == 1:
                fa *= 0.5
            side = 1
        if b - a <= 0.5 * checkpoint:
            checkpoint, slow_steps = b - a, 0
        else:
            slow_steps += 1
    return a if abs(fa) < abs(fb) else b
