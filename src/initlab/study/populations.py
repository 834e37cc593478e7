"""The populations the experiments share.

A *population* is a set of run configurations that differ only in the initialization scheme
and seed, so :func:`initlab.config.run` trains them as one batched pass (the population axis).
Every experiment asks for populations by key; the study trains each one once, saves it in the
store, and hands the same :class:`Population` to every experiment that needs it.

Keys (``ACT`` is relu, tanh or sigmoid):

* ``train/ACT``: the trained comparison -- every scheme of :data:`TRAIN_SCHEMES` on the main
  data set with ``Settings.train_hidden``, gradient descent;
* ``depth/ACT``: the deep network ``Settings.deep_hidden`` at initialization (one step), for
  per-layer scale with depth (:data:`DEPTH_SCHEMES`);
* ``shallow/relu``: one hidden layer, small vs He (claim 6);
* ``narrow/ACT``: one unit per hidden layer, Xavier (claim 4's "single unit per layer");
* ``imbalanced/sigmoid``: zeros vs Xavier on an imbalanced data set (claim 3);
* ``sweep/ACT@LR``: the trained comparison at another learning rate ``LR`` (one of
  ``Settings.sweep_lrs``), for the random schemes of :data:`SWEEP_SCHEMES` (claim 8), over
  ``Settings.sweep_steps`` steps.

Every member is recorded every ``Settings.every`` steps.  The first seed of each scheme (the one
the figures draw; the only member of a deterministic scheme) is *watched*: its records add the
histograms and the symmetry measures, and in the populations whose criteria look at the first
steps (``train/sigmoid`` and ``imbalanced/sigmoid``: claim 3) it is recorded at every step up to
``Settings.early_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initlab.config import RunConfig
from initlab.study.recording import StudyStats
from initlab.study.settings import Settings

__all__ = [
    "DEPTH_SCHEMES",
    "DETERMINISTIC",
    "TRAIN_SCHEMES",
    "Population",
    "PopulationSpec",
    "population_spec",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid")

#: Schemes that draw no random number: one member each (the seed cannot change them).
DETERMINISTIC = ("zeros", "constant:value=0.5")

#: Every scheme of the trained comparison, in display order.
TRAIN_SCHEMES = (
    "zeros",
    "constant:value=0.5",
    "small",
    "random_normal:std=1",
    "large",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
)

#: Schemes whose per-layer scale at initialization is compared in the deep network.
DEPTH_SCHEMES = (
    "small",
    "random_normal:std=1",
    "large",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
)

#: Schemes of the networks with one unit per hidden layer (claim 4's baseline), and their
#: bias: a small positive constant, so that a single ReLU unit does not start dead (the
#: baseline should show what one unit per layer can do).
NARROW_SCHEMES = ("xavier_normal", "he_normal", "random_normal:std=1")
NARROW_BIAS = "constant:value=0.1"

#: Claim 8's learning-rate sweep: the random schemes (normal forms; claim 9 measures that the
#: uniform forms behave the same; zeros and constants never break symmetry at any rate), except
#: N(0, 10^2): it saturates tanh and sigmoid and explodes ReLU, and reached the target at none
#: of the five rates in any seed when it was swept (it is compared at the study's rate).
SWEEP_SCHEMES = ("small", "random_normal:std=1", "xavier_normal", "he_normal")

#: Populations recorded at every step of the first ``Settings.early_steps`` steps.
EARLY = ("train/sigmoid", "imbalanced/sigmoid")


@dataclass(frozen=True)
class PopulationSpec:
    """What to train: a base configuration and the members' ``(scheme, seed)``; how to record
    (``LayerStats`` interval, histograms, symmetry measures; evaluation interval)."""

    key: str
    description: str
    base: RunConfig
    members: tuple[tuple[str, int], ...]
    every: int
    histograms: bool
    symmetry: bool
    eval_every: int
    early: int = 0

    def configs(self) -> list[RunConfig]:
        return [self.base.replace(init=s, seed=seed) for s, seed in self.members]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "base": self.base.to_dict(),
            "members": [list(m) for m in self.members],
            "every": self.every,
            "histograms": self.histograms,
            "symmetry": self.symmetry,
            "eval_every": self.eval_every,
            "early": self.early,
        }

    def schedules(self) -> tuple[Any, Any]:
        """The schedule of every member, and that of the watched ones (see
        :class:`StudyStats`)."""
        from initlab.train import Schedule

        plain = Schedule.every(self.every)
        if self.early:
            return plain, Schedule.dense_then_every(self.early, self.every)
        return plain, Schedule.every(self.every)

    def watched(self) -> list[int]:
        """The first member of each scheme (its first seed)."""
        first: dict[str, int] = {}
        for k, (s, _) in enumerate(self.members):
            first.setdefault(s, k)
        return list(first.values())

    def probes(self) -> list[Any]:
        return [
            StudyStats(
                self.schedules(),
                len(self.members),
                self.watched(),
                self.histograms,
                self.symmetry,
            )
        ]

    def setup(self) -> dict[str, Any]:
        """The setup as plain data, for reports."""
        b = self.base
        schemes = list(dict.fromkeys(s for s, _ in self.members))
        seeds = sorted({seed for _, seed in self.members})
        return {
            "population": self.key,
            "what": self.description,
            "data set": b.dataset,
            "hidden layers": list(b.hidden),
            "activation": b.activation,
            "schemes": schemes,
            "biases": b.bias_init,
            "seeds": seeds,
            "optimizer": b.optimizer,
            "lr": b.lr,
            "steps": b.steps,
            "members": len(self.members),
        }


def _members(schemes: Sequence[str], seeds: Sequence[int]) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for s in schemes:
        if s in DETERMINISTIC:
            out.append((s, seeds[0]))
        else:
            out.extend((s, seed) for seed in seeds)
    return tuple(out)


def population_spec(key: str, s: Settings) -> PopulationSpec:
    """The population ``key`` under settings ``s`` (see the module docstring for the keys)."""
    kind, _, act = key.partition("/")
    act, _, lr_text = act.partition("@")
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown population {key!r}")
    base = RunConfig(
        dataset=s.dataset,
        hidden=s.train_hidden,
        activation=act,
        optimizer=s.optimizer,
        lr=s.lr,
        steps=s.steps,
    )
    every = s.every
    early = s.early_steps if key in EARLY else 0
    if kind == "train":
        return PopulationSpec(
            key,
            f"every scheme, {act}, trained",
            base,
            _members(TRAIN_SCHEMES, s.seeds),
            every,
            s.histograms,
            True,
            s.eval_every,
            early,
        )
    if kind == "sweep" and lr_text:
        lr = float(lr_text)
        if lr not in s.sweep_lrs:
            raise ValueError(f"unknown population {key!r}: lr {lr_text} is not swept")
        return PopulationSpec(
            key,
            f"random schemes, {act}, trained at lr {lr_text}",
            base.replace(lr=lr, steps=s.sweep_steps),
            _members(SWEEP_SCHEMES, s.sweep_seeds),
            s.sweep_steps,
            False,
            False,
            s.sweep_steps,  # only the training cost per step is read
        )
    if kind == "depth":
        return PopulationSpec(
            key,
            f"deep {act} network at initialization",
            base.replace(hidden=s.deep_hidden, steps=1),
            _members(DEPTH_SCHEMES, s.seeds),
            1,
            s.histograms,
            False,
            1,
        )
    if kind == "shallow" and act == "relu":
        return PopulationSpec(
            key,
            "one hidden ReLU layer, small vs He, trained",
            base.replace(hidden=s.shallow_hidden),
            _members(("small", "he_normal"), s.seeds),
            every,
            False,
            False,
            s.eval_every,
        )
    if kind == "narrow":
        return PopulationSpec(
            key,
            f"one unit per hidden layer, {act}, random schemes, biases 0.1, trained",
            base.replace(hidden=(1,) * len(s.train_hidden), bias_init=NARROW_BIAS),
            _members(NARROW_SCHEMES, s.seeds),
            every,
            False,
            False,
            s.eval_every,
        )
    if kind == "imbalanced" and act == "sigmoid" and s.imbalanced_dataset is not None:
        return PopulationSpec(
            key,
            "zeros vs Xavier, sigmoid, on an imbalanced data set, trained",
            base.replace(dataset=s.imbalanced_dataset),
            _members(("zeros", "xavier_normal"), s.seeds),
            every,
            False,
            True,
            s.eval_every,
            early,
        )
    raise ValueError(f"unknown population {key!r}")


@dataclass
class Population:
    """A trained (or stored) population: the spec, the history, the data and the final
    networks, with helpers to find members and read their records."""

    spec: PopulationSpec
    history: Any
    dataset: Any
    net: Any
    run_ids: list[int | None]
    seconds: float
    _rows: dict[int, dict[int, list[dict[str, Any]]]] = field(default_factory=dict, repr=False)
    _findings: dict[tuple[int, int | None], list[Any]] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def members(self) -> tuple[tuple[str, int], ...]:
        return self.spec.members

    def schemes(self) -> list[str]:
        return list(dict.fromkeys(s for s, _ in self.members))

    def of(self, scheme: str) -> list[int]:
        """Members with this scheme (one per seed)."""
        ks = [k for k, (s, _) in enumerate(self.members) if s == scheme]
        if not ks:
            raise KeyError(f"population {self.key!r} has no member with scheme {scheme!r}")
        return ks

    def seed_of(self, k: int) -> int:
        return self.members[k][1]

    def paired(self, k: int, scheme: str) -> int:
        """The member of ``scheme`` with the same seed as member ``k`` (its first seed if
        ``scheme`` is deterministic)."""
        ks = self.of(scheme)
        for j in ks:
            if self.seed_of(j) == self.seed_of(k):
                return j
        return ks[0]

    def by_step(self, k: int) -> dict[int, list[dict[str, Any]]]:
        """Member ``k``'s ``LayerStats`` records grouped by step, layers in order."""
        if k not in self._rows:
            from initlab.diagnostics import layer_stats

            out: dict[int, list[dict[str, Any]]] = {}
            for r in layer_stats(self.history, k):
                out.setdefault(r["step"], []).append(r)
            for v in out.values():
                v.sort(key=lambda r: r["layer"])
            self._rows[k] = out
        return self._rows[k]

    def first(self, k: int, hidden: bool = True) -> list[dict[str, Any]]:
        rows = self.by_step(k)[min(self.by_step(k))]
        return [r for r in rows if r["hidden"]] if hidden else rows

    def last(self, k: int, hidden: bool = True) -> list[dict[str, Any]]:
        rows = self.by_step(k)[max(self.by_step(k))]
        return [r for r in rows if r["hidden"]] if hidden else rows

    def all_rows(self, k: int, hidden: bool = True) -> list[dict[str, Any]]:
        out = []
        for step in sorted(self.by_step(k)):
            out.extend(r for r in self.by_step(k)[step] if r["hidden"] or not hidden)
        return out

    def cost(self, k: int) -> np.ndarray:
        return self.history.cost[k]

    def final_cost(self, k: int) -> float:
        return float(self.history.final_cost[k])

    def accuracy(self, k: int, split: str = "test") -> float | None:
        rec = self.history.records.get(split)
        if rec is None or len(rec["step"]) == 0:
            return None
        return float(np.asarray(rec["accuracy"])[-1, k])

    def target(self, settings: Settings) -> float:
        return settings.target_cost(self.dataset.n_classes)

    def steps_to_target(self, k: int, settings: Settings) -> int | None:
        from initlab.diagnostics import steps_to_cost

        return steps_to_cost(self.cost(k), self.target(settings))

    def findings(self, k: int, reference: int | None = None) -> list[Any]:
        """The diagnostics' findings on member ``k`` (against member ``reference``), computed
        once."""
        from initlab.diagnostics import verdict

        if (k, reference) not in self._findings:
            if reference is None:
                found = verdict(self.history, k)
            else:
                found = verdict(self.history, k, reference=self.history, reference_member=reference)
            self._findings[(k, reference)] = found
        return self._findings[(k, reference)]

    def diagnosis(self, k: int) -> dict[str, Any]:
        """The diagnostics' verdict on member ``k`` in plain data: the two-part verdict (one
        sentence, findings at initialization and in training) where
        :func:`initlab.diagnostics.judge` exists, else the failure modes found."""
        from initlab import diagnostics

        judge = getattr(diagnostics, "judge", None)
        if judge is None:
            return {"run": self.label(k), "verdict": ", ".join(self.modes(k))}
        v = judge(self.history, k)
        return {
            "run": self.label(k),
            "verdict": v.sentence,
            "at initialization": ", ".join(f.mode for f in v.at_init) or "-",
            "in training": ", ".join(f.mode for f in v.in_training) or "-",
        }

    def modes(self, k: int, reference: int | None = None) -> list[str]:
        """The failure modes found on member ``k``, each once, most severe first."""
        return list(dict.fromkeys(f.mode for f in self.findings(k, reference)))

    def judge(self, k: int, reference: int | None = None) -> Any:
        """The diagnostics' two-part :class:`~initlab.diagnostics.Verdict` of member ``k`` (its
        ``sentence`` says both parts)."""
        from initlab.diagnostics import judge

        if reference is None:
            return judge(self.history, k, predict=False)
        return judge(self.history, k, self.history, reference, predict=False)

    def label(self, k: int) -> str:
        s, seed = self.members[k]
        return s if s in DETERMINISTIC else f"{s} (seed {seed})"

    def layer_sizes(self) -> list[int]:
        return list(self.net.sizes)
