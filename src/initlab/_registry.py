"""What the study's and reproduce's registries share: reading the names a user selected.

Both registries (:mod:`initlab.study.registry`, :mod:`initlab.reproduce.registry`) hold their
experiments by name in a fixed order; ``--only a,b`` selects some of them.  This module depends
on nothing of initlab's, so either can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["select_names"]


def select_names(
    selected: Iterable[str], valid: Sequence[str], what: str = "experiment"
) -> list[str]:
    """The names in ``selected`` (each item may hold several, separated by commas; blanks and
    repeats ignored) in the order of ``valid``; ``[]`` if none is named.  A ValueError names
    the unknown ones and lists ``valid``."""
    wanted: list[str] = []
    for part in selected:
        for n in str(part).split(","):
            n = n.strip()
            if n and n not in wanted:
                wanted.append(n)
    unknown = [n for n in wanted if n not in valid]
    if unknown:
        raise ValueError(
            f"unknown {what}(s) {', '.join(map(repr, unknown))}; the {what}s are: "
            f"{', '.join(valid)}"
        )
    return [n for n in valid if n in wanted]
