"""Where a training step's time goes, on the reference engine and on the compiled loop.

For each case of ``bench_engine.py`` (float32, full batch, 300 points, one thread), prints the
CPU time per step of:

* ``reference``: ``Trainer.run`` with ``engine = "reference"``;
* ``  BLAS``: the same step's matrix products alone (forward ``A @ W``, ``dW = A^T dZ``,
  ``dA = dZ W^T``, the bias sums ``ones @ dZ``), as NumPy calls on arrays of the same shapes;
* ``  Python + elementwise``: the difference (NumPy call overhead, activations, cost, optimizer,
  divergence check and bookkeeping);
* ``fast``: ``Trainer.run`` with ``engine = "fast"`` (the compiled loop, many steps per call);
* ``  per call``: the fixed cost of one ``Trainer.run`` call on the compiled loop (``run(1)``
  minus one step), paid once per stretch between probes.

CPU time (``time.process_time``) of this process only, best of ``--repeats``, so other jobs on
a shared machine disturb it less than wall time.  Run:
``python benchmarks/profile_engine.py [--repeats N]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from initlab.data import circles  # noqa: E402
from initlab.network import init_network  # noqa: E402
from initlab.train import Trainer  # noqa: E402

CASES = (
    ("small", (2, 10, 5, 1), 1, 2000),
    ("deep", (2, *([64] * 10), 1), 1, 100),
    ("population", (2, 10, 5, 1), 64, 100),
    ("population1024", (2, 10, 5, 1), 1024, 10),
    ("wide", (2, 512, 512, 1), 1, 20),
)


def cpu_per_call(fn: Callable[[], object], calls: int, repeats: int) -> float:
    """Best-of-``repeats`` CPU seconds per call of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - t0) / calls)
    return best


def matmuls(sizes: tuple[int, ...], K: int, m: int) -> Callable[[], None]:
    """One step's matrix products on arrays shaped as in the engine (population axis K)."""
    rng = np.random.default_rng(0)
    f = np.float32
    A = [rng.normal(size=(m, sizes[0])).astype(f)] + [
        rng.normal(size=(K, m, n)).astype(f) for n in sizes[1:]
    ]
    W = [rng.normal(size=(K, a, b)).astype(f) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    ones = np.ones((1, m), dtype=f)

    def step() -> None:
        for l, w in enumerate(W):
            A[l] @ w  # forward
            dZ = A[l + 1]
            A[l].swapaxes(-1, -2) @ dZ  # dW
            ones @ dZ  # db
            if l > 0:
                dZ @ w.swapaxes(-1, -2)  # dA

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y = circles(300, noise=0.1, seed=0)
    X, Y = X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)
    rows = []
    for name, sizes, K, n in CASES:
        net = init_network(sizes, population=K, seed=0, dtype=np.float32)
        t = {}
        for engine in ("reference", "fast"):
            tr = Trainer(net.copy(), X, Y, lr=0.01)
            tr.engine = engine
            tr.run(5)  # warm (and, for "fast", load the compiled code)
            t[engine] = cpu_per_call(lambda tr=tr, n=n: tr.run(n), 1, args.repeats) / n
            if engine == "fast":
                one = cpu_per_call(lambda tr=tr: tr.run(1), 50, args.repeats)
                t["per call"] = max(0.0, one - t["fast"])
        t["BLAS"] = cpu_per_call(matmuls(sizes, K, 300), max(1, n // 10), args.repeats)
        rows.append((name, t))
    print(f"CPU time per step, best of {args.repeats} (us); float32, full batch of 300, 1 thread")
    print(
        f"{'case':16} {'reference':>10} {'  BLAS':>10} {'  rest':>10} {'fast':>10} "
        f"{'per call':>10} {'ref/fast':>9}"
    )
    for name, t in rows:
        rest = max(0.0, t["reference"] - t["BLAS"])
        print(
            f"{name:16} {t['reference'] * 1e6:10,.1f} {t['BLAS'] * 1e6:10,.1f} {rest * 1e6:10,.1f}"
            f" {t['fast'] * 1e6:10,.1f} {t['per call'] * 1e6:10,.1f} "
            f"{t['reference'] / t['fast']:8.2f}x"
        )


if __name__ == "__main__":
    main()
