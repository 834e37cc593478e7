"""The compiled training loop behind :mod:`initlab._fast` (needs numba; imported only there).

Same equations as :mod:`initlab.network`, :mod:`initlab.losses` and :mod:`initlab.optim`, in a
different order of work: members one after another (a small network's arrays then stay in the
L1/L2 cache), all steps of a chunk inside one call, activations stored *transposed*, one row of
``m`` examples per unit, so every inner loop runs over the examples with unit stride::

    Z_l[j, :] = sum_q W_l[q, j] A_{l-1}[q, :] + b_l[j]        A_l = g_l(Z_l)
    dW_l[q, j] = sum_i A_{l-1}[q, i] dZ_l[j, i]               db_l[j] = sum_i dZ_l[j, i]
    dA_{l-1}[q, :] = sum_j W_l[q, j] dZ_l[j, :]               dZ_{l-1} = dA_{l-1} * g'(Z, A)

Sums may be reassociated (``fastmath={"reassoc", "contract"}``: vectorised reductions, fused
multiply-adds), which changes rounding only; NaN and inf are never assumed away, so a
non-finite cost or update stops its member exactly as in the reference loop.  Scalars are
kept in the parameters' dtype through the one-element scratch array ``sc`` (numba would
otherwise promote float32 work to float64).

Codes (kept in step with :mod:`initlab._fast`): activations ``ACT_*``, losses ``LOSS_*``,
optimizers ``OPT_*``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ACT_LINEAR, ACT_RELU, ACT_LEAKY, ACT_TANH, ACT_SIGMOID = 0, 1, 2, 3, 4
ACT_ELU, ACT_SELU, ACT_GELU, ACT_SILU, ACT_SOFTPLUS, ACT_MISH = 5, 6, 7, 8, 9, 10
ACT_SOFTMAX = 11
LOSS_BCE, LOSS_CE, LOSS_MSE = 0, 1, 2
OPT_GD, OPT_MOMENTUM, OPT_NESTEROV, OPT_RMSPROP, OPT_ADAM = 0, 1, 2, 3, 4

SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)

_FLAGS = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FLAGS)
def _sig(z, one):  # type: ignore[no-untyped-def]
    # 1 / (1 + exp(-z)) in z's dtype (``one`` is 1 in it): exp(-z) = inf gives 0, as in numpy
    return one / (one + math.exp(-z))


@njit(cache=True, fastmath=_FLAGS)
def _softplus(z, zero):  # type: ignore[no-untyped-def]
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), as numpy's logaddexp(0, z)
    return (z if z > zero else zero) + math.log1p(math.exp(-abs(z)))


@njit(cache=True, fastmath=_FLAGS)
def _act_row(code, p, z, a, n):  # type: ignore[no-untyped-def]
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


@njit(cache=True, fastmath=_FLAGS)
def _dact_row(code, p, z, a, src, d, n):  # type: ignore[no-untyped-def]
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


@njit(cache=True, fastmath=_FLAGS)
def _forward(P, A, Z, sizes, woff, boff, aoff, acts, aparams, blas, mb, last_act):  # type: ignore[no-untyped-def]
    """Forward pass of one member (parameters ``P``) on the transposed batch ``A[:n_0]``;
    with ``last_act`` False the output activation is left to the loss (the sigmoid of BCE)."""
    L = sizes.shape[0] - 1
    for l in range(L):
        n_in, n_out = sizes[l], sizes[l + 1]
        a_in, z_at, wo, bo = aoff[l], aoff[l + 1] - sizes[0], woff[l], boff[l]
        if blas[l] and mb == A.shape[1]:
            W = P[wo : wo + n_in * n_out].reshape((n_in, n_out))
            np.dot(W.T, A[a_in : a_in + n_in], Z[z_at : z_at + n_out])
        else:
            for j in range(n_out):
                zr = Z[z_at + j]
                for i in range(mb):
                    zr[i] = 0.0
                for q in range(n_in):
                    w = P[wo + q * n_out + j]
                    ar = A[a_in + q]
                    for i in range(mb):
                        zr[i] += w * ar[i]
        for j in range(n_out):
            zr = Z[z_at + j]
            bj = P[bo + j]
            for i in range(mb):
                zr[i] += bj
            if acts[l] != ACT_SOFTMAX and (last_act or l < L - 1):
                _act_row(acts[l], aparams[l], zr, A[aoff[l + 1] + j], mb)
        if acts[l] == ACT_SOFTMAX:
            ao = aoff[l + 1]
            for i in range(mb):
                zmax = Z[z_at, i]
                for j in range(1, n_out):
                    zmax = max(zmax, Z[z_at + j, i])
                tot = 0.0
                for j in range(n_out):
                    e = math.exp(Z[z_at + j, i] - zmax)
                    A[ao + j, i] = e
                    tot += e
                for j in range(n_out):
                    A[ao + j, i] /= tot


@njit(cache=True)
def _block_sum(x, lo, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise-sum leaf (n <= 128): 8 partial sums, combined as a tree, then the
    rest; fewer than 8 terms are added in order from 0."""
    if n < 8:
        res = x.dtype.type(0.0)
        for i in range(n):
            res += x[lo + i]
        return res
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += x[lo + i]
        r1 += x[lo + i + 1]
        r2 += x[lo + i + 2]
        r3 += x[lo + i + 3]
        r4 += x[lo + i + 4]
        r5 += x[lo + i + 5]
        r6 += x[lo + i + 6]
        r7 += x[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[lo + i]
        i += 1
    return res


@njit(cache=True)
def _np_sum(x, lo, n):  # type: ignore[no-untyped-def]
    """``x[lo:lo + n].sum()`` in NumPy's own order (its pairwise summation: leaves of at most
    128 terms, and above that ``sum(first half) + sum(second half)`` with the half rounded
    down to a multiple of 8), so a cost that the reference engine and this loop compute from
    the same terms is the same number.  Compiled without ``reassoc``; the recursion runs on
    an explicit stack (numba's on-disk cache mishandles recursive functions)."""
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    state = np.zeros(64, dtype=np.int64)  # 0: not split yet, 1: left pending, 2: right pending
    left = np.empty(64, dtype=x.dtype)
    top = 0
    los[0], ns[0] = lo, n
    val = x.dtype.type(0.0)
    while True:
        if state[top] == 0 and ns[top] > 128:  # split: the left half first
            n2 = ns[top] // 2
            n2 -= n2 % 8
            state[top] = 1
            los[top + 1], ns[top + 1], state[top + 1] = los[top], n2, 0
            top += 1
            continue
        if state[top] == 0:  # a leaf
            val = _block_sum(x, los[top], ns[top])
        else:  # both halves done: the right one's sum is val
            val = left[top] + val
        top -= 1
        if top < 0:
            return val
        if state[top] == 1:  # the parent's left half is done: keep it, start the right
            left[top] = val
            state[top] = 2
            n2 = ns[top] // 2
            n2 -= n2 % 8
            los[top + 1], ns[top + 1], state[top + 1] = los[top] + n2, ns[top] - n2, 0
            top += 1


@njit(cache=True, fastmath=_FLAGS)
def _cost_and_delta(Zo, Ao, Yt, dZ, C, loss, out_act, out_p, n_out, mb):  # type: ignore[no-untyped-def]
    """The mean cost of the batch as :mod:`initlab.losses` computes it (the terms into ``C``
    in its order, summed as NumPy sums), the output delta *before* its division by the
    number of terms into ``dZ[:n_out]``, and that divisor.  The caller scales the gradients
    instead: the same numbers, and deltas that cancel exactly (a balanced batch at a
    stationary point) still sum to exactly 0."""
    T = dZ.dtype.type
    zero, one = T(0.0), T(1.0)
    if loss == LOSS_BCE:
        # A = sigmoid(z) and the cost max(z, 0) - z y + log1p(exp(-|z|)) from one exp(-|z|)
        for j in range(n_out):
            for i in range(mb):
                z, y = Zo[j, i], Yt[j, i]
                e = math.exp(-abs(z))
                a = one / (one + e)
                a = a if z >= zero else e * a
                Ao[j, i] = a
                c = (zero if z <= zero else z) - z * y
                C[i * n_out + j] = c + math.log1p(e)
                dZ[j, i] = a - y
        return _np_sum(C, 0, mb * n_out) * T(1.0 / (mb * n_out)), mb * n_out
    if loss == LOSS_CE:
        row = C[mb:]
        for i in range(mb):
            zmax = Zo[0, i]
            for j in range(1, n_out):
                zmax = max(zmax, Zo[j, i])
            for j in range(n_out):
                row[j] = math.exp(Zo[j, i] - zmax)
            lse = math.log(_np_sum(row, 0, n_out)) + zmax
            for j in range(n_out):
                row[j] = Yt[j, i] * Zo[j, i]
            C[i] = lse - _np_sum(row, 0, n_out)
            for j in range(n_out):
                dZ[j, i] = Ao[j, i] - Yt[j, i]
        return _np_sum(C, 0, mb) * T(1.0 / mb), mb
    two = T(2.0)
    for j in range(n_out):
        for i in range(mb):
            d = Ao[j, i] - Yt[j, i]
            C[i * n_out + j] = d * d
            dZ[j, i] = two * d
        _dact_row(out_act, out_p, Zo[j], Ao[j], dZ[j], dZ[j], mb)
    return _np_sum(C, 0, mb * n_out) * T(1.0 / (mb * n_out)), mb * n_out


@njit(cache=True, fastmath=_FLAGS)
def _backward(P, G, A, Z, dZ, dA, sizes, woff, boff, aoff, acts, aparams, blas, mb):  # type: ignore[no-untyped-def]
    """Backward pass of one member from ``dZ_L`` in ``dZ``: gradients into ``G``."""
    zero = G.dtype.type(0.0)
    L = sizes.shape[0] - 1
    n0 = sizes[0]
    for l in range(L - 1, -1, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        a_in, wo, bo = aoff[l], woff[l], boff[l]
        use_blas = blas[l] and mb == A.shape[1]
        if use_blas:
            gw = G[wo : wo + n_in * n_out].reshape((n_in, n_out))
            np.dot(A[a_in : a_in + n_in], dZ[:n_out].T, gw)
        else:
            for q in range(n_in):
                ar = A[a_in + q]
                for j in range(n_out):
                    dzr = dZ[j]
                    s = zero
                    for i in range(mb):
                        s += ar[i] * dzr[i]
                    G[wo + q * n_out + j] = s
        for j in range(n_out):
            dzr = dZ[j]
            s = zero
            for i in range(mb):
                s += dzr[i]
            G[bo + j] = s
        if l == 0:
            break
        if use_blas:
            W = P[wo : wo + n_in * n_out].reshape((n_in, n_out))
            np.dot(W, dZ[:n_out], dA[:n_in])
        else:
            for q in range(n_in):
                dar = dA[q]
                for i in range(mb):
                    dar[i] = 0.0
                for j in range(n_out):
                    w = P[wo + q * n_out + j]
                    dzr = dZ[j]
                    for i in range(mb):
                        dar[i] += w * dzr[i]
        z_prev = a_in - n0
        for q in range(n_in):
            _dact_row(acts[l - 1], aparams[l - 1], Z[z_prev + q], A[a_in + q], dA[q], dZ[q], mb)


@njit(cache=True, fastmath=_FLAGS)
def _update(G, U, S1, S2, opt, lr, h, t, sc):  # type: ignore[no-untyped-def]
    """The optimizer's update ``U`` from the gradient ``G`` (state ``S1``/``S2`` in place), as
    in :mod:`initlab.optim`; returns True if every entry of ``U`` is finite."""
    n = G.shape[0]
    sc[0] = lr
    lrt = sc[0]
    if opt == OPT_GD:
        for p in range(n):
            U[p] = -lrt * G[p]
    elif opt == OPT_MOMENTUM or opt == OPT_NESTEROV:
        sc[0] = h[0]
        beta = sc[0]
        for p in range(n):
            S1[p] = beta * S1[p] + G[p]
        if opt == OPT_MOMENTUM:
            for p in range(n):
                U[p] = -lrt * S1[p]
        else:
            for p in range(n):
                U[p] = -lrt * (G[p] + beta * S1[p])
    elif opt == OPT_RMSPROP:
        sc[0] = h[0]
        rho = sc[0]
        sc[0] = 1.0 - h[0]
        one_m_rho = sc[0]
        sc[0] = h[2]
        eps = sc[0]
        for p in range(n):
            S1[p] = rho * S1[p] + one_m_rho * (G[p] * G[p])
            U[p] = -lrt * G[p] / (math.sqrt(S1[p]) + eps)
    else:
        sc[0] = h[0]
        b1 = sc[0]
        sc[0] = 1.0 - h[0]
        one_m_b1 = sc[0]
        sc[0] = h[1]
        b2 = sc[0]
        sc[0] = 1.0 - h[1]
        one_m_b2 = sc[0]
        sc[0] = h[2]
        eps = sc[0]
        sc[0] = 1.0 / (1.0 - h[1] ** t)
        inv_c2 = sc[0]
        sc[0] = -lr / (1.0 - h[0] ** t)
        step = sc[0]
        for p in range(n):
            S1[p] = b1 * S1[p] + one_m_b1 * G[p]
            S2[p] = b2 * S2[p] + one_m_b2 * (G[p] * G[p])
            U[p] = step * (S1[p] / (math.sqrt(S2[p] * inv_c2) + eps))
    ok = True
    for p in range(n):
        if not math.isfinite(U[p]):
            ok = False
    return ok


@njit(cache=True, fastmath=_FLAGS)
def train_chunk(  # type: ignore[no-untyped-def]
    X, Y, bidx, bstart, bsize, flat, S1, S2, sizes, woff, boff, acts, aparams, blas, loss, opt,
    lr, h, t0, log, active, stopped, work,
):  # fmt: skip
    """Run ``log.shape[1]`` steps for every active member of the population, in place.

    ``X`` (m, n_0) and ``Y`` (m, n_L) are the training data; step ``s`` uses the rows
    ``bidx[bstart[s]:bstart[s] + bsize[s]]``.  ``flat`` (K, P) holds each member's parameters in the
    layout ``[W_1, b_1, W_2, ...]`` (``W_l`` row-major (in, out), offsets ``woff``/``boff``),
    ``S1``/``S2`` the optimizer state in the same layout (unused ones may be empty), ``lr``
    one rate per member, ``h`` the optimizer's other constants, ``t0`` the optimizer's step
    count before the chunk.  Writes each step's cost into ``log`` (K, n) and, for a member whose
    cost or update is not finite, clears ``active[k]`` and sets ``stopped[k]`` to the step
    (the update is not applied).  ``work`` is scratch space of at least
    :func:`initlab._fast.workspace_size` entries, kept by the caller between calls (fresh
    pages cost more than a short chunk's steps)."""
    K, n_steps = log.shape
    L = sizes.shape[0] - 1
    n0, n_out = sizes[0], sizes[L]
    mb_max = 0
    for s in range(n_steps):
        mb_max = max(mb_max, bsize[s])
    aoff = np.zeros(L + 2, dtype=np.int64)
    maxw = 0
    for l in range(L + 1):
        aoff[l + 1] = aoff[l] + sizes[l]
        maxw = max(maxw, sizes[l])
    dt = flat.dtype
    P_n = flat.shape[1]
    at = 0
    A = work[at : at + aoff[L + 1] * mb_max].reshape((aoff[L + 1], mb_max))  # X^T, A_1 .. A_L
    at += aoff[L + 1] * mb_max
    Z = work[at : at + (aoff[L + 1] - n0) * mb_max].reshape((aoff[L + 1] - n0, mb_max))
    at += (aoff[L + 1] - n0) * mb_max
    Yt = work[at : at + n_out * mb_max].reshape((n_out, mb_max))
    at += n_out * mb_max
    dZ = work[at : at + maxw * mb_max].reshape((maxw, mb_max))
    at += maxw * mb_max
    dA = work[at : at + maxw * mb_max].reshape((maxw, mb_max))
    at += maxw * mb_max
    G = work[at : at + P_n]
    U = work[at + P_n : at + 2 * P_n]
    at += 2 * P_n
    C = work[at : at + mb_max * (n_out + 1)]  # the cost's terms (and a row for softmax)
    sc = np.empty(1, dtype=dt)
    none = np.empty(0, dtype=dt)
    # one batch for all steps (full batch): gather it once
    same_batch = True
    for s in range(1, n_steps):
        if bstart[s] != bstart[0] or bsize[s] != bsize[0]:
            same_batch = False
            break
    for k in range(K):
        if not active[k]:
            continue
        P = flat[k]
        s1 = S1[k] if S1.shape[0] > 0 else none
        s2 = S2[k] if S2.shape[0] > 0 else none
        for s in range(n_steps):
            mb = bsize[s]
            if s == 0 or not same_batch:
                for i in range(mb):
                    r = bidx[bstart[s] + i]
                    for q in range(n0):
                        A[q, i] = X[r, q]
                    for j in range(n_out):
                        Yt[j, i] = Y[r, j]
            _forward(P, A, Z, sizes, woff, boff, aoff, acts, aparams, blas, mb, loss != LOSS_BCE)
            zo, ao = aoff[L] - n0, aoff[L]
            cost, terms = _cost_and_delta(
                Z[zo:], A[ao:], Yt, dZ, C, loss, acts[L - 1], aparams[L - 1], n_out, mb
            )
            log[k, s] = cost
            _backward(P, G, A, Z, dZ, dA, sizes, woff, boff, aoff, acts, aparams, blas, mb)
            sc[0] = 1.0 / terms
            for p in range(G.shape[0]):
                G[p] *= sc[0]  # dJ/dparam: the mean over the batch's terms
            ok = _update(G, U, s1, s2, opt, lr[k], h, t0 + s + 1, sc)
            if not (ok and math.isfinite(cost)):
                active[k] = False
                stopped[k] = s
                break
            for p in range(P.shape[0]):
                P[p] += U[p]
