"""Activations row by row for the compiled loop (:mod:`initlab._fast_kernel`; needs numba).

The formulas of :mod:`initlab.activations` on one row of ``n`` examples (``z`` the
pre-activation, ``a = g(z)``), with NaN propagated as NumPy's ``maximum``/``where`` do.  A row
is named by its matrix and its index (``Z, zr`` is the row ``Z[zr, :n]``), not passed as a view:
every view numba makes costs an atomic increment and decrement of its buffer's reference count,
and a deep step makes thousands of them (16% of a [2, 64 x 10, 1] step, measured with perf).  The
common cheap activations (linear, ReLU, leaky ReLU) are fused with their neighbours' work: the
bias add before ``g`` (:func:`bias_act_rows`) and, after ``g'``, the row's sum that is the bias
gradient (:func:`dact_rows_sum`), so each row is read once.  For ReLU and leaky ReLU with a
slope >= 0, ``z > 0`` exactly when ``a > 0``, so their derivative can read ``a`` in place of
``z`` (:func:`needs_z`): the loop then keeps no separate pre-activations for those layers.

Codes (kept in step with :mod:`initlab._fast`): ``ACT_*``.
"""

from __future__ import annotations

import math

from numba import njit

ACT_LINEAR, ACT_RELU, ACT_LEAKY, ACT_TANH, ACT_SIGMOID = 0, 1, 2, 3, 4
ACT_ELU, ACT_SELU, ACT_GELU, ACT_SILU, ACT_SOFTPLUS, ACT_MISH = 5, 6, 7, 8, 9, 10
ACT_SOFTMAX = 11

SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)

FLAGS = {"reassoc", "contract"}


@njit(cache=True, fastmath=FLAGS)
def _sig(z, one):  # type: ignore[no-untyped-def]
    # 1 / (1 + exp(-z)) in z's dtype (``one`` is 1 in it): exp(-z) = inf gives 0, as in numpy
    return one / (one + math.exp(-z))


@njit(cache=True, fastmath=FLAGS)
def _softplus(z, zero):  # type: ignore[no-untyped-def]
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), as numpy's logaddexp(0, z)
    return (z if z > zero else zero) + math.log1p(math.exp(-abs(z)))


@njit(cache=True, fastmath=FLAGS)
def act_row(code, p, Z, zr, A, ar, n):  # type: ignore[no-untyped-def]
    """``A[ar, :n] = g(Z[zr, :n])``; NaN stays NaN (as np.maximum and np.where propagate it)."""
    T = A.dtype.type
    zero = T(0.0)
    if code == ACT_LINEAR:
        for i in range(n):
            A[ar, i] = Z[zr, i]
    elif code == ACT_RELU:
        for i in range(n):
            A[ar, i] = zero if Z[zr, i] <= zero else Z[zr, i]
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            A[ar, i] = Z[zr, i] if Z[zr, i] > zero else pt * Z[zr, i]
    elif code == ACT_TANH:
        for i in range(n):
            A[ar, i] = math.tanh(Z[zr, i])
    elif code == ACT_SIGMOID:
        for i in range(n):
            A[ar, i] = _sig(Z[zr, i], T(1.0))
    elif code == ACT_ELU:
        pt = T(p)
        for i in range(n):
            zi = Z[zr, i]
            A[ar, i] = zi if zi > zero else pt * math.expm1(zero if zi >= zero else zi)
    elif code == ACT_SELU:
        lam, alpha = T(SELU_LAMBDA), T(SELU_ALPHA)
        for i in range(n):
            zi = Z[zr, i]
            A[ar, i] = lam * (zi if zi > zero else alpha * math.expm1(zero if zi >= zero else zi))
    elif code == ACT_GELU:
        for i in range(n):
            A[ar, i] = Z[zr, i] * (0.5 * (1.0 + math.erf(Z[zr, i] * _INV_SQRT2)))
    elif code == ACT_SILU:
        for i in range(n):
            A[ar, i] = Z[zr, i] * _sig(Z[zr, i], T(1.0))
    elif code == ACT_SOFTPLUS:
        for i in range(n):
            A[ar, i] = _softplus(Z[zr, i], zero)
    elif code == ACT_MISH:
        for i in range(n):
            A[ar, i] = Z[zr, i] * math.tanh(_softplus(Z[zr, i], zero))


