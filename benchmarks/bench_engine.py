"""Engine benchmark: initlab against JAX (jit + ``lax.scan``/``vmap``) and PyTorch eager on the
CPU, one thread per library, in one process.

Every side trains the *same* networks: the same float32 data (``initlab.data.circles``: 300
points, 2 features, binary labels), the same layer sizes, ReLU hidden layers and a sigmoid output
trained on the binary cross-entropy of the logits, plain full-batch gradient descent
``p <- p - lr dJ/dp`` with the same learning rate and number of steps, from the same initial
parameters (initlab's He-normal draw, zero biases, copied into the peers; see ``peers.py``).

=================  ============================================================================
case               what
=================  ============================================================================
small              one [2, 10, 5, 1] network
deep               one network with 10 hidden layers of 64: [2, 64 x 10, 1]
population         64 [2, 10, 5, 1] networks: one initlab population (K = 64), a ``vmap`` in
                   JAX, 64 torch models stepped one after another
population1024     1024 [2, 10, 5, 1] networks (no torch: 1024 eager models take ~1 s a step)
wide               one [2, 512, 512, 1] network (BLAS-bound)
=================  ============================================================================

Sides: ``initlab`` is ``Trainer.run(n)`` with ``engine = "fast"``: the compiled loop of
``initlab._fast`` where it applies (which ``engine = "auto"`` picks for runs of 2 s or more),
logging every member's cost and checking every member for divergence at every step;
``reference`` the same with ``engine = "reference"`` (the NumPy engine); ``jax scan`` one
jitted call running ``n`` steps with ``lax.scan`` (``vmap`` over members for a population),
keeping every step's cost; ``jax step`` ``n`` calls of a jitted step; ``torch``
``opt.zero_grad(set_to_none=True); loss_fn(model(X), Y).backward(); opt.step()`` per model.

Timing.  One thread per library: before NumPy, JAX or torch is imported the benchmark sets
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` and XLA's
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``, then calls
``torch.set_num_threads`` and threadpoolctl's ``threadpool_limits`` (``--threads N`` changes the
number).  Each case runs ``warmup`` untimed steps per side (JAX compiles there), then ``repeats``
timed chunks of ``chunk`` steps per side, *interleaved* (the order of the sides rotates each
repeat) so that a change of load on the shared machine hits all sides alike.  Before each chunk
the garbage collector runs and the benchmark sleeps ``--pause`` seconds; during a chunk the
garbage collector is off (as in ``timeit``).  Reported: each side's time per step as the median
over the repeats [min-max], and each peer's ratio peer / initlab as the median of the *paired*
per-repeat ratios.  "others' CPU" is the share of the CPUs that other processes used during the
case (``/proc/stat``): timings taken while it is high are not worth much.  Peak memory: after the
timing, one more chunk per side with the kernel's high-water mark reset (``/proc/self/clear_refs``)
and the growth of the peak resident set over the resident set before the chunk (VmHWM - VmRSS).

Correctness, after the timed run (a failed check makes the exit status 1).  Against torch where
the case has it: both re-run in float64 for the same steps from the same start end with
parameters and costs that agree to 1e-9 (relative), and in float32 at initlab's final parameters
both give the same cost (1e-5) and gradients (1e-4 of the largest).  Against JAX, in float32 at
initlab's final parameters: the same cost and gradients to the same tolerances; the timed runs'
final costs are reported.  ``initlab`` against ``reference``: float32 final costs are reported
(the float64 agreement of the two engines is a unit test, ``tests/test_engine_fast.py``).

Run:  ``python benchmarks/bench_engine.py [--quick] [--repeats N] [--case NAME] [--json PATH]``
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv: list[str]) -> int:
    """``--threads N`` from the command line, read before any numerical library is imported
    (their thread pools read the environment when they load)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1]) if argv[i + 1].isdigit() else 1
        if a.startswith("--threads="):
            v = a.split("=", 1)[1]
            return int(v) if v.isdigit() else 1
    return 1


THREADS = _threads_from_argv(sys.argv)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
if THREADS == 1:
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from bench_checks import LOSS, check_agreement, check_jax  # noqa: E402
from bench_report import machine_info, print_report  # noqa: E402
from machine import busy_seconds  # noqa: E402
from peers import JaxSide, torch_models, torch_trainer  # noqa: E402

from initlab import _fast  # noqa: E402
from initlab.data import circles  # noqa: E402
from initlab.losses import get_loss  # noqa: E402
from initlab.network import Network, init_network  # noqa: E402
from initlab.train import Trainer, evaluate  # noqa: E402

DEFAULT_REPEATS = 9
QUICK_REPEATS = 3
DEFAULT_PAUSE = 0.2
SIDES = ("initlab", "reference", "jax scan", "jax step", "torch")


