"""Sweep throughput: cells per second on 1 and 2 local worker processes and on a Dask
LocalCluster of 2 workers, against the same cells run in this process one after another, and
the per-task overhead of each executor.

Workload: ``--cells`` cells (default 200) of one small configuration that differ only in seed
(circles, 200 points, hidden 16,16, ReLU, He normal, 300 full-batch GD steps).  Each case runs
the whole sweep through the real driver (:func:`initlab.sweep.run_sweep`), writing a fresh
store, with one cell per task (``max_population=1``: the per-cell cost and the executor's
overhead, not the population batching) and, for the 2-worker local case, also batched into
populations of 16.  The in-process peer ("serial") uses the same driver with an executor that
runs each task at ``submit``.  The start-up of each executor (process pool, LocalCluster) is
timed apart from the sweep.

Per-task overhead: ``--tasks`` (default 400) submissions of a function that returns its
argument, all submitted then collected, on each executor; the time per task on one worker is
what the executor adds to every task (pickling, queueing, the round trip).  Dask's figure is
reported next to the local pool's.

The machine may be shared: the share of the CPUs that *other* processes used during each case
is printed (all CPUs' busy time from ``/proc/stat`` minus the CPU time of this process and of
every process it started, workers and Dask nannies included, as a fraction of cores x wall
time), and ``top`` before and after.

Run:  ``python benchmarks/bench_sweep.py [--cells N] [--tasks M] [--json PATH]``
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from machine import busy_seconds

from initlab.sweep import DaskExecutor, LocalExecutor, SweepStore, grid, make_plan, run_sweep


class SerialExecutor:
    """The peer: every task runs in this process when it is submitted."""

    workers = 1
    description = "this process"

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future:
        f: cf.Future = cf.Future()
        f.set_result(fn(*args))
        return f

    def as_completed(self, futures: Iterable[cf.Future]) -> Iterator[cf.Future]:
        return iter(list(futures))

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def _tree_cpu() -> float:
    """CPU seconds of this process and all its descendants alive now (``/proc/PID/stat``)."""
    parent, cpu = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(rest[1])
        cpu[int(d)] = (float(rest[11]) + float(rest[12])) / os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [c for c, p in parent.items() if p == pid]
    return total


class OthersMeter:
    """Share of the machine's CPUs used by processes that are not ours during a case; read
    ``others()`` before the executor's processes exit (their CPU time goes with them)."""

    def __init__(self) -> None:
        self.start = (busy_seconds(), _tree_cpu(), time.perf_counter())

    def others(self) -> float | None:
        busy, own, wall = busy_seconds(), _tree_cpu(), time.perf_counter()
        if busy is None or self.start[0] is None:
            return None
        d_busy, d_own, d_wall = busy - self.start[0], own - self.start[1], wall - self.start[2]
        return max(0.0, (d_busy - d_own) / (d_wall * (os.cpu_count() or 1)))


def _identity(x: Any) -> Any:
    return x


