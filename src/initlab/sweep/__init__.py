"""Sweeps: a grid of configurations, batched into populations, trained on local processes or a
Dask cluster, recorded in the run store.

The flow (DESIGN.md): grid spec -> cells (one :class:`~initlab.config.RunConfig` each) ->
populations (cells that may train in one pass) -> an executor -> the driver, the only writer
of the store -> :class:`SweepResults` (table, CSV, JSON, DataFrame, figures).

>>> from initlab.sweep import grid, make_plan
>>> g = grid({"seed": "0..3", "init": "he_normal,xavier_normal"}, steps=20, hidden=(4,))
>>> plan = make_plan(g)
>>> len(plan.cells), len(plan.populations)
(8, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from initlab.config import RunConfig
from initlab.sweep._store import SweepStore, list_sweeps
from initlab.sweep.driver import Progress, SweepInterrupted, SweepRun, run_sweep
from initlab.sweep.executors import DaskExecutor, Executor, LocalExecutor, make_executor
from initlab.sweep.plan import Cell, Plan, Population, cell_flops, make_plan
from initlab.sweep.results import METRICS, SweepResults, t_quantile
from initlab.sweep.spec import Axis, GridSpec, SweepSpecError, parse_axis, parse_values

__all__ = [
    "METRICS",
    "Axis",
    "Cell",
    "DaskExecutor",
    "Executor",
    "GridSpec",
    "LocalExecutor",
    "Plan",
    "Population",
    "Progress",
    "SweepInterrupted",
    "SweepResults",
    "SweepRun",
    "SweepSpecError",
    "SweepStore",
    "cell_flops",
    "grid",
    "list_sweeps",
    "make_executor",
    "make_plan",
    "parse_axis",
    "parse_values",
    "run_sweep",
    "sweep",
    "t_quantile",
]


def grid(
    axes: Mapping[str, str | Sequence[Any]] | Sequence[Axis],
    base: RunConfig | None = None,
    **fixed: Any,
) -> GridSpec:
    """A :class:`GridSpec` from ``{field: values}`` (values as in ``--grid``: ``"0..19"``, or a
    list) over ``base`` (default ``RunConfig()``) with the ``fixed`` fields changed."""
    b = (base or RunConfig()).replace(**fixed) if fixed else (base or RunConfig())
    if isinstance(axes, Mapping):
        parsed = tuple(Axis(k, parse_values(k, v)) for k, v in axes.items())
    else:
        parsed = tuple(axes)
    return GridSpec(parsed, b)


def sweep(
    spec: GridSpec,
    *,
    store: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    max_population: int = 16,
    target: float | None = None,
    diagnose: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> SweepResults:
    """Run a grid (resuming it if the store already holds part of it) and return its results.

    ``workers`` local processes by default; ``scheduler`` (``tcp://host:port``) or
    ``dask_local`` (a LocalCluster of that many workers) for Dask.  ``target`` records the
    first step with cost <= target; ``diagnose`` records per-layer statistics and the
    verdict."""
    options: dict[str, Any] = {}
    if target is not None:
        options["target"] = float(target)
    if diagnose:
        options["diagnose"] = True
    plan = make_plan(spec, max_population=max_population, options=options)
    executor = make_executor(workers, scheduler, dask_local)
    try:
        with SweepStore(store) as s:
            outcome = run_sweep(plan, executor, s, on_progress)
    finally:
        executor.close()
    return SweepResults.from_store(store, outcome.sweep_id)
