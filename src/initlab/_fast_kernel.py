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

Work per row is fused where it can be: the bias add with the activation, the derivative with
the bias gradient's sum (:mod:`initlab._fast_act`), the division of the gradients by the number
of the cost's terms with the products (BLAS's ``alpha``, :mod:`initlab._fast_blas`); layers
whose ``g'`` needs no ``z`` keep no pre-activations (the activation overwrites them).

Codes (kept in step with :mod:`initlab._fast`): losses ``LOSS_*``, optimizers ``OPT_*``;
activations ``ACT_*`` in :mod:`initlab._fast_act`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from initlab._fast_act import (
    ACT_SOFTMAX,
    FLAGS,
    bias_act_rows,
    dact_row,
    dact_rows_sum,
    needs_z,
)
from initlab._fast_blas import batch_piece, gemm, gemm_scratch, weight_piece

#: SHA-256 of the text of :mod:`initlab._fast_act` then :mod:`initlab._fast_blas` (``\n`` line
#: ends), whose compiled functions this module's call.  numba's on-disk cache checks only the
#: source of the file that defines a cached function, so an edit to those files alone would
#: leave the stale machine code of :func:`train_chunk` in use; this line changes with them
#: (``tests/test_engine_fast.py`` checks it and prints the value to write here).
COMPILED_WITH = "94dce529000f1ea8f6b779aebcab9c4a8287862520db985cea9e7dcfb90b9431"

LOSS_BCE, LOSS_CE, LOSS_MSE = 0, 1, 2
OPT_GD, OPT_MOMENTUM, OPT_NESTEROV, OPT_RMSPROP, OPT_ADAM = 0, 1, 2, 3, 4


@njit(cache=True, fastmath=FLAGS)
def _forward(P, H, zoff, sizes, woff, boff, aoff, acts, aparams, blas, mb, last_act, fn, bs):  # type: ignore[no-untyped-def]
    """Forward pass of one member (parameters ``P``) on the transposed batch ``H[:n_0]``: the
    rows ``aoff[l]`` of ``H`` hold ``A_l``, the rows ``zoff[l]`` ``Z_{l+1}`` (the same rows as
    ``A_{l+1}`` where ``g'`` needs no ``z``, :func:`initlab._fast_act.needs_z`).  With
    ``last_act`` False the output activation is left to the loss (the sigmoid of BCE).  ``fn``
    and ``bs``: the ``?gemm`` and its scratch (:mod:`initlab._fast_blas`)."""
    L = sizes.shape[0] - 1
    ld = H.shape[1]
    for l in range(L):
        n_in, n_out = sizes[l], sizes[l + 1]
        a_in, z_at, wo, bo = aoff[l], zoff[l], woff[l], boff[l]
        if blas[l]:
            # column-major: Z^T (mb x out) = A^T (mb x in) W (in x out), W^T stored (out x in),
            # the batch's rows in pieces (batch_piece)
            rows = batch_piece(mb, n_in, n_out)
            for r0 in range(0, mb, rows):
                gemm(fn, bs, False, True, min(rows, mb - r0), n_out, n_in, 1.0, H, a_in * ld + r0,
                     ld, P, wo, n_out, 0.0, H, z_at * ld + r0, ld)  # fmt: skip
        else:
            for j in range(n_out):
                zr = z_at + j
                for i in range(mb):
                    H[zr, i] = 0.0
                for q in range(n_in):
                    w = P[wo + q * n_out + j]
                    for i in range(mb):
                        H[zr, i] += w * H[a_in + q, i]
        ao = aoff[l + 1]
        if acts[l] != ACT_SOFTMAX and (last_act or l < L - 1):
            bias_act_rows(acts[l], aparams[l], P, bo, H, z_at, H, ao, n_out, mb, z_at == ao)
        else:
            for j in range(n_out):
                bj = P[bo + j]
                for i in range(mb):
                    H[z_at + j, i] += bj
        if acts[l] == ACT_SOFTMAX:
            for i in range(mb):
                zmax = H[z_at, i]
                for j in range(1, n_out):
                    zmax = max(zmax, H[z_at + j, i])
                tot = 0.0
                for j in range(n_out):
                    e = math.exp(H[z_at + j, i] - zmax)
                    H[ao + j, i] = e
                    tot += e
                for j in range(n_out):
                    H[ao + j, i] /= tot


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


@njit(cache=True, fastmath=FLAGS)
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
        dact_row(out_act, out_p, Zo, j, Ao, j, dZ, j, dZ, j, mb)
    return _np_sum(C, 0, mb * n_out) * T(1.0 / (mb * n_out)), mb * n_out