@njit(cache=True, fastmath=FLAGS)
def dact_row(code, p, Z, zr, A, ar, S, sr, D, dr, n):  # type: ignore[no-untyped-def]
    """``D[dr, :n] = S[sr, :n] * g'(Z[zr, :n])`` (``A[ar] = g(Z[zr])``; the source row may be
    the destination row), the formulas of
    :mod:`initlab.activations`."""
    T = D.dtype.type
    zero, one = T(0.0), T(1.0)
    if code == ACT_LINEAR:
        for i in range(n):
            D[dr, i] = S[sr, i]
    elif code == ACT_RELU:
        for i in range(n):
            D[dr, i] = S[sr, i] if Z[zr, i] > zero else zero * S[sr, i]
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            D[dr, i] = S[sr, i] * (one if Z[zr, i] > zero else pt)
    elif code == ACT_TANH:
        for i in range(n):
            D[dr, i] = S[sr, i] * (one - A[ar, i] * A[ar, i])
    elif code == ACT_SIGMOID:
        for i in range(n):
            D[dr, i] = S[sr, i] * (A[ar, i] * (one - A[ar, i]))
    elif code == ACT_ELU:
        pt = T(p)
        for i in range(n):
            zi = Z[zr, i]
            D[dr, i] = S[sr, i] * (one if zi > zero else pt * math.exp(zero if zi >= zero else zi))
    elif code == ACT_SELU:
        lam, alpha = T(SELU_LAMBDA), T(SELU_ALPHA)
        for i in range(n):
            zi = Z[zr, i]
            D[dr, i] = (
                S[sr, i]
                * lam
                * (one if zi > zero else alpha * math.exp(zero if zi >= zero else zi))
            )
    elif code == ACT_GELU:
        for i in range(n):
            zi = Z[zr, i]
            cdf = 0.5 * (1.0 + math.erf(zi * _INV_SQRT2))
            D[dr, i] = S[sr, i] * (cdf + zi * (math.exp(-0.5 * zi * zi) * _INV_SQRT2PI))
    elif code == ACT_SILU:
        for i in range(n):
            s = _sig(Z[zr, i], T(1.0))
            D[dr, i] = S[sr, i] * (s * (one + Z[zr, i] * (one - s)))
    elif code == ACT_SOFTPLUS:
        for i in range(n):
            D[dr, i] = S[sr, i] * _sig(Z[zr, i], T(1.0))
    elif code == ACT_MISH:
        for i in range(n):
            t = math.tanh(_softplus(Z[zr, i], zero))
            D[dr, i] = S[sr, i] * (t + Z[zr, i] * _sig(Z[zr, i], T(1.0)) * (one - t * t))


@njit(cache=True)
def needs_z(code, p):  # type: ignore[no-untyped-def]
    """Whether ``g'`` of this activation needs ``z`` besides ``a``.  Not for linear, tanh and
    sigmoid (``g'`` from ``a`` alone), nor for ReLU and leaky ReLU with slope ``p >= 0``:
    there ``z > 0`` exactly when ``a > 0`` (NaN: both false), so ``a`` can stand for ``z``."""
    if code == ACT_LINEAR or code == ACT_TANH or code == ACT_SIGMOID or code == ACT_RELU:
        return False
    return not (code == ACT_LEAKY and p >= 0.0)


@njit(cache=True, fastmath=FLAGS)
def bias_act_rows(code, p, P, bo, Z, z0, A, a0, rows, n, inplace):  # type: ignore[no-untyped-def]
    """For each row ``j < rows``: ``Z[z0 + j, :n] += P[bo + j]`` (the bias) then
    ``A[a0 + j, :n] = g(Z[z0 + j, :n])``, in one pass for linear, ReLU and leaky ReLU.  With
    ``inplace`` (the same rows) the activation replaces the pre-activation; that case has
    loops of its own over one name, which the compiler vectorises (two names for one row
    would fail its overlap check).  The rows' loop is inside: one call per layer."""
    T = A.dtype.type
    zero = T(0.0)
    pt = T(p)
    for j in range(rows):
        zr, ar, b = z0 + j, a0 + j, P[bo + j]
        if inplace and code == ACT_RELU:
            for i in range(n):
                v = Z[zr, i] + b
                Z[zr, i] = zero if v <= zero else v
        elif inplace and code == ACT_LINEAR:
            for i in range(n):
                Z[zr, i] += b
        elif inplace and code == ACT_LEAKY:
            for i in range(n):
                v = Z[zr, i] + b
                Z[zr, i] = v if v > zero else pt * v
        elif code == ACT_RELU:
            for i in range(n):
                v = Z[zr, i] + b
                Z[zr, i] = v
                A[ar, i] = zero if v <= zero else v
        elif code == ACT_LINEAR:
            for i in range(n):
                v = Z[zr, i] + b
                Z[zr, i] = v
                A[ar, i] = v
        elif code == ACT_LEAKY:
            for i in range(n):
                v = Z[zr, i] + b
                Z[zr, i] = v
                A[ar, i] = v if v > zero else pt * v
        else:
            for i in range(n):
                Z[zr, i] += b
            act_row(code, p, Z, zr, A, ar, n)


@njit(cache=True, fastmath=FLAGS)
def dact_rows_sum(code, p, Z, z0, A, a0, S, D, rows, n, G, bo, scale):  # type: ignore[no-untyped-def]
    """For each row ``j < rows``: ``D[j, :n] = S[j, :n] * g'(Z[z0 + j, :n])`` as
    :func:`dact_row`, and the bias gradient ``G[bo + j] = scale * sum(D[j, :n])``, in one pass
    for linear, ReLU and leaky ReLU.  The rows' loop is inside: one call per layer."""
    T = D.dtype.type
    zero, one = T(0.0), T(1.0)
    if code == ACT_RELU or code == ACT_LINEAR or code == ACT_LEAKY:
        slope = zero if code == ACT_RELU else (one if code == ACT_LINEAR else T(p))
        for j in range(rows):
            zr = z0 + j
            s = zero
            if code == ACT_LINEAR:
                for i in range(n):
                    v = S[j, i]
                    D[j, i] = v
                    s += v
            else:
                for i in range(n):
                    v = S[j, i] if Z[zr, i] > zero else slope * S[j, i]
                    D[j, i] = v
                    s += v
            G[bo + j] = scale * s
    else:
        for j in range(rows):
            dact_row(code, p, Z, z0 + j, A, a0 + j, S, j, D, j, n)
            s = zero
            for i in range(n):
                s += D[j, i]
            G[bo + j] = scale * s
