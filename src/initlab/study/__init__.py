"""The study: every claim of the seed as a named experiment with a measured verdict.

Each :class:`Experiment` quotes a claim of the source document, names the populations it
measures (configurations differing only in scheme and seed, trained in one batched pass by
:func:`initlab.config.run`), reads the per-layer records of
:class:`initlab.diagnostics.LayerStats` and the verdict rules of :mod:`initlab.diagnostics`, and
returns an :class:`ExperimentResult`: a verdict ("holds", "holds in part", "does not hold")
decided by a stated criterion, a key figure with numbers, numbers tables and figure specs::

    from initlab import study
    from initlab.store import Store

    report = study.run_study(study.StudyOptions(quick=True), store=None)
    for r in report.results:
        print(r.number, r.name, r.verdict, "-", r.key_figure)
    study.write_outputs(report, "initlab-out")      # report.html, report.md, results.json

    with Store("initlab-out/runs.sqlite") as s:     # rebuild a stored study, no training
        study.write_outputs(study.rebuild_study(s, "latest"), "initlab-out/rebuilt")

``initlab study`` is the command-line face of :func:`run_study`; ``docs/study.md`` describes
every experiment and its criterion.
"""

from initlab.study.context import Context, StoreContext, TrainingContext
from initlab.study.populations import Population, PopulationSpec, population_spec
from initlab.study.registry import EXPERIMENTS, Experiment, check_names, names
from initlab.study.result import (
    HOLDS,
    NOT_HOLDS,
    PART,
    VERDICTS,
    ExperimentResult,
    FigureSpec,
    Table,
)
from initlab.study.runner import StudyReport, rebuild_study, run_study, write_outputs
from initlab.study.settings import Settings, StudyOptions

names()  # register the experiments, in claim order

__all__ = [
    "EXPERIMENTS",
    "HOLDS",
    "NOT_HOLDS",
    "PART",
    "VERDICTS",
    "Context",
    "Experiment",
    "ExperimentResult",
    "FigureSpec",
    "Population",
    "PopulationSpec",
    "Settings",
    "StoreContext",
    "StudyOptions",
    "StudyReport",
    "Table",
    "TrainingContext",
    "check_names",
    "names",
    "population_spec",
    "rebuild_study",
    "run_study",
    "write_outputs",
]
