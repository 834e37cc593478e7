"""Where an experiment gets its populations: trained now, or loaded from the store.

An experiment is a function ``(Context) -> ExperimentResult``; it calls
``ctx.population(key)`` and never trains anything itself.  :class:`TrainingContext` trains each
population once with :func:`initlab.config.run` (all members in one batched pass), records the
``LayerStats`` probe, computes each member's verdict, and writes it to the store in one
transaction.  :class:`StoreContext` rebuilds the same :class:`Population` from the store without
training, so the experiments' analysis runs again on exactly the stored numbers.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.study.populations import Population, PopulationSpec, population_spec
from initlab.study.settings import Settings

__all__ = ["Context", "StoreContext", "Trained", "TrainingContext", "train_population"]


class Context:
    """Caches populations by key and remembers which ones the current experiment used."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[str, Population] = {}
        self._touched: list[str] = []
        self.train_seconds = 0.0

    def population(self, key: str) -> Population:
        if key not in self._cache:
            self._cache[key] = self._obtain(population_spec(key, self.settings))
        if key not in self._touched:
            self._touched.append(key)
        return self._cache[key]

    def cached(self, key: str) -> Population | None:
        return self._cache.get(key)

    def begin_experiment(self) -> None:
        self._touched = []

    def touched(self) -> list[str]:
        return list(self._touched)

    def run_ids(self) -> list[int]:
        """The stored run ids of every population the current experiment used."""
        out: list[int] = []
        for key in self._touched:
            out.extend(i for i in self._cache[key].run_ids if i is not None)
        return out

    def _obtain(self, spec: PopulationSpec) -> Population:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Trained:
    """A population trained in any process (:func:`train_population`): the
    :class:`initlab.config.RunResult` without its initial network (nothing reads it, and it
    would double what a worker process sends back), and each member's findings for the store
    (None when no store keeps them)."""

    result: Any
    verdicts: list[list[dict[str, Any]]] | None


def train_population(
    spec: PopulationSpec, extra_probes: Sequence[Any] = (), verdicts: bool = False
) -> Trained:
    """Train ``spec``'s members as one population with :func:`initlab.config.run` (its probes,
    plus ``extra_probes``); with ``verdicts``, also each member's findings as plain data.  It
    depends on ``spec`` alone, so a worker process gives the numbers this process would."""
    from initlab.config import run
    from initlab.diagnostics import verdict

    result = run(
        spec.configs(), probes=spec.probes() + list(extra_probes), eval_every=spec.eval_every
    )
    found = None
    if verdicts:
        found = [
            [f.to_dict() for f in verdict(result.history, k)] for k in range(len(spec.members))
        ]
    return Trained(dataclasses.replace(result, initial=None), found)


class TrainingContext(Context):
    """Trains populations (and saves them when a store is given).

    ``pool``: an executor of ``jobs`` worker processes
    (:func:`initlab.study.workers.start_pool`) that trains the populations :meth:`prefetch`
    names ahead, in that order, at most ``jobs`` at a time (so that figures submitted to the
    same pool meanwhile are drawn between them, not after all of them).  Each population is
    still saved here, when an experiment first asks for it, so the store's order (and run
    ids) is that of a study trained in this process.  ``probe_factory(key)`` may return extra
    probes for a population (tests use it to interrupt a study at a chosen point); with it,
    every population is trained here."""

    def __init__(
        self,
        settings: Settings,
        store: Any = None,
        study_id: int | None = None,
        probe_factory: Callable[[str], list[Any]] | None = None,
        pool: Any = None,
        jobs: int = 1,
    ) -> None:
        super().__init__(settings)
        self.store = store
        self.study_id = study_id
        self.probe_factory = probe_factory
        self.pool = pool if probe_factory is None else None
        self.jobs = max(1, jobs)
        self._waiting: list[str] = []
        self._ahead: dict[str, Any] = {}

    def prefetch(self, keys: Sequence[str]) -> None:
        """Have the pool train these populations, in this order (nothing without a pool)."""
        if self.pool is not None:
            self._waiting = [k for k in keys if k not in self._cache and k not in self._ahead]
            self._top_up()

    def _submit(self, key: str) -> None:
        spec = population_spec(key, self.settings)
        self._ahead[key] = self.pool.submit(train_population, spec, (), self.store is not None)

    def _top_up(self) -> None:
        """Submit waiting populations until ``jobs`` are in the pool."""
        busy = sum(not f.done() for f in self._ahead.values())
        while self._waiting and busy < self.jobs:
            self._submit(self._waiting.pop(0))
            busy += 1

    def cancel(self) -> None:
        """Drop the populations not yet trained."""
        for future in self._ahead.values():
            future.cancel()
        self._ahead, self._waiting = {}, []

    def _trained(self, spec: PopulationSpec) -> Trained:
        if spec.key in self._waiting:  # asked for before its turn: now
            self._waiting.remove(spec.key)
            self._submit(spec.key)
        future = self._ahead.pop(spec.key, None)
        if future is None:
            extra = self.probe_factory(spec.key) if self.probe_factory is not None else ()
            return train_population(spec, extra, self.store is not None)
        while not future.done():
            others = [f for f in self._ahead.values() if not f.done()]
            cf.wait([future, *others], return_when=cf.FIRST_COMPLETED)
            self._top_up()
        self._top_up()
        return future.result()

    def _obtain(self, spec: PopulationSpec) -> Population:
        trained = self._trained(spec)
        result = trained.result
        self.train_seconds += result.seconds
        K = len(spec.members)
        if self.store is not None:
            ids: list[int | None] = list(
                self.store.save_population(
                    self.study_id,
                    spec.key,
                    spec.description,
                    spec.to_dict(),
                    result,
                    spec.members,
                    trained.verdicts,
                )
            )
        else:
            ids = [None] * K
        return Population(spec, result.history, result.dataset, result.net, ids, result.seconds)


