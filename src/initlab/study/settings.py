"""The study's options and the sizes they resolve to.

:class:`StudyOptions` is what a user chooses (``--quick``, ``--seeds``, ``--dataset``,
``--only``); :meth:`StudyOptions.settings` turns it into :class:`Settings`, every number the
experiments use (network sizes, steps, learning rate, seeds, recording intervals).  Both are
plain data and go into the store, so a report can be rebuilt with exactly the settings that
produced it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from initlab._checks import check_choice, check_positive_int

__all__ = ["QUICK_FIGURES", "Settings", "StudyOptions"]

#: The experiments whose first figure a ``--quick`` run draws.
QUICK_FIGURES = ("zero_relu", "constant", "small_vanishing", "xavier_he", "xavier_relu_deep")


@dataclass(frozen=True)
class Settings:
    """Every size and number of a study.

    * ``seeds``: the initialization seeds every random scheme runs with (deterministic schemes,
      zeros and constants, run once: no random number enters them);
    * ``dataset``: the main data set (``imbalanced_dataset`` is used by claim 3 only; None
      skips that case: ``--quick`` does, to spare importing scikit-learn);
    * ``train_hidden``: the hidden widths of the networks that are trained and compared;
      ``shallow_hidden`` one hidden layer (claim 6); ``deep_hidden`` the deep network whose
      per-layer statistics at initialization show what depth does (claims 5, 7, 8, 9);
    * ``optimizer``, ``lr``, ``steps``: plain full-batch gradient descent, the seed's algorithm,
      with one learning rate for every scheme and activation;
    * ``every``: the ``LayerStats`` recording interval; ``eval_every``: train/test evaluation;
      ``early_steps``: populations whose criteria look at the first steps (claim 3's gradients)
      are recorded at every step up to this one, then every ``every`` steps;
    * ``sweep_lrs``: the learning rates of claim 8's sensitivity sweep (each scheme is judged
      at its best one as well as at ``lr``); ``sweep_seeds``: the seeds of the sweep;
      ``sweep_steps``: its steps (a third of the study's: a run not at the target by then counts as
      "more than sweep_steps", which the tests treat as a lower bound);
    * ``target_fraction``: the target cost of "steps to target" is ``target_fraction * ln C``
      (C classes), i.e. halfway from the cost of a uninformed prediction to 0;
    * ``dpi``, ``histograms``: figure resolution; whether to draw the histogram figures;
      ``figures_per_experiment``: at most this many figures per experiment (None: all);
      ``figure_experiments``: the experiments that draw figures (None: all).  ``--quick``
      draws the first figure of five experiments: drawing is most of a quick run's time.
    """

    quick: bool
    seeds: tuple[int, ...]
    dataset: str
    imbalanced_dataset: str | None
    train_hidden: tuple[int, ...]
    shallow_hidden: tuple[int, ...]
    deep_hidden: tuple[int, ...]
    optimizer: str
    lr: float
    steps: int
    every: int
    eval_every: int
    early_steps: int
    sweep_lrs: tuple[float, ...]
    sweep_seeds: tuple[int, ...]
    sweep_steps: int
    target_fraction: float
    dpi: int
    histograms: bool
    figures_per_experiment: int | None = None
    figure_experiments: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in _TUPLES:
            d[k] = list(d[k])
        if d["figure_experiments"] is not None:
            d["figure_experiments"] = list(d["figure_experiments"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Settings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown study setting(s): {', '.join(unknown)}")
        v = dict(d)
        for k in _TUPLES:
            v[k] = tuple(v[k])
        if v.get("figure_experiments") is not None:
            v["figure_experiments"] = tuple(v["figure_experiments"])
        return cls(**v)

    def target_cost(self, n_classes: int) -> float:
        """``target_fraction * ln(n_classes)``."""
        return self.target_fraction * math.log(n_classes)


_TUPLES = ("seeds", "train_hidden", "shallow_hidden", "deep_hidden", "sweep_lrs", "sweep_seeds")

#: Seeds per scheme: the default study, and ``--quick``.
DEFAULT_SEEDS = 20
QUICK_SEEDS = 5

#: Claim 8's learning-rate sweep: five rates a factor 2 apart around the study's 0.5
#: (saturating networks, sigmoid's above all, gain most from larger steps).
SWEEP_LRS = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class StudyOptions:
    """What the user chooses; see ``initlab study --help``.

    ``seeds``: how many initialization seeds (``first_seed``, ..., ``first_seed + seeds - 1``;
    default 20, or 5 with ``quick``).  ``dataset``: the main data set (default circles).
    ``only``: experiment names to run (default all).  ``quick``: the same criteria on smaller
    networks, fewer steps and fewer seeds; what these cannot decide is "undecided at quick
    settings".  ``first_seed``: the first seed (two studies with disjoint seeds must agree).
    """

    quick: bool = False
    seeds: int | None = None
    dataset: str = "circles"
    only: tuple[str, ...] | None = None
    first_seed: int = 0

    def __post_init__(self) -> None:
        from initlab.data import DATASETS

        if not isinstance(self.quick, bool):
            raise TypeError(f"quick must be True or False, got {self.quick!r}")
        if self.seeds is not None:
            object.__setattr__(self, "seeds", check_positive_int("seeds", self.seeds))
        object.__setattr__(
            self, "first_seed", check_positive_int("first_seed", self.first_seed, minimum=0)
        )
        check_choice("dataset", self.dataset, DATASETS)
        if self.only is not None:
            if isinstance(self.only, str):
                object.__setattr__(self, "only", (self.only,))
            from initlab.study.registry import check_names

            object.__setattr__(self, "only", tuple(check_names(self.only)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "seeds": self.seeds,
            "dataset": self.dataset,
            "only": None if self.only is None else list(self.only),
            "first_seed": self.first_seed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyOptions:
        only = d.get("only")
        return cls(
            quick=bool(d.get("quick", False)),
            seeds=d.get("seeds"),
            dataset=d.get("dataset", "circles"),
            only=None if only is None else tuple(only),
            first_seed=int(d.get("first_seed", 0)),
        )

    def settings(self) -> Settings:
        """The sizes of a default or a quick study."""
        n = self.seeds if self.seeds is not None else (QUICK_SEEDS if self.quick else DEFAULT_SEEDS)
        seeds = tuple(range(self.first_seed, self.first_seed + n))
        if self.quick:
            return Settings(
                quick=True,
                seeds=seeds,
                dataset=self.dataset,
                imbalanced_dataset=None,
                train_hidden=(8, 8, 8),
                shallow_hidden=(8,),
                deep_hidden=(32,) * 6,
                optimizer="gd",
                lr=0.5,
                steps=120,
                every=40,
                eval_every=20,
                early_steps=20,
                sweep_lrs=SWEEP_LRS,
                sweep_seeds=seeds,
                sweep_steps=40,
                target_fraction=0.5,
                dpi=60,
                histograms=False,
                figures_per_experiment=1,
                figure_experiments=QUICK_FIGURES,
            )
        return Settings(
            quick=False,
            seeds=seeds,
            dataset=self.dataset,
            imbalanced_dataset="breast_cancer",
            train_hidden=(16, 16, 16),
            shallow_hidden=(16,),
            deep_hidden=(64,) * 10,
            optimizer="gd",
            lr=0.5,
            steps=300,
            every=60,
            eval_every=50,
            early_steps=20,
            sweep_lrs=SWEEP_LRS,
            sweep_seeds=seeds,
            sweep_steps=80,
            target_fraction=0.5,
            dpi=80,
            histograms=True,
        )


def seeds_text(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))
