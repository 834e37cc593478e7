"""The one progress bar of the long commands (``initlab train``, ``study``, ``sweep``), drawn by
rich.

On a terminal the bar is redrawn in place by rich's live display and ends as one clean line
(label, bar, done/total, elapsed time, note).  When the stream is not a terminal (a pipe, a
file, a CI log) nothing at all is written, so the output holds only the result; ``quiet``
callers pass ``enabled=False``.  Use it as a context manager, or call :meth:`close` in a
``finally``, so that an exception still ends the live display."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

__all__ = ["ProgressBar"]


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class ProgressBar:
    """``update(done, note)`` moves the bar, ``close(note)`` draws its final line.

    ``total``: the number of units of work; ``label``: the word before the bar; ``stream``:
    where to draw (stderr by default); ``enabled=False`` draws nothing (``--quiet``)."""

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.note = ""
        self._progress = None
        if not enabled:
            return
        from rich.console import Console

        console = Console(file=stream or sys.stderr)
        if not console.is_terminal or console.is_dumb_terminal:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            transient=False,
            # prints while the bar is drawn go above it, but a piped stdout is never sent to
            # the terminal: it keeps exactly what the command prints
            redirect_stdout=_is_terminal(sys.stdout),
        )
        self._task = self._progress.add_task(label, total=self.total, note="")
        self._progress.start()

    @property
    def live(self) -> bool:
        """Whether the bar is being drawn (enabled, on a terminal, not yet closed)."""
        return self._progress is not None

    def update(self, done: int, note: str = "") -> None:
        """Set the units done (clipped to ``total``, for display only) and the note."""
        self.done = min(int(done), self.total)
        self.note = note
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, note=note)

    def close(self, note: str | None = None) -> None:
        """Draw the final line (with ``note``, e.g. "interrupted"; default: the last note) and
        end the live display.  Closing twice is harmless."""
        if self._progress is None:
            return
        note = self.note if note is None else note
        self._progress.update(self._task, completed=self.done, note=note)
        self._progress.stop()
        self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.close("interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed")
