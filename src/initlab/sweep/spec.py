"""The grid spec of a sweep: which :class:`~initlab.config.RunConfig` fields vary, over which
values, and which stay fixed.

A grid is a list of axes ``FIELD=VALUES`` (``--grid`` on the command line, or the ``[grid]``
table of a TOML file).  ``VALUES`` is a comma-separated list of items; an item is

* a literal: ``he_normal``, ``0.01``, ``tanh``;
* an integer range, both ends included: ``seed=0..19`` (20 values);
* a range with a number of points: ``lr=1e-3..1e-1:log5`` (geometric: 1e-3, 3.16e-3, ...,
  1e-1) or ``noise=0..0.3:lin4`` (evenly spaced); on integer fields the points are rounded to
  the nearest integer (halves up) and must stay distinct;
* for ``hidden``: ``WxD`` is D layers of width W (``64x3`` = 64,64,64), ``64x1..64x32`` every
  depth from 1 to 32 (``:linN``/``:logN`` pick N depths), and ``a/b/c`` the explicit widths
  a, b, c;
* for text fields, a ``{...}`` part expands to each of its values:
  ``init=variance_scaling:scale={1..4:lin7}`` is seven schemes with scale 1, 1.5, ..., 4.

Scheme parameters keep their commas: in ``init=random_normal:std=0.5,mean=0,he_normal`` the
piece ``mean=0`` continues the scheme before it, because a scheme name never contains ``=``.

A bad axis raises :class:`SweepSpecError`, a ValueError that carries ``field``, ``value`` and
``allowed`` like every validation error of initlab.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from initlab.config import RunConfig

__all__ = [
    "Axis",
    "GridSpec",
    "SweepSpecError",
    "field_kind",
    "load_toml",
    "parse_axis",
    "parse_values",
]

_DEPTH = re.compile(r"^(?P<w>\d+)x(?P<d>\d+)$")


class SweepSpecError(ValueError):
    """A grid spec that cannot be used: ``field`` is the RunConfig field (or spec key),
    ``value`` the offending text and ``allowed`` what would be accepted."""

    def __init__(self, field: str, value: Any, allowed: str, detail: str = "") -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        msg = f"{field}={value!r} is not allowed"
        if detail:
            msg += f" ({detail})"
        super().__init__(f"{msg}; allowed: {allowed}")


def _fields() -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}


def field_kind(name: str) -> str:
    """``"int"``, ``"float"``, ``"hidden"`` or ``"str"``: how values of RunConfig field
    ``name`` are written (SweepSpecError for an unknown field)."""
    fields = _fields()
    if name not in fields:
        raise SweepSpecError(
            "field", name, f"a RunConfig field: {', '.join(fields)}", "unknown field"
        )
    t = fields[name]
    if name == "hidden":
        return "hidden"
    if t.startswith("int"):
        return "int"
    if t.startswith("float"):
        return "float"
    return "str"


@dataclass(frozen=True)
class Axis:
    """One swept field and its values, in order."""

    field: str
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "values": [_plain(v) for v in self.values]}


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


_ALLOWED = {
    "int": "integers, ranges A..B (both ends included), A..B:linN or A..B:logN",
    "float": "numbers, ranges A..B:linN (N evenly spaced) or A..B:logN (N geometric)",
    "hidden": "WxD (D layers of width W), WxA..WxB[:linN|:logN] (depths A to B) or a/b/c",
    "str": "names, comma-separated; a {A..B:linN} or {a,b} part expands to each value",
}


def _split_top(text: str) -> list[str]:
    """Split at commas that are not inside ``{...}``."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _number(field: str, kind: str, text: str, as_float: bool = False) -> int | float:
    """``text`` as a value of a ``kind`` field (as a float with ``as_float``)."""
    try:
        return int(text) if kind == "int" and not as_float else float(text)
    except ValueError:
        what = "an integer" if kind == "int" and not as_float else "a number"
        raise SweepSpecError(field, text, _ALLOWED[kind], f"not {what}") from None


