"""The matrix products of one layer of the deep case, each way the engine could make them.

A [2, 64 x 10, 1] step on 300 points is ~80% matrix products: per hidden layer a forward
``Z^T = A^T W`` (300 x 64 by 64 x 64), a weight gradient ``dW^T = dZ A^T`` and a backward
``dA^T = dZ^T W^T``, all float32, one thread.  This prints the CPU time of each product (median
of ``--repeats``) and its GFLOP/s (2 n_in n_out m per product), made:

* ``np.dot in numba``: numba's ``np.dot`` on the loop's transposed views (the loop before
  ``initlab._fast_blas``);
* ``?gemm whole``: SciPy's Fortran ``sgemm`` called directly (``initlab._fast_blas.gemm``);
* ``?gemm pieces``: the same in the pieces the compiled loop uses (``batch_piece``,
  ``weight_piece``: OpenBLAS's small-matrix kernels);
* ``numpy``: NumPy's ``@`` on the same arrays (its own OpenBLAS build; a new result array
  each call, as NumPy code makes them), a peer;
* ``jax scan``: ``jax.lax.scan`` over the three products, each step's results fed into the
  next (``W + 1e-9 dW`` ...: XLA may not hoist a loop-invariant product), so its figure
  includes three small elementwise updates, an upper bound for JAX's products.

"others' CPU" as in ``bench_engine.py``.  Run:
``python benchmarks/bench_gemm.py [--n 64] [--m 300] [--repeats 15]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from bench_engine import CpuMeter  # noqa: E402
from numba import njit  # noqa: E402

from initlab._fast_blas import (  # noqa: E402
    batch_piece,
    gemm,
    gemm_address,
    gemm_scratch,
    weight_piece,
)

PRODUCTS = ("forward", "dW", "dA")


@njit
def _numba_dot(which, W, A, dZ, C, G, reps):  # type: ignore[no-untyped-def]
    for _ in range(reps):
        if which == 0:
            np.dot(W.T, A, C)
        elif which == 1:
            np.dot(A, dZ.T, G)
        else:
            np.dot(W, dZ, C)


@njit
def _gemm(fn, which, pieces, W, A, dZ, C, G, reps):  # type: ignore[no-untyped-def]
    n_in, m = A.shape
    n_out = W.shape[1]
    bs = gemm_scratch(W)
    rows = batch_piece(m, n_in, n_out) if pieces else m
    cols = weight_piece(m, n_in, n_out) if pieces else n_in
    for _ in range(reps):
        if which == 1:
            for c0 in range(0, n_in, cols):
                gemm(fn, bs, True, False, n_out, min(cols, n_in - c0), m, 1.0, dZ, 0, m, A,
                     c0 * m, m, 0.0, G, c0 * n_out, n_out)  # fmt: skip
        else:
            for r0 in range(0, m, rows):
                mr = min(rows, m - r0)
                if which == 0:
                    gemm(fn, bs, False, True, mr, n_out, n_in, 1.0, A, r0, m, W, 0, n_out, 0.0,
                         C, r0, m)  # fmt: skip
                else:
                    gemm(fn, bs, False, False, mr, n_in, n_out, 1.0, dZ, r0, m, W, 0, n_out,
                         0.0, C, r0, m)  # fmt: skip


def _jax_scan(W: np.ndarray, A: np.ndarray, dZ: np.ndarray, reps: int) -> Callable[[], None]:
    import jax
    import jax.numpy as jnp

    def body(c, _):  # type: ignore[no-untyped-def]
        w, a, dz = c  # batch-major as JAX code writes it: a (m, n_in), dz (m, n_out)
        z, g, da = a @ w, a.T @ dz, dz @ w.T
        return (w + 1e-9 * g, a + 1e-9 * da, dz + 1e-9 * z), None

    run = jax.jit(lambda c: jax.lax.scan(body, c, None, length=reps)[0])
    args = (jnp.asarray(W), jnp.asarray(A.T.copy()), jnp.asarray(dZ.T.copy()))
    jax.block_until_ready(run(args))
    return lambda: jax.block_until_ready(run(args))


def median_cpu(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of ``fn()`` over ``repeats`` calls (not the best: one JAX call once
    showed 296 GFLOP/s, more than the core can do, so a minimum can pick a miscounted call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="units per layer (64)")
    parser.add_argument("--m", type=int, default=300, help="examples (300)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if args.n < 1 or args.m < 1 or args.repeats < 1:
        parser.error(f"--n, --m and --repeats must be >= 1, got {args.n}, {args.m}, {args.repeats}")
    n, m, reps = args.n, args.m, 50
    rng = np.random.default_rng(0)
    W = rng.normal(size=(n, n)).astype(np.float32)  # (in, out), as the engine stores it
    A, dZ = (rng.normal(size=(n, m)).astype(np.float32) for _ in range(2))  # feature-major
    C, G = np.empty((n, m), np.float32), np.empty((n, n), np.float32)
    fn = gemm_address(np.float32)
    ways: dict[str, list[Callable[[], None]]] = {
        "np.dot in numba": [lambda w=w: _numba_dot(w, W, A, dZ, C, G, reps) for w in range(3)],
        "?gemm whole": [lambda w=w: _gemm(fn, w, False, W, A, dZ, C, G, reps) for w in range(3)],
        "?gemm pieces": [lambda w=w: _gemm(fn, w, True, W, A, dZ, C, G, reps) for w in range(3)],
    }
    At, dZt = A.T.copy(), dZ.T.copy()

    def numpy_product(w: int) -> Callable[[], None]:
        ops = (lambda: At @ W, lambda: A @ dZt, lambda: dZt @ W.T)[w]
        return lambda: [ops() for _ in range(reps)] and None

    ways["numpy"] = [numpy_product(w) for w in range(3)]
    meter = CpuMeter()
    per = {name: [median_cpu(f, args.repeats) / reps for f in fs] for name, fs in ways.items()}
    try:
        jax_all = median_cpu(_jax_scan(W, A, dZ, reps), args.repeats) / reps / 3
    except ImportError:
        jax_all = None
    others = meter.others()
    flop = 2 * n * n * m
    print(f"one layer's products, {n} x {n} weights, {m} examples, float32, 1 thread; CPU us")
    print(f"{'':18}" + "".join(f"{p:>18}" for p in PRODUCTS) + f"{'mean GFLOP/s':>14}")
    for name, ts in per.items():
        cells = "".join(f"{t * 1e6:10.1f} ({flop / t / 1e9:4.0f})" for t in ts)
        print(f"{name:18}{cells}{3 * flop / sum(ts) / 1e9:14.0f}")
    if jax_all is not None:
        print(f"{'jax scan':18}{'(all three, mean)':>18}{jax_all * 1e6:10.1f}"
              f"{'':26}{flop / jax_all / 1e9:14.0f}")  # fmt: skip
    if others is not None:
        print(f"others' CPU: {others:.0%} of the CPUs during the run")


if __name__ == "__main__":
    main()
