"""Matrix products for the compiled loop (:mod:`initlab._fast_kernel`): BLAS ``?gemm`` called
directly from numba.

numba's ``np.dot`` checks and, where needed, copies its operands and cannot scale, accumulate
or use a leading dimension other than the array's width; the loop's activations are rows of a
scratch matrix whose width is the largest batch, so a smaller batch could not go through it.
Calling ``?gemm`` with its transpose flags, leading dimensions and ``alpha`` avoids all that::

    C <- alpha op(A) op(B) + beta C        (column-major, as BLAS defines it)

The function is the Fortran-interface ``sgemm``/``dgemm`` of SciPy's BLAS
(``scipy.linalg.cython_blas``, the one numba's ``np.dot`` calls): every argument is a pointer,
integers are 32-bit.  Its address is looked up in Python (:func:`gemm_address`) and passed to
the compiled loop as a number, which keeps the compiled code cacheable on disk (numba does not
cache functions that hold ctypes pointers).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (missing SciPy: ImportError here, so no fast path)
from llvmlite import ir
from numba import njit, types
from numba.extending import get_cython_function_address, intrinsic

__all__ = ["gemm", "gemm_address", "gemm_scratch"]


def gemm_address(dtype: np.dtype) -> int:
    """The address of SciPy's Fortran ``sgemm`` (float32) or ``dgemm`` (float64)."""
    name = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}[np.dtype(dtype)]
    return int(get_cython_function_address("scipy.linalg.cython_blas", name))


@intrinsic
def _call13(typingctx, fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13):  # type: ignore[no-untyped-def]
    """Call the C function at address ``fn`` with 13 pointer arguments (given as integers)."""
    args = (fn, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)
    if not all(isinstance(a, types.Integer) for a in args):
        return None
    sig = types.void(*args)

    def codegen(context, builder, signature, llargs):  # type: ignore[no-untyped-def]
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr] * 13)
        f = builder.inttoptr(llargs[0], fnty.as_pointer())
        builder.call(f, [builder.inttoptr(x, ptr) for x in llargs[1:]])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def gemm_scratch(dtype_like):  # type: ignore[no-untyped-def]
    """The scalars ``?gemm`` reads through pointers: 2 flags, 6 integers, alpha and beta."""
    return np.zeros(2, np.uint8), np.zeros(6, np.int32), np.zeros(2, dtype_like.dtype)


@njit(cache=True)
def gemm(fn, s, ta, tb, m, n, k, alpha, a, ao, lda, b, bo, ldb, beta, c, co, ldc):  # type: ignore[no-untyped-def]
    """``C <- alpha op(A) op(B) + beta C`` through the ``?gemm`` at ``fn`` (column-major:
    ``op(A)`` is m x k, ``op(B)`` k x n, ``C`` m x n; ``ta``/``tb`` True for a transposed
    operand).  Each matrix is an array and the offset of its first element in it (``a, ao``
    starts at the ``ao``-th element of ``a``'s buffer; no views: each would cost an atomic
    reference count); ``s`` is :func:`gemm_scratch`'s tuple."""
    flags, ints, reals = s
    flags[0] = 84 if ta else 78  # 'T' / 'N'
    flags[1] = 84 if tb else 78
    ints[0], ints[1], ints[2] = m, n, k
    ints[3], ints[4], ints[5] = lda, ldb, ldc
    reals[0], reals[1] = alpha, beta
    f, i, r = flags.ctypes.data, ints.ctypes.data, reals.ctypes.data
    isz, rsz = 4, reals.itemsize
    pa = a.ctypes.data + ao * a.itemsize
    pb = b.ctypes.data + bo * b.itemsize
    pc = c.ctypes.data + co * c.itemsize
    _call13(
        fn, f, f + 1, i, i + isz, i + 2 * isz, r, pa, i + 3 * isz, pb, i + 4 * isz, r + rsz, pc,
        i + 5 * isz,
    )  # fmt: skip


#: OpenBLAS (0.3.16 and later, on AVX-512 machines) multiplies without packing its operands
#: into buffers first when ``m * n * k`` is at most about this (its "small matrix" kernels)
SMALL_MNK = 1_000_000


@njit(cache=True)
def batch_piece(mb, n_in, n_out):  # type: ignore[no-untyped-def]
    """Rows of the batch per ``?gemm`` call for a layer of ``n_in x n_out`` weights: the batch
    in equal pieces of at most ``SMALL_MNK / (n_in n_out)`` rows where that is >= 32 rows (a
    [2, 64 x 10, 1] step: 300 rows as 2 x 150, each product 23 -> 16 us, measured on this
    project's Xeon); the whole batch otherwise.  Without such kernels the split costs one
    more packing of the weights, the smaller operand."""
    per = SMALL_MNK // (n_in * n_out)
    if per < 32 or mb <= per:
        return mb
    pieces = (mb + per - 1) // per
    return (mb + pieces - 1) // pieces


#: its small-matrix kernel for ``op(A) = A^T``, ``op(B) = B`` runs only for ``m * n`` up to this
SMALL_TN_MN = 1200


@njit(cache=True)
def weight_piece(mb, n_in, n_out):  # type: ignore[no-untyped-def]
    """Columns (inputs) per ``?gemm`` call of a weight gradient ``dW^T = dZ A^T`` (``op(A)``
    transposed): ``n_in`` in equal pieces of at most ``SMALL_TN_MN / n_out`` columns, where
    each piece fits the small-matrix kernels (``n_out * cols <= SMALL_TN_MN``, ``n_out * cols
    * mb <= SMALL_MNK``) and the batch has >= 32 rows; all of ``n_in`` otherwise."""
    per = SMALL_TN_MN // n_out
    if per < 8 or mb < 32 or n_in <= per or n_out * per * mb > SMALL_MNK:
        return n_in
    pieces = (n_in + per - 1) // per
    return (n_in + pieces - 1) // pieces
