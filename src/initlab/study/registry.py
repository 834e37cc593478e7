"""The registry of experiments: one per claim of the seed.

An :class:`Experiment` names a claim (quoted from the seed), the populations it measures, the
criterion that decides its verdict, and the function that runs it.  The experiment modules
register themselves with :func:`experiment`; :data:`EXPERIMENTS` is filled in the order of the
seed's claims when :mod:`initlab.study` is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from initlab._registry import select_names

__all__ = ["EXPERIMENTS", "Experiment", "check_names", "experiment", "names"]


@dataclass(frozen=True)
class Experiment:
    """One claim as an experiment.

    ``name``: the ``--only`` name; ``number``: the claim's number in the issue (1-10, 8b);
    ``title``: a short human title; ``claim``: the seed's words; ``measures``: what is
    measured, in a sentence; ``populations``: the population keys it uses (see
    :mod:`initlab.study.populations`), and ``more(settings)`` those that depend on the
    settings (claim 8's sweep); ``fn(ctx, exp)`` runs it and returns an
    :class:`initlab.study.result.ExperimentResult`."""

    name: str
    number: str
    title: str
    claim: str
    measures: str
    populations: tuple[str, ...]
    fn: Callable[[Any, Experiment], Any]
    more: Callable[[Any], tuple[str, ...]] | None = None

    def keys(self, settings: Any) -> list[str]:
        """Every population this experiment asks for under ``settings`` (those the settings
        leave out, e.g. the imbalanced case of ``--quick``, excluded), in the order it asks."""
        from initlab.study.populations import population_spec

        out = []
        for key in (*self.populations, *(self.more(settings) if self.more else ())):
            try:
                population_spec(key, settings)
            except ValueError:
                continue
            out.append(key)
        return out

    def setup(self, settings: Any) -> list[dict[str, Any]]:
        """The setup of every population this experiment measures under ``settings`` (data
        set, hidden layers, activation, schemes, seeds, optimizer, lr, steps), without running
        anything."""
        from initlab.study.populations import population_spec

        return [population_spec(key, settings).setup() for key in self.keys(settings)]

    def run(self, ctx: Any) -> Any:
        ctx.begin_experiment()
        result = self.fn(ctx, self)
        from initlab.study.result import QUICK_UNDECIDED, UNDECIDED

        if ctx.settings.quick and result.verdict == UNDECIDED:
            result.verdict = QUICK_UNDECIDED
        result.diagnoses = diagnoses(ctx, result.figures)
        result.run_ids = ctx.run_ids()
        limit = ctx.settings.figures_per_experiment
        if limit is not None:
            result.figures = result.figures[:limit]
        chosen = ctx.settings.figure_experiments
        if chosen is not None and self.name not in chosen:
            result.figures = []
        return result

    def result(self, ctx: Any, **fields: Any) -> Any:
        """An ExperimentResult with this experiment's name, number, title, claim and the setup
        of every population ``ctx`` handed it."""
        from initlab.study.result import ExperimentResult

        setup = []
        for key in ctx.touched():
            pop = ctx.cached(key)
            s = pop.spec.setup()
            ds = pop.dataset
            s["data"] = (
                f"{ds.name}: {ds.n_train} train / {ds.n_test} test points, {ds.n_features} "
                f"features, {ds.n_classes} classes (train counts "
                f"{'/'.join(str(int(c)) for c in ds.class_counts('train'))})"
            )
            s["layer sizes"] = pop.layer_sizes()
            setup.append(s)
        setup.extend(fields.pop("extra_setup", []))
        fields.setdefault("seeds", list(ctx.settings.seeds))
        return ExperimentResult(
            name=self.name,
            number=self.number,
            title=self.title,
            claim=self.claim,
            setup=setup,
            **fields,
        )


def diagnoses(ctx: Any, figures: Any) -> list[dict[str, Any]]:
    """The diagnostics' verdict on every run the figures show (see
    :meth:`initlab.study.populations.Population.diagnosis`), each once, in figure order."""
    seen: list[tuple[str, int]] = []
    for f in figures:
        if f.kind == "cost_curves":
            seen += [(key, int(k)) for key, k, _ in f.params["curves"]]
        elif "population" in f.params and "member" in f.params:
            seen.append((f.params["population"], int(f.params["member"])))
    out = []
    for key, k in dict.fromkeys(seen):
        out.append({"population": key, **ctx.population(key).diagnosis(k)})
    return out


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(
    name: str,
    number: str,
    title: str,
    claim: str,
    measures: str,
    populations: Iterable[str],
    more: Callable[[Any], tuple[str, ...]] | None = None,
) -> Callable[[Callable[[Any, Experiment], Any]], Callable[[Any, Experiment], Any]]:
    """Decorator registering ``fn(ctx, exp) -> ExperimentResult`` as an experiment
    (``populations`` and ``more``: see :class:`Experiment`)."""

    def register(fn: Callable[[Any, Experiment], Any]) -> Callable[[Any, Experiment], Any]:
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = Experiment(
            name, number, title, claim, measures, tuple(populations), fn, more
        )
        return fn

    return register


def names() -> list[str]:
    """Every experiment name, in claim order."""
    _load()
    return list(EXPERIMENTS)


def check_names(selected: Iterable[str]) -> list[str]:
    """The selected names in claim order; a ValueError listing the valid names if one is
    unknown."""
    _load()
    chosen = select_names(selected, list(EXPERIMENTS))
    if not chosen:
        raise ValueError(f"no experiment named; the experiments are: {', '.join(EXPERIMENTS)}")
    return chosen


def _claim_order(number: str) -> tuple[int, str]:
    digits = "".join(c for c in number if c.isdigit())
    return int(digits), number[len(digits) :]


def _load() -> None:
    """Import the experiment modules (they register themselves), then order the registry by
    claim number."""
    from initlab.study import (  # noqa: F401
        claims_constant,
        claims_forms,
        claims_large,
        claims_recommended,
        claims_scale,
        claims_zero,
        claims_zero_sigmoid,
        worked,
    )

    ordered = sorted(EXPERIMENTS.values(), key=lambda e: _claim_order(e.number))
    if list(EXPERIMENTS) != [e.name for e in ordered]:
        EXPERIMENTS.clear()
        EXPERIMENTS.update((e.name, e) for e in ordered)
