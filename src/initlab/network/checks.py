"""Checking a network's data and its backward pass: :func:`check_data` validates inputs and
targets against a network and a loss (the training loop calls it), :func:`gradient_check`
compares backpropagation with central finite differences (:func:`numeric_gradients`).
"""

from __future__ import annotations

import math

import numpy as np

from initlab._checks import ParameterError, check_finite_real
from initlab.losses import Loss, get_loss
from initlab.network import Network, backward, forward

__all__ = ["check_data", "gradient_check", "numeric_gradients"]


def check_data(net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str) -> Loss:
    """Validate inputs and targets against the network and the loss; returns the loss."""
    loss = get_loss(loss)
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise ParameterError(
            "X",
            X.shape,
            f"shape (m, {net.sizes[0]})",
            f"X must have shape (m, {net.sizes[0]}) for a network with {net.sizes[0]} inputs, "
            f"got {X.shape}",
        )
    if Y.ndim != 2 or Y.shape != (X.shape[0], net.sizes[-1]):
        raise ParameterError(
            "Y",
            Y.shape,
            f"shape ({X.shape[0]}, {net.sizes[-1]})",
            f"Y must have shape ({X.shape[0]}, {net.sizes[-1]}) (one row per example, one column "
            f"per output), got {Y.shape}",
        )
    if not np.all(np.isfinite(X)):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
        raise ParameterError(
            "X",
            f"{bad} NaN/inf entries",
            "finite numbers",
            f"X contains NaN or inf ({bad} entries)",
        )
    loss.check_output(net.activations[-1])
    loss.check_targets(Y)
    return loss


def numeric_gradients(
    net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str, eps: float = 1e-6
) -> list[np.ndarray]:
    """Central finite differences of the mean cost for every parameter, every member at once:
    ``g = (J(p + eps) - J(p - eps)) / (2 eps)``, aligned with :attr:`Network.params` (same
    shapes, population axis included).  Members are independent, so perturbing one entry in
    all members at once costs one forward pair per entry of one member.  The network is left
    unchanged."""
    loss = check_data(net, np.asarray(X), np.asarray(Y), loss)
    X = np.asarray(X, dtype=net.dtype)
    Y = np.asarray(Y, dtype=net.dtype)
    eps = check_finite_real("eps", eps, low=0.0, low_inclusive=False)

    def cost() -> np.ndarray:
        A, c = forward(net, X)
        return loss.cost(c.Z[-1], A, Y)

    out = []
    for p in net.params:
        g = np.zeros(p.shape)
        for index in np.ndindex(p.shape[1:]):
            sl = (slice(None), *index)
            saved = p[sl].copy()
            p[sl] = saved + eps
            plus = cost()
            p[sl] = saved - eps
            minus = cost()
            p[sl] = saved
            g[sl] = (plus - minus) / (2.0 * eps)
        out.append(g)
    return out


def gradient_check(
    net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str, eps: float = 1e-6
) -> float:
    """Relative error between backpropagation and central finite differences
    (:func:`numeric_gradients`): ``||g_num - g_backprop|| / (||g_num|| + ||g_backprop||)`` over
    all parameters and members (0 if both are 0).  Below 1e-7 in float64 means the backward
    pass is right.  The network is left unchanged."""
    loss = check_data(net, np.asarray(X), np.asarray(Y), loss)
    Xd = np.asarray(X, dtype=net.dtype)
    Yd = np.asarray(Y, dtype=net.dtype)
    A, cache = forward(net, Xd)
    analytic = backward(net, cache, Yd, loss).params
    numeric = numeric_gradients(net, Xd, Yd, loss, eps)
    diff = math.sqrt(
        sum(float(np.sum((n - a) ** 2)) for n, a in zip(numeric, analytic, strict=True))
    )
    denom = math.sqrt(sum(float(np.sum(n**2)) for n in numeric)) + math.sqrt(
        sum(float(np.sum(a**2)) for a in analytic)
    )
    return 0.0 if denom == 0.0 else diff / denom
