"""The driver: submits the plan's unfinished populations to an executor, records each result in
the store as it arrives, and reports progress.

The driver is the only writer of the store.  Each arriving population is one transaction, so
after Ctrl-C, a killed worker or a crash the store holds every cell that finished and nothing
else; running the same sweep again skips those cells (resume).  A population whose task raised
(a lost Dask worker, say) is recorded as failed cells with the error, and the others go on.  A
local process pool that loses a worker cannot take more work: the sweep stops, marked
``interrupted``, resumable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from initlab.sweep._store import SweepStore
from initlab.sweep.executors import Executor
from initlab.sweep.plan import Cell, Plan
from initlab.sweep.tasks import error_text, train_population

__all__ = ["Progress", "SweepInterrupted", "SweepRun", "run_sweep"]


class SweepInterrupted(RuntimeError):
    """The sweep stopped before every cell finished (its store stays resumable)."""


@dataclass
class Progress:
    """What a progress callback sees after each arriving population: ``done`` counts the
    cells recorded (failed ones and those skipped as already finished included)."""

    total: int
    done: int
    failed: int
    skipped: int
    elapsed: float

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate of the cells trained so far (None before the first)."""
        trained = self.done - self.skipped
        if trained <= 0:
            return None
        return self.elapsed / trained * (self.total - self.done)


@dataclass
class SweepRun:
    """The outcome of :func:`run_sweep`."""

    sweep_id: int
    resumed: bool
    skipped: int
    trained: int
    failed: int
    status: str
    seconds: float
    store: str = ""
    errors: list[str] = field(default_factory=list)


def _submit(plan: Plan, executor: Executor, done: set[int]) -> dict[Any, list[Cell]]:
    """One task per population, with only its cells not yet recorded."""
    futures: dict[Any, list[Cell]] = {}
    for pop in plan.populations:
        todo = [plan.cells[i] for i in pop.cells if i not in done]
        if todo:
            payload = [c.config.to_dict() for c in todo]
            futures[executor.submit(train_population, payload, plan.options)] = todo
    return futures


def _outcomes(fut: Any, cells: list[Cell], state: Progress) -> list[dict[str, Any]]:
    """What a finished task returned; a task that raised fails each of its cells."""
    try:
        return fut.result()
    except BrokenProcessPool as exc:
        raise SweepInterrupted(
            f"a worker process died ({exc}); {state.done} of {state.total} cells are "
            "recorded -- run the same sweep again to resume"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a lost task is its cells' failure
        return [{"status": "failed", "error": error_text(exc)}] * len(cells)


def run_sweep(
    plan: Plan,
    executor: Executor,
    store: SweepStore,
    on_progress: Callable[[Progress], None] | None = None,
) -> SweepRun:
    """Run ``plan`` on ``executor``, recording into ``store``; returns a :class:`SweepRun`.

    ``KeyboardInterrupt`` stops the executor, marks the sweep ``interrupted`` and is raised
    again; a broken local pool raises :class:`SweepInterrupted`."""
    sweep_id, resumed = store.open_sweep(plan.key, plan.to_dict(), len(plan.cells))
    done = store.finished(sweep_id)
    t0 = time.perf_counter()
    state = Progress(len(plan.cells), len(done), 0, len(done), 0.0)
    errors: list[str] = []
    status = "interrupted"
    try:
        futures = _submit(plan, executor, done)
        if on_progress:
            on_progress(state)
        for fut in executor.as_completed(list(futures)):
            cells = futures.pop(fut)
            outcomes = _outcomes(fut, cells, state)
            store.save_cells(sweep_id, cells, outcomes)
            for c, o in zip(cells, outcomes, strict=True):
                if o["status"] == "failed":
                    errors.append(f"cell {c.index}: {o['error']}")
                    state.failed += 1
            state.done += len(cells)
            state.elapsed = time.perf_counter() - t0
            if on_progress:
                on_progress(state)
        status = "failed cells" if state.failed else "complete"
    except BaseException:
        executor.cancel()
        raise
    finally:
        store.finish_sweep(sweep_id, status, time.perf_counter() - t0)
    return SweepRun(
        sweep_id,
        resumed,
        skipped=len(done),
        trained=state.done - len(done),
        failed=state.failed,
        status=status,
        seconds=time.perf_counter() - t0,
        store=str(store.path),
        errors=errors,
    )
