"""Engine benchmark: initlab's NumPy engine against PyTorch eager on the CPU, in one run.

Both sides train the *same* networks: the same float32 data (``initlab.data.circles``: 300
points, 2 features, binary labels), the same layer sizes, ReLU hidden layers and a sigmoid output
trained on the binary cross-entropy of the logits (``nn.BCEWithLogitsLoss`` on the torch side:
its mean over the m examples is initlab's ``binary_cross_entropy``), plain full-batch gradient
descent ``p <- p - lr dJ/dp`` (``torch.optim.SGD`` without momentum or weight decay) with the
same learning rate and the same number of steps, from the same initial parameters: initlab draws
them (He normal weights, zero biases) and they are copied into the torch layers
(``Linear.weight`` is the transpose, ``(out, in)``, of initlab's ``(in, out)``).

=============  ==========================================================  ======
case           what                                                        target
=============  ==========================================================  ======
small          one [2, 10, 5, 1] network                                   5x
deep           one network with 10 hidden layers of 64: [2, 64 x 10, 1]    1.5x
population     64 [2, 10, 5, 1] networks: one initlab population (K = 64)  10x
               vs 64 torch models stepped one after another in a loop
=============  ==========================================================  ======

The target is how many times faster than torch initlab should be (the ratio torch / initlab of
the time per training step).

Timing.  Each case first runs ``warmup`` untimed steps on each side, then ``repeats`` timed chunks
of ``chunk`` steps per side, *interleaved* (initlab, torch, torch, initlab, initlab, torch, ...)
so that a change of load on the shared machine hits both sides alike.  An initlab chunk is
``Trainer.run(chunk)``: the engine's training loop, which also logs every member's cost and
checks every member for divergence at every step.  A torch chunk is ``chunk`` iterations of
``opt.zero_grad(set_to_none=True); loss_fn(model(X), Y).backward(); opt.step()`` for each model
in turn.  Before each chunk the garbage collector runs and the benchmark sleeps ``--pause``
seconds (OpenBLAS's idle workers spin for about 2**28 cycles, ~0.1 s, after a threaded call, and
a spinning worker steals a core from the other side); during a chunk the garbage collector is off
(as in ``timeit``).  Thread counts are the libraries' defaults unless ``--threads`` is given.
Reported: each side's time per step as the median over the repeats [min-max], and the ratio
torch / initlab as the median of the *paired* per-repeat ratios [min-max]; a case passes when
that median reaches its target.  The share of the CPUs used by other processes during the case
is reported too: timings taken while it is high are not worth much.

Correctness.  After the timed run the two sides must have computed the same training:
(1) both took the same number of steps; (2) both sides, re-run in float64 for the same steps
from the same initial parameters, end with parameters and costs that agree to 1e-9 (relative):
the same function, gradients and updates at every step; (3) in float32, at the final
parameters of the timed run, both give the same cost (to 1e-5) and gradients (to 1e-4 of the
largest).  The timed float32 runs' final parameters are compared too and reported next to how
far each side's float32 run drifted from its own float64 replay: a ReLU network amplifies
rounding (a unit whose pre-activation sits at 0 flips), so two float32 runs differ by about
that drift, which is the float32 tolerance of a whole trajectory.  A failed check makes the
exit status 1.

Run:  ``python benchmarks/bench_engine.py [--quick] [--repeats N] [--json PATH]``
(``--case NAME`` runs one case; ``--threads N`` runs both sides with N threads).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from initlab.data import circles
from initlab.losses import get_loss
from initlab.network import Network, backward, forward, init_network
from initlab.train import Trainer, evaluate

LOSS = "binary_cross_entropy"
#: float64 replays: parameters (relative to the largest) and costs must agree to this
EXACT_RTOL = 1e-9
#: float32 at the same parameters: gradients (relative to the largest) and costs must agree to
#: this; a mean of 300 float32 terms is good to ~300 x 6e-8 = 2e-5 in the worst case
FP32_GRAD_RTOL = 1e-4
FP32_COST_RTOL = 1e-5
DEFAULT_REPEATS = 15
QUICK_REPEATS = 5
DEFAULT_PAUSE = 0.3


@dataclass(frozen=True)
class Case:
    """One benchmark case: layer sizes, population size, target speed-up and step budget."""

    name: str
    label: str
    sizes: tuple[int, ...]
    population: int
    target: float
    lr: float
    chunk: int  # steps per timed chunk
    warmup: int
    quick_chunk: int
    quick_warmup: int


CASES: tuple[Case, ...] = (
    Case("small", "[2,10,5,1]", (2, 10, 5, 1), 1, 5.0, 0.1, 300, 50, 100, 20),
    Case("deep", "[2,64x10,1]", (2, *([64] * 10), 1), 1, 1.5, 0.01, 60, 10, 20, 5),
    Case("population", "64 x [2,10,5,1]", (2, 10, 5, 1), 64, 10.0, 0.1, 10, 3, 4, 2),
)


# --------------------------------------------------------------------------- the two sides


def make_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Circles: inputs ``X`` (n, 2) and labels ``Y`` (n, 1), both float32."""
    X, y = circles(n, noise=0.1, seed=seed)
    return X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def as_dtype(net: Network, dtype: Any) -> Network:
    """A copy of ``net`` with its parameters cast to ``dtype``."""
    return Network(
        net.sizes,
        net.activations,
        [w.astype(dtype) for w in net.weights],
        [b.astype(dtype) for b in net.biases],
        dict(net.meta),
    )


