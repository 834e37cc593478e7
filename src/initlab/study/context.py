"""Where an experiment gets its populations: trained now, or loaded from the store.

An experiment is a function ``(Context) -> ExperimentResult``; it calls
``ctx.population(key)`` and never trains anything itself.  :class:`TrainingContext` trains each
population once with :func:`initlab.config.run` (all members in one batched pass), records the
``LayerStats`` probe, computes each member's verdict, and writes it to the store in one
transaction.  :class:`StoreContext` rebuilds the same :class:`Population` from the store without
training, so the experiments' analysis runs again on exactly the stored numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from initlab.study.populations import Population, PopulationSpec, population_spec
from initlab.study.settings import Settings

__all__ = ["Context", "StoreContext", "TrainingContext"]


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


class TrainingContext(Context):
    """Trains populations (and saves them when a store is given).

    ``probe_factory(key)`` may return extra probes for a population (tests use it to interrupt
    a study at a chosen point)."""

    def __init__(
        self,
        settings: Settings,
        store: Any = None,
        study_id: int | None = None,
        probe_factory: Callable[[str], list[Any]] | None = None,
    ) -> None:
        super().__init__(settings)
        self.store = store
        self.study_id = study_id
        self.probe_factory = probe_factory

    def _obtain(self, spec: PopulationSpec) -> Population:
        from initlab.config import run
        from initlab.diagnostics import verdict

        probes = spec.probes()
        if self.probe_factory is not None:
            probes += list(self.probe_factory(spec.key))
        result = run(spec.configs(), probes=probes, eval_every=spec.eval_every)
        self.train_seconds += result.seconds
        K = len(spec.members)
        if self.store is not None:
            verdicts = [[f.to_dict() for f in verdict(result.history, k)] for k in range(K)]
            ids: list[int | None] = list(
                self.store.save_population(
                    self.study_id,
                    spec.key,
                    spec.description,
                    spec.to_dict(),
                    result,
                    spec.members,
                    verdicts,
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
