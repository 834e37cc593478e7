"""What training produces: the :class:`History` of a run, and :func:`evaluate` (cost and
accuracy of every member on given data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab._json import jsonable
from initlab.losses import Loss, get_loss
from initlab.network import Network, forward

__all__ = ["History", "accuracy", "evaluate"]


@dataclass
class History:
    """The result of :func:`fit`.

    ``cost[k, t]`` is member k's cost on the batch of step t, before that step's update (NaN
    after the member stopped); ``final_cost[k]`` the cost on the whole training set after the
    last update; ``diverged_at[k]`` the step at which member k's cost or update became NaN/inf
    (None if it never did); ``records`` what each probe recorded, by probe name."""

    cost: np.ndarray
    final_cost: np.ndarray
    diverged_at: list[int | None]
    steps_run: int
    records: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def population(self) -> int:
        return self.cost.shape[0]

    def status(self, k: int = 0) -> str:
        """``"ok"`` or ``"diverged at step N"`` for member ``k``."""
        d = self.diverged_at[k]
        return "ok" if d is None else f"diverged at step {d}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (NaN and inf become None / strings by the JSON writer's rules)."""
        return {
            "cost": jsonable(self.cost),
            "final_cost": jsonable(self.final_cost),
            "diverged_at": list(self.diverged_at),
            "steps_run": self.steps_run,
            "records": jsonable(self.records),
            "meta": jsonable(self.meta),
        }


def accuracy(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Fraction of examples classified right, per member: one output column is thresholded at
    0.5, several are compared by argmax."""
    if Y.shape[-1] == 1:
        return ((A > 0.5) == (Y > 0.5)).mean(axis=(-2, -1))
    return (A.argmax(axis=-1) == Y.argmax(axis=-1)).mean(axis=-1)


def evaluate(net: Network, X: np.ndarray, Y: np.ndarray, loss: Loss | str) -> dict[str, np.ndarray]:
    """Cost and accuracy of every member on ``(X, Y)``: ``{"cost": (K,), "accuracy": (K,)}``."""
    loss = get_loss(loss)
    X = np.asarray(X, dtype=net.dtype)
    Y = np.asarray(Y, dtype=net.dtype)
    with np.errstate(all="ignore"):
        A, cache = forward(net, X)
        return {"cost": loss.cost(cache.Z[-1], A, Y), "accuracy": accuracy(A, Y)}
