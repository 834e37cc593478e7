"""What a probe sees and when it looks: :class:`StepEvent` (one step's parameters, cache,
gradients and update), the :class:`Probe` protocol, :class:`Schedule` (which steps a probe
wants), the :class:`Evaluate` probe, and how the loop looks ahead to the next step some probe
wants (the steps before it can run on the compiled loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from initlab._checks import check_positive_int
from initlab.losses import Loss
from initlab.network import Cache, Grads, Network
from initlab.train.results import evaluate

__all__ = ["Evaluate", "Probe", "Schedule", "StepEvent"]


@dataclass
class StepEvent:
    """What a probe sees at one step.  ``net`` holds the parameters *before* this step's update;
    ``updates`` are the arrays about to be added (``[dW_1, db_1, ...]`` order, zero for members
    that have stopped).  Probes must not modify anything they are given."""

    step: int
    net: Network
    X: np.ndarray
    Y: np.ndarray
    cache: Cache
    grads: Grads
    updates: list[np.ndarray]
    cost: np.ndarray
    active: np.ndarray
    loss: Loss


class Probe(Protocol):
    """A recorder.  The loop asks ``wants(step, last)`` at every step (``last`` is the last
    step of the current ``Trainer.run`` call) and calls the probe with a :class:`StepEvent`
    when it answers True; ``result()`` is what ends up in ``History.records[name]``."""

    name: str

    def wants(self, step: int, last: int) -> bool: ...

    def __call__(self, event: StepEvent) -> None: ...

    def result(self) -> Any: ...


class Schedule:
    """Which steps a probe looks at; a probe's ``wants`` can simply ask its schedule.

    * ``Schedule.every(n)``: step 0, every n-th step (t % n == 0) and the last step of each
      ``run`` call;
    * ``Schedule.run_ends()``: step 0 and the last step of each ``run`` call;
    * ``Schedule.on_demand()``: step 0, and the last step of the next ``run`` call after each
      :meth:`request` (one record per request; the web page asks when a frame needs fresh
      figures);
    * ``Schedule.dense_then_every(first, n)``: every step up to ``first``, then as
      ``every(n)`` (for criteria that look at the first steps, where gradients change fastest).
    """

    def __init__(self, period: int | None = None, on_demand: bool = False, dense: int = 0) -> None:
        if period is not None:
            period = check_positive_int("every", period)
        self.period = period
        self.demand = on_demand
        self.dense = check_positive_int("first", dense, minimum=0)
        self.pending = False

    @classmethod
    def every(cls, n: int) -> Schedule:
        return cls(n)

    @classmethod
    def run_ends(cls) -> Schedule:
        return cls()

    @classmethod
    def on_demand(cls) -> Schedule:
        return cls(on_demand=True)

    @classmethod
    def dense_then_every(cls, first: int, n: int) -> Schedule:
        return cls(n, dense=first)

    def request(self) -> None:
        """Record at the last step of the next ``run`` call (on-demand schedules only)."""
        if not self.demand:
            raise ValueError("request() needs a Schedule.on_demand() schedule")
        self.pending = True

    def wants(self, step: int, last: int) -> bool:
        """True if a probe on this schedule looks at ``step``; an on-demand schedule's
        request is used up by the step it answers True for (step 0 uses none)."""
        if step == 0 or step <= self.dense:
            return True
        if self.demand:
            if self.pending and step == last:
                self.pending = False
                return True
            return False
        return step == last or (self.period is not None and step % self.period == 0)

    def __repr__(self) -> str:
        if self.demand:
            return "Schedule.on_demand()"
        if self.dense:
            return f"Schedule.dense_then_every({self.dense}, {self.period})"
        return "Schedule.run_ends()" if self.period is None else f"Schedule.every({self.period})"


def _look_ahead(probes: Sequence[Probe], start: int, last: int) -> tuple[int, list[Probe]]:
    """Ask the probes about the steps ``start, start + 1, ...`` in order, each probe once per
    step as the loop always does, up to the first step some probe wants: returns how many
    steps no probe wants and the probes that want the step after them (empty if none up to
    ``last``).  A probe is asked about a step after it has seen every earlier event, as in a
    step-by-step loop, so its answers cannot differ."""
    for t in range(start, last + 1):
        due = [p for p in probes if p.wants(t, last)]
        if due:
            return t - start, due
    return last + 1 - start, []


class Evaluate:
    """A probe that evaluates cost and accuracy on fixed data (e.g. the test set) as training
    goes; ``result()`` is ``{"step": [...], "cost": (n, K), "accuracy": (n, K)}``."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, every: int = 100, name: str = "test"):
        self.X, self.Y = X, Y
        self.schedule = Schedule.every(every)
        self.every = self.schedule.period
        self.name = name
        self._steps: list[int] = []
        self._cost: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event: StepEvent) -> None:
        r = evaluate(event.net, self.X, self.Y, event.loss)
        self._steps.append(event.step)
        self._cost.append(r["cost"])
        self._acc.append(r["accuracy"])

    def result(self) -> dict[str, Any]:
        return {
            "step": list(self._steps),
            "cost": np.array(self._cost),
            "accuracy": np.array(self._acc),
        }