class StoreContext(Context):
    """Loads populations of study ``study_id`` from ``store``; nothing is trained."""

    def __init__(self, settings: Settings, store: Any, study_id: int) -> None:
        super().__init__(settings)
        self.store = store
        self.study_id = study_id

    def _obtain(self, spec: PopulationSpec) -> Population:
        from initlab.activations import parse_activation
        from initlab.network import Network
        from initlab.store import StoreError
        from initlab.train import History

        b = self.store.batch(self.study_id, spec.key)
        if b["spec"] != spec.to_dict():
            raise StoreError(
                f"population {spec.key!r} of study {self.study_id} was stored with another "
                "definition than this version of initlab uses; it cannot be rebuilt"
            )
        runs = b["runs"]
        K = len(runs)
        base = spec.base
        ds = base.load_data()
        out_act, _, _ = base.output_spec(ds.n_classes)

        def num(v: Any) -> float:
            return math.nan if v is None else float(v)

        records: dict[str, Any] = {}
        for name in ("train", "test"):
            if name in runs[0]["evals"]:
                e0 = runs[0]["evals"][name]
                records[name] = {
                    "step": list(e0["step"]),
                    "cost": np.array([[num(v) for v in r["evals"][name]["cost"]] for r in runs]).T,
                    "accuracy": np.array(
                        [[num(v) for v in r["evals"][name]["accuracy"]] for r in runs]
                    ).T,
                }
        if b["stats"] is not None:
            rows = [rec for r in runs for rec in r["layer_stats"]]
            rows.sort(key=lambda rec: (rec["step"], rec["layer"], rec["member"]))
            records["layer_stats"] = {**b["stats"], "records": rows}
        meta = dict(b["meta"])
        meta["dataset"] = b["dataset"]
        history = History(
            cost=np.stack([r["cost"] for r in runs]),
            final_cost=np.array([num(r["final_cost"]) for r in runs]),
            diverged_at=[r["diverged_at"] for r in runs],
            steps_run=int(b["steps_run"]),
            records=records,
            meta=meta,
        )
        n_layers = len(runs[0]["params"]) // 2
        weights = [np.stack([r["params"][2 * i] for r in runs]) for i in range(n_layers)]
        biases = [np.stack([r["params"][2 * i + 1] for r in runs]) for i in range(n_layers)]
        sizes = (weights[0].shape[1], *(w.shape[2] for w in weights))
        acts = tuple(
            [parse_activation(base.activation)] * (n_layers - 1) + [parse_activation(out_act)]
        )
        net = Network(tuple(sizes), acts, weights, biases, {"weight_init": ["stored"] * K})
        return Population(spec, history, ds, net, [r["id"] for r in runs], float(b["seconds"]))
