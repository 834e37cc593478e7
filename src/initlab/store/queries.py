"""Reading one thing back from the run store: a study, a population with its runs, a run in
full (NumPy arrays) or as plain JSON-ready data, a study's experiment results."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from initlab.store._base import StoreError, loads, plain_json, sqlite_errors
from initlab.store.schema import SCHEMA_VERSION

__all__ = ["Queries"]


class Queries:
    """The :class:`~initlab.store.Store` methods that read one study, population, run or
    experiment list."""

    conn: Any
    path: Any
    _id: Any
    _missing: Any

    def _study_row(self, r: sqlite3.Row) -> dict[str, Any]:
        d = {
            "id": r["id"],
            "created": r["created"],
            "status": r["status"],
            "options": loads(r["options"]),
            "settings": loads(r["settings"]),
            "seconds": r["seconds"],
            "version": r["version"],
        }
        if "n_exp" in r.keys():
            d["experiments"] = r["n_exp"]
            d["runs"] = r["n_runs"]
        return d

    @sqlite_errors
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

    @sqlite_errors
    def batch(self, study_id: int, key: str) -> dict[str, Any]:
        """A stored population: the batch row and all its runs (full), in member order.
        StoreError if it is missing or if any of its runs was deleted."""
        b = self.conn.execute(
            "SELECT * FROM batches WHERE study_id = ? AND key = ?", (int(study_id), key)
        ).fetchone()
        if b is None:
            raise StoreError(f"study {study_id} has no stored population {key!r}")
        spec = loads(b["spec"])
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
            "dataset": loads(b["dataset"]),
            "stats": loads(b["stats"]),
            "meta": loads(b["meta"]),
            "steps_run": b["steps_run"],
            "seconds": b["seconds"],
            "runs": [self._run_full(r) for r in runs],
        }

    def _run_full(self, r: sqlite3.Row) -> dict[str, Any]:
        shapes = loads(r["param_shapes"])
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
            "config": loads(r["config"]),
            "status": r["status"],
            "final_cost": r["final_cost"],
            "train_accuracy": r["train_accuracy"],
            "test_accuracy": r["test_accuracy"],
            "diverged_at": r["diverged_at"],
            "cost": np.frombuffer(r["cost"], dtype=np.float64).copy(),
            "evals": loads(r["evals"]),
            "layer_stats": loads(r["layer_stats"]),
            "verdict": loads(r["verdict"]),
            "params": params,
            "created": r["created"],
        }

    @sqlite_errors
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
        d["stats"] = loads(b["stats"])
        d["dataset"] = loads(b["dataset"])
        d["meta"] = loads(b["meta"])
        d["experiments"] = [
            row[0]
            for row in self.conn.execute(
                "SELECT e.name FROM experiments e JOIN experiment_runs x ON x.experiment_id = e.id "
                "WHERE x.run_id = ? ORDER BY e.position",
                (rid,),
            )
        ]
        return d

    @sqlite_errors
    def export_run(self, run_id: int) -> dict[str, Any]:
        """One run as standard-JSON-ready plain data (lists, non-finite numbers as strings)."""
        d = self.run(run_id)
        d["params"] = [p.tolist() for p in d["params"]]
        d["cost"] = d["cost"].tolist()
        d["schema_version"] = SCHEMA_VERSION
        return plain_json(d)

    @sqlite_errors
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
                    "result": loads(r["result"]),
                    "seconds": r["seconds"],
                    "run_ids": runs,
                }
            )
        return out