def _points(
    field: str, kind: str, item: str, a: float, b: float, how: str | None, n: str | None
) -> list[Any]:
    if how is None:
        if kind != "int" or not (float(a).is_integer() and float(b).is_integer()):
            raise SweepSpecError(
                field, item, _ALLOWED[kind], "a range of non-integers needs :linN or :logN"
            )
        lo, hi = int(a), int(b)
        if hi < lo:
            raise SweepSpecError(field, item, _ALLOWED[kind], "the range is empty: end < start")
        return list(range(lo, hi + 1))
    count = int(n or 0)
    if count < 1:
        raise SweepSpecError(field, item, _ALLOWED[kind], "N must be >= 1")
    if how == "log":
        if a <= 0 or b <= 0:
            raise SweepSpecError(field, item, _ALLOWED[kind], ":log needs both ends > 0")
        pts = np.geomspace(a, b, count)
    else:
        pts = np.linspace(a, b, count)
    if kind != "int":
        return [float(p) for p in pts]
    ints = [math.floor(float(p) + 0.5) for p in pts]  # halves round up
    if len(set(ints)) != len(ints):
        raise SweepSpecError(
            field, item, _ALLOWED[kind], f"rounded to integers the points repeat: {ints}"
        )
    return ints


def _range(field: str, kind: str, item: str) -> list[Any] | None:
    """The values of ``item`` if it is a range ``A..B[:linN|:logN]``, else None."""
    if ".." not in item:
        return None
    head, _, tail = item.partition("..")
    end, _, how = tail.partition(":")
    a = _number(field, kind, head.strip(), as_float=True)
    b = _number(field, kind, end.strip(), as_float=True)
    m = re.fullmatch(r"(lin|log)(\d+)", how.strip()) if how else None
    if how and m is None:
        raise SweepSpecError(field, item, _ALLOWED[kind], f"unknown spacing {how!r}")
    if kind == "int" and m is None:
        for t in (head, end):
            _number(field, "int", t.strip())
    return _points(field, kind, item, a, b, m and m.group(1), m and m.group(2))


def _hidden(field: str, item: str) -> list[tuple[int, ...]]:
    if "/" in item or item.isdigit():
        try:
            widths = tuple(int(w) for w in item.split("/"))
        except ValueError:
            raise SweepSpecError(
                field, item, _ALLOWED["hidden"], "widths must be integers"
            ) from None
        return [widths]
    if ".." in item:
        lo, _, rest = item.partition("..")
        hi, _, how = rest.partition(":")
        m_lo, m_hi = _DEPTH.match(lo.strip()), _DEPTH.match(hi.strip())
        if not (m_lo and m_hi):
            raise SweepSpecError(field, item, _ALLOWED["hidden"], "write both ends as WxD")
        if m_lo["w"] != m_hi["w"]:
            raise SweepSpecError(field, item, _ALLOWED["hidden"], "both ends need the same width")
        depths = _range(field, "int", f"{m_lo['d']}..{m_hi['d']}" + (f":{how}" if how else ""))
        return [(int(m_lo["w"]),) * d for d in depths or []]
    m = _DEPTH.match(item)
    if not m:
        raise SweepSpecError(field, item, _ALLOWED["hidden"])
    return [(int(m["w"]),) * int(m["d"])]


def _expand_braces(field: str, item: str) -> list[str]:
    """``"a:{1,2}"`` -> ``["a:1", "a:2"]``; ranges inside braces give their points."""
    m = re.search(r"\{([^{}]*)\}", item)
    if m is None:
        if "{" in item or "}" in item:
            raise SweepSpecError(field, item, _ALLOWED["str"], "unbalanced braces")
        return [item]
    inner: list[str] = []
    for part in _split_top(m.group(1)):
        pts = _range(field, "float", part) if ".." in part else None
        inner += [f"{p:g}" for p in pts] if pts is not None else [part]
    out: list[str] = []
    for v in inner:
        out += _expand_braces(field, item[: m.start()] + v + item[m.end() :])
    return out


def _merge_scheme_params(parts: list[str]) -> list[str]:
    """Rejoin ``random_normal:std=0.5`` and ``mean=0`` split at the comma between them."""
    out: list[str] = []
    for p in parts:
        if out and ":" in out[-1] and re.match(r"^[A-Za-z_]\w*\s*=", p):
            out[-1] += "," + p
        else:
            out.append(p)
    return out