def params(net: Network) -> list[np.ndarray]:
    return net.weights + net.biases


def torch_models(net: Network) -> list[Any]:
    """One ``nn.Sequential`` of Linear (+ ReLU) layers per population member, in ``net``'s
    dtype, holding that member's parameters: ``weight = W_k^T``, ``bias = b_k``."""
    import torch
    from torch import nn

    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    models = []
    depth = len(net.sizes) - 1
    for k in range(net.population):
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
            lin = nn.Linear(n_in, n_out, dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(net.weights[i][k].T)))
                lin.bias.copy_(torch.from_numpy(net.biases[i][k, 0]))
            layers.append(lin)
            if i < depth - 1:
                layers.append(nn.ReLU())
        models.append(nn.Sequential(*layers))
    return models


def torch_params(models: list[Any]) -> list[np.ndarray]:
    """The torch models' parameters in initlab's layout and order: ``[W_1 .. W_L, b_1 .. b_L]``
    with ``W_l`` (K, in, out) and ``b_l`` (K, 1, out)."""
    per_model = []
    for model in models:
        lins = [m for m in model if hasattr(m, "weight")]
        per_model.append(
            [lin.weight.detach().numpy().T for lin in lins]
            + [lin.bias.detach().numpy()[None, :] for lin in lins]
        )
    return [np.stack(arrays) for arrays in zip(*per_model, strict=True)]


def torch_trainer(models: list[Any], X: np.ndarray, Y: np.ndarray, lr: float) -> Callable:
    """``step(n)``: n full-batch gradient-descent steps of every model, one model after another
    (what a user with several torch models does)."""
    import torch
    from torch import nn

    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    loss_fn = nn.BCEWithLogitsLoss()
    pairs = [(m, torch.optim.SGD(m.parameters(), lr=lr)) for m in models]

    done = [0]

    def step(n: int) -> None:
        for _ in range(n):
            for model, opt in pairs:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt), Yt)
                loss.backward()
                opt.step()
        done[0] += n

    step.done = done  # type: ignore[attr-defined]  # steps taken so far, for the check
    return step


def torch_costs(models: list[Any], X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Every model's mean binary cross-entropy on ``(X, Y)``, shape (K,)."""
    import torch
    from torch import nn

    loss_fn = nn.BCEWithLogitsLoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    with torch.no_grad():
        return np.array([float(loss_fn(m(Xt), Yt)) for m in models])


# --------------------------------------------------------------------------- correctness


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x.astype(np.float64) - y))) for x, y in zip(a, b, strict=True))


def _max_abs(a: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x))) for x in a)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