def _top() -> str:
    try:
        out = subprocess.run(["top", "-bn1"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "(top not available)"
    return "\n".join(out.splitlines()[:15])


def _make(kind: str) -> tuple[Any, float]:
    t0 = time.perf_counter()
    if kind == "serial":
        ex: Any = SerialExecutor()
    elif kind.startswith("local"):
        ex = LocalExecutor(int(kind[-1]))
        ex.submit(_identity, 0).result()  # the pool's processes start on the first task
    else:
        ex = DaskExecutor(local_workers=int(kind[-1]))
    return ex, time.perf_counter() - t0


def sweep_case(kind: str, cells: int, max_population: int) -> dict[str, Any]:
    g = grid(
        {"seed": f"0..{cells - 1}"},
        n_samples=200,
        hidden=(16, 16),
        steps=300,
        optimizer="gd",
        lr=0.1,
    )
    plan = make_plan(g, max_population=max_population)
    ex, startup = _make(kind)
    meter = OthersMeter()
    with tempfile.TemporaryDirectory() as d, SweepStore(Path(d) / "runs.sqlite") as store:
        t0 = time.perf_counter()
        out = run_sweep(plan, ex, store)
        wall = time.perf_counter() - t0
    others = meter.others()
    ex.close()
    assert out.trained == cells and out.failed == 0, out
    return {
        "case": kind + ("" if max_population == 1 else f" (populations of {max_population})"),
        "cells": cells,
        "tasks": len(plan.populations),
        "startup_s": startup,
        "wall_s": wall,
        "cells_per_s": cells / wall,
        "others_cpu": others,
    }


def overhead_case(kind: str, tasks: int) -> dict[str, Any]:
    ex, startup = _make(kind)
    meter = OthersMeter()
    t0 = time.perf_counter()
    futures = [ex.submit(_identity, i) for i in range(tasks)]
    got = sorted(f.result() for f in ex.as_completed(futures))
    wall = time.perf_counter() - t0
    others = meter.others()
    ex.close()
    assert got == list(range(tasks))
    return {
        "case": kind,
        "tasks": tasks,
        "startup_s": startup,
        "per_task_ms": wall / tasks * 1e3,
        "others_cpu": others,
    }


def store_case(writes: int, members: int = 16, steps: int = 300) -> dict[str, Any]:
    """Seconds the driver spends writing one arriving population of ``members`` cells (one
    transaction): the serial part of every sweep, whatever the number of workers."""
    import numpy as np

    g = grid({"seed": f"0..{members - 1}"}, steps=steps)
    plan = make_plan(g, max_population=members)
    outcome = {
        "status": "ok",
        "final_cost": 0.1,
        "train_accuracy": 0.9,
        "test_accuracy": 0.9,
        "steps_run": steps,
        "cost": np.linspace(1, 0.1, steps),
        "seconds": 0.1,
    }
    with tempfile.TemporaryDirectory() as d, SweepStore(Path(d) / "runs.sqlite") as store:
        sid, _ = store.open_sweep("bench", plan.to_dict(), members)
        t0 = time.perf_counter()
        for _ in range(writes):
            store.save_cells(sid, plan.cells, [outcome] * members)
        wall = time.perf_counter() - t0
    return {"members": members, "writes": writes, "per_write_ms": wall / writes * 1e3}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--tasks", type=int, default=400)
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}; load average {os.getloadavg()}")
    print("top before:\n" + _top() + "\n")
    sweeps = [
        sweep_case("serial", args.cells, 1),
        sweep_case("local-1", args.cells, 1),
        sweep_case("local-2", args.cells, 1),
        sweep_case("dask-2", args.cells, 1),
        sweep_case("serial", args.cells, 16),
        sweep_case("local-2", args.cells, 16),
    ]
    peer = {1: sweeps[0]["cells_per_s"], 16: sweeps[4]["cells_per_s"]}
    print(f"sweep of {args.cells} cells (hidden 16,16; 300 GD steps on 150 points each)")
    print(
        f"{'case':<32}{'tasks':>6}{'start s':>9}{'sweep s':>9}{'cells/s':>9}"
        f"{'x serial':>10}{'others':>8}"
    )
    for r in sweeps:
        ref = peer[16 if "populations" in r["case"] else 1]
        print(
            f"{r['case']:<32}{r['tasks']:>6}{r['startup_s']:>9.2f}{r['wall_s']:>9.2f}"
            f"{r['cells_per_s']:>9.1f}{r['cells_per_s'] / ref:>10.2f}{_pct(r['others_cpu']):>8}"
        )
    over = [overhead_case(k, args.tasks) for k in ("local-1", "local-2", "dask-2")]
    print(f"\nper-task overhead ({args.tasks} tasks returning their argument)")
    print(f"{'executor':<12}{'start s':>9}{'ms/task':>9}{'x local-1':>11}{'others':>8}")
    for r in over:
        print(
            f"{r['case']:<12}{r['startup_s']:>9.2f}{r['per_task_ms']:>9.3f}"
            f"{r['per_task_ms'] / over[0]['per_task_ms']:>11.1f}{_pct(r['others_cpu']):>8}"
        )
    st = store_case(50)
    print(
        f"\ndriver: one population of {st['members']} cells written to the store in "
        f"{st['per_write_ms']:.2f} ms (one transaction; mean of {st['writes']})"
    )
    print("\ntop after:\n" + _top())
    if args.json:
        out = {"sweeps": sweeps, "overhead": over, "store": st}
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