def parse_values(field: str, text: str | float | Sequence[Any]) -> tuple[Any, ...]:
    """The values of one axis from its text (``"0..19"``) or, from TOML, a list of values or
    of such texts."""
    kind = field_kind(field)
    if isinstance(text, int | float) and not isinstance(text, bool) and kind != "str":
        return (text,)  # TOML: one number
    if not isinstance(text, str):
        if isinstance(text, Sequence) and text:
            out: list[Any] = []
            for v in text:
                if isinstance(v, str):
                    out += parse_values(field, v)
                elif kind == "hidden" and isinstance(v, Sequence):
                    out.append(tuple(v))
                else:
                    out.append(v)
            return _distinct(field, out)
        raise SweepSpecError(field, text, _ALLOWED[kind], "give a string or a non-empty list")
    if not text.strip():
        raise SweepSpecError(field, text, _ALLOWED[kind], "no values")
    parts = _split_top(text)
    if kind == "str":
        parts = _merge_scheme_params(parts) if field in ("init", "bias_init") else parts
    values: list[Any] = []
    for item in parts:
        if not item:
            raise SweepSpecError(field, text, _ALLOWED[kind], "an empty item between commas")
        if kind == "hidden":
            values += _hidden(field, item)
        elif kind == "str":
            values += _expand_braces(field, item)
        else:
            pts = _range(field, kind, item)
            values += pts if pts is not None else [_number(field, kind, item)]
    return _distinct(field, values)


def _distinct(field: str, values: list[Any]) -> tuple[Any, ...]:
    seen = set()
    for v in values:
        key = repr(v)
        if key in seen:
            raise SweepSpecError(field, v, "each value once per axis", "the value repeats")
        seen.add(key)
    return tuple(values)


def parse_axis(text: str) -> Axis:
    """``"FIELD=VALUES"`` (one ``--grid`` option) as an :class:`Axis`."""
    name, eq, values = text.partition("=")
    if not eq:
        raise SweepSpecError("grid", text, "FIELD=VALUES, e.g. seed=0..19 or init=he_normal,zeros")
    name = name.strip().replace("-", "_")
    return Axis(name, parse_values(name, values.strip()))


@dataclass(frozen=True)
class GridSpec:
    """The axes of a sweep and the configuration every cell starts from."""

    axes: tuple[Axis, ...]
    base: RunConfig

    def __post_init__(self) -> None:
        if not self.axes:
            raise SweepSpecError("grid", "", "at least one axis FIELD=VALUES, e.g. seed=0..4")
        names = [a.field for a in self.axes]
        for n in names:
            if names.count(n) > 1:
                raise SweepSpecError(
                    n, n, "each field in one axis only", "the field is swept twice"
                )

    @property
    def n_cells(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def to_dict(self) -> dict[str, Any]:
        return {"axes": [a.to_dict() for a in self.axes], "base": self.base.to_dict()}


def load_toml(path: str | Path) -> tuple[dict[str, Any], list[Axis], dict[str, Any]]:
    """Read a sweep file: ``[fixed]`` (RunConfig fields that do not vary), ``[grid]`` (the
    axes, values as in ``--grid`` or as TOML lists) and ``[sweep]`` (options such as
    ``max_population``, ``target``, ``diagnose``).  Returns ``(fixed, axes, options)``."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepSpecError("spec", str(p), "an existing TOML file", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError("spec", str(p), "a TOML file", str(exc)) from None
    unknown = sorted(set(doc) - {"fixed", "grid", "sweep"})
    if unknown:
        raise SweepSpecError(
            "spec", unknown[0], "the tables [fixed], [grid] and [sweep]", "unknown table"
        )
    fixed = dict(doc.get("fixed", {}))
    for k in fixed:
        field_kind(k)
    if "hidden" in fixed and isinstance(fixed["hidden"], list):
        fixed["hidden"] = tuple(fixed["hidden"])
    grid = doc.get("grid", {})
    if not isinstance(grid, Mapping):
        raise SweepSpecError("grid", grid, "a table of FIELD = VALUES")
    axes = [Axis(k, parse_values(k, v)) for k, v in grid.items()]
    return fixed, axes, dict(doc.get("sweep", {}))
