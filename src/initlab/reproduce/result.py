"""What a reproduced paper returns: the paper's numbers beside ours, with a 95 % CI over
seeds and a verdict per number, as plain data ready for JSON, the store and the reports.

The confidence interval of a mean over ``n`` seeds is ``mean +- t_{0.975, n-1} s / sqrt(n)``
(Student's t, ``s`` the sample standard deviation; :func:`initlab.sweep.t_quantile`); for
ratios and other positive quantities spanning decades it is taken on ``log10`` and mapped
back (a geometric mean with its interval).  For accuracies and other proportions (bounded by
0 and 1) the t-interval is taken on each seed's empirical logit ``log((c + 1/2) / (m - c + 1/2))``
(``c`` of ``m`` points right) and mapped back by ``1 / (1 + exp(-x))``, so it stays within
[0, 1] (:func:`ci_proportion`).  With one seed there is no interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DIRECTION",
    "NOT_REPRODUCED",
    "REPRODUCED",
    "VERDICTS",
    "Comparison",
    "PaperResult",
    "ci",
    "ci_log",
    "ci_proportion",
    "weakest",
]

REPRODUCED = "reproduced"
DIRECTION = "reproduced in direction only"
NOT_REPRODUCED = "not reproduced"
VERDICTS = (REPRODUCED, DIRECTION, NOT_REPRODUCED)


def ci(values: Iterable[float | None], level: float = 0.95) -> dict[str, Any]:
    """``{"mean", "low", "high", "n", "missing"}`` of the finite values: the mean with its
    Student-t interval (``low``/``high`` None for fewer than two values)."""
    from initlab.sweep import t_quantile

    vals = list(values)
    ok = [float(v) for v in vals if v is not None and math.isfinite(float(v))]
    n = len(ok)
    out: dict[str, Any] = {"mean": None, "low": None, "high": None, "n": n}
    out["missing"] = len(vals) - n
    if n == 0:
        return out
    mean = math.fsum(ok) / n
    out["mean"] = mean
    if n > 1:
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in ok) / (n - 1))
        half = t_quantile((1 + level) / 2, n - 1) * sd / math.sqrt(n)
        out["low"], out["high"] = mean - half, mean + half
    return out


def ci_log(values: Iterable[float | None], level: float = 0.95) -> dict[str, Any]:
    """:func:`ci` of ``log10`` of the positive values, mapped back: the geometric mean and
    its interval (non-positive values count as missing)."""
    vals = list(values)
    logs = [math.log10(v) if v is not None and v > 0 else None for v in vals]
    c = ci(logs, level)
    for k in ("mean", "low", "high"):
        if c[k] is not None:
            c[k] = 10.0 ** c[k]
    return c


def ci_proportion(
    values: Iterable[float | None], trials: int | Sequence[int], level: float = 0.95
) -> dict[str, Any]:
    """:func:`ci` of per-seed proportions, with an interval that stays within [0, 1].

    Each value is a proportion ``p = c / m`` (e.g. an accuracy: ``c`` of ``m`` points right);
    ``trials`` is ``m``, one for all values or one per value.  The mean is the ordinary mean
    of the proportions; the interval is the Student-t interval of the empirical logits
    ``log((c + 1/2) / (m - c + 1/2))`` (finite at ``p = 0`` and ``p = 1``), mapped back by
    ``1 / (1 + exp(-x))``: strictly inside (0, 1) in exact arithmetic (an end within 1e-16 of
    a bound rounds to it).  A t-interval on the proportions themselves can leave [0, 1]."""
    vals = list(values)
    ms = [trials] * len(vals) if isinstance(trials, int) else list(trials)
    if len(ms) != len(vals):
        raise ValueError(f"trials needs one entry per value ({len(vals)}), got {len(ms)}")
    logits: list[float | None] = []
    props: list[float] = []
    for v, m in zip(vals, ms, strict=True):
        if v is None or not math.isfinite(float(v)):
            logits.append(None)
            continue
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"trials must be whole numbers of at least 1, got {m!r}")
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"a proportion must lie in [0, 1], got {v!r}")
        c = float(v) * m
        logits.append(math.log((c + 0.5) / (m - c + 0.5)))
        props.append(float(v))
    out = ci(logits, level)
    if props:
        out["mean"] = math.fsum(props) / len(props)
    for k in ("low", "high"):
        if out[k] is not None:
            out[k] = _logistic(out[k])
    return out


def _logistic(x: float) -> float:
    """``1 / (1 + exp(-x))`` without overflow for large ``|x|``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def weakest(verdicts: Iterable[str]) -> str:
    """The weakest of ``verdicts`` (an experiment is only as reproduced as its weakest
    number); ``not reproduced`` when there are none."""
    vs = list(verdicts)
    for v in vs:
        if v not in VERDICTS:
            raise ValueError(f"verdict={v!r} is not allowed; choose one of: {', '.join(VERDICTS)}")
    if not vs:
        return NOT_REPRODUCED
    return max(vs, key=VERDICTS.index)


