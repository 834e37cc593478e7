"""How the study records a population: :class:`StudyStats`, the ``LayerStats`` probe of a
population whose watched members (the ones the figures draw) are recorded more often and in
more detail than the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["StudyStats"]


def _members_only(ev: Any, idx: np.ndarray) -> Any:
    """The step event ``ev`` of the members ``idx`` alone, as if they were the whole
    population (member ``idx[j]`` becomes member ``j``).  Every statistic of ``LayerStats`` is
    computed per member, so they come out the same, at a fraction of the cost when few members
    are recorded."""
    import dataclasses

    from initlab.network import Cache, Grads

    net, c, g = ev.net, ev.cache, ev.grads
    return dataclasses.replace(
        ev,
        net=dataclasses.replace(
            net, weights=[w[idx] for w in net.weights], biases=[b[idx] for b in net.biases]
        ),
        cache=Cache(A=[c.A[0], *(a[idx] for a in c.A[1:])], Z=[z[idx] for z in c.Z]),
        grads=Grads(
            dW=[x[idx] for x in g.dW],
            db=[x[idx] for x in g.db],
            dZ=[x[idx] for x in g.dZ],
            dA=[None if x is None else x[idx] for x in g.dA],
        ),
        updates=[u[idx] for u in ev.updates],
        cost=ev.cost[idx],
        active=ev.active[idx],
    )


class StudyStats:
    """The study's ``LayerStats`` probe: most members are recorded on a plain schedule; the
    *watched* members (the first seed of each scheme, which the figures draw, and so every
    deterministic member) also get histograms, symmetry measures and, where a criterion looks
    at the first steps, every early step.

    It is two :class:`initlab.diagnostics.LayerStats` probes, each on its own
    :class:`initlab.train.Schedule`; a probe of a few members is shown only their part of each
    step (see :func:`_members_only`).  Their records are merged, in the population's member
    numbers, under the one name ``layer_stats``."""

    name = "layer_stats"

    def __init__(
        self,
        schedules: tuple[Any, Any],
        members: int,
        watched: Sequence[int],
        histograms: bool,
        symmetry: bool,
    ) -> None:
        from initlab.diagnostics import LayerStats

        seen = sorted(set(watched))
        rest = [k for k in range(members) if k not in set(seen)]
        self.parts: list[tuple[Any, Any, np.ndarray | None]] = []
        for schedule, ks, hist, sym in (
            (schedules[0], rest, False, False),
            (schedules[1], seen, histograms, symmetry),
        ):
            if not ks:
                continue
            if 2 * len(ks) <= members:  # a few members: cut the step down to them
                probe = LayerStats(histograms=hist, symmetry=sym)
                self.parts.append((schedule, probe, np.array(ks)))
            else:  # most of them: copying would cost more than the others' statistics
                probe = LayerStats(members=ks, histograms=hist, symmetry=sym)
                self.parts.append((schedule, probe, None))
        self._now: list[Any] = []

    def wants(self, step: int, last: int) -> bool:
        self._now = [(p, idx) for schedule, p, idx in self.parts if schedule.wants(step, last)]
        return bool(self._now)

    def __call__(self, event: Any) -> None:
        for probe, idx in self._now:
            probe(event if idx is None else _members_only(event, idx))

    def result(self) -> dict[str, Any]:
        """``LayerStats.result()`` of the whole population: every record, the watched
        members' histogram edges, and each member's values at its first record."""
        rows: list[dict[str, Any]] = []
        edges: dict[str, Any] = {}
        initial: dict[str, Any] = {}
        out: dict[str, Any] = {}
        for _, probe, cut in self.parts:
            res = probe.result()
            idx = np.arange(len(res["initial"]["cost"])) if cut is None else cut
            rows += [{**r, "member": int(idx[r["member"]])} for r in res["records"]]
            edges.update({str(idx[int(j)]): e for j, e in res["edges"]["members"].items()})
            for key, value in res["initial"].items():
                if isinstance(value, list):  # one entry per member
                    merged = initial.setdefault(key, {})
                    merged.update(zip(idx.tolist(), value, strict=True))
                else:
                    initial[key] = value
            out = res
        rows.sort(key=lambda r: (r["step"], r["layer"], r["member"]))
        for key, value in initial.items():
            if isinstance(value, dict):
                initial[key] = [value[k] for k in sorted(value)]
        return {
            **out,
            "records": rows,
            "edges": {**out["edges"], "members": edges},
            "initial": initial,
        }
