"""The cost of observing a torch training step: ``watch(every=10)`` amortised over its steps
and ``inspect``, each as a ratio to the same model's plain step measured in the same run.

Model: the hand-built ResNet-18 of ``tests/torch_zoo.py`` (2-2-2-2 BasicBlocks, ``--width``
64 by default as in torchvision's), batch 8 x 3 x 32 x 32, cross-entropy, SGD, on the CPU.

* peer: one plain step (forward, backward, ``optimizer.step()``); for ``inspect`` the peer is
  a forward + backward without the optimizer step (``inspect`` applies no update);
* ``watch``: ``--every`` (10) steps with ``w.step(loss)`` after each, one of them recorded,
  divided by ``--every`` plain steps;
* ``inspect``: one ``inspect(model, x, y)`` call.

Each also with ``histograms=False, symmetry=False`` (the statistics that cost most).

The cases are interleaved ``--repeats`` times, each between two timings of its peer (plain
step, watch, watch lean, plain step; forward+backward, inspect, inspect lean,
forward+backward), and each repeat's ratio is taken against the mean of those two: the speed
of this shared machine drifts by tens of percent within a minute, and a drift then hits the
case and its peer alike.  The median ratio is printed with its range over the repeats; ``top``
is printed before and after (other processes' CPU).  Each case is timed by the wall clock and
by the process's CPU time: under load the CPU ratios are the steadier ones.

"1 thread" holds for NumPy's BLAS too (``OPENBLAS_NUM_THREADS`` and its kin are set to 1 before
NumPy loads, unless already set): the statistics are computed with NumPy, and on the shared
2-core machine a second BLAS thread competing with torch's made them up to 4x slower.

Run:  ``python benchmarks/bench_torch_watch.py [--width 64] [--repeats 7] [--every 10]``
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from torch_zoo import ResNet18  # noqa: E402

from initlab.torch import inspect, watch  # noqa: E402


def _top() -> str:
    try:
        return subprocess.run(["top", "-bn1"], capture_output=True, text=True).stdout
    except OSError:
        return "(top not available)"


def _setup(width: int) -> tuple[nn.Module, Any, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = ResNet18(width=width)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(8, 3, 32, 32)
    y = torch.randint(0, 10, (8,))
    return model, opt, x, y


def _step(model: nn.Module, opt: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _fwd_bwd(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()


class _Clock:
    """Wall-clock and process CPU time of a block, divided by ``n`` (one per case and repeat).

    On a shared machine another process's load stretches the wall clock of whichever case it
    overlaps; the process's CPU time (one thread for torch and NumPy) is what the work took."""

    def __init__(self, out: dict[str, list[tuple[float, float]]], key: str, n: int = 1) -> None:
        self.out, self.key, self.n = out, key, n

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        wall = (time.perf_counter() - self.wall) / self.n
        cpu = (time.process_time() - self.cpu) / self.n
        self.out.setdefault(self.key, []).append((wall, cpu))


def measure(width: int, repeats: int, every: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each case in each repeat; each repeat times its peers (``plain``,
    ``fwd_bwd``) just before and just after the cases compared with them (``*_after``)."""
    model, opt, x, y = _setup(width)
    for _ in range(3):  # warm-up: allocator, kernels
        _step(model, opt, x, y)
    inspect(model, x, y)
    times: dict[str, list[tuple[float, float]]] = {}
    lean = {"histograms": False, "symmetry": False}

    def plain(key: str) -> None:
        with _Clock(times, key, every):
            for _ in range(every):
                _step(model, opt, x, y)

    def fwd_bwd(key: str) -> None:
        with _Clock(times, key, 3):
            for _ in range(3):
                _fwd_bwd(model, x, y)

    for _ in range(repeats):
        plain("plain")
        for key, kw in (("watch", {}), ("watch_lean", lean)):
            w = watch(model, every=every, **kw)
            with _Clock(times, key, every):
                for _ in range(every):
                    w.step(_step(model, opt, x, y))
            w.close()
        plain("plain_after")
        fwd_bwd("fwd_bwd")
        for key, kw in (("inspect", {}), ("inspect_lean", lean)):
            with _Clock(times, key):
                inspect(model, x, y, **kw)
        fwd_bwd("fwd_bwd_after")
    return times


def ratios(times: dict[str, list[tuple[float, float]]], key: str, peer: str) -> list[list[float]]:
    """Per repeat, ``[wall, CPU]`` of case ``key`` over the mean of its peer's two timings (just
    before and just after it in the same repeat), so that a slow drift of the shared machine's
    speed cancels."""
    out = []
    for case, before, after in zip(times[key], times[peer], times[peer + "_after"], strict=True):
        out.append([c / ((b + a) / 2) for c, b, a in zip(case, before, after, strict=True)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--every", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("top before:\n" + "\n".join(_top().splitlines()[:15]))
    times = measure(args.width, args.repeats, args.every)
    print("\n".join(_top().splitlines()[:15]).join(("top after:\n", "")))
    print(
        f"\nResNet-18 width {args.width}, batch 8x3x32x32, CPU, 1 thread, {args.repeats} repeats"
        " (times: medians; ratios: median [min-max] of each repeat's ratio to its peer's mean"
        " just before and after)"
    )
    print(f"{'':28s} {'wall ms':>9s} {'cpu ms':>9s} {'wall ratio':>20s} {'cpu ratio':>20s}")
    rows = [
        ("plain step", "plain", None, ""),
        (f"watch(every={args.every})", "watch", "plain", "  (target <= 1.3x)"),
        ("  histograms, symmetry off", "watch_lean", "plain", ""),
        ("forward+backward", "fwd_bwd", None, ""),
        ("inspect", "inspect", "fwd_bwd", "  (target <= 3x)"),
        ("  histograms, symmetry off", "inspect_lean", "fwd_bwd", ""),
    ]
    for label, key, peer, target in rows:
        wall = statistics.median(w for w, _ in times[key])
        cpu = statistics.median(c for _, c in times[key])
        line = f"{label:28s} {wall * 1e3:9.1f} {cpu * 1e3:9.1f}"
        if peer is not None:
            r = ratios(times, key, peer)
            for i in (0, 1):
                col = [v[i] for v in r]
                cell = f"{statistics.median(col):.2f}x [{min(col):.2f}-{max(col):.2f}]"
                line += f" {cell:>20s}"
            line += target
        print(line)


if __name__ == "__main__":
    main()
