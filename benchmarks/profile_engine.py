"""Where a training step's time goes, on the reference engine and on the compiled loop.

For each case of ``bench_engine.py`` (float32, full batch, 300 points, one thread), prints the
CPU time per step of:

* ``reference``: ``Trainer.run`` with ``engine = "reference"``;
* ``  BLAS``: the same step's matrix products alone (forward ``A @ W``, ``dW = A^T dZ``,
  ``dA = dZ W^T``, the bias sums ``ones @ dZ``), as NumPy calls on arrays of the same shapes;
* ``  Python + elementwise``: the difference (NumPy call overhead, activations, cost, optimizer,
  divergence check and bookkeeping);
* ``fast``: ``Trainer.run`` with ``engine = "fast"`` (the compiled loop, many steps per call);
* ``  its BLAS``: the ``?gemm`` calls the compiled loop makes for one step (the layers of at
  least ``initlab._fast.BLAS_LAYER`` weights, in its pieces), made the same way from a numba
  loop on scratch arrays of the same shapes; ``fast`` minus it is the loop's own work (the
  smaller layers' products, activations, cost, update, divergence check);
* ``  per call``: the fixed cost of one ``Trainer.run`` call on the compiled loop (``run(1)``
  minus one step), paid once per stretch between probes.

CPU time (``time.process_time``) of this process only, best of ``--repeats``, so other jobs on
a shared machine disturb it less than wall time; "others' CPU" (as in ``bench_engine.py``) says
how busy they kept the machine.  Run:
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
from bench_engine import CpuMeter  # noqa: E402

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


def kernel_products(sizes: tuple[int, ...], K: int, m: int) -> Callable[[], None]:
    """The ``?gemm`` calls of one compiled-loop step (all members), as the loop makes them."""
    from numba import njit

    from initlab import _fast
    from initlab._fast_blas import batch_piece, gemm, gemm_address, gemm_scratch, weight_piece

    big = [(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True) if a * b >= _fast.BLAS_LAYER]
    if not big:
        return lambda: None
    rng = np.random.default_rng(0)
    width = max(max(a, b) for a, b in big)
    A, D, C = (rng.normal(size=(width, m)).astype(np.float32) for _ in range(3))
    W, G = (rng.normal(size=width * width).astype(np.float32) for _ in range(2))
    shapes = np.array(big, dtype=np.int64)
    fn = gemm_address(np.float32)

    @njit
    def products(fn, shapes, K, m, A, D, C, W, G):  # type: ignore[no-untyped-def]
        bs = gemm_scratch(W)
        for _ in range(K):
            for s in range(shapes.shape[0]):
                n_in, n_out = shapes[s, 0], shapes[s, 1]
                rows = batch_piece(m, n_in, n_out)
                for r0 in range(0, m, rows):  # forward Z^T = A^T W
                    gemm(fn, bs, False, True, min(rows, m - r0), n_out, n_in, 1.0, A, r0, m,
                         W, 0, n_out, 0.0, C, r0, m)  # fmt: skip
                cols = weight_piece(m, n_in, n_out)
                for c0 in range(0, n_in, cols):  # dW^T = dZ A^T
                    gemm(fn, bs, True, False, n_out, min(cols, n_in - c0), m, 1.0, D, 0, m, A,
                         c0 * m, m, 0.0, G, c0 * n_out, n_out)  # fmt: skip
                for r0 in range(0, m, rows):  # dA^T = dZ^T W^T
                    gemm(fn, bs, False, False, min(rows, m - r0), n_in, n_out, 1.0, D, r0, m,
                         W, 0, n_out, 0.0, C, r0, m)  # fmt: skip

    products(fn, shapes, 1, m, A, D, C, W, G)  # compile
    return lambda: products(fn, shapes, K, m, A, D, C, W, G)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y = circles(300, noise=0.1, seed=0)
    X, Y = X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)
    rows = []
    meter = CpuMeter()
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
        t["its BLAS"] = cpu_per_call(kernel_products(sizes, K, 300), max(1, n // 10), args.repeats)
        rows.append((name, t))
    others = meter.others()
    print(f"CPU time per step, best of {args.repeats} (us); float32, full batch of 300, 1 thread")
    if others is not None:
        print(f"others' CPU: other processes used {others:.0%} of the CPUs during the run")
    print(
        f"{'case':16} {'reference':>10} {'  BLAS':>10} {'  rest':>10} {'fast':>10} "
        f"{'  its BLAS':>10} {'  rest':>10} {'per call':>10} {'ref/fast':>9}"
    )
    for name, t in rows:
        rest = max(0.0, t["reference"] - t["BLAS"])
        own = max(0.0, t["fast"] - t["its BLAS"])
        print(
            f"{name:16} {t['reference'] * 1e6:10,.1f} {t['BLAS'] * 1e6:10,.1f} {rest * 1e6:10,.1f}"
            f" {t['fast'] * 1e6:10,.1f} {t['its BLAS'] * 1e6:10,.1f} {own * 1e6:10,.1f}"
            f" {t['per call'] * 1e6:10,.1f} {t['reference'] / t['fast']:8.2f}x"
        )


if __name__ == "__main__":
    main()