@dataclass(frozen=True)
class Case:
    """One benchmark case: layer sizes, population size, learning rate, steps per chunk."""

    name: str
    label: str
    sizes: tuple[int, ...]
    population: int
    lr: float
    chunk: int  # steps per timed chunk
    warmup: int
    quick_chunk: int
    torch: bool = True


CASES: tuple[Case, ...] = (
    Case("small", "[2,10,5,1]", (2, 10, 5, 1), 1, 0.1, 2000, 100, 500),
    Case("deep", "[2,64x10,1]", (2, *([64] * 10), 1), 1, 0.01, 100, 10, 30),
    Case("population", "64 x [2,10,5,1]", (2, 10, 5, 1), 64, 0.1, 40, 10, 20),
    Case("population1024", "1024 x [2,10,5,1]", (2, 10, 5, 1), 1024, 0.1, 10, 3, 4, torch=False),
    Case("wide", "[2,512,512,1]", (2, 512, 512, 1), 1, 0.01, 20, 3, 6),
)


def make_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Circles: inputs ``X`` (n, 2) and labels ``Y`` (n, 1), both float32."""
    X, y = circles(n, noise=0.1, seed=seed)
    return X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def flops_per_step(sizes: tuple[int, ...], m: int) -> int:
    """Floating-point operations of the matrix products of one step of one network: forward
    ``A @ W``, ``dW = A^T dZ`` and ``dA = dZ W^T`` (none for the input layer), 2 per
    multiply-add; the elementwise work adds about 15% for [2, 10, 5, 1]."""
    mults = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return 2 * m * (3 * mults - sizes[0] * sizes[1])


# --------------------------------------------------------------------------- timing


class CpuMeter:
    """How busy *other* processes kept the machine: all CPUs' busy time (``/proc/stat``) minus
    this process's CPU time, as a fraction of ``cpu_count`` x wall time; None without
    ``/proc/stat``."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        busy = busy_seconds()
        return None if busy is None else (busy, time.process_time(), time.perf_counter())

    def others(self) -> float | None:
        end = self._read()
        if end is None or self.start is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
        return max(0.0, (busy - own) / (wall * (os.cpu_count() or 1))) if wall > 0 else None


