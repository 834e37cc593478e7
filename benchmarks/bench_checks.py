"""Correctness checks of ``bench_engine.py``: after the timed runs, did every side compute the
same training?  (See that module's docstring for what is compared and why.)"""

from __future__ import annotations

from typing import Any

import numpy as np
from peers import (
    jax_cost_and_grads,
    torch_costs,
    torch_gradients,
    torch_models,
    torch_params,
    torch_trainer,
)

from initlab.losses import get_loss
from initlab.network import Network, backward, forward
from initlab.train import Trainer, evaluate

LOSS = "binary_cross_entropy"
#: float64 replays: parameters (relative to the largest) and costs must agree to this
EXACT_RTOL = 1e-9
#: float32 at the same parameters: gradients (relative to the largest) and costs must agree to
#: this; a mean of 300 float32 terms is good to ~300 x 6e-8 = 2e-5 in the worst case
FP32_GRAD_RTOL = 1e-4
FP32_COST_RTOL = 1e-5


def as_dtype(net: Network, dtype: Any) -> Network:
    """A copy of ``net`` with its parameters cast to ``dtype``."""
    return Network(
        net.sizes,
        net.activations,
        [w.astype(dtype) for w in net.weights],
        [b.astype(dtype) for b in net.biases],
        dict(net.meta),
    )


def params(net: Network) -> list[np.ndarray]:
    return net.weights + net.biases


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x.astype(np.float64) - y))) for x, y in zip(a, b, strict=True))


def _max_abs(a: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x))) for x in a)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


def check_agreement(
    start: Network,
    net: Network,
    trainer: Trainer,
    models: list[Any],
    torch_steps: int,
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
) -> dict[str, Any]:
    """Check that the two sides computed the same training (see the module docstring)."""
    steps = trainer.step
    # (1) float64 replays of the whole run, from the same start: the same maths at every step
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    net64 = as_dtype(start, np.float64)
    models64 = torch_models(net64)
    trainer64 = Trainer(net64, X64, Y64, loss=LOSS, optimizer="gd", lr=lr)
    trainer64.run(steps)
    torch_trainer(models64, X64, Y64, lr)(steps)
    p_i64, p_t64 = params(net64), torch_params(models64)
    scale64 = max(_max_abs(p_i64), 1.0)
    diff64 = _max_diff(p_i64, p_t64)
    cdiff64 = _max_rel(evaluate(net64, X64, Y64, LOSS)["cost"], torch_costs(models64, X64, Y64))
    # (2) float32, at the final state of the timed run: the same cost and gradients
    here = torch_models(net)
    _, cache = forward(net, X)
    grads = backward(net, cache, Y, get_loss(LOSS))
    g_i = grads.dW + grads.db
    g_t = torch_gradients(here, X, Y)
    gdiff32 = _max_diff(g_i, g_t) / max(_max_abs(g_t), np.finfo(np.float32).tiny)
    c_i32, c_here = evaluate(net, X, Y, LOSS)["cost"], torch_costs(here, X, Y)
    cdiff_here = _max_rel(c_i32, c_here)
    # (3) the timed float32 runs themselves: reported, with each side's own float32 drift
    p_i32, p_t32 = params(net), torch_params(models)
    c_t32 = torch_costs(models, X, Y)
    checks = {
        "same number of steps": steps == torch_steps,
        "no member diverged": bool(trainer.active.all() and trainer64.active.all()),
        "parameters moved": _max_diff(p_i64, params(start)) > 0,
        "float64 runs agree": diff64 <= EXACT_RTOL * scale64 and cdiff64 <= EXACT_RTOL,
        "float32 gradients agree": gdiff32 <= FP32_GRAD_RTOL,
        "float32 costs agree": cdiff_here <= FP32_COST_RTOL,
    }
    return {
        "ok": all(checks.values()),
        "failed": [name for name, passed in checks.items() if not passed],
        "steps": steps,
        "fp64_max_abs_param_diff": diff64,
        "fp64_final_cost_max_rel_diff": cdiff64,
        "fp32_grad_max_diff_rel_to_max_grad": gdiff32,
        "fp32_cost_max_rel_diff_same_params": cdiff_here,
        "fp32_max_abs_param_diff": _max_diff(p_i32, p_t32),
        "fp32_final_cost_max_rel_diff": _max_rel(c_i32, c_t32),
        "fp32_drift_from_fp64_initlab": _max_diff(p_i32, p_i64),
        "fp32_drift_from_fp64_torch": _max_diff(p_t32, p_t64),
        "max_abs_param": _max_abs(p_i64),
        "max_abs_param_movement": _max_diff(p_i64, params(start)),
        "final_cost_initlab": c_i32.tolist(),
        "final_cost_torch": c_t32.tolist(),
    }


def check_jax(net: Network, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """JAX's float32 cost and gradients at ``net``'s parameters against initlab's."""
    _, cache = forward(net, X)
    grads = backward(net, cache, Y, get_loss(LOSS))
    c_j, g_j = jax_cost_and_grads(net, X, Y)
    gdiff = _max_diff(grads.dW + grads.db, g_j) / max(_max_abs(g_j), np.finfo(np.float32).tiny)
    cdiff = _max_rel(evaluate(net, X, Y, LOSS)["cost"], c_j)
    return {
        "ok": gdiff <= FP32_GRAD_RTOL and cdiff <= FP32_COST_RTOL,
        "fp32_grad_max_diff_rel_to_max_grad": gdiff,
        "fp32_cost_max_rel_diff_same_params": cdiff,
    }
