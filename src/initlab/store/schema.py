"""The run store's schema (version :data:`SCHEMA_VERSION`): creating it in a new file, checking
it in an existing one, adding the tables added since, and, on opening, marking studies whose
process is gone as interrupted."""

from __future__ import annotations

import socket
from typing import Any

from initlab._process import process_alive
from initlab.store._base import StoreError

__all__ = ["SCHEMA_VERSION", "Schema"]

#: The schema this module writes and reads.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    settings TEXT NOT NULL,
    seconds REAL,
    version TEXT NOT NULL
);
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    study_id INTEGER REFERENCES studies(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    description TEXT NOT NULL,
    spec TEXT NOT NULL,
    dataset TEXT NOT NULL,
    stats TEXT NOT NULL,
    meta TEXT NOT NULL,
    steps_run INTEGER NOT NULL,
    seconds REAL NOT NULL,
    UNIQUE (study_id, key)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    study_id INTEGER REFERENCES studies(id) ON DELETE CASCADE,
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    member INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    seed INTEGER NOT NULL,
    label TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    final_cost REAL,
    train_accuracy REAL,
    test_accuracy REAL,
    diverged_at INTEGER,
    cost BLOB NOT NULL,
    evals TEXT NOT NULL,
    layer_stats TEXT NOT NULL,
    verdict TEXT NOT NULL,
    param_shapes TEXT NOT NULL,
    params BLOB NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (batch_id, member)
);
CREATE INDEX runs_study ON runs (study_id);
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    key_figure TEXT NOT NULL,
    result TEXT NOT NULL,
    seconds REAL NOT NULL,
    UNIQUE (study_id, name)
);
CREATE TABLE experiment_runs (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    PRIMARY KEY (experiment_id, run_id)
);
"""

#: Tables added to schema version 1 without changing it (older initlab versions ignore them);
#: created on open when missing.
_ADDED_TABLES = {
    "study_owners": """CREATE TABLE IF NOT EXISTS study_owners (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id) ON DELETE CASCADE,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started TEXT NOT NULL
)""",
}


class Schema:
    """The :class:`~initlab.store.Store` methods that create, check and extend the schema."""

    conn: Any
    path: Any
    readonly: bool
    notes: list[str]
    transaction: Any

    def _init_schema(self) -> None:
        has_meta = self._has_table("meta")
        if not has_meta:
            other = self.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
            if other:
                raise StoreError(
                    f"{str(self.path)!r} is an SQLite file but not an initlab run store "
                    "(no meta table); choose another --store path"
                )
            from initlab import __version__

            with self.transaction():
                if self._has_table("meta"):  # another process may have created it meanwhile
                    return self._init_schema()
                # one statement at a time: executescript() would commit on its own
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                self.conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?), ('created_by', ?)",
                    (str(SCHEMA_VERSION), f"initlab {__version__}"),
                )
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        damaged = (
            "it is damaged or not an initlab run store; start a new one with --store NEW.sqlite"
        )
        if row is None:
            raise StoreError(
                f"{str(self.path)!r} has no schema_version in its meta table: {damaged}"
            )
        try:
            version = int(row[0])
        except (TypeError, ValueError):
            raise StoreError(
                f"{str(self.path)!r} has schema_version {row[0]!r}, not a whole number: {damaged}"
            ) from None
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{str(self.path)!r} has store schema version {version}; this initlab reads "
                f"version {SCHEMA_VERSION} (use a new --store file)"
            )
        self.schema_version = version

    def _has_table(self, name: str) -> bool:
        return (
            self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name=?", (name,)
            ).fetchone()
            is not None
        )

    def _add_tables(self) -> None:
        missing = [t for t in _ADDED_TABLES if not self._has_table(t)]
        if missing:
            with self.transaction() as c:
                for t in missing:
                    c.execute(_ADDED_TABLES[t])

    def _mark_stale(self) -> None:
        """Mark ``interrupted`` every ``running`` study whose process (recorded on this host)
        is gone, and say so in :attr:`notes`."""
        if not self._has_table("study_owners"):
            return
        host = socket.gethostname()
        rows = self.conn.execute(
            "SELECT s.id, o.pid, o.started FROM studies s JOIN study_owners o "
            "ON o.study_id = s.id WHERE s.status = 'running' AND o.host = ?",
            (host,),
        ).fetchall()
        for sid, pid, started in rows:
            if process_alive(int(pid), started):
                continue
            gone = f"study {sid} was still marked running, but its process (pid {pid}) is gone"
            if self.readonly:
                self.notes.append(f"{gone}; the store is read-only, so it stays marked running")
                continue
            with self.transaction() as c:
                n = c.execute(
                    "UPDATE studies SET status = 'interrupted' WHERE id = ? AND status = 'running'",
                    (sid,),
                ).rowcount
            if n:
                self.notes.append(f"{gone}: marked interrupted")
