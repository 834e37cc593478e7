"""Where an experiment trains: the engine through :mod:`initlab.config`, the store, figures.

An experiment never writes a training loop: :meth:`Context.train` builds the population
with :func:`initlab.config.prepare` and :func:`initlab.config.init_population`, lets the
experiment change the initial network where the paper needs what ``RunConfig`` does not
express (residual blocks, a parametrisation, a data set of its own), trains it with
:func:`initlab.config.make_trainer`, and saves it to the run store as one population of the
reproduce run.  Figures are drawn right away into PNG bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Context", "Settings"]


@dataclass(frozen=True)
class Settings:
    """How big the experiments are: ``quick`` (the ``--quick`` budgets, about 2 minutes
    each on two cores), ``tiny`` (for tests: seconds), and the seeds per configuration."""

    quick: bool = False
    tiny: bool = False
    seeds: int | None = None
    dpi: int = 80

    def pick(self, full: Any, quick: Any, tiny: Any | None = None) -> Any:
        """``full``, ``quick`` or ``tiny`` for these settings."""
        if self.tiny:
            return quick if tiny is None else tiny
        return quick if self.quick else full

    def n_seeds(self, full: int = 5, quick: int = 3, tiny: int = 2) -> int:
        return self.seeds if self.seeds is not None else self.pick(full, quick, tiny)

    def to_dict(self) -> dict[str, Any]:
        return {"quick": self.quick, "tiny": self.tiny, "seeds": self.seeds, "dpi": self.dpi}


@dataclass
class Context:
    """Settings, the store (None: nothing is saved) and the reproduce run's id in it."""

    settings: Settings
    store: Any = None
    study_id: int | None = None
    images: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    train_seconds: float = 0.0
    _run_ids: list[int] = field(default_factory=list)
    _figures: list[dict[str, Any]] = field(default_factory=list)
    _prefix: str = ""

    def begin(self, name: str) -> None:
        self._run_ids, self._figures, self._prefix = [], [], name

    def run_ids(self) -> list[int]:
        return list(self._run_ids)

    def figures(self) -> list[dict[str, Any]]:
        return list(self._figures)

    def train(
        self,
        key: str,
        description: str,
        configs: Sequence[Any],
        *,
        modify: Callable[[Any, Any], Any] | None = None,
        dataset: Any = None,
        loss: str | None = None,
        output_activation: str | None = None,
        probes: Sequence[Any] = (),
        eval_every: int | None = None,
        steps: int | None = None,
    ) -> Any:
        """Train ``configs`` (one population: they differ only in init, seed and lr) and
        return the :class:`initlab.config.RunResult`.

        ``dataset`` replaces the configuration's data set (an :class:`initlab.data.Dataset`,
        with ``loss`` and ``output_activation`` then required); ``modify(net, prepared)``
        returns the network to train instead of the initial one (e.g. with residual blocks);
        ``steps`` overrides the configurations' steps.  Saved to the store under ``key``."""
        from initlab.config import Prepared, RunResult, init_population, make_trainer, prepare

        p = prepare(list(configs))
        if dataset is not None:
            if loss is None or output_activation is None:
                raise ValueError(
                    "a data set of the experiment's own needs loss and output_activation"
                )
            n_out = dataset.n_classes if loss != "binary_cross_entropy" else 1
            kind = "binary" if n_out == 1 else "one_hot"
            Y_test = dataset.targets("test", kind) if dataset.n_test else np.empty((0, n_out))
            sizes = (dataset.n_features, *p.config.hidden, n_out)
            p = Prepared(
                p.configs,
                dataset,
                output_activation,
                loss,
                sizes,
                dataset.targets("train", kind),
                Y_test,
            )
        t0 = time.perf_counter()
        net = init_population(p)
        if modify is not None:
            net = modify(net, p)
        initial = net.copy()
        n = steps if steps is not None else p.config.steps
        trainer = make_trainer(p, net, list(probes), eval_every or max(1, n // 20))
        trainer.run(n)
        history = trainer.history()
        history.meta["configs"] = [c.to_dict() for c in p.configs]
        history.meta["dataset"] = p.dataset.to_dict()
        result = RunResult(p.configs, p.dataset, initial, net, history, time.perf_counter() - t0)
        self.train_seconds += result.seconds
        self._save(key, description, result)
        return result

    def _save(self, key: str, description: str, result: Any) -> None:
        if self.store is None:
            return
        from initlab.diagnostics import verdict

        K = result.history.population
        has_stats = "layer_stats" in result.history.records
        verdicts = [
            [f.to_dict() for f in verdict(result.history, k)] if has_stats else [] for k in range(K)
        ]
        members = [(c.init, c.seed) for c in result.configs]
        spec = {
            "experiment": self._prefix,
            "key": key,
            "description": description,
            "configs": [c.to_dict() for c in result.configs],
            "network": _network_extras(result.net),
        }
        ids = self.store.save_population(
            self.study_id, f"{self._prefix}/{key}", description, spec, result, members, verdicts
        )
        self._run_ids.extend(ids)

    def figure(self, name: str, title: str, caption: str, fig: Any) -> None:
        """Keep a matplotlib figure as PNG bytes (and close it); a note if matplotlib is
        missing is the caller's (``fig`` None)."""
        if fig is None:
            return
        from initlab.report.figures import figure_to_png

        self.images[f"{self._prefix}/{name}"] = figure_to_png(fig, dpi=self.settings.dpi)
        self._figures.append({"name": name, "title": title, "caption": caption})


def _network_extras(net: Any) -> dict[str, Any]:
    """What a network has beyond RunConfig's description (residual blocks, multipliers and
    learning-rate scales, when the engine has them), for the stored spec."""
    out: dict[str, Any] = {"sizes": list(net.sizes)}
    for name in ("residual", "multipliers", "lr_scale", "bias_lr_scale"):
        v = getattr(net, name, None)
        if v:
            out[name] = list(v)
    if "parametrisation" in net.meta:
        out["parametrisation"] = net.meta["parametrisation"]
    return out
