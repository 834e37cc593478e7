"""Argument validation shared by every public entry point.

A bad value raises :class:`ParameterError` (a ``ValueError``) or :class:`ParameterTypeError`
(a ``TypeError`` that is also a ParameterError).  Both carry ``field`` (the parameter's name),
``value`` (what it got) and ``allowed`` (what it accepts, in words), and their message names all
three, in the style of scikit-learn.  Every surface reads the attributes instead of parsing the
message: the CLI turns ``field`` into the flag the user typed, the web page outlines the control
named by ``field``.

Constraints are data (:class:`Choice`, :class:`Integer`, :class:`Real`, :class:`Widths`,
:class:`Parsed`), so a schema is a mapping ``field -> constraint`` checked by :func:`validate`
(``RunConfig`` is declared this way).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Choice",
    "Integer",
    "ParameterError",
    "ParameterTypeError",
    "Parsed",
    "Real",
    "Widths",
    "as_generator",
    "check_choice",
    "check_finite_real",
    "check_float_dtype",
    "check_positive_int",
    "check_shape",
    "plain_value",
    "suggest",
    "validate",
]


def _show(value: Any) -> str:
    """``repr(value)``, shortened: an error message stays one readable line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "..." + text[-12:]


def plain_value(value: Any) -> Any:
    """``value`` itself if it is None, a bool, a number, a short string or a short list of
    those (as a list); otherwise its shortened ``repr`` (what an error shows of the value it
    got)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and len(value) <= 80:
        return value
    if (
        isinstance(value, list | tuple)
        and len(value) <= 20
        and all(v is None or isinstance(v, bool | int | float | str) for v in value)
        and len(repr(value)) <= 80
    ):
        return list(value)
    return _show(value)


class ParameterError(ValueError):
    """A parameter got a value it does not accept.

    ``field`` names the parameter, ``value`` is what it got and ``allowed`` says what it accepts;
    the message names all three (``message`` replaces the default sentence, and should)."""

    def __init__(self, field: str, value: Any, allowed: str, message: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        if message is None:
            message = f"{field}={_show(value)} is not allowed; allowed: {allowed}"
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools
        return (type(self), (self.field, self.value, self.allowed, self.message))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: ``field``, ``value`` (as text when it is not a plain number or
        string), ``allowed`` and ``message``."""
        return {
            "field": self.field,
            "value": plain_value(self.value),
            "allowed": self.allowed,
            "message": self.message,
        }


class ParameterTypeError(ParameterError, TypeError):
    """A parameter got a value of the wrong type (a ``TypeError`` as well)."""


def suggest(value: Any, options: Iterable[str]) -> str:
    """``" (did you mean X?)"`` for the option closest to ``value``, or ``""`` if none is
    close (``difflib.get_close_matches``, cutoff 0.6)."""
    if not isinstance(value, str):
        return ""
    name = value.partition(":")[0].strip()
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close and close[0] != name else ""


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ParameterError listing them
    (with the nearest name, if one is close)."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ParameterError(
            name,
            value,
            "one of: " + ", ".join(allowed),
            f"{name}={_show(value)} is not allowed; choose one of: {', '.join(allowed)}"
            f"{suggest(value, allowed)}",
        )
    return value


def _range_text(low: Any, high: Any, low_inclusive: bool, high_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high}")
    return " and ".join(parts)


def check_finite_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float after checking it is a real number inside the stated range.

    NumPy scalars are accepted; booleans, strings, complex numbers and NaN are not.
    """
    rng = _range_text(low, high, low_inclusive, high_inclusive)
    allowed = ("a real number" if allow_inf else "a finite real number") + (
        f" {rng}" if rng else ""
    )
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(
            name,
            value,
            allowed,
            f"{name} must be a real number, got {_show(value)} ({type(value).__name__})",
        )
    try:
        v = float(value)
    except OverflowError:  # an int beyond float's range
        v = math.copysign(math.inf, value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ParameterError(
            name, value, allowed, f"{name} must be a finite number, got {_show(value)}"
        )
    if low is not None and (v < low or (v == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ParameterError(name, value, allowed, f"{name} must be {op} {low}, got {_show(value)}")
    if high is not None and (v > high or (v == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ParameterError(
            name, value, allowed, f"{name} must be {op} {high}, got {_show(value)}"
        )
    return v


def check_positive_int(
    name: str, value: Any, *, minimum: int = 1, maximum: int | None = None
) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum`` (and <=
    ``maximum`` if given)."""
    allowed = f"an integer >= {minimum}" + ("" if maximum is None else f" and <= {maximum}")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(
            name, value, allowed, f"{name} must be an integer >= {minimum}, got {_show(value)}"
        )
    if int(value) < minimum:
        raise ParameterError(
            name, value, allowed, f"{name} must be an integer >= {minimum}, got {_show(value)}"
        )
    if maximum is not None and int(value) > maximum:
        raise ParameterError(
            name, value, allowed, f"{name} must be an integer <= {maximum}, got {_show(value)}"
        )
    return int(value)


