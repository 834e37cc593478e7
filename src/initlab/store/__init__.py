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

import functools
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from initlab import _json
from initlab._process import process_alive, process_started

__all__ = [
    "DEFAULT_PATH",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "default_path",
    "plain_json",
]

#: The schema this module writes and reads.
SCHEMA_VERSION = 1
#: Environment variable that overrides the default location.
ENV_VAR = "INITLAB_STORE"
#: Default location, relative to the current directory.
DEFAULT_PATH = Path("initlab-out") / "runs.sqlite"
#: The largest id SQLite can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1

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


class StoreError(ValueError):
    """A store that cannot be used (wrong schema, missing study or run); a ValueError so the
    CLI prints it as an error."""


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
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


def _sqlite_errors(method: F) -> F:
    """Turn any SQLite error raised by a :class:`Store` method into one :class:`StoreError`."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from None

    return wrapper  # type: ignore[return-value]


def default_path() -> Path:
    """``$INITLAB_STORE`` if set (and not empty), else ``./initlab-out/runs.sqlite``."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else DEFAULT_PATH


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _dumps(obj: Any) -> str:
    """Strict JSON for storage in the one convention (:mod:`initlab._json`: non-finite floats
    as ``"nan"``/``"inf"``/``"-inf"``, read back as floats by :func:`_loads`)."""
    return _json.dumps(obj)


_loads = _json.loads
#: Plain data in the one JSON convention (kept under this name for its callers).
plain_json = _json.jsonable


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


