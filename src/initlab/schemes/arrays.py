"""The public array function of a per-tensor scheme, generated from its one definition:
``(shape, rng, dtype, *, params, layout, fans) -> numpy array`` (see
:mod:`initlab.schemes.registry`), and the memory check it runs before sampling."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab._checks import as_generator, check_float_dtype, check_shape
from initlab.schemes.sampling import draw
from initlab.schemes.sources import NumpySource

if TYPE_CHECKING:
    from initlab.schemes.registry import SchemeInfo

__all__ = ["array_function", "check_memory"]


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _physical_memory() -> int | None:
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def check_memory(shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse, before allocating, a shape whose float64 draw and cast copy exceed the memory."""
    n = math.prod(shape)
    need = n * (8 + np.dtype(dtype).itemsize)
    have = _physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"shape {shape} has {n:,} entries: sampling it in float64 and casting to "
            f"{np.dtype(dtype)} needs {_format_bytes(need)}, more than this machine's "
            f"{_format_bytes(have)} of memory; use a smaller shape"
        )


def _sample(
    i: SchemeInfo, shape: Any, rng: Any, dtype: Any, layout: Any, fans: Any, params: Mapping
) -> np.ndarray:
    shape = check_shape(shape)
    dt = check_float_dtype(dtype)
    gen = as_generator(rng)
    check_memory(shape, dt)
    empty = math.prod(shape) == 0
    if i.rule is None:
        if empty:
            return i.values(shape, NumpySource(gen), layout, fans, **params).astype(dt)
        d = i.law_at(shape, layout, fans, **params)
        return draw(d, shape, gen, dt)  # type: ignore[arg-type]
    values = i.values(shape, NumpySource(gen), layout, fans, **params)
    with np.errstate(over="ignore"):
        out = np.asarray(values, dtype=np.float64).astype(dt)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{i.name} values overflow {dt} (largest {np.finfo(dt).max:g})")
    return out


def array_function(i: SchemeInfo, definition: Callable[..., Any]) -> Callable[..., np.ndarray]:
    own = i.defaults  # read from the definition
    hints = {k: v for k, v in definition.__annotations__.items() if k in own}

    def fn(
        shape: Any, rng: Any = None, dtype: Any = np.float64, *, layout: Any = None, **kw: Any
    ) -> np.ndarray:
        fans = kw.pop("fans", None)
        unknown = sorted(set(kw) - set(own))
        if unknown:
            raise TypeError(
                f"{i.name}() got an unexpected keyword argument {unknown[0]!r}; its parameters "
                f"are: {', '.join(own) or 'none'} (and layout, fans)"
            )
        return _sample(i, shape, rng, dtype, layout, fans, kw)

    P = inspect.Parameter
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            P("shape", P.POSITIONAL_OR_KEYWORD, annotation="int | tuple[int, ...]"),
            P("rng", P.POSITIONAL_OR_KEYWORD, default=None),
            P("dtype", P.POSITIONAL_OR_KEYWORD, default=np.float64),
            *(
                P(k, P.KEYWORD_ONLY, default=v, annotation=hints.get(k, P.empty))
                for k, v in own.items()
            ),
            P("layout", P.KEYWORD_ONLY, default=None),
            P("fans", P.KEYWORD_ONLY, default=None),
        ],
        return_annotation="numpy.ndarray",
    )
    fn.__name__ = fn.__qualname__ = i.name
    fn.__module__ = definition.__module__
    fn.__doc__ = definition.__doc__
    fn.__wrapped__ = definition  # type: ignore[attr-defined]
    fn.info = i  # type: ignore[attr-defined]
    return fn
