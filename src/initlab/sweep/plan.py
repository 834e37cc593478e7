"""From a grid to a plan: the cells (one RunConfig each), the populations they train in, and
what the sweep will cost.

Cells are the Cartesian product of the axes, the first axis varying slowest.  Cells that agree
on everything but the fields a population may vary (``init``, ``bias_init``, ``seed``, ``lr``:
see :func:`initlab.config.prepare`) train together as one population of at most
``max_population`` members.  With mini-batches (``batch_size`` set) the order of the examples
is drawn from the population's first seed, so cells with different seeds are then kept apart:
a cell's numbers never depend on which other cells share its population.

Cost model (per cell; ``n_l`` the layer sizes, ``B`` the batch, ``T`` the steps, ``m`` the
train + test points)::

    S       = sum_l n_{l-1} * n_l                   (weights; one multiply-add each)
    FLOPs   = 6 * B * S * T                         (forward 2BS, backward 4BS per step)
            + 2 * m * S * (evaluations + 1)          (the train/test evaluations, final cost)
    seconds ~ T * L * STEP_OVERHEAD_S + FLOPs / FLOP_RATE

``STEP_OVERHEAD_S`` (Python and NumPy call overhead per layer and step) and ``FLOP_RATE`` were
measured on the 2-core development machine (see docs/scale.md); the estimate is a guide within
a factor of about two, not a promise.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from initlab.config import MEMBER_FIELDS, RunConfig  # the fields a population may vary
from initlab.sweep.spec import GridSpec, SweepSpecError

__all__ = [
    "FLOP_RATE",
    "STEP_OVERHEAD_S",
    "Cell",
    "Plan",
    "Population",
    "cell_flops",
    "make_plan",
]

#: Seconds of overhead per layer and training step of one population (measured, docs/scale.md).
STEP_OVERHEAD_S = 5e-5
#: Sustained FLOP/s of the NumPy engine on small layers on one core (measured, docs/scale.md).
FLOP_RATE = 3e9
#: Largest population a plan makes unless told otherwise.
DEFAULT_MAX_POPULATION = 16


def _canonical(d: Any) -> str:
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def config_key(config: RunConfig) -> str:
    """A stable identifier of a configuration (a hash of its canonical JSON)."""
    return hashlib.sha1(_canonical(config.to_dict()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its position, the swept values and the configuration."""

    index: int
    point: tuple[tuple[str, Any], ...]
    config: RunConfig
    key: str

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.point)


@dataclass(frozen=True)
class Population:
    """Cells trained in one pass (by their indices into :attr:`Plan.cells`)."""

    index: int
    cells: tuple[int, ...]


