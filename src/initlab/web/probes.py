"""The probes a :class:`initlab.web.session.Session` trains with: the latest weight gradients
(for the network diagram) and the diagnostics' layer statistics on the page's demand."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from initlab.train import Schedule, StepEvent

__all__ = ["LatestGrads", "LiveStats"]


class LatestGrads:
    """A probe that keeps a copy of the most recent weight gradients it was shown.

    It looks at step 0 and at the last step of every ``run(n)`` call
    (:meth:`Schedule.run_ends`): exactly the step a frame shows.  It copies (the training loop
    reuses its gradient buffer from step to step)."""

    name = "web_latest"

    def __init__(self) -> None:
        self.schedule = Schedule.run_ends()
        self.step: int | None = None
        self.dW: list[np.ndarray] | None = None

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event: StepEvent) -> None:
        self.step = event.step
        self.dW = [g.copy() for g in event.grads.dW]

    def result(self) -> None:
        return None


class LiveStats:
    """The diagnostics' :class:`~initlab.diagnostics.LayerStats` probe, called when the page
    wants fresh figures rather than on a fixed step grid.

    Its schedule is :meth:`Schedule.on_demand`: it records at step 0, and at the last step of
    a ``run(n)`` after :meth:`request` (the session requests when a frame is due for new
    statistics).  It keeps LayerStats' records of the first step and of the latest step only:
    that is what the page shows and what :func:`initlab.diagnostics.verdict` reads (the first
    record for the initial scale of signals, the latest for symmetry, weight change and dead
    units), and it keeps a long run's memory bounded."""

    name = "layer_stats"

    def __init__(self) -> None:
        from initlab.diagnostics import LayerStats

        self.inner = LayerStats(keep="first_last")  # called by this probe only, on its schedule
        self.schedule = Schedule.on_demand()
        self.first_step: int | None = None
        self.latest_step: int | None = None
        self.first_edges: dict[int, dict[str, list[float]]] = {}
        self.seconds = 0.0

    def request(self) -> None:
        """Record at the last step of the next ``run(n)``."""
        self.schedule.request()

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event: StepEvent) -> None:
        if self.first_step is None:
            self.first_step = event.step
        t0 = time.perf_counter()
        # fresh bins for every record: the page's histograms follow the data as it moves
        # (a spread shrinking from 1e-2 to 1e-7 stays visible); each row carries its range
        self.inner.edges.clear()
        self.inner(event)
        if event.step == self.first_step:
            self.first_edges = {k: dict(v) for k, v in self.inner.edges.items()}
        self.seconds = time.perf_counter() - t0
        self.latest_step = event.step

    def result(self) -> dict[str, Any]:
        return self.inner.result()
