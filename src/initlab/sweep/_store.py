"""The sweep tables of the run store (same SQLite file as :mod:`initlab.store`, through its
public API: ``Store(path)``, ``Store.transaction()`` and ``Store.conn``).

* ``sweeps``: one row per sweep: its key (the plan's identity, so the same sweep resumes),
  the grid and options (JSON), the number of cells, status (``running``, ``complete``,
  ``failed cells``, ``interrupted``) and seconds;
* ``sweep_cells``: one row per finished or failed cell: its index and swept values, its
  configuration (JSON), status, error, final cost, accuracies, steps run and to target,
  verdict, the per-step cost (float64 bytes) and seconds.

Only the driver writes, one transaction per arriving population, so an interrupted sweep
leaves every recorded cell whole and nothing half-written.  A failed cell's row is replaced
when a resumed sweep trains it again.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from initlab import _json
from initlab._process import process_alive, process_started
from initlab.store import Store, StoreError

__all__ = ["SweepStore", "list_sweeps"]

_TABLES = """
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    n_cells INTEGER NOT NULL,
    seconds REAL,
    version TEXT NOT NULL,
    pid INTEGER,
    host TEXT,
    started TEXT
);
CREATE TABLE IF NOT EXISTS sweep_cells (
    id INTEGER PRIMARY KEY,
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    cell INTEGER NOT NULL,
    key TEXT NOT NULL,
    point TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    final_cost REAL,
    train_accuracy REAL,
    test_accuracy REAL,
    steps_run INTEGER,
    diverged_at INTEGER,
    steps_to_target INTEGER,
    verdict TEXT,
    cost BLOB,
    seconds REAL,
    created TEXT NOT NULL,
    UNIQUE (sweep_id, cell)
);
CREATE INDEX IF NOT EXISTS sweep_cells_sweep ON sweep_cells (sweep_id)
"""

_STATUSES = ("running", "complete", "failed cells", "interrupted")
#: JSON in initlab's one convention (:mod:`initlab._json`), as the rest of the store
_dumps, _loads = _json.dumps, _json.loads


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _real(x: Any) -> float | None:
    return None if x is None else float(x)


def list_sweeps(store: Store) -> list[dict[str, Any]]:
    """The sweeps in an open :class:`~initlab.store.Store`, newest first (``[]`` if it holds
    none); reads only, for ``initlab runs list``."""
    has = store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='sweeps'"
    ).fetchone()
    if not has:
        return []
    rows = store.conn.execute(
        "SELECT s.*, (SELECT count(*) FROM sweep_cells c WHERE c.sweep_id = s.id) AS done, "
        "(SELECT count(*) FROM sweep_cells c WHERE c.sweep_id = s.id AND "
        "c.status = 'failed') AS failed FROM sweeps s ORDER BY s.id DESC"
    ).fetchall()
    return [_sweep_row(r) for r in rows]


def _gone(r: sqlite3.Row) -> bool:
    """A sweep marked running whose driver process (on this host) no longer exists."""
    return (
        r["status"] == "running"
        and r["host"] == socket.gethostname()
        and r["pid"] is not None
        and not process_alive(int(r["pid"]), r["started"] or "")
    )


def _sweep_row(r: sqlite3.Row) -> dict[str, Any]:
    d = {k: r[k] for k in ("id", "key", "created", "status", "n_cells", "seconds", "version")}
    if _gone(r):  # killed without a chance to say so
        d["status"] = "interrupted"
    d["spec"] = _loads(r["spec"])
    if "done" in r.keys():
        d["recorded"] = r["done"]
        d["failed"] = r["failed"]
    return d


class SweepStore:
    """The sweep tables in the run store at ``path`` (see :func:`initlab.store.default_path`).

    ``write=True`` (the driver) creates the file and the tables if needed and marks sweeps
    whose driver was killed ``interrupted``; ``write=False`` only reads an existing store."""

    def __init__(self, path: Any = None, *, write: bool = True) -> None:
        self.store = Store(path, create=write)
        self.path = self.store.path
        if not write:
            return
        if self.store.readonly:
            self.store.close()
            raise StoreError(f"the run store {str(self.path)!r} is read-only; a sweep writes it")
        with self.store.transaction() as c:
            for stmt in _TABLES.strip().split(";"):
                c.execute(stmt)
            for r in c.execute("SELECT * FROM sweeps WHERE status = 'running'").fetchall():
                if _gone(r):
                    c.execute("UPDATE sweeps SET status = 'interrupted' WHERE id = ?", (r["id"],))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    # ------------------------------------------------------------------ sweeps

    def open_sweep(self, key: str, spec: Mapping[str, Any], n_cells: int) -> tuple[int, bool]:
        """The id of the sweep with ``key`` (created if new) set to ``running``, and whether it
        already existed (a resume)."""
        from initlab import __version__

        owner = (os.getpid(), socket.gethostname(), process_started(os.getpid()))
        with self.store.transaction() as c:
            row = c.execute("SELECT * FROM sweeps WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if row["status"] == "running" and not _gone(row):
                    raise StoreError(
                        f"sweep {row['id']} in {str(self.path)!r} is running in another process "
                        f"(pid {row['pid']} on {row['host']}); wait for it or stop it first"
                    )
                c.execute(
                    "UPDATE sweeps SET status = 'running', pid = ?, host = ?, started = ? "
                    "WHERE id = ?",
                    (*owner, row["id"]),
                )
                return int(row["id"]), True
            cur = c.execute(
                "INSERT INTO sweeps (key, created, status, spec, n_cells, version, pid, host, "
                "started) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (key, _now(), _dumps(spec), int(n_cells), __version__, *owner),
            )
            return int(cur.lastrowid), False

    def finish_sweep(self, sweep_id: int, status: str, seconds: float) -> None:
        if status not in _STATUSES:
            raise ValueError(f"status={status!r} is not allowed; choose one of {_STATUSES}")
        with self.store.transaction() as c:
            c.execute(
                "UPDATE sweeps SET status = ?, seconds = coalesce(seconds, 0) + ? WHERE id = ?",
                (status, float(seconds), int(sweep_id)),
            )

    def sweeps(self) -> list[dict[str, Any]]:
        """Every sweep, newest first, with its numbers of recorded and failed cells."""
        return list_sweeps(self.store)

    def sweep(self, sweep_id: int | str) -> dict[str, Any]:
        """One sweep (``"latest"`` for the newest); StoreError if there is none."""
        if not list_sweeps(self.store):
            raise StoreError(f"the run store {str(self.path)!r} holds no sweep yet")
        if sweep_id == "latest":
            r = self.conn.execute("SELECT * FROM sweeps ORDER BY id DESC LIMIT 1").fetchone()
        else:
            try:
                sid = int(sweep_id)
            except (TypeError, ValueError):
                raise StoreError(
                    f"sweep id must be an integer or 'latest', got {sweep_id!r}"
                ) from None
            r = self.conn.execute("SELECT * FROM sweeps WHERE id = ?", (sid,)).fetchone()
        if r is None:
            raise StoreError(
                f"no sweep {sweep_id} in {str(self.path)!r}; see `initlab runs list --sweeps`"
            )
        d = _sweep_row(r)
        d["recorded"], d["failed"] = self.conn.execute(
            "SELECT count(*), coalesce(sum(status = 'failed'), 0) FROM sweep_cells "
            "WHERE sweep_id = ?",
            (d["id"],),
        ).fetchone()
        return d

    def find(self, key: str) -> int | None:
        """The id of the sweep with plan key ``key``, None if the store has none."""
        return next((d["id"] for d in list_sweeps(self.store) if d["key"] == key), None)

    # ------------------------------------------------------------------ cells

    def finished(self, sweep_id: int) -> set[int]:
        """Indices of the cells recorded with a result (failed cells are not finished)."""
        rows = self.conn.execute(
            "SELECT cell FROM sweep_cells WHERE sweep_id = ? AND status != 'failed'",
            (int(sweep_id),),
        )
        return {int(r[0]) for r in rows}

    def save_cells(
        self, sweep_id: int, cells: Sequence[Any], outcomes: Sequence[Mapping[str, Any]]
    ) -> None:
        """Record cells (:class:`~initlab.sweep.plan.Cell`) with their outcomes (from
        :func:`~initlab.sweep.tasks.train_population`) in one transaction."""
        now = _now()
        rows = []
        for cell, o in zip(cells, outcomes, strict=True):
            cost = o.get("cost")
            verdict = o.get("verdict")
            rows.append(
                (
                    int(sweep_id),
                    cell.index,
                    cell.key,
                    _dumps([[k, list(v) if isinstance(v, tuple) else v] for k, v in cell.point]),
                    _dumps(cell.config.to_dict()),
                    o["status"],
                    o.get("error"),
                    _real(o.get("final_cost")),
                    _real(o.get("train_accuracy")),
                    _real(o.get("test_accuracy")),
                    o.get("steps_run"),
                    o.get("diverged_at"),
                    o.get("steps_to_target"),
                    None if verdict is None else _dumps(list(verdict)),
                    None if cost is None else np.asarray(cost, dtype=np.float64).tobytes(),
                    _real(o.get("seconds")),
                    now,
                )
            )
        with self.store.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO sweep_cells (sweep_id, cell, key, point, config, status, "
                "error, final_cost, train_accuracy, test_accuracy, steps_run, diverged_at, "
                "steps_to_target, verdict, cost, seconds, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def cells(self, sweep_id: int, with_cost: bool = False) -> list[dict[str, Any]]:
        """The recorded cells of a sweep in grid order, as plain records."""
        rows = self.conn.execute(
            "SELECT * FROM sweep_cells WHERE sweep_id = ? ORDER BY cell", (int(sweep_id),)
        ).fetchall()
        out = []
        for r in rows:
            d: dict[str, Any] = {
                "cell": r["cell"],
                "values": {
                    k: tuple(v) if isinstance(v, list) else v for k, v in _loads(r["point"])
                },
                "config": _loads(r["config"]),
                "status": r["status"],
                "error": r["error"],
            }
            for k in (
                "final_cost",
                "train_accuracy",
                "test_accuracy",
                "steps_run",
                "diverged_at",
                "steps_to_target",
                "seconds",
            ):
                d[k] = r[k]
            if r["status"] != "failed" and r["final_cost"] is None:
                d["final_cost"] = math.nan  # SQLite stores NaN (a diverged cell's) as NULL
            d["verdict"] = None if r["verdict"] is None else _loads(r["verdict"])
            if with_cost:
                d["cost"] = (
                    None if r["cost"] is None else np.frombuffer(r["cost"], dtype=np.float64).copy()
                )
            out.append(d)
        return out

    def delete_sweep(self, sweep_id: int) -> int:
        """Delete a sweep and its cells; returns the number of cells deleted."""
        sid = int(self.sweep(sweep_id)["id"])
        with self.store.transaction() as c:
            n = c.execute("SELECT count(*) FROM sweep_cells WHERE sweep_id = ?", (sid,)).fetchone()[
                0
            ]
            c.execute("DELETE FROM sweeps WHERE id = ?", (sid,))
        return int(n)
