"""The optional compiled training loop: the reference engine's equations, run by numba.

:class:`initlab.train.Trainer` asks :func:`plan` whether a run can use it and then hands it
stretches of steps at which no probe looks (:func:`run_chunk`); the steps that probes watch
are always run by the NumPy reference engine, so probes see exactly what they saw before.
Divergence is handled per member as in the reference loop: a member whose cost or update is
NaN or inf stops at that step without the update, the others go on.

It applies when numba and SciPy are installed (the ``fast`` extra), the network is a plain MLP (no
residual block, multiplier or learning-rate scale), the parameters are float32 or float64, the
optimizer is one of :mod:`initlab.optim`'s (gd, momentum, nesterov, rmsprop, adam) and every
activation is one of :mod:`initlab.activations`' built-ins; in every other case the reference
engine runs, and with ``Trainer.engine = "auto"`` (the default) also for runs too short to be
worth loading the compiled code (:func:`worth_loading`).
``INITLAB_ENGINE=reference`` in the environment turns it off.

The compiled functions are cached on disk by numba (``cache=True``, next to this file or in
numba's cache directory): the first use on a machine compiles them (15-30 s on 2 busy cores,
once per dtype), later processes load them (about 1.5 s, numba's import included).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.activations import Activation
from initlab.losses import Loss
from initlab.optim import Adam, GradientDescent, Momentum, RMSProp

__all__ = [
    "BLAS_LAYER",
    "MIN_SECONDS",
    "FastPlan",
    "available",
    "plan",
    "run_chunk",
    "worth_loading",
]

#: layers with at least this many weights (``n_in * n_out``) multiply through BLAS (``?gemm``,
#: :mod:`initlab._fast_blas`); smaller ones by the loops, whose per-call cost is lower
BLAS_LAYER = 32 * 32
#: ``engine="auto"`` loads the compiled loop only for runs estimated (:func:`worth_loading`) to
#: take at least this many seconds on the reference engine: loading costs about 1.5 s per
#: process with numba's on-disk cache (and 15-30 s once per machine to compile), more than it
#: saves on a short run
MIN_SECONDS = 2.0

_ACT_CODES = {
    "linear": 0,
    "relu": 1,
    "leaky_relu": 2,
    "tanh": 3,
    "sigmoid": 4,
    "elu": 5,
    "selu": 6,
    "gelu": 7,
    "silu": 8,
    "softplus": 9,
    "mish": 10,
    "softmax": 11,
}
_LOSS_CODES = {"binary_cross_entropy": 0, "cross_entropy": 1, "mse": 2}

_kernel: Any = None
_gemm_addresses: dict[str, int] = {}
_unavailable: str | None = None


def available() -> bool:
    """Whether the compiled loop can be used here (numba importable, not turned off)."""
    global _kernel, _unavailable
    if os.environ.get("INITLAB_ENGINE", "").strip().lower() == "reference":
        return False
    if _kernel is None and _unavailable is None:
        try:
            import initlab._fast_kernel as _fast_kernel
        except ImportError as e:  # numba or SciPy missing or broken
            _unavailable = str(e)
        else:
            _kernel = _fast_kernel
    return _kernel is not None


@dataclass(frozen=True)
class FastPlan:
    """Everything the compiled loop needs that does not change between chunks."""

    sizes: np.ndarray
    woff: np.ndarray
    boff: np.ndarray
    acts: np.ndarray
    aparams: np.ndarray
    blas: np.ndarray
    loss: int
    opt: int
    h: np.ndarray


def _act(g: Activation, builtin: dict[str, Activation]) -> tuple[int, float] | None:
    code = _ACT_CODES.get(g.name)
    if code is None:
        return None
    if g.param is None:
        # only the built-in object itself: a look-alike with other functions is not ours
        return (code, 0.0) if builtin.get(g.name) is g else None
    return code, float(g.param)


def _builtin_activations() -> dict[str, Activation]:
    from initlab.activations import _FIXED

    return dict(_FIXED)


def _optimizer(opt: Any) -> tuple[int, np.ndarray] | None:
    kind = type(opt)
    if kind is GradientDescent:
        return 0, np.zeros(3)
    if kind is Momentum:
        return (2 if opt.nesterov else 1), np.array([opt.beta, 0.0, 0.0])
    if kind is RMSProp:
        return 3, np.array([opt.rho, 0.0, opt.eps])
    if kind is Adam:
        return 4, np.array([opt.beta1, opt.beta2, opt.eps])
    return None


def plan(net: Any, loss: Loss, opt: Any) -> FastPlan | None:
    """A :class:`FastPlan` for training ``net`` with ``loss`` and ``opt``, or None where the
    compiled loop does not apply (see the module docstring)."""
    if net.dtype not in (np.float32, np.float64) or not net.plain or not available():
        return None
    if loss.name not in _LOSS_CODES:
        return None
    builtin = _builtin_activations()
    acts = [_act(g, builtin) for g in net.activations]
    o = _optimizer(opt)
    if o is None or any(a is None for a in acts):
        return None
    sizes = np.array(net.sizes, dtype=np.int64)
    woff, boff, at = [], [], 0
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:], strict=True):
        woff.append(at)
        at += n_in * n_out
        boff.append(at)
        at += n_out
    return FastPlan(
        sizes=sizes,
        woff=np.array(woff, dtype=np.int64),
        boff=np.array(boff, dtype=np.int64),
        acts=np.array([a[0] for a in acts], dtype=np.int64),  # type: ignore[index]
        aparams=np.array([a[1] for a in acts], dtype=np.float64),  # type: ignore[index]
        blas=np.array(
            [a * b >= BLAS_LAYER for a, b in zip(net.sizes[:-1], net.sizes[1:], strict=True)]
        ),
        loss=_LOSS_CODES[loss.name],
        opt=o[0],
        h=o[1],
    )


def worth_loading(net: Any, batch_size: int, steps: int) -> bool:
    """Whether a run of ``steps`` steps is long enough to load the compiled loop for: its time
    on the reference engine, estimated as ``steps * (150 us + 3 ns * K * batch * weights)``
    (a step's fixed cost of NumPy calls, and ~6 floating-point operations per weight and
    example at ~2 GFLOP/s), is at least ``MIN_SECONDS``.  It depends on the run alone (not on
    whether an earlier run already loaded the compiled loop), so that which engine a run gets
    never depends on what ran before it in the process."""
    weights = sum(a * b for a, b in zip(net.sizes[:-1], net.sizes[1:], strict=True))
    per_step = 150e-6 + 3e-9 * net.population * batch_size * weights
    return steps * per_step >= MIN_SECONDS


def _state_arrays(opt: Any, state: dict[str, Any], K: int, dt: np.dtype) -> tuple:
    empty = np.empty((0, 0), dtype=dt)
    if isinstance(opt, Momentum):
        return state["v"][0].reshape(K, -1), empty
    if isinstance(opt, RMSProp):
        return state["s"][0].reshape(K, -1), empty
    if isinstance(opt, Adam):
        return state["m"][0].reshape(K, -1), state["v"][0].reshape(K, -1)
    return empty, empty


def member_rates(opt: Any, K: int) -> np.ndarray:
    """The optimizer's learning rate as one float64 per member."""
    return np.broadcast_to(np.ravel(np.asarray(opt.lr, dtype=np.float64)), (K,)).copy()