@dataclass
class Comparison:
    """One number of the paper beside ours.

    ``quantity``: what is compared; ``paper``: the paper's number as it states it (text);
    ``ours``: our measurement as :func:`ci` returns it (mean, low, high, n); ``unit`` for
    display; ``verdict`` decided by ``criterion`` (in words)."""

    quantity: str
    paper: str
    ours: dict[str, Any]
    verdict: str
    criterion: str
    unit: str = ""

    def __post_init__(self) -> None:
        weakest([self.verdict])  # the clear error for a bad verdict

    def ours_text(self) -> str:
        from initlab._text import fmt

        o = self.ours
        if o.get("mean") is None:
            return "none measured" if not o.get("missing") else f"never ({o['missing']} runs)"
        text = fmt(o["mean"], 3)
        if o.get("low") is not None:
            text += f" [{fmt(o['low'], 3)}, {fmt(o['high'], 3)}]"
        text += f" (n={o['n']})"
        if o.get("missing"):
            text += f", {o['missing']} never"
        return text + (f" {self.unit}" if self.unit else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "paper": self.paper,
            "ours": dict(self.ours),
            "ours_text": self.ours_text(),
            "verdict": self.verdict,
            "criterion": self.criterion,
            "unit": self.unit,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Comparison:
        return cls(
            d["quantity"], d["paper"], dict(d["ours"]), d["verdict"], d["criterion"], d["unit"]
        )


@dataclass
class PaperResult:
    """One paper's result, reproduced (or not).

    ``paper``: the citation; ``reproduces``: the figure or table; ``setup``: ours in a
    paragraph; ``differences``: exactly what differs from the paper; ``comparisons``: the
    paper's numbers beside ours; ``verdict``: the weakest of theirs; ``summary``: one
    sentence; ``tables``: ``{"title", "headers", "rows", "note"}``; ``figures``: ``{"name",
    "title", "caption"}`` (the PNG bytes travel apart, see
    :class:`initlab.reproduce.runner.ReproReport`); ``numbers``: the raw measurements;
    ``run_ids``: the stored runs."""

    name: str
    title: str
    paper: str
    reproduces: str
    setup: str
    differences: list[str]
    comparisons: list[Comparison]
    summary: str
    observations: list[str] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    run_ids: list[int] = field(default_factory=list)
    seconds: float | None = None

    @property
    def verdict(self) -> str:
        return weakest(c.verdict for c in self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        from initlab.store import plain_json

        return plain_json(
            {
                "name": self.name,
                "title": self.title,
                "paper": self.paper,
                "reproduces": self.reproduces,
                "setup": self.setup,
                "differences": self.differences,
                "comparisons": [c.to_dict() for c in self.comparisons],
                "verdict": self.verdict,
                "key_figure": self.summary,
                "summary": self.summary,
                "observations": self.observations,
                "tables": self.tables,
                "figures": self.figures,
                "numbers": self.numbers,
                "run_ids": self.run_ids,
                "seconds": self.seconds,
            }
        )


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], note: str = ""):
    """A numbers table as plain data."""
    return {"title": title, "headers": list(headers), "rows": [list(r) for r in rows], "note": note}