def _timed(fn: Callable[[int], Any], n: int, pause: float) -> tuple[float, float]:
    """Wall and CPU seconds per step of ``fn(n)``: collect garbage, sleep ``pause`` s, then
    time the call with the garbage collector off.  CPU time is this process's (all its
    threads), which other jobs on a shared machine disturb much less than wall time."""
    gc.collect()
    time.sleep(pause)
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        fn(n)
        return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n
    finally:
        gc.enable()


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_mib(fn: Callable[[int], Any], n: int) -> float | None:
    """Growth of the process's peak resident set while ``fn(n)`` runs, in MiB: the kernel's
    high-water mark is reset first (Linux ``/proc/self/clear_refs``); None where that is not
    possible."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    fn(n)
    peak = _status_kib("VmHWM")
    return None if before is None or peak is None else max(0, peak - before) / 1024


def _spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def _paired(times: dict[str, list[float]], names: list[str]) -> dict[str, dict[str, float]]:
    """Each side's per-repeat ratio to initlab's time in the same repeat, summarised."""
    base = times.get("initlab")
    if not base:
        return {}
    return {
        name: _spread([p / i for p, i in zip(times[name], base, strict=True)])
        for name in names
        if name != "initlab"
    }


def make_sides(
    case: Case, net: Network, X: np.ndarray, Y: np.ndarray, wanted: tuple[str, ...]
) -> tuple[dict[str, Callable[[int], Any]], dict[str, Any]]:
    """The sides' ``step(n)`` functions for ``case``, each with its own copy of the start, and
    the objects the checks need."""
    sides: dict[str, Callable[[int], Any]] = {}
    held: dict[str, Any] = {}
    if "initlab" in wanted:
        held["initlab"] = Trainer(net.copy(), X, Y, loss=LOSS, optimizer="gd", lr=case.lr)
        held["initlab"].engine = "fast"  # what "auto" picks for runs longer than these chunks
        sides["initlab"] = held["initlab"].run
    if "reference" in wanted:
        ref = Trainer(net.copy(), X, Y, loss=LOSS, optimizer="gd", lr=case.lr)
        ref.engine = "reference"
        held["reference"] = ref
        sides["reference"] = ref.run
    if "jax scan" in wanted or "jax step" in wanted:
        for name in ("jax scan", "jax step"):
            if name in wanted:
                held[name] = JaxSide(net, X, Y, case.lr)
        if "jax scan" in held:
            sides["jax scan"] = held["jax scan"].scan
        if "jax step" in held:
            sides["jax step"] = held["jax step"].step
    if "torch" in wanted and case.torch:
        held["torch models"] = torch_models(net)
        held["torch"] = torch_trainer(held["torch models"], X, Y, case.lr)
        sides["torch"] = held["torch"]
    return sides, held


def run_case(
    case: Case,
    X: np.ndarray,
    Y: np.ndarray,
    repeats: int,
    quick: bool,
    pause: float,
    wanted: tuple[str, ...],
) -> dict[str, Any]:
    """Time one case (interleaved repeats), measure peak memory, then check the sides agree."""
    chunk = case.quick_chunk if quick else case.chunk
    warmup = case.warmup
    net = init_network(
        case.sizes,
        "relu",
        "sigmoid",
        "he_normal",
        "zeros",
        population=case.population,
        seed=0,
        dtype=np.float32,
    )
    sides, held = make_sides(case, net, X, Y, wanted)
    names = list(sides)
    for name in names:
        sides[name](warmup)  # JAX compiles the scan for `chunk` steps below, once
    if "jax scan" in sides:
        sides["jax scan"](chunk)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    meter = CpuMeter()
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            wall, used = _timed(sides[name], chunk, pause)
            times[name].append(wall)
            cpu[name].append(used)
    others = meter.others()
    memory = {name: peak_mib(sides[name], chunk) for name in names}
    ratios, cpu_ratios = _paired(times, names), _paired(cpu, names)
    checks: dict[str, Any] = {}
    trainer = held.get("initlab")
    if trainer is not None:
        start = net
        if "torch" in held:
            checks["torch"] = check_agreement(
                start, trainer.net, trainer, held["torch models"], held["torch"].done[0], X, Y,
                case.lr,
            )  # fmt: skip
        if "jax scan" in held or "jax step" in held:
            checks["jax"] = check_jax(trainer.net, X, Y)
        finals = {"initlab": evaluate(trainer.net, X, Y, LOSS)["cost"]}
        if "reference" in held:
            finals["reference"] = evaluate(held["reference"].net, X, Y, LOSS)["cost"]
        checks["final_costs"] = {k: v.tolist()[:4] for k, v in finals.items()}
    return {
        "case": case.name,
        "label": case.label,
        "sizes": list(case.sizes),
        "population": case.population,
        "lr": case.lr,
        "warmup_steps": warmup,
        "chunk_steps": chunk,
        "repeats": repeats,
        "steps_initlab": held["initlab"].step if "initlab" in held else None,
        "pause_s": pause,
        "other_processes_cpu_fraction": others,
        "s_per_step": {name: _spread(times[name]) for name in names},
        "s_per_step_all": times,
        "ratio_to_initlab": ratios,
        "cpu_s_per_step": {name: _spread(cpu[name]) for name in names},
        "cpu_ratio_to_initlab": cpu_ratios,
        "peak_mib": memory,
        "flops_per_step": flops_per_step(case.sizes, X.shape[0]) * case.population,
        "fast_path": _fast.plan(net, get_loss(LOSS), Trainer(net.copy(), X, Y).opt) is not None,
        "check": checks,
        "ok": all(c.get("ok", True) for c in checks.values() if isinstance(c, dict)),
    }


def set_threads(n: int) -> Any:
    """``n`` threads for torch's intra-op pool and the BLAS/OpenMP pools NumPy and numba use
    (through threadpoolctl; the environment was set before the imports).  Returns the
    limiter, which must be kept alive."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    return threadpool_limits(limits=n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time initlab's engine against JAX and PyTorch eager on CPU (see the module "
        "docstring for what is measured)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"timed chunks per side (default {DEFAULT_REPEATS}, {QUICK_REPEATS} with --quick)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every number to this file")
    parser.add_argument(
        "--case",
        action="append",
        choices=[c.name for c in CASES],
        help="run only this case (may be repeated)",
    )
    parser.add_argument(
        "--side", action="append", choices=SIDES, help="run only this side (may be repeated)"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=DEFAULT_PAUSE,
        help=f"seconds to sleep before each timed chunk (default {DEFAULT_PAUSE})",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per library (default 1)")
    args = parser.parse_args(argv)
    repeats = args.repeats
    if repeats is None:
        repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if repeats < 1:
        parser.error(f"--repeats must be >= 1, got {repeats}")
    if not args.pause >= 0:
        parser.error(f"--pause must be >= 0 seconds, got {args.pause}")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    try:
        import jax  # noqa: F401
        import threadpoolctl  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print(f"bench_engine: this benchmark needs {e.name} (pip install -e '.[bench]' torch "
              "threadpoolctl)", file=sys.stderr)  # fmt: skip
        return 2
    limiter = set_threads(args.threads)
    info = machine_info()
    info["threads"] = args.threads
    X, Y = make_data()
    wanted = tuple(args.side or SIDES)
    results = []
    for case in CASES:
        if not args.case or case.name in args.case:
            results.append(run_case(case, X, Y, repeats, args.quick, args.pause, wanted))
            print(f"[{case.name} done]", file=sys.stderr, flush=True)
    info["load_avg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print_report(info, results, args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "results": results}, f, indent=2)
    del limiter
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
