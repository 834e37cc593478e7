"""The run store: every run of a study in one local SQLite file (stdlib ``sqlite3``).

Where it lives
--------------
``--store PATH`` (the CLI), else the environment variable ``INITLAB_STORE``, else
``./initlab-out/runs.sqlite`` in the current directory (next to the study's report; the folder is
created on first write).  :func:`default_path` resolves this order.

What it holds (schema version :data:`SCHEMA_VERSION`)
-----------------------------------------------------
* ``meta``: ``schema_version`` and the initlab version that created the file;
* ``studies``: one row per ``initlab study``: options, settings, status (``running``,
  ``complete``, ``interrupted``), seconds;
* ``batches``: one row per population trained in one pass (its key, description, the member
  configurations, the data set, the histogram edges and first-step numbers of the
  ``LayerStats`` probe);
* ``runs``: one row per population member, i.e. one training run: its configuration (JSON),
  scheme and seed, status, final cost and accuracies, the per-step cost (float64 bytes), the
  train/test evaluations, its per-layer statistics records (JSON), its verdict findings, and
  its final parameters (float64 bytes; shapes in JSON) so decision boundaries can be redrawn;
* ``experiments``: one row per experiment of a study with its result (JSON: verdict,
  criterion, key figure, tables, figure specs) and the runs it used (``experiment_runs``);
* ``study_owners``: the process running each study (pid, host, the process's start time), so
  that a study left ``running`` by a killed process is marked ``interrupted`` the next time the
  store is opened (see :attr:`Store.notes`).  Added to older version-1 files on first open.

Floats are stored exactly: arrays as raw float64 bytes, and strict JSON in initlab's one
convention (:mod:`initlab._json`: shortest repr, which round-trips; non-finite numbers as the
strings ``"nan"``, ``"inf"``, ``"-inf"``, read back as floats; files written with the older
``NaN``/``Infinity`` tokens read the same).  JSON handed to users (:meth:`Store.export_run`)
is in the same convention.

Where the code is
-----------------
:class:`Store` is put together from one class per kind of work: :mod:`initlab.store.schema`
(creating, checking and extending the schema on open), :mod:`initlab.store.writing`,
:mod:`initlab.store.queries` (one study, population, run or experiment list),
:mod:`initlab.store.listing` (every study, the runs), over :mod:`initlab.store._base` (the
file's location, :class:`StoreError`, the JSON convention).  Import everything from
``initlab.store``.

Transactions
------------
Every write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any
exception, ``KeyboardInterrupt`` included): a population's runs are written together or not at
all, and an interrupted study leaves the file readable with every completed run intact.

Errors
------
Every problem with the file is one :class:`StoreError` naming the file and what is wrong: not
found (``create=False``), a folder, not an SQLite file, not an initlab store, a missing or
non-numeric schema version, read-only, busy, damaged (with how to recover what is readable).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from initlab.store._base import (
    DEFAULT_PATH,
    ENV_VAR,
    MAX_ID,
    StoreError,
    default_path,
    explain,
    plain_json,
)
from initlab.store.listing import Listing
from initlab.store.queries import Queries
from initlab.store.schema import SCHEMA_VERSION, Schema
from initlab.store.writing import Writing

__all__ = [
    "DEFAULT_PATH",
    "ENV_VAR",
    "MAX_ID",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "default_path",
    "plain_json",
]


class Store(Schema, Writing, Queries, Listing):
    """A run store in the SQLite file ``path`` (created with its folder if missing, unless
    ``create=False``).

    Use as a context manager or call :meth:`close`.  Every write method is one transaction.
    A file the user may not write is opened read-only (:attr:`readonly`): reading works,
    writing is a :class:`StoreError`.  On opening, studies left ``running`` by a process that
    no longer exists are marked ``interrupted``; :attr:`notes` says which.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        p = Path(path) if path is not None else default_path()
        self.path = p
        self.notes: list[str] = []
        if p.exists() and p.is_dir():
            raise StoreError(f"store path {str(p)!r} is a folder; give a file, e.g. runs.sqlite")
        if not p.exists():
            if not create:
                raise StoreError(
                    f"no run store at {str(p)!r}; run `initlab study` first, or give --store "
                    "PATH (or set INITLAB_STORE)"
                )
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder of the run store {str(p)!r}: {exc.strerror}"
                ) from None
        self.readonly = p.exists() and not os.access(p, os.W_OK)
        try:
            self.conn = sqlite3.connect(str(p), isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._init_schema()
            if not self.readonly:
                self._add_tables()
            self._mark_stale()
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name == "SQLITE_NOTADB":
                raise StoreError(
                    f"{str(p)!r} is not an initlab run store ({exc}); if it was one it is "
                    "damaged beyond reading: start a new store with --store NEW.sqlite"
                ) from None
            raise explain(p, exc) from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed at the end of the block, rolled back on any exception
        (``KeyboardInterrupt`` included).  A Ctrl-C that lands between ``BEGIN`` and the block
        leaves a transaction open that no block owns; the next transaction rolls it back (the
        connection is in autocommit mode, so only this method opens transactions)."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _id(self, what: str, value: Any) -> int:
        """``value`` as a stored id: a whole number from 1 to :data:`MAX_ID`."""
        try:
            v = int(value)
            ok = 1 <= v <= MAX_ID and not (isinstance(value, float) and v != value)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok or isinstance(value, bool):
            see = "initlab runs list --studies" if what == "study" else "initlab runs list"
            raise StoreError(
                f"{what} id {value!r} is not a whole number from 1 to {MAX_ID}; `{see}` shows "
                f"the ids in {str(self.path)!r}"
            )
        return v

    def _missing(self, what: str, value: Any) -> str:
        see = "initlab runs list --studies" if what == "study" else "initlab runs list"
        return f"no {what} with id {value} in {str(self.path)!r}; see `{see}`"
