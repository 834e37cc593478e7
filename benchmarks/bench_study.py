"""The study's time budget: ``initlab study`` with two worker processes against the same study in
one process (``--jobs 1``, the peer), and ``--quick``; the budget is 60 s for the default study
and 10 s for ``--quick`` on two cores.

Each case runs the real command in a fresh process (``--quiet``, a temporary ``--out``, no store
unless ``--store``), and prints its wall time, its CPU time (the command and every process it
started: the workers' time is included once they are joined) and the share of the CPUs that
*other* processes used meanwhile (all CPUs' busy time from ``/proc/stat`` minus the command's
CPU time, per wall second: 100 % is one core), because on a shared machine the wall time says
little without it.  The cases' ``results.json`` must agree, timing aside: the report is the
same for any ``--jobs``.

Run:  ``python benchmarks/bench_study.py [--store] [--only NAME[,NAME]] [--skip-quick]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import busy_seconds


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_case(args: list[str], out: Path) -> dict[str, Any]:
    """Run ``initlab study ARGS --out OUT``; wall, CPU, others' CPU and the results."""
    cmd = [sys.executable, "-m", "initlab", "study", "--quiet", *args, "--out", str(out)]
    busy0, cpu0, t0 = busy_seconds(), _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    busy1 = busy_seconds()
    others = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0 - cpu) / wall)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results.pop("timing")
    return {"wall": wall, "cpu": cpu, "others": others, "results": results}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", action="store_true", help="save the runs (a temporary store)")
    ap.add_argument("--only", default=None, help="run only these experiments (a smoke run)")
    ap.add_argument("--skip-quick", action="store_true", help="leave out the --quick case")
    a = ap.parse_args()
    extra = ["--only", a.only] if a.only else []
    with tempfile.TemporaryDirectory(prefix="initlab-bench-study-") as tmp:
        d = Path(tmp)

        def store(name: str) -> list[str]:
            return ["--store", str(d / f"{name}.sqlite")] if a.store else ["--no-store"]

        cases = {
            "default, --jobs 1 (peer)": ["--jobs", "1", *store("serial"), *extra],
            "default, --jobs 2": ["--jobs", "2", *store("two"), *extra],
        }
        if not a.skip_quick:
            cases["--quick"] = ["--quick", *store("quick"), *extra]
        got = {name: run_case(argv, d / f"out{i}") for i, (name, argv) in enumerate(cases.items())}
    print(f"{'case':<28} {'wall s':>8} {'CPU s':>8} {'others CPU':>11}")
    for name, r in got.items():
        others = "-" if r["others"] is None else f"{100 * r['others']:.0f} %"
        print(f"{name:<28} {r['wall']:8.1f} {r['cpu']:8.1f} {others:>11}")
    serial, two = got["default, --jobs 1 (peer)"], got["default, --jobs 2"]
    print(f"wall time, --jobs 1 / --jobs 2: {serial['wall'] / two['wall']:.2f}")
    if a.store:  # run ids and study ids come from each case's own store
        for r in (serial, two):
            r["results"].pop("study_id", None)
    same = serial["results"] == two["results"]
    print(f"results.json of --jobs 1 and --jobs 2 (timing aside): {'same' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