def check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints; an int ``n`` means ``(n,)``."""
    allowed = "a tuple of non-negative integers"
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool | np.bool_):
        shape = (shape,)
    if not isinstance(shape, Sequence | np.ndarray) or isinstance(shape, str):
        raise ParameterTypeError(
            name, shape, allowed, f"{name} must be {allowed}, got {_show(shape)}"
        )
    dims = []
    for d in shape:
        if isinstance(d, bool | np.bool_) or not isinstance(d, numbers.Integral):
            raise ParameterTypeError(
                name,
                shape,
                allowed,
                f"{name} must contain only non-negative integers, got {_show(shape)} "
                f"(element {d!r} is {type(d).__name__})",
            )
        if int(d) < 0:
            raise ParameterError(
                name,
                shape,
                allowed,
                f"{name} must contain only non-negative integers, got {_show(shape)}",
            )
        dims.append(int(d))
    return tuple(dims)


def check_float_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype (float16, float32 or float64)."""
    allowed = "a floating dtype (float16, float32, float64)"
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):  # a dict or list is a structured dtype spec to NumPy
        raise ParameterTypeError(
            name, dtype, allowed, f"{name}={_show(dtype)} is not a NumPy dtype; use {allowed}"
        ) from None
    if dt.kind != "f":
        raise ParameterTypeError(name, dtype, allowed, f"{name} must be {allowed}, got {dt}")
    return dt


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, an int seed, or None (fresh entropy)."""
    allowed = "a numpy.random.Generator, a non-negative int seed or None"
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool | np.bool_):
        if int(rng) < 0:
            raise ParameterError(name, rng, allowed, f"{name} seed must be >= 0, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise ParameterTypeError(name, rng, allowed, f"{name} must be {allowed}, got {_show(rng)}")


# ----------------------------------------------------------------------- constraints as data


@dataclass(frozen=True)
class Choice:
    """One of the names ``options`` returns (a callable, so registries can be read late)."""

    options: Callable[[], Sequence[str]]
    none_ok: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none_ok:
            return None
        return check_choice(name, value, self.options())


@dataclass(frozen=True)
class Integer:
    """An integer in ``[minimum, maximum]`` (``none_ok``: None too)."""

    minimum: int = 1
    maximum: int | None = None
    none_ok: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none_ok:
            return None
        return check_positive_int(name, value, minimum=self.minimum, maximum=self.maximum)


@dataclass(frozen=True)
class Real:
    """A finite real number in a range (``none_ok``: None too)."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    none_ok: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none_ok:
            return None
        return check_finite_real(
            name,
            value,
            low=self.low,
            high=self.high,
            low_inclusive=self.low_inclusive,
            high_inclusive=self.high_inclusive,
        )


@dataclass(frozen=True)
class Widths:
    """A list of layer widths: integers >= ``minimum`` (returned as a tuple)."""

    minimum: int = 1

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        allowed = f"a list of integers >= {self.minimum}, e.g. [10, 5]"
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise ParameterTypeError(
                name,
                value,
                allowed,
                f"{name} must be a list of layer widths, e.g. [10, 5]; got {_show(value)}",
            )
        out = []
        for i, w in enumerate(value):
            try:
                out.append(check_positive_int(f"{name}[{i}]", w, minimum=self.minimum))
            except ParameterError as exc:
                message = f"{name}={_show(value)}: {exc.message}"
                raise type(exc)(name, value, allowed, message) from None
        return tuple(out)


@dataclass(frozen=True)
class Parsed:
    """A value a parser normalises (a scheme, an activation, a loss): the parser's own error
    becomes a ParameterError for ``name`` that keeps its explanation, and names the closest of
    ``names()`` when the value's name is not one of them."""

    parse: Callable[[Any], Any]
    allowed: str
    names: Callable[[], Sequence[str]] | None = None
    none_ok: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none_ok:
            return None
        try:
            return self.parse(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            text = str(exc)
            if isinstance(exc, ArithmeticError):
                text = (
                    f"its numbers overflow ({type(exc).__name__}: {exc}); allowed: {self.allowed}"
                )
            hint = ""
            if self.names is not None and isinstance(value, str):
                options = list(self.names())
                if value.partition(":")[0].strip() not in options and "did you mean" not in text:
                    hint = suggest(value, options)
            if not text.startswith(name):
                text = f"{name}={_show(value)}: {text}"
            cls = ParameterTypeError if isinstance(exc, TypeError) else ParameterError
            raise cls(name, value, self.allowed, text + hint) from None


def validate(spec: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values[k]`` against ``spec[k]`` (an object with ``check(name, value)``) for every
    key of ``spec`` present in ``values``; returns the normalised values.  The first bad value
    raises its ParameterError."""
    return {k: c.check(k, values[k]) for k, c in spec.items() if k in values}
