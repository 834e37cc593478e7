"""A sweep's results as a table: one row per cell with its swept values and summary, and the
reductions the figures draw (a two-axis grid of means, a line with a confidence band over
seeds).

Summaries (``metric`` below): ``final_cost``, ``train_accuracy``, ``test_accuracy``,
``steps_to_target``, ``steps_run``, ``seconds``, ``diverged`` (1 if the cell diverged, else 0,
so its mean is the fraction that diverged) and ``verdict`` (the first failure mode found,
"healthy" if none; needs ``diagnose``).  A cell without a value (failed, diverged, target never
reached) is left out of a mean; every reduction returns how many cells it used.

The confidence band is ``mean +- t_{(1+level)/2, n-1} * s / sqrt(n)`` over the ``n`` seeds
(Student's t; ``s`` the sample standard deviation), none for ``n < 2``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from initlab._json import jsonable

__all__ = ["METRICS", "SweepResults", "t_quantile", "value_label"]

NUMERIC = (
    "final_cost",
    "train_accuracy",
    "test_accuracy",
    "steps_to_target",
    "steps_run",
    "seconds",
    "diverged",
)
METRICS = (*NUMERIC, "verdict")
_SUMMARY = ("status", *NUMERIC[:-1], "verdict", "error")


def _normal_quantile(p: float) -> float:
    from initlab._special import normal_cdf

    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if float(normal_cdf(np.array(mid))) < p else (lo, mid)
    return (lo + hi) / 2


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` (0.5 < p < 1) of Student's t with ``df`` degrees of freedom: exact for
    ``df`` 1 and 2, the Cornish-Fisher expansion in ``1/df`` to fourth order (Abramowitz &
    Stegun 26.7.5; relative error below 0.2% at df = 3, 1e-5 at df = 8) otherwise."""
    if not 0.5 < p < 1:
        raise ValueError(f"p={p!r} is not allowed; give 0.5 < p < 1")
    if df < 1:
        raise ValueError(f"df={df!r} is not allowed; give an integer >= 1")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p)))
    z = _normal_quantile(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _cell_value(row: dict[str, Any], metric: str) -> Any:
    if metric == "diverged":
        if row["status"] == "failed":
            return None
        return 0.0 if row["status"] == "ok" else 1.0
    if metric == "verdict":
        v = row.get("verdict")
        return None if not v else v[0]
    return row.get(metric)


class SweepResults:
    """The rows of a sweep (one dict per recorded cell) and the names of its axes."""

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        axes: Sequence[str],
        sweep: dict[str, Any] | None = None,
    ) -> None:
        self.rows = list(rows)
        self.axes = list(axes)
        self.sweep = sweep or {}

    @classmethod
    def from_store(cls, path: Any = None, sweep_id: int | str = "latest") -> SweepResults:
        """The results of a stored sweep (``"latest"``: the newest in the store)."""
        from initlab.sweep._store import SweepStore

        with SweepStore(path, write=False) as s:
            sw = s.sweep(sweep_id)
            cells = s.cells(sw["id"])
        axes = [a["field"] for a in sw["spec"]["grid"]["axes"]]
        return cls(cells, axes, sw)

    def __len__(self) -> int:
        return len(self.rows)

    # ------------------------------------------------------------------ plain rows

    def records(self) -> list[dict[str, Any]]:
        """One flat record per cell: ``cell``, the swept values, then the summary."""
        out = []
        for r in self.rows:
            rec: dict[str, Any] = {"cell": r["cell"]}
            for a in self.axes:
                v = r["values"][a]
                rec[a] = value_label(v) if isinstance(v, tuple | list) else v
            for k in _SUMMARY:
                rec[k] = r.get(k)
            rec["verdict"] = None if r.get("verdict") is None else ",".join(r["verdict"])
            out.append(rec)
        return out

    def json_records(self) -> list[dict[str, Any]]:
        """One standard-JSON record per cell: its configuration and summary (``--json``)."""
        return [
            jsonable(
                {
                    "sweep": self.sweep.get("id"),
                    "cell": r["cell"],
                    "values": {a: r["values"][a] for a in self.axes},
                    "config": r["config"],
                    **{k: r.get(k) for k in _SUMMARY},
                    "diverged_at": r.get("diverged_at"),
                }
            )
            for r in self.rows
        ]

    def to_csv(self, path: str | Path | None = None) -> str:
        """The records as CSV (written to ``path`` if given); floats keep full precision."""
        buf = io.StringIO()
        recs = self.records()
        w = csv.DictWriter(buf, fieldnames=["cell", *self.axes, *_SUMMARY], lineterminator="\n")
        w.writeheader()
        for rec in recs:
            w.writerow(
                {
                    k: ("" if v is None else repr(v) if isinstance(v, float) else v)
                    for k, v in rec.items()
                }
            )
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_dataframe(self) -> Any:
        """The records as a ``pandas.DataFrame`` (pandas is optional: ImportError without it)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        return pd.DataFrame.from_records(self.records(), columns=["cell", *self.axes, *_SUMMARY])

    # ------------------------------------------------------------------ reductions

    def _short_labels(self, axes: Sequence[str]) -> dict[str, tuple[str, dict[str, str]]]:
        """For each axis: its title and ``{value label: short label}`` (see axis_labels)."""
        out = {}
        for a in axes:
            levels = self._levels(a)
            short, title = axis_labels(a, levels)
            out[a] = (title, dict(zip(map(value_label, levels), short, strict=True)))
        return out

    def summary(self, over: str = "seed") -> tuple[list[str], list[list[Any]]]:
        """A table with one row per combination of the axes other than ``over``: the number
        of cells, how many were ok, diverged and failed, the mean final cost and accuracies,
        the mean steps to target and the most frequent verdict where recorded."""
        keep = [a for a in self.axes if a != over]
        names = self._short_labels(keep)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in self.rows:
            key = tuple(names[a][1][value_label(r["values"][a])] for a in keep)
            groups.setdefault(key, []).append(r)
        extra = [
            m
            for m in ("steps_to_target", "verdict")
            if any(r.get(m) is not None for r in self.rows)
        ]
        headers = [
            *(names[a][0] for a in keep),
            "cells",
            "ok",
            "diverged",
            "failed",
            "final cost",
            "train acc",
            "test acc",
        ]
        headers += ["steps to target" if m == "steps_to_target" else m for m in extra]
        out = []
        for key, rows in groups.items():
            status = [r["status"] for r in rows]
            row: list[Any] = [
                *key,
                len(rows),
                status.count("ok"),
                len(rows) - status.count("ok") - status.count("failed"),
                status.count("failed"),
            ]
            for m in ("final_cost", "train_accuracy", "test_accuracy", *extra):
                vs = [_cell_value(r, m) for r in rows]
                vs = [
                    v for v in vs if v is not None and not (isinstance(v, float) and math.isnan(v))
                ]
                if m == "verdict":
                    row.append(max(set(vs), key=vs.count) if vs else None)
                else:
                    row.append(float(np.mean(vs)) if vs else None)
            out.append(row)
        return headers, out

    def _check(self, metric: str, *axes: str) -> None:
        if metric not in METRICS:
            raise ValueError(
                f"metric={metric!r} is not allowed; choose one of: {', '.join(METRICS)}"
            )
        for a in axes:
            if a not in self.axes:
                raise ValueError(
                    f"axis={a!r} is not allowed; the swept axes are: {', '.join(self.axes)}"
                )

    def _levels(self, axis: str) -> list[Any]:
        seen: list[Any] = []
        for r in self.rows:
            v = r["values"][axis]
            if v not in seen:
                seen.append(v)
        return seen

    def grid(self, metric: str, x: str, y: str) -> dict[str, Any]:
        """``metric`` over two axes: ``{"x": levels, "y": levels, "value": (ny, nx) array,
        "n": (ny, nx) cell counts}``; numeric metrics are averaged over the other axes, the
        verdict is the most frequent one (``value`` then holds strings)."""
        self._check(metric, x, y)
        if x == y:
            raise ValueError(f"x and y must be different axes, both are {x!r}")
        xs, ys = self._levels(x), self._levels(y)
        bins: dict[tuple[int, int], list[Any]] = {}
        for r in self.rows:
            v = _cell_value(r, metric)
            key = (ys.index(r["values"][y]), xs.index(r["values"][x]))
            bins.setdefault(key, [])
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                bins[key].append(v)
        n = np.zeros((len(ys), len(xs)), dtype=int)
        value = np.full(
            (len(ys), len(xs)),
            None if metric == "verdict" else np.nan,
            dtype=object if metric == "verdict" else float,
        )
        for (i, j), vs in bins.items():
            n[i, j] = len(vs)
            if vs:
                value[i, j] = (
                    max(set(vs), key=vs.count) if metric == "verdict" else float(np.mean(vs))
                )
        return {
            "x": xs,
            "y": ys,
            "x_labels": axis_labels(x, xs)[0],
            "y_labels": axis_labels(y, ys)[0],
            "x_title": axis_labels(x, xs)[1],
            "y_title": axis_labels(y, ys)[1],
            "value": value,
            "n": n,
            "metric": metric,
            "x_axis": x,
            "y_axis": y,
        }

    def band(self, metric: str, x: str, over: str = "seed", level: float = 0.95) -> dict[str, Any]:
        """``metric`` along axis ``x``, one line per combination of the other axes except
        ``over``: ``{"x": levels, "lines": {label: {"mean", "low", "high", "n"}}}`` with the
        Student-t confidence band over ``over`` (usually the seeds)."""
        self._check(metric, x, over)
        if metric == "verdict":
            raise ValueError("metric='verdict' has no mean; choose a numeric metric for lines")
        xs = self._levels(x)
        others = [a for a in self.axes if a not in (x, over)]
        short = self._short_labels(others)
        groups: dict[str, dict[int, list[float]]] = {}
        for r in self.rows:
            v = _cell_value(r, metric)
            label = ", ".join(short[a][1][value_label(r["values"][a])] for a in others) or metric
            slot = groups.setdefault(label, {}).setdefault(xs.index(r["values"][x]), [])
            if v is not None and not math.isnan(float(v)):
                slot.append(float(v))
        lines = {}
        for label, by_x in groups.items():
            mean, low, high, count = (np.full(len(xs), np.nan) for _ in range(4))
            for j, vs in by_x.items():
                count[j] = len(vs)
                if vs:
                    mean[j] = float(np.mean(vs))
                if len(vs) >= 2:
                    half = (
                        t_quantile((1 + level) / 2, len(vs) - 1)
                        * float(np.std(vs, ddof=1))
                        / math.sqrt(len(vs))
                    )
                    low[j], high[j] = mean[j] - half, mean[j] + half
            lines[label] = {"mean": mean, "low": low, "high": high, "n": count}
        return {
            "x": xs,
            "x_labels": axis_labels(x, xs)[0],
            "x_title": axis_labels(x, xs)[1],
            "legend_title": ", ".join(short[a][0] for a in others),
            "lines": lines,
            "metric": metric,
            "x_axis": x,
            "over": over,
            "level": level,
        }


def _common(texts: list[str], reverse: bool = False) -> str:
    """The common prefix (suffix with ``reverse``) of ``texts``, never cutting a number."""
    ts = [t[::-1] for t in texts] if reverse else texts
    n = 0
    while all(len(t) > n for t in ts) and len({t[n] for t in ts}) == 1:
        n += 1
    while n and (ts[0][n - 1].isdigit() or ts[0][n - 1] in ".-+e"):
        n -= 1
    part = ts[0][:n]
    return part[::-1] if reverse else part


def axis_labels(axis: str, levels: Sequence[Any]) -> tuple[list[str], str]:
    """Tick labels for an axis and its title: when the levels are one scheme with one
    parameter varying, the shared text moves to the title, e.g. ``init
    (variance_scaling:scale=...,distribution=normal)`` with ticks 1, 1.5, 2."""
    labels = [value_label(v) for v in levels]
    if len(labels) < 2 or not all(isinstance(v, str) for v in levels):
        return labels, axis
    pre = _common(labels)
    if not pre.endswith("="):  # only a scheme parameter's value is worth cutting out
        return labels, axis
    suf = _common([t[len(pre) :] for t in labels], reverse=True)
    suf = suf if suf.startswith(",") else ""
    short = [t[len(pre) : len(t) - len(suf)] for t in labels]
    if not all(short):
        return labels, axis
    return short, f"{axis} ({pre}...{suf})"


def value_label(v: Any) -> str:
    """A short text for an axis value: ``64x3`` for three layers of 64, ``32/16`` for mixed
    widths, ``0.01`` for a number."""
    if isinstance(v, tuple | list):
        if v and len(set(v)) == 1:
            return f"{v[0]}x{len(v)}"
        return "/".join(map(str, v))
    return f"{v:g}" if isinstance(v, float) else str(v)