class Store:
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
            raise _explain(p, exc) from None

    # ------------------------------------------------------------------ plumbing

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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed at the end of the block, rolled back on any exception
        (``KeyboardInterrupt`` included)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ studies

    @_sqlite_errors
    def begin_study(self, options: Mapping[str, Any], settings: Mapping[str, Any]) -> int:
        """Create a study row with status ``running``, owned by this process; returns its
        id."""
        from initlab import __version__

        pid = os.getpid()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO studies (created, status, options, settings, version) "
                "VALUES (?, 'running', ?, ?, ?)",
                (_now(), _dumps(options), _dumps(settings), __version__),
            )
            sid = int(cur.lastrowid)
            c.execute(
                "INSERT INTO study_owners VALUES (?, ?, ?, ?)",
                (sid, pid, socket.gethostname(), process_started(pid)),
            )
            return sid

    @_sqlite_errors
    def finish_study(self, study_id: int, status: str, seconds: float | None = None) -> None:
        """Set a study's status (``complete``, ``interrupted`` or ``failed``) and its
        duration."""
        if status not in ("complete", "interrupted", "failed", "running"):
            raise ValueError(
                f"status={status!r} is not allowed; choose complete, interrupted, failed or running"
            )
        with self.transaction() as c:
            c.execute(
                "UPDATE studies SET status = ?, seconds = ? WHERE id = ?",
                (status, seconds, int(study_id)),
            )

    @_sqlite_errors
    def studies(self) -> list[dict[str, Any]]:
        """Every study, newest first, with its number of experiments and runs."""
        rows = self.conn.execute(
            "SELECT s.*, (SELECT count(*) FROM experiments e WHERE e.study_id = s.id) AS n_exp, "
            "(SELECT count(*) FROM runs r WHERE r.study_id = s.id) AS n_runs "
            "FROM studies s ORDER BY s.id DESC"
        ).fetchall()
        return [self._study_row(r) for r in rows]

    def _study_row(self, r: sqlite3.Row) -> dict[str, Any]:
        d = {
            "id": r["id"],
            "created": r["created"],
            "status": r["status"],
            "options": _loads(r["options"]),
            "settings": _loads(r["settings"]),
            "seconds": r["seconds"],
            "version": r["version"],
        }
        if "n_exp" in r.keys():
            d["experiments"] = r["n_exp"]
            d["runs"] = r["n_runs"]
        return d

    @_sqlite_errors
    def study(self, study_id: int | str) -> dict[str, Any]:
        """One study (``"latest"`` for the newest); StoreError if there is none."""
        if study_id == "latest":
            r = self.conn.execute("SELECT * FROM studies ORDER BY id DESC LIMIT 1").fetchone()
            if r is None:
                raise StoreError(f"the store {str(self.path)!r} holds no study yet")
        else:
            r = self.conn.execute(
                "SELECT * FROM studies WHERE id = ?", (self._id("study", study_id),)
            ).fetchone()
            if r is None:
                raise StoreError(self._missing("study", study_id))
        return self._study_row(r)

    @_sqlite_errors
    def delete_study(self, study_id: int) -> int:
        """Delete a study with its experiments, populations and runs; returns the number of
        runs deleted."""
        sid = self._id("study", study_id)
        self.study(sid)
        with self.transaction() as c:
            n = c.execute("SELECT count(*) FROM runs WHERE study_id = ?", (sid,)).fetchone()[0]
            c.execute("DELETE FROM studies WHERE id = ?", (sid,))
        return int(n)

    # ------------------------------------------------------------------ populations

    @_sqlite_errors
    def save_population(
        self,
        study_id: int | None,
        key: str,
        description: str,
        spec: Mapping[str, Any],
        result: Any,
        members: Sequence[tuple[str, int]],
        verdicts: Sequence[Sequence[Mapping[str, Any]]],
    ) -> list[int]:
        """Write a trained population (a :class:`initlab.config.RunResult`) as one batch and
        one run per member, in one transaction; returns the run ids in member order.

        ``members`` gives each member's ``(scheme, seed)``; ``verdicts`` each member's
        findings (plain dicts)."""
        h = result.history
        K = h.population
        if len(members) != K or len(verdicts) != K:
            raise ValueError(
                f"members and verdicts need one entry per population member ({K}), got "
                f"{len(members)} and {len(verdicts)}"
            )
        stats = h.records.get("layer_stats")
        stats_meta = (
            {k: v for k, v in stats.items() if k != "records"} if stats is not None else None
        )
        per_member: list[list[dict[str, Any]]] = [[] for _ in range(K)]
        if stats is not None:
            for rec in stats["records"]:
                per_member[rec["member"]].append(rec)
        evals = {n: h.records[n] for n in ("train", "test") if n in h.records}
        now = _now()
        ids: list[int] = []
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO batches (study_id, key, description, spec, dataset, stats, meta, "
                "steps_run, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    study_id,
                    key,
                    description,
                    _dumps(spec),
                    _dumps(result.dataset.to_dict()),
                    _dumps(stats_meta),
                    _dumps({k: v for k, v in h.meta.items() if k not in ("dataset",)}),
                    int(h.steps_run),
                    float(result.seconds),
                ),
            )
            batch_id = int(cur.lastrowid)
            for k in range(K):
                cfg = result.configs[k]
                ev = {
                    n: {
                        "step": list(e["step"]),
                        "cost": np.asarray(e["cost"])[:, k].tolist(),
                        "accuracy": np.asarray(e["accuracy"])[:, k].tolist(),
                    }
                    for n, e in evals.items()
                }
                params = [np.asarray(p[k], dtype=np.float64) for p in result.net.params]
                test = ev.get("test", {}).get("accuracy") or [None]
                train = ev.get("train", {}).get("accuracy") or [None]
                cur = c.execute(
                    "INSERT INTO runs (study_id, batch_id, member, scheme, seed, label, config, "
                    "status, final_cost, train_accuracy, test_accuracy, diverged_at, cost, "
                    "evals, layer_stats, verdict, param_shapes, params, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        study_id,
                        batch_id,
                        k,
                        members[k][0],
                        int(members[k][1]),
                        cfg.label(),
                        _dumps(cfg.to_dict()),
                        h.status(k),
                        _float(h.final_cost[k]),
                        _float(train[-1]),
                        _float(test[-1]),
                        h.diverged_at[k],
                        np.ascontiguousarray(h.cost[k], dtype=np.float64).tobytes(),
                        _dumps(ev),
                        _dumps(per_member[k]),
                        _dumps(verdicts[k]),
                        _dumps([list(p.shape) for p in params]),
                        b"".join(p.tobytes() for p in params),
                        now,
                    ),
                )
                ids.append(int(cur.lastrowid))
        return ids

    @_sqlite_errors
    def batch(self, study_id: int, key: str) -> dict[str, Any]:
        """A stored population: the batch row and all its runs (full), in member order.
        StoreError if it is missing or if any of its runs was deleted."""
        b = self.conn.execute(
            "SELECT * FROM batches WHERE study_id = ? AND key = ?", (int(study_id), key)
        ).fetchone()
        if b is None:
            raise StoreError(f"study {study_id} has no stored population {key!r}")
        spec = _loads(b["spec"])
        runs = self.conn.execute(
            "SELECT * FROM runs WHERE batch_id = ? ORDER BY member", (b["id"],)
        ).fetchall()
        n = len(spec.get("members", [])) or len(runs)
        if len(runs) != n:
            raise StoreError(
                f"population {key!r} of study {study_id} has {len(runs)} of its {n} runs left "
                "(some were deleted); it cannot be rebuilt"
            )
        return {
            "id": b["id"],
            "key": b["key"],
            "description": b["description"],
            "spec": spec,
            "dataset": _loads(b["dataset"]),
            "stats": _loads(b["stats"]),
            "meta": _loads(b["meta"]),
            "steps_run": b["steps_run"],
            "seconds": b["seconds"],
            "runs": [self._run_full(r) for r in runs],
        }

    # ------------------------------------------------------------------ runs

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

    @_sqlite_errors
    @_sqlite_errors
    def count_runs(self, study_id: int | None = None) -> int:
        """How many runs the store holds (of one study, if given)."""
        if study_id is None:
            return int(self.conn.execute("SELECT count(*) FROM runs").fetchone()[0])
        sid = self._id("study", study_id)
        q = "SELECT count(*) FROM runs WHERE study_id = ?"
        return int(self.conn.execute(q, (sid,)).fetchone()[0])

    @_sqlite_errors
    def runs(self, study_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Summary rows of the runs (newest first), optionally of one study; at most ``limit``
        rows (a whole number from 1 to :data:`MAX_ID`; None: all)."""
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int | np.integer)
            or not 1 <= limit <= MAX_ID
        ):
            raise StoreError(
                f"limit must be a whole number from 1 to {MAX_ID} (or None for all), got {limit!r}"
            )
        q = (
            "SELECT r.id, r.study_id, r.member, r.scheme, r.seed, r.label, r.status, "
            "r.final_cost, r.train_accuracy, r.test_accuracy, r.diverged_at, r.verdict, "
            "r.created, b.key FROM runs r JOIN batches b ON b.id = r.batch_id"
        )
        args: list[Any] = []
        if study_id is not None:
            q += " WHERE r.study_id = ?"
            args.append(self._id("study", study_id))
        q += " ORDER BY r.id DESC"
        if limit is not None:
            q += " LIMIT ?"
            args.append(int(limit))
        out = []
        for r in self.conn.execute(q, args).fetchall():
            d = dict(r)
            d["population"] = d.pop("key")
            d["verdict"] = [f["mode"] for f in _loads(d["verdict"])]
            out.append(d)
        return out

    def _run_full(self, r: sqlite3.Row) -> dict[str, Any]:
        shapes = _loads(r["param_shapes"])
        flat = np.frombuffer(r["params"], dtype=np.float64)
        params, i = [], 0
        for s in shapes:
            n = int(np.prod(s)) if s else 1
            params.append(flat[i : i + n].reshape(s).copy())
            i += n
        return {
            "id": r["id"],
            "study_id": r["study_id"],
            "batch_id": r["batch_id"],
            "member": r["member"],
            "scheme": r["scheme"],
            "seed": r["seed"],
            "label": r["label"],
            "config": _loads(r["config"]),
            "status": r["status"],
            "final_cost": r["final_cost"],
            "train_accuracy": r["train_accuracy"],
            "test_accuracy": r["test_accuracy"],
            "diverged_at": r["diverged_at"],
            "cost": np.frombuffer(r["cost"], dtype=np.float64).copy(),
            "evals": _loads(r["evals"]),
            "layer_stats": _loads(r["layer_stats"]),
            "verdict": _loads(r["verdict"]),
            "params": params,
            "created": r["created"],
        }

    @_sqlite_errors
    def run(self, run_id: int) -> dict[str, Any]:
        """One run in full (arrays as NumPy arrays), with its population's key and stats
        metadata (histogram edges); StoreError if there is none."""
        rid = self._id("run", run_id)
        r = self.conn.execute("SELECT * FROM runs WHERE id = ?", (rid,)).fetchone()
        if r is None:
            raise StoreError(self._missing("run", run_id))
        d = self._run_full(r)
        b = self.conn.execute(
            "SELECT key, description, stats, dataset, meta FROM batches WHERE id = ?",
            (r["batch_id"],),
        ).fetchone()
        d["population"] = b["key"]
        d["population_description"] = b["description"]
        d["stats"] = _loads(b["stats"])
        d["dataset"] = _loads(b["dataset"])
        d["meta"] = _loads(b["meta"])
        d["experiments"] = [
            row[0]
            for row in self.conn.execute(
                "SELECT e.name FROM experiments e JOIN experiment_runs x ON x.experiment_id = e.id "
                "WHERE x.run_id = ? ORDER BY e.position",
                (rid,),
            )
        ]
        return d

    @_sqlite_errors
    def export_run(self, run_id: int) -> dict[str, Any]:
        """One run as standard-JSON-ready plain data (lists, non-finite numbers as strings)."""
        d = self.run(run_id)
        d["params"] = [p.tolist() for p in d["params"]]
        d["cost"] = d["cost"].tolist()
        d["schema_version"] = SCHEMA_VERSION
        return plain_json(d)

    @_sqlite_errors
    def delete_run(self, run_id: int) -> None:
        """Delete one run (its population can then no longer be rebuilt)."""
        rid = self._id("run", run_id)
        with self.transaction() as c:
            if c.execute("DELETE FROM runs WHERE id = ?", (rid,)).rowcount == 0:
                raise StoreError(self._missing("run", run_id))

    # ------------------------------------------------------------------ experiments

    @_sqlite_errors
    def save_experiment(
        self,
        study_id: int,
        position: int,
        result: Mapping[str, Any],
        run_ids: Sequence[int],
        seconds: float,
    ) -> int:
        """Write one experiment's result (plain data) and link its runs, in one transaction."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO experiments (study_id, position, name, verdict, key_figure, result, "
                "seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    int(study_id),
                    int(position),
                    result["name"],
                    result["verdict"],
                    result["key_figure"],
                    _dumps(result),
                    float(seconds),
                ),
            )
            eid = int(cur.lastrowid)
            c.executemany(
                "INSERT OR IGNORE INTO experiment_runs VALUES (?, ?)",
                [(eid, int(r)) for r in run_ids],
            )
        return eid

    @_sqlite_errors
    def experiments(self, study_id: int) -> list[dict[str, Any]]:
        """The stored experiment results of a study, in the order they ran."""
        rows = self.conn.execute(
            "SELECT * FROM experiments WHERE study_id = ? ORDER BY position",
            (self._id("study", study_id),),
        ).fetchall()
        out = []
        for r in rows:
            runs = [
                x[0]
                for x in self.conn.execute(
                    "SELECT run_id FROM experiment_runs WHERE experiment_id = ? ORDER BY run_id",
                    (r["id"],),
                )
            ]
            out.append(
                {
                    "id": r["id"],
                    "name": r["name"],
                    "verdict": r["verdict"],
                    "key_figure": r["key_figure"],
                    "result": _loads(r["result"]),
                    "seconds": r["seconds"],
                    "run_ids": runs,
                }
            )
        return out
