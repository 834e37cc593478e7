"""The initialization literature, reproduced: each paper's number beside ours.

Every experiment names the paper and the figure or table it reproduces, runs a scaled-down
version on the NumPy engine (stating exactly what differs from the paper), and compares the
paper's numbers with ours (mean and 95 % CI over seeds), each with a verdict: reproduced,
reproduced in direction only, or not reproduced::

    from initlab import reproduce

    report = reproduce.run_reproduce(["he2015"], reproduce.Settings(quick=True))
    for r in report.results:
        print(r.name, r.verdict)
    reproduce.write_outputs(report, "initlab-out")   # reproduce.html, .md, .json

``initlab reproduce`` is the command-line face; ``docs/reproduce.md`` describes every
experiment and its criteria.
"""

from initlab.reproduce.context import Context, Settings
from initlab.reproduce.registry import PAPERS, Paper, check_names, names
from initlab.reproduce.result import (
    DIRECTION,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    Comparison,
    PaperResult,
    ci,
    ci_log,
    ci_proportion,
    weakest,
)
from initlab.reproduce.runner import ReproReport, run_reproduce, write_outputs

__all__ = [
    "DIRECTION",
    "NOT_REPRODUCED",
    "PAPERS",
    "REPRODUCED",
    "VERDICTS",
    "Comparison",
    "Context",
    "Paper",
    "PaperResult",
    "ReproReport",
    "Settings",
    "check_names",
    "ci",
    "ci_log",
    "ci_proportion",
    "names",
    "run_reproduce",
    "weakest",
    "write_outputs",
]
