"""Losses: the cost ``J`` (mean over examples) and the output delta for backpropagation.

Notation follows the seed: for the output layer ``L`` with pre-activation ``Z_L`` (logits) and
activation ``A_L = g(Z_L)``, :meth:`Loss.delta` returns the seed's per-example ``dZ_L``, the
gradient of each example's loss with respect to its ``Z_L`` (the backward pass divides it by
``m`` to get the gradient of the mean cost).  All arrays carry
an optional leading population axis ``K``; costs are returned per member, shape ``(K,)``.

=======================  ================  ========================================================
loss                     output            cost J (mean over the m examples)
=======================  ================  ========================================================
binary_cross_entropy     sigmoid           mean of  max(z, 0) - z y + log(1 + exp(-|z|)),  which is
                                           -[y log(a) + (1 - y) log(1 - a)] computed from the logit
                                           z, so a saturated output gives a finite, exact cost;
                                           dZ = (A - Y) / n_out
cross_entropy            softmax           mean of  logsumexp(z) - sum_j y_j z_j  (= -sum y log a);
                                           dZ = A - Y
mse                      any (linear)      mean over examples and outputs of (a - y)^2;
                                           dZ = 2 (A - Y) / n_out * g'(Z)
=======================  ================  ========================================================

With several outputs, binary_cross_entropy and mse also average over the ``n_out`` outputs (like
PyTorch's ``reduction="mean"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from initlab._checks import check_choice
from initlab.activations import Activation

__all__ = ["LOSSES", "Loss", "get_loss"]


def _check_finite(name: str, Y: np.ndarray) -> None:
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{name} targets contain NaN or inf")


def _check_binary(Y: np.ndarray) -> None:
    _check_finite("binary_cross_entropy", Y)
    if np.any((Y < 0) | (Y > 1)):
        bad = Y[(Y < 0) | (Y > 1)].ravel()[:3]
        raise ValueError(
            f"binary_cross_entropy needs targets in [0, 1] (class labels 0/1), got values such "
            f"as {bad.tolist()}"
        )


def _check_one_hot(Y: np.ndarray) -> None:
    _check_finite("cross_entropy", Y)
    if Y.shape[-1] < 2:
        raise ValueError(
            f"cross_entropy needs one column per class (one-hot, >= 2 classes), got {Y.shape[-1]}"
        )
    if np.any(Y < 0) or not np.allclose(Y.sum(axis=-1), 1.0):
        raise ValueError(
            "cross_entropy needs each target row to be a probability vector (one-hot labels): "
            "non-negative and summing to 1"
        )


def _mean_per_member(x: np.ndarray) -> np.ndarray:
    """Mean over the last two axes (examples, outputs): one cost per population member."""
    k = x.shape[0] if x.ndim == 3 else 1
    return x.reshape(k, -1).sum(axis=1) * (1.0 / (x.shape[-1] * x.shape[-2]))


def _bce_cost(Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # (max(z, 0) - z y) + log(1 + exp(-|z|)), in that order: the first part is exactly 0 for a
    # confident right answer, so its small cost log(1 + exp(-|z|)) survives in float32 too
    # (logaddexp(0, z) - z y loses it to cancellation)
    per = np.maximum(Z, 0)
    per -= Z * Y
    per += np.log1p(np.exp(-np.abs(Z)))
    return _mean_per_member(per)


def _bce_delta(Z: np.ndarray, A: np.ndarray, Y: np.ndarray, g: Activation) -> np.ndarray:
    d = A - Y
    if Z.shape[-1] != 1:
        d /= Z.shape[-1]
    return d


def _ce_cost(Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    zmax = Z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(Z - zmax).sum(axis=-1)) + zmax[..., 0]
    per = lse - (Y * Z).sum(axis=-1)
    return per.sum(axis=-1) * (1.0 / per.shape[-1])


def _ce_delta(Z: np.ndarray, A: np.ndarray, Y: np.ndarray, g: Activation) -> np.ndarray:
    return A - Y


def _mse_cost(Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    d = A - Y
    d *= d
    return _mean_per_member(d)


def _mse_delta(Z: np.ndarray, A: np.ndarray, Y: np.ndarray, g: Activation) -> np.ndarray:
    d = (2.0 / Z.shape[-1]) * (A - Y)
    if g.name != "linear":
        d *= g.derivative(Z, A)
    return d


@dataclass(frozen=True)
class Loss:
    """A loss: its cost, its output delta, the output activation it needs and a target check."""

    name: str
    output_activation: str | None
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    delta: Callable[..., np.ndarray] = field(repr=False)
    check_targets: Callable[[np.ndarray], None] = field(repr=False)
    #: how class labels are encoded for this loss: "binary" (m, 1) or "one_hot" (m, C)
    target_kind: str = "binary"

    def check_output(self, activation: Activation) -> None:
        """Raise a clear error if ``activation`` cannot be this loss's output activation."""
        if self.output_activation is not None and activation.name != self.output_activation:
            raise ValueError(
                f"loss {self.name!r} needs output activation {self.output_activation!r}, got "
                f"{activation.name!r}"
            )
        if self.output_activation is None and not activation.elementwise:
            raise ValueError(f"loss {self.name!r} cannot use output activation {activation.name!r}")


_LOSSES = {
    "binary_cross_entropy": Loss(
        "binary_cross_entropy", "sigmoid", _bce_cost, _bce_delta, _check_binary, "binary"
    ),
    "cross_entropy": Loss(
        "cross_entropy", "softmax", _ce_cost, _ce_delta, _check_one_hot, "one_hot"
    ),
    "mse": Loss("mse", None, _mse_cost, _mse_delta, lambda Y: _check_finite("mse", Y), "binary"),
}
_ALIASES = {
    "bce": "binary_cross_entropy",
    "ce": "cross_entropy",
    "softmax_cross_entropy": "cross_entropy",
    "mean_squared_error": "mse",
}

#: Every loss name accepted by :func:`get_loss`.
LOSSES: tuple[str, ...] = tuple(_LOSSES)


def get_loss(name: str | Loss) -> Loss:
    """Return the loss called ``name`` (``"bce"``, ``"ce"`` and ``"mean_squared_error"`` are
    aliases); a :class:`Loss` is returned unchanged."""
    if isinstance(name, Loss):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    check_choice("loss", key, LOSSES + tuple(_ALIASES))
    return _LOSSES[key]