def run_chunk(
    p: FastPlan,
    flat: np.ndarray,
    opt: Any,
    state: dict[str, Any],
    X: np.ndarray,
    Y: np.ndarray,
    batches: tuple[np.ndarray, np.ndarray, np.ndarray],
    active: np.ndarray,
    work: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``len(batches[1])`` steps of the compiled loop on the ``(K, 1, P)`` parameter
    buffer ``flat`` in place; ``batches = (rows, starts, sizes)``: step ``s`` trains on
    ``X[rows[starts[s]:starts[s] + sizes[s]]]``.  Advances the optimizer's state (``state["t"]``
    included) and clears ``active`` for members that stop.  Returns the costs ``(K, n)`` (NaN
    for members not active) and, per member, the step within the chunk at which it stopped
    (-1 if it did not).  ``work``: scratch space of :func:`workspace_size` entries in the
    parameters' dtype, kept between calls (allocated here if not given)."""
    K = flat.shape[0]
    n = len(batches[1])
    s1, s2 = _state_arrays(opt, state, K, flat.dtype)
    log = np.full((K, n), np.nan)
    stopped = np.full(K, -1, dtype=np.int64)
    need = workspace_size(p, flat.shape[-1], int(batches[2].max()))
    if work is None or work.shape[0] < need or work.dtype != flat.dtype:
        work = np.empty(need, dtype=flat.dtype)
    _kernel.train_chunk(
        X,
        Y,
        batches[0],
        batches[1],
        batches[2],
        flat.reshape(K, -1),
        s1,
        s2,
        p.sizes,
        p.woff,
        p.boff,
        p.acts,
        p.aparams,
        p.blas,
        p.loss,
        p.opt,
        member_rates(opt, K),
        p.h,
        int(state["t"]),
        log,
        active,
        stopped,
        work,
        _gemm_address(flat.dtype),
    )
    # the optimizer's step count, as the reference loop advances it: once per step run
    done = n if active.any() else int(stopped.max()) + 1
    state["t"] += done
    return log[:, :done], stopped


def _gemm_address(dtype: np.dtype) -> int:
    key = np.dtype(dtype).str
    if key not in _gemm_addresses:
        from initlab._fast_blas import gemm_address

        _gemm_addresses[key] = gemm_address(dtype)
    return _gemm_addresses[key]


def workspace_size(p: FastPlan, n_params: int, m: int) -> int:
    """Entries of the scratch space the compiled loop needs for batches of up to ``m`` rows:
    activations and pre-activations of every layer, targets, two delta buffers, gradient
    and update, the cost's terms."""
    sizes = p.sizes
    rows = 2 * int(sizes.sum()) - int(sizes[0]) + 2 * int(sizes[-1]) + 1 + 2 * int(sizes.max())
    return m * rows + 2 * n_params


def full_batch(m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``batches`` for ``n`` full-batch steps on ``m`` examples."""
    return np.arange(m, dtype=np.int64), np.zeros(n, dtype=np.int64), np.full(n, m, dtype=np.int64)
