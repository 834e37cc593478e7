"""Plain-text helpers shared by the CLI and the printouts: numbers and tables.  (The progress
bar lives in :mod:`initlab._progress`; it is importable from here too.)"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from initlab._progress import ProgressBar

__all__ = ["ProgressBar", "fmt", "format_table"]


def fmt(value: Any, digits: int = 4) -> str:
    """A compact, human-readable rendering of a number (NaN/inf spelled out)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e5:
            return f"{value:.{digits}g}"
        return f"{value:.{max(digits - 2, 1)}e}"
    return str(value)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 4) -> str:
    """Render ``rows`` under ``headers`` as an aligned text table (numbers right-aligned)."""
    rows = [list(r) for r in rows]
    cells = [[fmt(v, digits) for v in row] for row in rows]
    right = [
        bool(rows)
        and all(isinstance(r[j], int | float) and not isinstance(r[j], bool) for r in rows)
        for j in range(len(headers))
    ]
    widths = [len(h) for h in headers]
    for row in cells:
        for j, c in enumerate(row):
            widths[j] = max(widths[j], len(c))

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)
