"""The registry of reproduced papers: one :class:`Paper` per experiment, registered by its
module with :func:`paper`, in the order of :data:`ORDER`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from initlab._registry import select_names

__all__ = ["ORDER", "PAPERS", "Paper", "check_names", "names", "paper"]

#: the experiments' modules, in report order
ORDER = ("glorot2010", "he2015", "saxe2013", "schoenholz2017", "mup2021", "residual")


@dataclass(frozen=True)
class Paper:
    """``name``: the command-line name; ``title``; ``paper``: the citation; ``reproduces``:
    the figure/table; ``fn(ctx) -> PaperResult`` runs it."""

    name: str
    title: str
    paper: str
    reproduces: str
    fn: Callable[[Any], Any]


PAPERS: dict[str, Paper] = {}


def paper(
    name: str, title: str, citation: str, reproduces: str
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorator registering ``fn(ctx) -> PaperResult`` as the experiment ``name``."""

    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in PAPERS:
            raise ValueError(f"experiment {name!r} is registered twice")
        PAPERS[name] = Paper(name, title, citation, reproduces, fn)
        return fn

    return register


def _load() -> None:
    import importlib

    for mod in ORDER:
        importlib.import_module(f"initlab.reproduce.{mod}")
    ordered = sorted(PAPERS.values(), key=lambda p: ORDER.index(p.name))
    PAPERS.clear()
    PAPERS.update((p.name, p) for p in ordered)


def names() -> list[str]:
    """Every experiment's name, in report order."""
    _load()
    return list(PAPERS)


def check_names(selected: Iterable[str]) -> list[str]:
    """The selected names (commas allowed) in report order; a ValueError listing the valid
    names for an unknown one."""
    valid = names()
    return select_names(selected, valid) or valid
