"""What a worker runs: one population through :func:`initlab.config.run`, summarised as plain
data.  Workers never touch the store; the driver writes what they return.

:func:`train_population` takes and returns only plain values (dicts, lists, floats, one float64
array per cell), so it travels to a local process or a Dask worker and back by pickling, and the
numbers that come back are the numbers that were computed.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["error_text", "train_population"]


def error_text(exc: BaseException) -> str:
    """The exception as one line: ``"ValueError: message"``."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _summaries(result: Any, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    from initlab import diagnostics

    h = result.history
    target = options.get("target")
    out = []
    for k in range(h.population):
        s = result.summary(k)
        cost = np.ascontiguousarray(h.cost[k], dtype=np.float64)
        verdict = None
        if options.get("diagnose"):
            verdict = [f.mode for f in diagnostics.verdict(h, k)]
        out.append(
            {
                "status": s["status"],
                "error": None,
                "final_cost": s["final_cost"],
                "train_accuracy": s["train_accuracy"],
                "test_accuracy": s["test_accuracy"],
                "steps_run": int(s["steps_run"]),
                "diverged_at": h.diverged_at[k],
                "steps_to_target": (
                    None if target is None else diagnostics.steps_to_cost(cost, float(target))
                ),
                "verdict": verdict,
                "cost": cost,
                "seconds": result.seconds / h.population,
            }
        )
    return out


def _failed(exc: BaseException, seconds: float) -> dict[str, Any]:
    return {"status": "failed", "error": error_text(exc), "seconds": seconds}


def _train(configs: Sequence[Any], options: Mapping[str, Any]) -> list[dict[str, Any]]:
    from initlab import config as C

    probes: Any = ()
    if options.get("diagnose"):
        from initlab.diagnostics import LayerStats

        probes = [LayerStats(every=max(1, configs[0].steps // 20))]
    return _summaries(C.run(list(configs), probes=probes), options)


def train_population(
    configs: Sequence[Mapping[str, Any]], options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Train the configurations (plain dicts) as one population and return one summary per
    member, in order: ``status`` ("ok", "diverged at step N" or "failed"), ``error`` (the
    exception, for a failed cell), final cost and accuracies, ``steps_run``,
    ``steps_to_target`` (with ``options["target"]``), ``verdict`` (failure-mode names, with
    ``options["diagnose"]``), the per-step ``cost`` and ``seconds``.

    If the population as a whole raises, each member is trained alone, so one bad cell is
    recorded as failed and its neighbours still get their numbers."""
    from initlab.config import RunConfig

    opts = dict(options or {})
    t0 = time.perf_counter()
    try:
        cfgs = [RunConfig.from_dict(c) for c in configs]
        return _train(cfgs, opts)
    except Exception as exc:  # noqa: BLE001 - recorded per cell, never raised to the driver
        if len(configs) == 1:
            return [_failed(exc, time.perf_counter() - t0)]
    out = []
    for c in configs:
        t1 = time.perf_counter()
        try:
            out += _train([RunConfig.from_dict(c)], opts)
        except Exception as exc:  # noqa: BLE001
            out.append(_failed(exc, time.perf_counter() - t1))
    return out