@njit(cache=True, fastmath=FLAGS)
def _backward(  # type: ignore[no-untyped-def]
    P, G, H, zoff, dZ, dA, sizes, woff, boff, aoff, acts, aparams, blas, mb, scale, fn, bs,
):  # fmt: skip
    """Backward pass of one member from ``dZ_L`` (before its division by the number of the
    cost's terms) in ``dZ``: ``scale`` times the gradients into ``G`` (``scale`` is that
    division; BLAS applies it as ``alpha``).  Each layer's bias gradient is summed in the same
    pass that forms its delta."""
    zero = G.dtype.type(0.0)
    L = sizes.shape[0] - 1
    ld = H.shape[1]
    for j in range(sizes[L]):
        s = zero
        for i in range(mb):
            s += dZ[j, i]
        G[boff[L - 1] + j] = scale * s
    for l in range(L - 1, -1, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        a_in, wo = aoff[l], woff[l]
        if blas[l]:
            # column-major: dW^T (out x in) = scale dZ (out x mb) A^T (mb x in), the inputs in
            # pieces (weight_piece)
            cols = weight_piece(mb, n_in, n_out)
            for c0 in range(0, n_in, cols):
                gemm(fn, bs, True, False, n_out, min(cols, n_in - c0), mb, scale, dZ, 0, ld, H,
                     (a_in + c0) * ld, ld, 0.0, G, wo + c0 * n_out, n_out)  # fmt: skip
        else:
            for q in range(n_in):
                for j in range(n_out):
                    s = zero
                    for i in range(mb):
                        s += H[a_in + q, i] * dZ[j, i]
                    G[wo + q * n_out + j] = scale * s
        if l == 0:
            break
        if blas[l]:
            # column-major: dA^T (mb x in) = dZ^T (mb x out) W^T (out x in), rows in pieces
            rows = batch_piece(mb, n_in, n_out)
            for r0 in range(0, mb, rows):
                gemm(fn, bs, False, False, min(rows, mb - r0), n_in, n_out, 1.0, dZ, r0, ld, P,
                     wo, n_out, 0.0, dA, r0, ld)  # fmt: skip
        else:
            for q in range(n_in):
                for i in range(mb):
                    dA[q, i] = 0.0
                for j in range(n_out):
                    w = P[wo + q * n_out + j]
                    for i in range(mb):
                        dA[q, i] += w * dZ[j, i]
        g, gp = acts[l - 1], aparams[l - 1]
        dact_rows_sum(g, gp, H, zoff[l - 1], H, a_in, dA, dZ, n_in, mb, G, boff[l - 1], scale)


@njit(cache=True, fastmath=FLAGS)
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


@njit(cache=True, fastmath=FLAGS)
def train_chunk(  # type: ignore[no-untyped-def]
    X, Y, bidx, bstart, bsize, flat, S1, S2, sizes, woff, boff, acts, aparams, blas, loss, opt,
    lr, h, t0, log, active, stopped, work, fn,
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
    pages cost more than a short chunk's steps); ``fn`` the address of the ``?gemm`` for the
    layers with ``blas`` set (:func:`initlab._fast_blas.gemm_address`)."""
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
    zoff = np.zeros(L, dtype=np.int64)  # Z_{l+1}'s rows: their own, or A_{l+1}'s (in place)
    rows = aoff[L + 1]
    for l in range(L):
        if l == L - 1 or acts[l] == ACT_SOFTMAX or needs_z(acts[l], aparams[l]):
            zoff[l] = rows
            rows += sizes[l + 1]
        else:
            zoff[l] = aoff[l + 1]
    P_n = flat.shape[1]
    at = 0
    H = work[at : at + rows * mb_max].reshape((rows, mb_max))  # X^T, A_1 .. A_L, kept Z_l
    at += rows * mb_max
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
    sc = np.empty(1, dtype=flat.dtype)
    none = np.empty(0, dtype=flat.dtype)
    bs = gemm_scratch(sc)
    # one batch for all steps (full batch): gather it once
    same_batch = True
    for s in range(1, n_steps):
        if bstart[s] != bstart[0] or bsize[s] != bsize[0]:
            same_batch = False
            break
    zo, ao = zoff[L - 1], aoff[L]
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
                        H[q, i] = X[r, q]
                    for j in range(n_out):
                        Yt[j, i] = Y[r, j]
            _forward(P, H, zoff, sizes, woff, boff, aoff, acts, aparams, blas, mb,
                     loss != LOSS_BCE, fn, bs)  # fmt: skip
            cost, terms = _cost_and_delta(
                H[zo : zo + n_out], H[ao : ao + n_out], Yt, dZ, C, loss, acts[L - 1],
                aparams[L - 1], n_out, mb,
            )  # fmt: skip
            log[k, s] = cost
            sc[0] = 1.0 / terms  # dJ/dparam: the mean over the batch's terms
            _backward(P, G, H, zoff, dZ, dA, sizes, woff, boff, aoff, acts, aparams, blas, mb,
                      sc[0], fn, bs)  # fmt: skip
            ok = _update(G, U, s1, s2, opt, lr[k], h, t0 + s + 1, sc)
            if not (ok and math.isfinite(cost)):
                active[k] = False
                stopped[k] = s
                break
            for p in range(P.shape[0]):
                P[p] += U[p]
