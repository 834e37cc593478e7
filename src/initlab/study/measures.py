"""Two small, generic measurements the diagnostics and the engine do not provide (yet).

They are kept apart from the experiments on purpose, to be moved into
:mod:`initlab.diagnostics` (:func:`cost_rises`) and :mod:`initlab.network`
(:func:`numeric_gradients`) by their owners; the study uses nothing else of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cost_rises", "numeric_gradients"]


def cost_rises(cost: np.ndarray) -> dict[str, Any]:
    """How erratic a cost curve is.

    With ``c_t`` the finite costs in step order and ``d_t = c_{t+1} - c_t``: ``fraction`` is the
    share of steps with ``d_t > 0`` (the cost went up), ``largest`` the largest relative rise
    ``max(d_t / c_t)`` (0 if the cost never rose), ``steps`` the number of differences.
    Gradient descent with a small enough learning rate never raises the full-batch cost, so a
    large ``fraction`` means steps that overshoot.
    """
    c = np.asarray(cost, dtype=np.float64)
    c = c[np.isfinite(c)]
    if c.size < 2:
        return {"fraction": 0.0, "largest": 0.0, "steps": 0}
    d = np.diff(c)
    up = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(c[:-1] > 0, d / np.where(c[:-1] > 0, c[:-1], 1.0), 0.0)
    return {
        "fraction": float(np.mean(up)),
        "largest": float(np.max(rel[up])) if up.any() else 0.0,
        "steps": int(d.size),
    }


def numeric_gradients(
    net: Any, X: np.ndarray, Y: np.ndarray, loss: Any, eps: float = 1e-6
) -> list[np.ndarray]:
    """Central finite differences of the mean cost for every parameter of member 0:
    ``g = (J(p + eps) - J(p - eps)) / (2 eps)``, in the ``[W_1, b_1, W_2, ...]`` order of
    :attr:`initlab.network.Network.params` (each without the population axis).  The network is
    left unchanged.  :func:`initlab.network.gradient_check` does the same but returns only the
    relative error; the worked example prints every entry."""
    from initlab.losses import get_loss
    from initlab.network import forward

    lossf = get_loss(loss)
    X = np.asarray(X, dtype=net.dtype)
    Y = np.asarray(Y, dtype=net.dtype)

    def cost() -> float:
        A, c = forward(net, X)
        return float(lossf.cost(c.Z[-1], A, Y)[0])

    out = []
    for p in net.params:
        g = np.zeros(p.shape[1:])
        for index in np.ndindex(p.shape[1:]):
            sl = (0, *index)
            saved = p[sl]
            p[sl] = saved + eps
            plus = cost()
            p[sl] = saved - eps
            minus = cost()
            p[sl] = saved
            g[index] = (plus - minus) / (2.0 * eps)
        out.append(g)
    return out
