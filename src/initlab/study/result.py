"""What an experiment returns: plain data, ready for JSON, the store and the reports.

Besides the dataclasses, the small aggregation helpers the experiments use to summarise the
diagnostics' records across seeds (mean, sample standard deviation, range); they compute no
statistic of a network themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from initlab._text import fmt

__all__ = [
    "HOLDS",
    "NOT_HOLDS",
    "PART",
    "QUICK_UNDECIDED",
    "UNDECIDED",
    "VERDICTS",
    "ExperimentResult",
    "FigureSpec",
    "Table",
    "decide",
    "spread",
    "spread_text",
]

HOLDS = "holds"
NOT_HOLDS = "does not hold"
PART = "holds in part"
#: A part of the criterion could not be decided (a confidence interval too wide for the
#: smallest effect that matters, a target not reached while the cost still falls).
UNDECIDED = "undecided"
#: The same, at ``--quick`` settings: the full study decides (quick never contradicts it).
QUICK_UNDECIDED = "undecided at quick settings"
VERDICTS = (HOLDS, PART, NOT_HOLDS, UNDECIDED, QUICK_UNDECIDED)


@dataclass
class Table:
    """A numbers table: a title, column headers and rows of plain values."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "headers": self.headers, "rows": self.rows, "note": self.note}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Table:
        return cls(d["title"], list(d["headers"]), [list(r) for r in d["rows"]], d.get("note", ""))


@dataclass
class FigureSpec:
    """A figure to draw: ``kind`` names a function of :mod:`initlab.report.figures` (or
    :mod:`initlab.report.study_figures`), ``params`` its arguments as plain data; figures of
    runs name their population and members, so they can be redrawn from the store."""

    name: str
    kind: str
    title: str
    caption: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "caption": self.caption,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FigureSpec:
        return cls(d["name"], d["kind"], d["title"], d["caption"], dict(d["params"]))


@dataclass
class ExperimentResult:
    """One claim of the seed as a measured experiment.

    ``verdict`` is one of :data:`VERDICTS`, decided by ``criterion`` (stated in words) on the
    measurements; ``key_figure`` is one sentence with the deciding numbers; ``observations``
    are further sentences; ``tables`` hold the numbers; ``figures`` the figure specs;
    ``numbers`` the raw measurements the verdict used; ``run_ids`` the stored runs;
    ``finding``: the key finding in one plain sentence (the report's summary; the key figure
    when empty); ``tests``: the stated tests behind the verdict, one sentence each (test,
    seeds, 95 % interval, smallest effect that matters); ``seeds``: the seeds per scheme;
    ``diagnoses``: the diagnostics' verdict on every run its figures show."""

    name: str
    number: str
    title: str
    claim: str
    setup: list[dict[str, Any]]
    verdict: str
    criterion: str
    key_figure: str
    observations: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureSpec] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    run_ids: list[int] = field(default_factory=list)
    finding: str = ""
    tests: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    diagnoses: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"verdict={self.verdict!r} is not allowed; choose one of: {', '.join(VERDICTS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        from initlab.store import plain_json

        return plain_json(
            {
                "name": self.name,
                "number": self.number,
                "title": self.title,
                "claim": self.claim,
                "setup": self.setup,
                "verdict": self.verdict,
                "criterion": self.criterion,
                "key_figure": self.key_figure,
                "observations": self.observations,
                "tables": [t.to_dict() for t in self.tables],
                "figures": [f.to_dict() for f in self.figures],
                "numbers": self.numbers,
                "run_ids": self.run_ids,
                "finding": self.finding or self.key_figure,
                "tests": self.tests,
                "seeds": self.seeds,
                "diagnoses": self.diagnoses,
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentResult:
        return cls(
            name=d["name"],
            number=d["number"],
            title=d["title"],
            claim=d["claim"],
            setup=list(d["setup"]),
            verdict=d["verdict"],
            criterion=d["criterion"],
            key_figure=d["key_figure"],
            observations=list(d.get("observations", [])),
            tables=[Table.from_dict(t) for t in d.get("tables", [])],
            figures=[FigureSpec.from_dict(f) for f in d.get("figures", [])],
            numbers=dict(d.get("numbers", {})),
            run_ids=list(d.get("run_ids", [])),
            finding=d.get("finding", ""),
            tests=list(d.get("tests", [])),
            seeds=list(d.get("seeds", [])),
            diagnoses=list(d.get("diagnoses", [])),
        )


def decide(parts: Sequence[bool | None]) -> str:
    """``undecided`` if a part is undecided (None); else ``holds`` if every part holds,
    ``does not hold`` if none does, ``holds in part`` otherwise."""
    if any(p is None for p in parts):
        return UNDECIDED
    if all(parts):
        return HOLDS
    if not any(parts):
        return NOT_HOLDS
    return PART


def spread(values: Iterable[float | int | None]) -> dict[str, Any]:
    """Mean, sample standard deviation (n - 1; 0 for one value), min and max of the finite
    values, and how many there were (``n``) and how many were missing or non-finite."""
    vals = list(values)
    ok = [float(v) for v in vals if v is not None and math.isfinite(float(v))]
    n = len(ok)
    if n == 0:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0, "missing": len(vals)}
    mean = math.fsum(ok) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in ok) / (n - 1)) if n > 1 else 0.0
    return {
        "mean": mean,
        "sd": sd,
        "min": min(ok),
        "max": max(ok),
        "n": n,
        "missing": len(vals) - n,
    }


def spread_text(s: Mapping[str, Any], digits: int = 3, percent: bool = False) -> str:
    """``"0.123 +- 0.004 (0.118 to 0.127)"`` (mean +- sd (min to max)), or with ``percent``
    ``"12.3% +- 0.4 (11.8% to 12.7%)"``; ``"-"`` when there are no values; notes how many
    values were missing (e.g. a target never reached)."""
    if s["n"] == 0:
        return "never" if s["missing"] else "-"

    def f(x: float, d: int = digits) -> str:
        return f"{fmt(100 * x, d)}%" if percent else fmt(x, d)

    if s["n"] == 1:
        text = f(s["mean"])
    else:
        sd = fmt(100 * s["sd"] if percent else s["sd"], 2)
        text = f"{f(s['mean'])} +- {sd} ({f(s['min'])} to {f(s['max'])})"
    if s["missing"]:
        text += f", {s['missing']} never"
    return text
