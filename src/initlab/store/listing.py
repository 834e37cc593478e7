"""Listing the run store's contents: every study, the runs (newest first), their count."""

from __future__ import annotations

from typing import Any

import numpy as np

from initlab.store._base import MAX_ID, StoreError, loads, sqlite_errors

__all__ = ["Listing"]


class Listing:
    """The :class:`~initlab.store.Store` methods that list."""

    conn: Any
    _id: Any
    _study_row: Any

    @sqlite_errors
    def studies(self) -> list[dict[str, Any]]:
        """Every study, newest first, with its number of experiments and runs."""
        rows = self.conn.execute(
            "SELECT s.*, (SELECT count(*) FROM experiments e WHERE e.study_id = s.id) AS n_exp, "
            "(SELECT count(*) FROM runs r WHERE r.study_id = s.id) AS n_runs "
            "FROM studies s ORDER BY s.id DESC"
        ).fetchall()
        return [self._study_row(r) for r in rows]

    @sqlite_errors
    def count_runs(self, study_id: int | None = None) -> int:
        """How many runs the store holds (of one study, if given)."""
        if study_id is None:
            return int(self.conn.execute("SELECT count(*) FROM runs").fetchone()[0])
        sid = self._id("study", study_id)
        q = "SELECT count(*) FROM runs WHERE study_id = ?"
        return int(self.conn.execute(q, (sid,)).fetchone()[0])

    @sqlite_errors
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
            d["verdict"] = [f["mode"] for f in loads(d["verdict"])]
            out.append(d)
        return out
