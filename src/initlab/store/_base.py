"""The run store's plumbing: where the file lives, the one error type (an SQLite error
explained in one line naming the file), and the JSON and float conversions every table uses."""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from initlab import _json

__all__ = [
    "DEFAULT_PATH",
    "ENV_VAR",
    "MAX_ID",
    "StoreError",
    "as_float",
    "default_path",
    "dumps",
    "explain",
    "loads",
    "plain_json",
    "sqlite_errors",
    "utc_now",
]

#: Environment variable that overrides the default location.
ENV_VAR = "INITLAB_STORE"
#: Default location, relative to the current directory.
DEFAULT_PATH = Path("initlab-out") / "runs.sqlite"
#: The largest id SQLite can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class StoreError(ValueError):
    """A store that cannot be used (wrong schema, missing study or run); a ValueError so the
    CLI prints it as an error."""


def explain(path: Path, exc: sqlite3.Error) -> StoreError:
    """One clear line for an SQLite error on the store file ``path``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = repr(str(path))
    if name.startswith("SQLITE_READONLY") or "readonly" in str(exc):
        return StoreError(
            f"the run store {where} is read-only ({exc}); make the file and its folder "
            "writable, or give another --store PATH"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
        return StoreError(
            f"the run store {where} is busy: another process kept it locked ({exc}); try again "
            "when it has finished"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in str(exc):
        return StoreError(
            f"the run store {where} is damaged ({exc}); save each run that can still be read "
            f"with `initlab runs export ID --store {path}`, then start a new store with "
            "--store NEW.sqlite"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"cannot open the run store {where} ({exc}); check that its folder exists and is "
            "writable"
        )
    if name.startswith("SQLITE_FULL"):
        return StoreError(f"the disk holding the run store {where} is full ({exc})")
    return StoreError(f"the run store {where} cannot be used: {exc}")


F = TypeVar("F", bound=Callable[..., Any])


def sqlite_errors(method: F) -> F:
    """Turn any SQLite error raised by a :class:`~initlab.store.Store` method into one
    :class:`StoreError`."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise explain(self.path, exc) from None

    return wrapper  # type: ignore[return-value]


def default_path() -> Path:
    """``$INITLAB_STORE`` if set (and not empty), else ``./initlab-out/runs.sqlite``."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else DEFAULT_PATH


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def dumps(obj: Any) -> str:
    """Strict JSON for storage in the one convention (:mod:`initlab._json`: non-finite floats
    as ``"nan"``/``"inf"``/``"-inf"``, read back as floats by :func:`loads`)."""
    return _json.dumps(obj)


loads = _json.loads
#: Plain data in the one JSON convention (kept under this name for its callers).
plain_json = _json.jsonable


def as_float(x: Any) -> float | None:
    return None if x is None else float(x)