@dataclass
class Plan:
    """Everything a sweep will run, before it runs."""

    grid: GridSpec
    cells: list[Cell]
    populations: list[Population]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of the sweep: its cells and the options that change what is recorded.  A
        second run of the same plan resumes the first."""
        text = _canonical({"cells": [c.key for c in self.cells], "options": self.options})
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def axes(self) -> list[str]:
        return [a.field for a in self.grid.axes]

    def population_sizes(self) -> dict[int, int]:
        """``{members: number of populations of that size}``."""
        out: dict[int, int] = {}
        for p in self.populations:
            out[len(p.cells)] = out.get(len(p.cells), 0) + 1
        return dict(sorted(out.items(), reverse=True))

    def estimate(self) -> dict[str, Any]:
        """The cost model above, summed: ``flops``, ``seconds`` (one worker), the longest
        population's seconds and per-cell ``flops_per_cell`` (min, max)."""
        shapes: dict[str, tuple[int, int, int, int] | None] = {}
        flops = [cell_flops(c.config, shapes) for c in self.cells]
        known = [f for f in flops if f is not None]
        per_pop = []
        for p in self.populations:
            c = self.cells[p.cells[0]].config
            per_pop.append(
                c.steps * (len(c.hidden) + 1) * STEP_OVERHEAD_S
                + sum(flops[i] or 0 for i in p.cells) / FLOP_RATE
            )
        return {
            "cells": len(self.cells),
            "populations": len(self.populations),
            "flops": float(sum(known)),
            "flops_per_cell": [min(known, default=0), max(known, default=0)],
            "seconds": float(sum(per_pop)),
            "longest_population_s": max(per_pop, default=0.0),
            "unknown": len(flops) - len(known),
        }

    def seconds_on(self, workers: int) -> float:
        """Estimated seconds on ``workers`` workers: the total shared out, but never less
        than the longest population (one task runs on one worker)."""
        est = self.estimate()
        return max(est["seconds"] / max(workers, 1), est["longest_population_s"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "grid": self.grid.to_dict(),
            "options": dict(self.options),
            "cells": len(self.cells),
            "populations": len(self.populations),
            "population_sizes": {str(k): v for k, v in self.population_sizes().items()},
        }


def _data_shape(config: RunConfig, cache: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """``(n_train, n_test, n_features, n_classes)`` of a configuration's data (loaded once per
    distinct data spec)."""
    spec = _canonical(
        {k: getattr(config, k) for k in ("dataset", "n_samples", "noise", "data_seed")}
        | {"test_fraction": config.test_fraction}
    )
    if spec not in cache:
        try:
            ds = config.load_data()
            cache[spec] = (ds.n_train, ds.n_test, ds.n_features, ds.n_classes)
        except ValueError:
            cache[spec] = None
    return cache[spec]


def cell_flops(config: RunConfig, cache: dict[str, Any] | None = None) -> int | None:
    """Floating-point operations to train one configuration (the model above); None if its
    data or output layer cannot be built."""
    shape = _data_shape(config, {} if cache is None else cache)
    if shape is None:
        return None
    n_train, n_test, n_features, n_classes = shape
    try:
        sizes = config.layer_sizes(n_features, n_classes)
    except ValueError:
        return None
    s = sum(a * b for a, b in itertools.pairwise(sizes))
    b = min(config.batch_size or n_train, n_train)
    every = max(1, config.steps // 50)
    evals = config.steps // every + 1
    return 6 * b * s * config.steps + 2 * (n_train + n_test) * s * (evals + 1)


def _population_key(config: RunConfig) -> str:
    d = config.to_dict()
    for f in MEMBER_FIELDS:
        if f != "seed" or config.batch_size is None:
            d.pop(f)
    return _canonical(d)


def make_cells(grid: GridSpec) -> list[Cell]:
    """The grid's cells, first axis slowest; each configuration validated (a bad one raises
    SweepSpecError naming the axis values that made it)."""
    cells = []
    names = [a.field for a in grid.axes]
    for i, values in enumerate(itertools.product(*(a.values for a in grid.axes))):
        point = tuple(zip(names, values, strict=True))
        try:
            cfg = grid.base.replace(**dict(point))
        except (ValueError, TypeError) as exc:
            field_name = getattr(exc, "field", None) or _culprit(grid.base, point)
            where = ", ".join(f"{k}={v!r}" for k, v in point)
            raise SweepSpecError(
                field_name,
                dict(point).get(field_name, where),
                "values every cell's RunConfig accepts",
                f"cell {i} ({where}): {exc}",
            ) from None
        cells.append(Cell(i, point, cfg, config_key(cfg)))
    return cells


def _culprit(base: RunConfig, point: tuple[tuple[str, Any], ...]) -> str:
    """The first swept field whose value alone makes ``base`` invalid (else the first)."""
    for k, v in point:
        try:
            base.replace(**{k: v})
        except (ValueError, TypeError):
            return k
    return point[0][0]


def make_plan(
    grid: GridSpec,
    *,
    max_population: int = DEFAULT_MAX_POPULATION,
    options: dict[str, Any] | None = None,
) -> Plan:
    """The cells of ``grid`` batched into populations of at most ``max_population`` members
    (groups larger than that are cut into near-equal parts)."""
    if (
        isinstance(max_population, bool)
        or not isinstance(max_population, int)
        or max_population < 1
    ):
        raise SweepSpecError("max_population", max_population, "an integer >= 1")
    cells = make_cells(grid)
    groups: dict[str, list[int]] = {}
    for c in cells:
        groups.setdefault(_population_key(c.config), []).append(c.index)
    pops: list[Population] = []
    for members in groups.values():
        parts = math.ceil(len(members) / max_population)
        size = math.ceil(len(members) / parts)
        for j in range(parts):
            chunk = tuple(members[j * size : (j + 1) * size])
            pops.append(Population(len(pops), chunk))
    return Plan(grid, cells, pops, dict(options or {}))
