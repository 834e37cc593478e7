"""One browser tab's training: build the run from a request, advance it in chunks, and describe
its state as a frame for the page.

A :class:`Session` holds the data, the network (a population of K members when schemes are
compared), a copy of the initial weights and a :class:`initlab.train.Trainer`.  It has no
server in it and no threads: the server calls :meth:`Session.advance` and :meth:`Session.frame`
from one worker thread per tab.  It computes no statistics of its own: costs and accuracies
come from :func:`initlab.train.evaluate`, the decision boundary from
:func:`initlab.network.predict` on :func:`initlab.data.decision_grid`, and every per-layer
figure and the verdict from :mod:`initlab.diagnostics`.

The pieces live apart: :mod:`initlab.web.build` turns a validated request into data and
initial weights, :mod:`initlab.web.probes` holds the probes training runs with, and
:mod:`initlab.web.frames` the ``ready`` and ``frame`` messages (:class:`Session` inherits
them); this module is the tab's state: configure, reset, speed, focus, advance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from initlab.config import LIMITS, RunConfig, make_trainer
from initlab.network import Network
from initlab.train import Trainer
from initlab.web.build import Built, build
from initlab.web.frames import BOUNDARY_SLICE_CELLS, DIAGRAM_UNITS, Frames
from initlab.web.probes import LatestGrads, LiveStats
from initlab.web.protocol import (
    MAX_STEPS_PER_FRAME,
    WebError,
    validate_request,
)

__all__ = ["BOUNDARY_SLICE_CELLS", "DIAGRAM_UNITS", "Session"]

#: Least time between two records of the page's layer statistics while training (the page
#: redraws its layer cards at most four times a second; the cost chart gets every frame).
STATS_SECONDS = 0.25


class Session(Frames):
    """The state of one tab: configure, reset, advance, frame.

    ``frame_seconds`` is the time between frames the server aims for; with
    ``steps_per_frame=None`` :meth:`advance` trains as many steps as fit in ``train_share`` of
    it (measured as it goes), otherwise exactly that many steps per frame.
    """

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        *,
        frame_seconds: float = 1.0 / 30.0,
        train_share: float = 0.7,
        steps_per_frame: int | None = 5,
    ) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.frame_seconds = frame_seconds
        self.train_share = train_share
        self.steps_per_frame = steps_per_frame
        self.built: Built | None = None
        self.trainer: Trainer | None = None
        self.net: Network | None = None
        self.running = False
        self.focus = 0
        self.run_id = 0
        self._latest = LatestGrads()
        self._stats: LiveStats | None = None
        self._stats_next = 0.0
        self._stats_sent: tuple | None = None
        self._verdict: list[list[dict[str, Any]]] | None = None
        self._verdict_parts: list[dict[str, Any]] | None = None
        self._verdict_step: int | None = None
        self._verdict_seconds = 0.0
        self._sec_per_step: float | None = None
        self._grid: np.ndarray | None = None
        self._grid_steps = 0
        self._boundary_next = 0.0
        self._boundary_spent = 0.0
        self._slices: tuple[Network, list[np.ndarray]] | None = None
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0

    # ---------------------------------------------------------------- configuration

    @property
    def configs(self) -> tuple[RunConfig, ...]:
        if self.built is None:
            raise WebError("no configuration yet: send a config message first")
        return self.built.request.configs

    @property
    def population(self) -> int:
        return len(self.configs)

    @property
    def steps_limit(self) -> int:
        return self.configs[0].steps

    def configure(self, fields: Any, compare: Sequence[str] | None = None) -> dict[str, Any]:
        """Validate and apply a request; return the ``ready`` message.  On a WebError nothing
        changes (the previous run stays as it was)."""
        request = validate_request(fields, compare, self.limits)
        built, reused = build(request, self.built)
        self.built = built
        self.focus = min(self.focus, len(request.configs) - 1)
        self._grid = None
        self.reset()
        return self.ready(reused)

    def reset(self) -> None:
        """Back to step 0 from the initial weights (the same ones, not a new draw)."""
        b = self.built
        if b is None:
            raise WebError("no configuration yet: send a config message first")
        self.net = b.initial.copy()
        self._latest = LatestGrads()
        self._stats = LiveStats()
        self._stats_next = 0.0
        self._stats_sent = None
        self._verdict = None
        self._verdict_step = None
        self.trainer = make_trainer(b.prepared, self.net, [self._latest, self._stats])
        self.running = False
        self.run_id += 1
        self._sec_per_step = None
        self._boundary_next = 0.0
        self._boundary_spent = 0.0
        self._slices = None
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0

    def set_speed(self, steps_per_frame: int | None) -> None:
        if steps_per_frame is not None and not 1 <= steps_per_frame <= MAX_STEPS_PER_FRAME:
            raise WebError(
                f"steps_per_frame must be between 1 and {MAX_STEPS_PER_FRAME}, got "
                f"{steps_per_frame!r}",
                "speed",
                steps_per_frame,
                f"1 to {MAX_STEPS_PER_FRAME}, or null",
            )
        self.steps_per_frame = steps_per_frame

    def set_focus(self, member: int) -> None:
        if not 0 <= member < self.population:
            raise WebError(
                f"member must be between 0 and {self.population - 1}, got {member!r}",
                "member",
                member,
                f"0 to {self.population - 1}",
            )
        self.focus = member

    # ---------------------------------------------------------------- training

    @property
    def step(self) -> int:
        return 0 if self.trainer is None else self.trainer.step

    @property
    def done(self) -> bool:
        t = self.trainer
        return t is not None and (t.step >= self.steps_limit or not t.active.any())

    def advance(self, n: int | None = None, *, force_stats: bool = False) -> int:
        """Train ``n`` steps, or (``n=None``) one frame's worth; returns the steps run.  Stops
        at the configuration's ``steps`` and when every member has diverged.  The diagnostics
        record the chunk's last step when due (every :data:`STATS_SECONDS` at most, their cost
        kept under about a fifth of the time) or when ``force_stats``."""
        t = self.trainer
        if t is None:
            raise WebError("no configuration yet: send a config message first")
        remaining = self.steps_limit - t.step
        if remaining <= 0 or not t.active.any():
            self.running = False
            return 0
        if n is None:
            if self.steps_per_frame is not None:
                n = self.steps_per_frame
            elif self._sec_per_step is None:
                n = 1
            else:
                budget = self.frame_seconds * self.train_share
                n = max(1, int(budget / self._sec_per_step))
        n = min(n, remaining)
        t0 = time.perf_counter()
        if self._stats is not None and (force_stats or t0 >= self._stats_next):
            self._stats.request()
        before = t.step
        t.run(n)
        ran = t.step - before
        st = self._stats
        recorded = st is not None and st.latest_step is not None and st.latest_step >= before
        if ran:
            spent = time.perf_counter() - t0 - (st.seconds if recorded and st else 0.0)
            sps = max(spent, 0.0) / ran
            self._sec_per_step = (
                sps if self._sec_per_step is None else 0.7 * self._sec_per_step + 0.3 * sps
            )
        if recorded and st is not None:
            self._verdict = None  # new statistics: the verdict is read again for the frame
            cost = st.seconds + self._verdict_seconds
            self._stats_next = time.perf_counter() + max(STATS_SECONDS, 4.0 * cost)
        if self.done:
            self.running = False
        return ran
