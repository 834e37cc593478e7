"""Writing to the run store: studies begun and finished, trained populations with their
runs, experiment results, and deletions.  Each method is one transaction."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from initlab._process import process_started
from initlab.store._base import StoreError, as_float, dumps, sqlite_errors, utc_now

__all__ = ["Writing"]


class Writing:
    """The :class:`~initlab.store.Store` methods that write."""

    conn: Any
    path: Any
    transaction: Any
    _id: Any
    _missing: Any
    study: Any

    @sqlite_errors
    def begin_study(self, options: Mapping[str, Any], settings: Mapping[str, Any]) -> int:
        """Create a study row with status ``running``, owned by this process; returns its
        id."""
        from initlab import __version__

        pid = os.getpid()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO studies (created, status, options, settings, version) "
                "VALUES (?, 'running', ?, ?, ?)",
                (utc_now(), dumps(options), dumps(settings), __version__),
            )
            sid = int(cur.lastrowid)
            c.execute(
                "INSERT INTO study_owners VALUES (?, ?, ?, ?)",
                (sid, pid, socket.gethostname(), process_started(pid)),
            )
            return sid

    @sqlite_errors
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

    @sqlite_errors
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

    @sqlite_errors
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
        now = utc_now()
        ids: list[int] = []
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO batches (study_id, key, description, spec, dataset, stats, meta, "
                "steps_run, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    study_id,
                    key,
                    description,
                    dumps(spec),
                    dumps(result.dataset.to_dict()),
                    dumps(stats_meta),
                    dumps({k: v for k, v in h.meta.items() if k not in ("dataset",)}),
                    int(h.steps_run),
                    float(result.seconds),
                ),
            )
            batch_id = int(cur.lastrowid)
            for k in range(K):
                row = _run_row(result, k, evals, members[k], per_member[k], verdicts[k])
                cur = c.execute(
                    "INSERT INTO runs (study_id, batch_id, member, scheme, seed, label, config, "
                    "status, final_cost, train_accuracy, test_accuracy, diverged_at, cost, "
                    "evals, layer_stats, verdict, param_shapes, params, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (study_id, batch_id, k, *row, now),
                )
                ids.append(int(cur.lastrowid))
        return ids

    @sqlite_errors
    def delete_run(self, run_id: int) -> None:
        """Delete one run (its population can then no longer be rebuilt)."""
        rid = self._id("run", run_id)
        with self.transaction() as c:
            if c.execute("DELETE FROM runs WHERE id = ?", (rid,)).rowcount == 0:
                raise StoreError(self._missing("run", run_id))

    # ------------------------------------------------------------------ experiments

    @sqlite_errors
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
                    dumps(result),
                    float(seconds),
                ),
            )
            eid = int(cur.lastrowid)
            c.executemany(
                "INSERT OR IGNORE INTO experiment_runs VALUES (?, ?)",
                [(eid, int(r)) for r in run_ids],
            )
        return eid


def _run_row(
    result: Any,
    k: int,
    evals: Mapping[str, Mapping[str, Any]],
    member: tuple[str, int],
    layer_stats: list[dict[str, Any]],
    verdict: Sequence[Mapping[str, Any]],
) -> tuple[Any, ...]:
    """The ``runs`` columns from ``scheme`` to ``params`` of population member ``k``."""
    h = result.history
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
    return (
        member[0],
        int(member[1]),
        cfg.label(),
        dumps(cfg.to_dict()),
        h.status(k),
        as_float(h.final_cost[k]),
        as_float(train[-1]),
        as_float(test[-1]),
        h.diverged_at[k],
        np.ascontiguousarray(h.cost[k], dtype=np.float64).tobytes(),
        dumps(ev),
        dumps(layer_stats),
        dumps(verdict),
        dumps([list(p.shape) for p in params]),
        b"".join(p.tobytes() for p in params),
    )