def torch_gradients(models: list[Any], X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
    """dJ/dparam of every model at its current parameters, in :func:`torch_params`' layout."""
    import torch
    from torch import nn

    loss_fn = nn.BCEWithLogitsLoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    per_model = []
    for model in models:
        model.zero_grad(set_to_none=True)
        loss_fn(model(Xt), Yt).backward()
        lins = [m for m in model if hasattr(m, "weight")]
        per_model.append(
            [lin.weight.grad.numpy().T for lin in lins]
            + [lin.bias.grad.numpy()[None, :] for lin in lins]
        )
    return [np.stack(arrays) for arrays in zip(*per_model, strict=True)]


def check_agreement(
    start: Network,
    net: Network,
    trainer: Trainer,
    models: list[Any],
    torch_steps: int,
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
) -> dict[str, Any]:
    """Check that the two sides computed the same training (see the module docstring)."""
    steps = trainer.step
    # (1) float64 replays of the whole run, from the same start: the same maths at every step
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    net64 = as_dtype(start, np.float64)
    models64 = torch_models(net64)
    trainer64 = Trainer(net64, X64, Y64, loss=LOSS, optimizer="gd", lr=lr)
    trainer64.run(steps)
    torch_trainer(models64, X64, Y64, lr)(steps)
    p_i64, p_t64 = params(net64), torch_params(models64)
    scale64 = max(_max_abs(p_i64), 1.0)
    diff64 = _max_diff(p_i64, p_t64)
    cdiff64 = _max_rel(evaluate(net64, X64, Y64, LOSS)["cost"], torch_costs(models64, X64, Y64))
    # (2) float32, at the final state of the timed run: the same cost and gradients
    here = torch_models(net)
    _, cache = forward(net, X)
    grads = backward(net, cache, Y, get_loss(LOSS))
    g_i = grads.dW + grads.db
    g_t = torch_gradients(here, X, Y)
    gdiff32 = _max_diff(g_i, g_t) / max(_max_abs(g_t), np.finfo(np.float32).tiny)
    c_i32, c_here = evaluate(net, X, Y, LOSS)["cost"], torch_costs(here, X, Y)
    cdiff_here = _max_rel(c_i32, c_here)
    # (3) the timed float32 runs themselves: reported, with each side's own float32 drift
    p_i32, p_t32 = params(net), torch_params(models)
    c_t32 = torch_costs(models, X, Y)
    checks = {
        "same number of steps": steps == torch_steps,
        "no member diverged": bool(trainer.active.all() and trainer64.active.all()),
        "parameters moved": _max_diff(p_i64, params(start)) > 0,
        "float64 runs agree": diff64 <= EXACT_RTOL * scale64 and cdiff64 <= EXACT_RTOL,
        "float32 gradients agree": gdiff32 <= FP32_GRAD_RTOL,
        "float32 costs agree": cdiff_here <= FP32_COST_RTOL,
    }
    return {
        "ok": all(checks.values()),
        "failed": [name for name, passed in checks.items() if not passed],
        "steps": steps,
        "fp64_max_abs_param_diff": diff64,
        "fp64_final_cost_max_rel_diff": cdiff64,
        "fp32_grad_max_diff_rel_to_max_grad": gdiff32,
        "fp32_cost_max_rel_diff_same_params": cdiff_here,
        "fp32_max_abs_param_diff": _max_diff(p_i32, p_t32),
        "fp32_final_cost_max_rel_diff": _max_rel(c_i32, c_t32),
        "fp32_drift_from_fp64_initlab": _max_diff(p_i32, p_i64),
        "fp32_drift_from_fp64_torch": _max_diff(p_t32, p_t64),
        "max_abs_param": _max_abs(p_i64),
        "max_abs_param_movement": _max_diff(p_i64, params(start)),
        "final_cost_initlab": c_i32.tolist(),
        "final_cost_torch": c_t32.tolist(),
    }


# --------------------------------------------------------------------------- timing


class CpuMeter:
    """How busy *other* processes kept the machine: all CPUs' busy time (``/proc/stat``) minus
    this process's CPU time, as a fraction of ``cpu_count`` x wall time; None without
    ``/proc/stat``."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [float(x) for x in f.readline().split()[1:]]
            hz = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, AttributeError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
        busy = sum(fields[:8]) - idle
        return busy / hz, time.process_time(), time.perf_counter()

    def others(self) -> float | None:
        end = self._read()
        if end is None or self.start is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
        return max(0.0, (busy - own) / (wall * (os.cpu_count() or 1))) if wall > 0 else None


def _timed(fn: Callable[[int], Any], n: int, pause: float) -> float:
    """Seconds per step of ``fn(n)``: collect garbage, sleep ``pause`` s, then time the call
    with the garbage collector off."""
    gc.collect()
    time.sleep(pause)
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn(n)
        return (time.perf_counter() - t0) / n
    finally:
        gc.enable()


def _spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def run_case(
    case: Case, X: np.ndarray, Y: np.ndarray, repeats: int, quick: bool, pause: float
) -> dict[str, Any]:
    """Time one case (interleaved repeats), then check both sides computed the same thing."""
    chunk = case.quick_chunk if quick else case.chunk
    warmup = case.quick_warmup if quick else case.warmup
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
    start = net.copy()
    models = torch_models(net)
    trainer = Trainer(net, X, Y, loss=LOSS, optimizer="gd", lr=case.lr)
    torch_step = torch_trainer(models, X, Y, case.lr)

    trainer.run(warmup)
    torch_step(warmup)
    t_initlab: list[float] = []
    t_torch: list[float] = []
    meter = CpuMeter()
    for r in range(repeats):
        if r % 2 == 0:
            t_initlab.append(_timed(trainer.run, chunk, pause))
            t_torch.append(_timed(torch_step, chunk, pause))
        else:
            t_torch.append(_timed(torch_step, chunk, pause))
            t_initlab.append(_timed(trainer.run, chunk, pause))
    others = meter.others()
    ratios = [t / i for t, i in zip(t_torch, t_initlab, strict=True)]
    steps = warmup + repeats * chunk
    check = check_agreement(start, net, trainer, models, torch_step.done[0], X, Y, case.lr)
    return {
        "case": case.name,
        "label": case.label,
        "sizes": list(case.sizes),
        "population": case.population,
        "lr": case.lr,
        "warmup_steps": warmup,
        "chunk_steps": chunk,
        "repeats": repeats,
        "total_steps": steps,
        "pause_s": pause,
        "other_processes_cpu_fraction": others,
        "initlab_s_per_step": _spread(t_initlab),
        "torch_s_per_step": _spread(t_torch),
        "ratio": _spread(ratios),
        "initlab_s_per_step_all": t_initlab,
        "torch_s_per_step_all": t_torch,
        "target": case.target,
        "passed": statistics.median(ratios) >= case.target,
        "check": check,
    }


# --------------------------------------------------------------------------- reporting


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU, versions and thread counts of both sides."""
    import torch

    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "load_avg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{p.get('internal_api')} {p.get('version') or ''} {p.get('num_threads')} threads "
            f"({os.path.basename(p.get('filepath', ''))})"
            for p in threadpool_info()
        ]
    except ImportError:
        info["blas"] = ["unknown (threadpoolctl is not installed)"]
    return info


