"""Layout helpers shared by the HTML and Markdown reports: id ranges, the setup table, the
verdict classes.  Presentation only: every number comes from the study's plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SETUP_COLUMNS", "id_ranges", "setup_rows", "verdict_class"]

#: The columns of a setup table (one row per population), and the setup keys they show.
SETUP_COLUMNS = (
    ("population", "population"),
    ("what", "what"),
    ("data", "data set"),
    ("layer sizes", "layer sizes"),
    ("activation", "activation"),
    ("schemes", "schemes"),
    ("seeds", "seeds"),
    ("lr", "lr"),
    ("steps", "steps"),
    ("runs", "members"),
)


def id_ranges(ids: Iterable[int]) -> str:
    """``"101-142, 150, 160-169"``: sorted ids, consecutive ones as ranges."""
    vals = sorted(set(int(i) for i in ids))
    if not vals:
        return "none"
    out: list[str] = []
    start = prev = vals[0]
    for v in vals[1:]:
        if v == prev + 1:
            prev = v
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = v
    out.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(out)


def _value(v: Any) -> Any:
    if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        if v == list(range(v[0], v[0] + len(v))) and len(v) > 2:
            return f"{v[0]}-{v[-1]} ({len(v)})"
        return ", ".join(map(str, v))
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return v


def setup_rows(setup: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The setup of an experiment's populations as one row per population; seeds ``0-19 (20)``
    and layer sizes ``2-16-16-16-1``."""
    headers = [h for h, _ in SETUP_COLUMNS]
    rows = []
    for s in setup:
        row = []
        for _, key in SETUP_COLUMNS:
            v = s.get(key, "")
            if key == "layer sizes" and isinstance(v, list):
                v = "-".join(map(str, v))
            elif key == "data set" and "data" in s:
                v = str(s["data"]).split(":")[0]
            row.append(_value(v))
        rows.append(row)
    return headers, rows


def verdict_class(v: str) -> str:
    """The CSS class of a verdict badge."""
    if v == "holds":
        return "v-holds"
    if v == "holds in part":
        return "v-part"
    if v == "does not hold":
        return "v-not"
    return "v-undecided"
