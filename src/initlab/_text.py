"""Plain-text helpers shared by the CLI and the printouts: tables and a progress bar."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

__all__ = ["fmt", "format_table", "progress"]

T = TypeVar("T")


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


def progress(
    items: Sequence[T], label: str = "", stream: TextIO | None = None, enabled: bool = True
) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line progress bar on ``stream`` (stderr by default).

    The bar is redrawn in place on a terminal; when the stream is not a terminal it prints
    one line at the end only, so logs stay readable."""
    stream = stream or sys.stderr
    n = len(items)
    tty = enabled and hasattr(stream, "isatty") and stream.isatty()
    start = time.perf_counter()
    for k, item in enumerate(items):
        if tty:
            done = int(30 * k / max(n, 1))
            stream.write(f"\r{label} [{'#' * done}{'.' * (30 - done)}] {k}/{n}")
            stream.flush()
        yield item
    if enabled:
        elapsed = time.perf_counter() - start
        stream.write(("\r" if tty else "") + f"{label} [{'#' * 30}] {n}/{n} in {elapsed:.1f}s\n")
        stream.flush()


class ProgressBar:
    """A callback-driven progress bar: ``update(done)`` redraws, ``close()`` ends the line.

    On a terminal it redraws in place; otherwise it prints only the final line."""

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0

    def update(self, done: int, note: str = "") -> None:
        self.done = min(int(done), self.total)
        if self.tty:
            filled = int(30 * self.done / self.total)
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done}/{self.total} {note}".rstrip()
                + " "
            )
            self.stream.flush()

    def close(self, note: str = "") -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        line = f"{self.label} [{'#' * 30}] {self.done}/{self.total} in {elapsed:.1f}s {note}"
        self.stream.write(("\r" if self.tty else "") + line.rstrip() + "\n")
        self.stream.flush()