def _us(x: float) -> str:
    return f"{x * 1e6:,.0f}"


def _cell(s: dict[str, float], fmt: Callable[[float], str], unit: str = "") -> str:
    return f"{fmt(s['median'])}{unit} [{fmt(s['min'])}-{fmt(s['max'])}]"


def _format(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return [lines[0], "-" * max(len(x) for x in lines), *lines[1:]]


def table(results: list[dict[str, Any]]) -> list[str]:
    """The timing table as lines of text."""
    rows = [
        (
            "case",
            "network",
            "steps",
            "initlab us/step",
            "torch us/step",
            "torch/initlab",
            "target",
            "result",
            "others' CPU",
            "check",
        )
    ]
    for r in results:
        others = r["other_processes_cpu_fraction"]
        rows.append(
            (
                r["case"],
                r["label"],
                str(r["total_steps"]),
                _cell(r["initlab_s_per_step"], _us),
                _cell(r["torch_s_per_step"], _us),
                _cell(r["ratio"], lambda x: f"{x:.2f}", "x"),
                f"{r['target']:g}x",
                "PASS" if r["passed"] else "FAIL",
                "?" if others is None else f"{100 * others:.0f}%",
                "ok" if r["check"]["ok"] else "MISMATCH: " + ", ".join(r["check"]["failed"]),
            )
        )
    return _format(rows)


def check_table(results: list[dict[str, Any]]) -> list[str]:
    """The correctness figures as lines of text."""
    rows = [
        (
            "case",
            "fp64 replay max|dp|",
            "fp64 cost rel",
            "fp32 grads rel",
            "fp32 cost rel",
            "timed fp32 max|dp|",
            "fp32 drift initlab/torch",
            "moved",
            "timed fp32 cost rel",
        )
    ]
    for r in results:
        c = r["check"]
        rows.append(
            (
                r["case"],
                f"{c['fp64_max_abs_param_diff']:.1e}",
                f"{c['fp64_final_cost_max_rel_diff']:.1e}",
                f"{c['fp32_grad_max_diff_rel_to_max_grad']:.1e}",
                f"{c['fp32_cost_max_rel_diff_same_params']:.1e}",
                f"{c['fp32_max_abs_param_diff']:.1e}",
                f"{c['fp32_drift_from_fp64_initlab']:.1e} / {c['fp32_drift_from_fp64_torch']:.1e}",
                f"{c['max_abs_param_movement']:.2f}",
                f"{c['fp32_final_cost_max_rel_diff']:.1e}",
            )
        )
    return _format(rows)


def print_report(info: dict[str, Any], results: list[dict[str, Any]], quick: bool) -> None:
    def load(key: str) -> str:
        return ", ".join(f"{x:.2f}" for x in info.get(key) or [])

    threads = "default" if info["threads_option"] is None else "set by --threads"
    print(
        f"initlab engine vs PyTorch eager (CPU, float32, full-batch GD), {info['date']}"
        f"{'  [--quick]' if quick else ''}\n"
        f"machine: {info['cpu']}, {info['cpu_count']} CPUs ({info['usable_cpus']} usable); "
        f"load average {load('load_avg_start')} at start, {load('load_avg_end')} at end\n"
        f"python {info['python']}, numpy {info['numpy']}, torch {info['torch']} "
        f"({info['torch_threads']} threads, {threads}); BLAS: {'; '.join(info['blas'])}\n"
        "time/step: median over the interleaved repeats [min-max]; torch/initlab: median of the "
        "paired per-repeat ratios [min-max];\nothers' CPU: share of all CPUs that other "
        "processes used during the case (timings are unreliable when it is high)\n"
    )
    print("\n".join(table(results)))
    print(
        "\ncorrectness: fp64 replay = both sides re-run in float64 from the same start (must "
        f"agree to {EXACT_RTOL:g}); fp32 grads/cost = both sides'\nfloat32 gradients (relative "
        f"to the largest) and cost at the final parameters (must agree to {FP32_GRAD_RTOL:g} / "
        f"{FP32_COST_RTOL:g}); timed fp32 = the timed runs' final\nparameters, next to how far "
        "each side's float32 run drifted from its float64 replay (rounding amplified by training)"
        "\n"
    )
    print("\n".join(check_table(results)))
    busy = [r for r in results if (r["other_processes_cpu_fraction"] or 0.0) > 0.1]
    if busy:
        print(
            f"\nwarning: other processes used more than 10% of the CPUs during "
            f"{', '.join(r['case'] for r in busy)}; rerun on a quiet machine for figures to keep"
        )


def set_threads(n: int) -> Any:
    """Give both sides ``n`` threads: torch's intra-op pool and the BLAS/OpenMP pools NumPy uses
    (through threadpoolctl).  Returns the limiter, which must be kept alive."""
    import torch

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit(
            "bench_engine: --threads needs threadpoolctl (pip install threadpoolctl) to set the "
            "number of BLAS threads NumPy uses"
        ) from None
    torch.set_num_threads(n)
    return threadpool_limits(limits=n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time initlab's engine against PyTorch eager on CPU (see the module "
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
        "--pause",
        type=float,
        default=DEFAULT_PAUSE,
        help=f"seconds to sleep before each timed chunk (default {DEFAULT_PAUSE})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="give both sides this many threads (default: each library's own default)",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats
    if repeats is None:
        repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if repeats < 1:
        parser.error(f"--repeats must be >= 1, got {repeats}")
    if not args.pause >= 0:
        parser.error(f"--pause must be >= 0 seconds, got {args.pause}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("bench_engine: this benchmark needs PyTorch (pip install torch)", file=sys.stderr)
        return 2

    limiter = set_threads(args.threads) if args.threads is not None else None
    info = machine_info()
    info["threads_option"] = args.threads
    X, Y = make_data()
    results = [
        run_case(case, X, Y, repeats, args.quick, args.pause)
        for case in CASES
        if not args.case or case.name in args.case
    ]
    info["load_avg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print_report(info, results, args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "quick": args.quick, "results": results}, f, indent=2)
    del limiter
    return 0 if all(r["check"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
