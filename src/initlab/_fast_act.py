"""Activations row by row for the compiled loop (:mod:`initlab._fast_kernel`; needs numba).

The formulas of :mod:`initlab.activations` on one row of ``n`` examples (``z`` the
pre-activation, ``a = g(z)``), with NaN propagated as NumPy's ``maximum``/``where`` do.  The
common cheap activations (linear, ReLU, leaky ReLU) are fused with their neighbours' work: the
bias add before ``g`` (:func:`bias_act_row`) and, after ``g'``, the row's sum that is the bias
gradient (:func:`dact_row_sum`), so each row is read once.  For ReLU and leaky ReLU with a
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
def act_row(code, p, z, a, n):  # type: ignore[no-untyped-def]
    """``a[:n] = g(z[:n])``; NaN stays NaN (as np.maximum and np.where propagate it)."""
    T = a.dtype.type
    zero = T(0.0)
    if code == ACT_LINEAR:
        for i in range(n):
            a[i] = z[i]
    elif code == ACT_RELU:
        for i in range(n):
            a[i] = zero if z[i] <= zero else z[i]
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            a[i] = z[i] if z[i] > zero else pt * z[i]
    elif code == ACT_TANH:
        for i in range(n):
            a[i] = math.tanh(z[i])
    elif code == ACT_SIGMOID:
        for i in range(n):
            a[i] = _sig(z[i], T(1.0))
    elif code == ACT_ELU:
        pt = T(p)
        for i in range(n):
            zi = z[i]
            a[i] = zi if zi > zero else pt * math.expm1(zero if zi >= zero else zi)
    elif code == ACT_SELU:
        lam, alpha = T(SELU_LAMBDA), T(SELU_ALPHA)
        for i in range(n):
            zi = z[i]
            a[i] = lam * (zi if zi > zero else alpha * math.expm1(zero if zi >= zero else zi))
    elif code == ACT_GELU:
        for i in range(n):
            a[i] = z[i] * (0.5 * (1.0 + math.erf(z[i] * _INV_SQRT2)))
    elif code == ACT_SILU:
        for i in range(n):
            a[i] = z[i] * _sig(z[i], T(1.0))
    elif code == ACT_SOFTPLUS:
        for i in range(n):
            a[i] = _softplus(z[i], zero)
    elif code == ACT_MISH:
        for i in range(n):
            a[i] = z[i] * math.tanh(_softplus(z[i], zero))


@njit(cache=True, fastmath=FLAGS)
def dact_row(code, p, z, a, src, d, n):  # type: ignore[no-untyped-def]
    """``d[:n] = src[:n] * g'(z[:n])`` (``a = g(z)``; ``src`` may be ``d``), the formulas of
    :mod:`initlab.activations`."""
    T = d.dtype.type
    zero, one = T(0.0), T(1.0)
    if code == ACT_LINEAR:
        for i in range(n):
            d[i] = src[i]
    elif code == ACT_RELU:
        for i in range(n):
            d[i] = src[i] if z[i] > zero else zero * src[i]
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            d[i] = src[i] * (one if z[i] > zero else pt)
    elif code == ACT_TANH:
        for i in range(n):
            d[i] = src[i] * (one - a[i] * a[i])
    elif code == ACT_SIGMOID:
        for i in range(n):
            d[i] = src[i] * (a[i] * (one - a[i]))
    elif code == ACT_ELU:
        pt = T(p)
        for i in range(n):
            zi = z[i]
            d[i] = src[i] * (one if zi > zero else pt * math.exp(zero if zi >= zero else zi))
    elif code == ACT_SELU:
        lam, alpha = T(SELU_LAMBDA), T(SELU_ALPHA)
        for i in range(n):
            zi = z[i]
            d[i] = (
                src[i] * lam * (one if zi > zero else alpha * math.exp(zero if zi >= zero else zi))
            )
    elif code == ACT_GELU:
        for i in range(n):
            zi = z[i]
            cdf = 0.5 * (1.0 + math.erf(zi * _INV_SQRT2))
            d[i] = src[i] * (cdf + zi * (math.exp(-0.5 * zi * zi) * _INV_SQRT2PI))
    elif code == ACT_SILU:
        for i in range(n):
            s = _sig(z[i], T(1.0))
            d[i] = src[i] * (s * (one + z[i] * (one - s)))
    elif code == ACT_SOFTPLUS:
        for i in range(n):
            d[i] = src[i] * _sig(z[i], T(1.0))
    elif code == ACT_MISH:
        for i in range(n):
            t = math.tanh(_softplus(z[i], zero))
            d[i] = src[i] * (t + z[i] * _sig(z[i], T(1.0)) * (one - t * t))


@njit(cache=True)
def needs_z(code, p):  # type: ignore[no-untyped-def]
    """Whether ``g'`` of this activation needs ``z`` besides ``a``.  Not for linear, tanh and
    sigmoid (``g'`` from ``a`` alone), nor for ReLU and leaky ReLU with slope ``p >= 0``:
    there ``z > 0`` exactly when ``a > 0`` (NaN: both false), so ``a`` can stand for ``z``."""
    if code == ACT_LINEAR or code == ACT_TANH or code == ACT_SIGMOID or code == ACT_RELU:
        return False
    return not (code == ACT_LEAKY and p >= 0.0)


@njit(cache=True, fastmath=FLAGS)
def bias_act_row(code, p, b, z, a, n, inplace):  # type: ignore[no-untyped-def]
    """``z[:n] += b`` then ``a[:n] = g(z[:n])``, in one pass for linear, ReLU and leaky ReLU.
    With ``inplace`` (``a`` is ``z``) the activation replaces the pre-activation; that case has
    loops of its own over one array, which the compiler vectorises (two names for one row
    would fail its overlap check)."""
    T = a.dtype.type
    zero = T(0.0)
    if inplace and code == ACT_RELU:
        for i in range(n):
            v = z[i] + b
            z[i] = zero if v <= zero else v
    elif inplace and code == ACT_LINEAR:
        for i in range(n):
            z[i] += b
    elif inplace and code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            v = z[i] + b
            z[i] = v if v > zero else pt * v
    elif code == ACT_RELU:
        for i in range(n):
            v = z[i] + b
            z[i] = v
            a[i] = zero if v <= zero else v
    elif code == ACT_LINEAR:
        for i in range(n):
            v = z[i] + b
            z[i] = v
            a[i] = v
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            v = z[i] + b
            z[i] = v
            a[i] = v if v > zero else pt * v
    else:
        for i in range(n):
            z[i] += b
        act_row(code, p, z, a, n)


@njit(cache=True, fastmath=FLAGS)
def dact_row_sum(code, p, z, a, src, d, n):  # type: ignore[no-untyped-def]
    """``d[:n] = src[:n] * g'(z[:n])`` as :func:`dact_row`, and returns ``sum(d[:n])``; one
    pass for linear, ReLU and leaky ReLU."""
    T = d.dtype.type
    zero, one = T(0.0), T(1.0)
    s = zero
    if code == ACT_RELU:
        for i in range(n):
            v = src[i] if z[i] > zero else zero * src[i]
            d[i] = v
            s += v
    elif code == ACT_LINEAR:
        for i in range(n):
            v = src[i]
            d[i] = v
            s += v
    elif code == ACT_LEAKY:
        pt = T(p)
        for i in range(n):
            v = src[i] * (one if z[i] > zero else pt)
            d[i] = v
            s += v
    else:
        dact_row(code, p, z, a, src, d, n)
        for i in range(n):
            s += d[i]
    return s
