"""The one JSON convention: what every module writes (``results.json``, the run store, the web
API, every ``--json`` output) and how it reads it back.

The convention:

* documents are strict JSON (RFC 8259): no ``NaN`` or ``Infinity`` tokens, which browsers,
  ``jq`` and SQLite's JSON functions reject;
* a non-finite float is the string ``"nan"``, ``"inf"`` or ``"-inf"`` (a diverged run is a
  result, and its cost must survive);
* NumPy arrays and tuples are lists, NumPy scalars Python numbers, mapping keys strings;
  anything else that is not a string, a bool or None is written as its ``repr``.

It round-trips: :func:`loads` (or :func:`restore` on decoded data) turns those three strings
back into floats, so ``loads(dumps(x))`` equals ``x`` for plain data (NaN compared as NaN).
Python's ``float()`` reads the three strings too.  The strings are reserved: a text value that
is exactly ``"nan"``, ``"inf"`` or ``"-inf"`` reads back as a float.  The schema of every
document is ``initlab/schema/initlab.schema.json`` (see :mod:`initlab._schema`), whose
``number`` type is "a JSON number or one of the three strings".
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["NONFINITE", "dumps", "jsonable", "loads", "restore"]

#: The strings that stand for non-finite floats, and their values.
NONFINITE: dict[str, float] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _float(v: float) -> float | str:
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def jsonable(x: Any) -> Any:
    """``x`` as plain Python for strict JSON, recursively, in the convention above."""
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return _float(float(x))
    if x is None or isinstance(x, str):
        return x
    return repr(x)


def _default(o: Any) -> Any:
    """``json.dumps``'s fallback for what it cannot write itself (NumPy, other objects)."""
    if isinstance(o, np.ndarray | np.generic):
        return jsonable(o)
    return repr(o)


def dumps(x: Any, *, indent: int | None = None) -> str:
    """``x`` as strict JSON text in the one convention (compact unless ``indent``).

    Plain data goes straight to :func:`json.dumps`; only a document that holds a non-finite
    Python float is converted by :func:`jsonable` first (one pass, no round trip)."""
    seps = (",", ":") if indent is None else (",", ": ")
    try:
        return json.dumps(x, allow_nan=False, default=_default, indent=indent, separators=seps)
    except (ValueError, TypeError):  # a float NaN/inf somewhere, or keys that are not str
        return json.dumps(jsonable(x), allow_nan=False, indent=indent, separators=seps)


def restore(x: Any) -> Any:
    """Decoded JSON with the strings ``"nan"``, ``"inf"`` and ``"-inf"`` turned back into
    floats, recursively."""
    if isinstance(x, str):
        return NONFINITE.get(x, x)
    if isinstance(x, dict):
        return {k: restore(v) for k, v in x.items()}
    if isinstance(x, list):
        return [restore(v) for v in x]
    return x


def loads(text: str | bytes) -> Any:
    """Read a document written by :func:`dumps` (older documents with ``NaN`` tokens too)."""
    return restore(json.loads(text))
