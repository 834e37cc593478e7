"""LSUV for torch models: layer-sequential unit-variance initialization (Mishkin & Matas 2016).

1. Start: every initializable layer gets ``init`` (orthogonal by default, gain from the
   activation as in :func:`initlab.torch.initialize`) and its bias gets ``bias`` (zeros).
2. Then, layer by layer in the order the forward pass first calls them: run ``model(batch)``,
   measure ``v = Var(output of that layer)`` over every element of the output (batch, channels
   and positions together; population variance, computed in float64), and while
   ``|v - 1| >= tol`` and fewer than ``max_iter`` rescalings were made, set
   ``W <- W / sqrt(v)`` and measure again.  Only the weight is rescaled; the bias keeps its start
   (zeros by default, which makes the output proportional to ``W``, so one rescaling reaches
   ``v = 1`` up to rounding).  A layer that ends with ``|v - 1| >= tol`` raises an
   :class:`LsuvWarning` naming it and the variance reached.

Details:

* The output measured is the layer's own output (before its activation), collected by a
  temporary forward hook that is removed afterwards, even when the forward pass fails; a layer
  called several times in one pass is measured over all its calls.
* The model runs in eval mode under ``torch.no_grad()`` (dropout off, BatchNorm running
  statistics neither used from the batch nor updated), and every module's ``training`` flag is
  restored afterwards.  Nothing is attached to the model or its parameters, and the function
  keeps no state between calls, so it is re-entrant and works on wrapped models.
* Recurrent layers (RNN, LSTM, GRU) get the start only: their output passes through saturating
  gates (an LSTM's ``h`` lies in (-1, 1)), so its variance cannot be set to 1 by scaling.
* ``nn.MultiheadAttention`` is one unit: its output (with zero biases) is linear in the value
  projection, so only the value block of ``in_proj_weight`` (or ``v_proj_weight``) is rescaled
  and q/k (which set the attention pattern) stay; its ``out_proj``, which the attention forward
  reads without calling it, is part of the unit.
* Tied weights (HF GPT-2's ``wte``/``lm_head``, one tensor under two names) are rescaled once:
  by the first layer the forward pass calls; a later layer sharing it keeps that scale (its
  note says "tied").  So every rescaled layer ends with ``|v - 1| < tol`` and no later
  rescaling changes an earlier layer's output: this is the fixed point, and a second
  ``lsuv(model, batch, init=None)`` changes nothing.
* bfloat16/float16 weights are rescaled in float32 and cast back; the variance of their output
  is computed in float64.
* ``batch`` is a tensor (``model(batch)``), a tuple/list (``model(*batch)``) or a dict
  (``model(**batch)``).  ``init=None`` skips the start (weights and biases stay as they are)
  and only rescales: ``lsuv(model, batch, init=None)`` on a model LSUV already set leaves it
  unchanged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from initlab._checks import check_finite_real, check_positive_int
from initlab._text import format_table
from initlab.schemes import SchemeSpec
from initlab.torch._layers import RECURRENT, layer_weights
from initlab.torch._plan import initialize, plan
from initlab.torch._sample import compute_dtype
from initlab.torch._sites import describe
from initlab.torch._summary import InitSummary
from initlab.torch._trace import run_batch

__all__ = ["LsuvLayer", "LsuvSummary", "LsuvWarning", "lsuv"]


class LsuvWarning(UserWarning):
    """A layer did not reach unit output variance (or was never called by the forward pass)."""


@dataclass(frozen=True)
class LsuvLayer:
    """One layer's LSUV run: ``iterations`` rescalings, the output variance before the first
    (``initial_variance``) and after the last (``variance``), and whether ``|variance - 1| <
    tol``.  ``note`` says why a layer was not rescaled."""

    name: str
    module: str
    iterations: int
    initial_variance: float
    variance: float
    converged: bool
    note: str = ""


@dataclass(frozen=True)
class LsuvSummary:
    """What :func:`lsuv` did: the start (``init``, None with ``init=None``) and one
    :class:`LsuvLayer` per layer, in forward order (layers the forward pass never called last)."""

    layers: tuple[LsuvLayer, ...]
    init: InitSummary | None
    tol: float
    max_iter: int

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[LsuvLayer]:
        return iter(self.layers)

    def __getitem__(self, key: int | str) -> LsuvLayer:
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"no layer {key!r}; layers: {', '.join(x.name for x in self.layers)}")
        return self.layers[key]

    @property
    def converged(self) -> bool:
        """True when every rescaled layer reached ``|Var - 1| < tol``."""
        return all(x.converged for x in self.layers if not x.note)

    def __str__(self) -> str:
        headers = ("layer", "module", "iterations", "var before", "var after", "converged", "note")
        rows = [
            (x.name, x.module, x.iterations, x.initial_variance, x.variance, x.converged, x.note)
            for x in self.layers
        ]
        return f"LSUV (tol={self.tol:g}, max_iter={self.max_iter})\n" + format_table(headers, rows)


def _first_tensor(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, nn.utils.rnn.PackedSequence):
        return out.data
    if isinstance(out, tuple | list) and out:
        return _first_tensor(out[0])
    raise TypeError(f"a layer returned {type(out).__name__}, not a tensor")


def _measure(model: nn.Module, module: nn.Module, batch: Any, name: str) -> float:
    """Population variance of every element ``module`` outputs during ``model(batch)``."""
    outs: list[torch.Tensor] = []

    def hook(mod: nn.Module, args: Any, out: Any) -> None:
        outs.append(_first_tensor(out).detach().reshape(-1).to(torch.float64))

    handle = module.register_forward_hook(hook)
    try:
        run_batch(model, batch)
    finally:
        handle.remove()
    x = torch.cat(outs) if outs else torch.empty(0, dtype=torch.float64)
    if x.numel() < 2:
        raise ValueError(
            f"lsuv: layer {name!r} output {x.numel()} value(s) for the batch; a variance needs "
            "at least 2 (use a batch with more samples)"
        )
    return float(x.var(correction=0))


def _scaled_tensors(module: nn.Module) -> list[torch.Tensor]:
    """What LSUV rescales: a layer's weights; for attention, its value projection only."""
    if isinstance(module, nn.MultiheadAttention):
        if module.in_proj_weight is not None:
            return [module.in_proj_weight.chunk(3, dim=0)[2]]
        return [module.v_proj_weight]
    return [w.tensor for w in layer_weights(module)]


def _rescale(module: nn.Module, factor: float) -> None:
    for t in _scaled_tensors(module):
        t.copy_((t.to(compute_dtype(t.dtype)) * factor).to(t.dtype))


def _storage(module: nn.Module) -> set[tuple[int, int]]:
    return {(t.untyped_storage().data_ptr(), t.storage_offset()) for t in _scaled_tensors(module)}


def _forward_order(model: nn.Module, layers: list[tuple[str, nn.Module]], batch: Any) -> list[str]:
    """The layers in the order ``model(batch)`` first calls them (eval mode, no grad; every
    module's ``training`` flag and the hooks restored afterwards)."""
    order: list[str] = []
    flags = [(m, m.training) for m in model.modules()]
    handles = []
    try:
        for name, module in layers:

            def first_call(mod: nn.Module, args: Any, out: Any, name: str = name) -> None:
                if name not in order:
                    order.append(name)

            handles.append(module.register_forward_hook(first_call))
        model.eval()
        with torch.no_grad():
            run_batch(model, batch)
    except Exception as exc:
        raise ValueError(
            f"lsuv: model(batch) failed for batch {describe(batch)}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.training = flag
    return order


def lsuv(
    model: nn.Module,
    batch: Any,
    tol: float = 0.1,
    max_iter: int = 10,
    generator: torch.Generator | int | None = None,
    *,
    init: str | SchemeSpec | None = "orthogonal",
    bias: str | SchemeSpec | float | None = "zeros",
    skip: Any = None,
    overrides: Mapping[Any, Any] | None = None,
) -> LsuvSummary:
    """Layer-sequential unit-variance initialization of ``model`` on ``batch``.

    Start every layer with ``init`` (default orthogonal; ``init=None`` keeps the current
    weights) and ``bias``, then rescale each layer in forward order, ``W <- W / sqrt(v)`` with
    ``v`` the variance of its output on ``batch``, until ``|v - 1| < tol`` or ``max_iter``
    rescalings; warn (:class:`LsuvWarning`) for each layer that does not get there.  ``generator``,
    ``skip`` and ``overrides`` are passed to :func:`initialize` for the start.  See the module
    docstring for what is measured and why recurrent layers only get the start.

    Example::

        summary = lsuv(model, x_train[:256], generator=torch.Generator().manual_seed(0))
        print(summary)        # per layer: iterations, variance before and after
    """
    tol = check_finite_real("tol", tol, low=0.0, low_inclusive=False)
    max_iter = check_positive_int("max_iter", max_iter)
    if not isinstance(batch, torch.Tensor | tuple | list | Mapping):
        raise TypeError(
            "batch must be a tensor, a tuple/list of model(*batch) arguments or a dict of "
            f"model(**batch) arguments, got {type(batch).__name__}"
        )
    layers = plan(model, skip=skip, write=False).layers
    inside = {id(m.out_proj): name for name, m in layers if isinstance(m, nn.MultiheadAttention)}
    order = _forward_order(model, layers, batch)  # fails, on a bad batch, before any write
    init_summary = None
    if init is not None:
        init_summary = initialize(
            model, init, bias, None, generator, overrides=overrides, skip=skip, example=batch
        )
    flags = [(m, m.training) for m in model.modules()]
    results: dict[str, LsuvLayer] = {}
    try:
        model.eval()
        with torch.no_grad():
            by_name = dict(layers)
            owner: dict[tuple[int, int], str] = {}
            for name in order:
                module = by_name[name]
                shared = [owner[k] for k in _storage(module) if k in owner]
                if shared:
                    results[name] = _tied_layer(model, module, name, batch, tol, shared[0])
                    continue
                owner.update(dict.fromkeys(_storage(module), name))
                results[name] = _run_layer(model, module, name, batch, tol, max_iter)
    finally:
        for m, flag in flags:
            m.training = flag
    for name, module in layers:
        if name not in results and id(module) in inside:
            note = (
                f"part of the attention {inside[id(module)]!r}: rescaled through its value "
                "projection"
            )
            results[name] = LsuvLayer(
                name, type(module).__name__, 0, math.nan, math.nan, True, note
            )
        elif name not in results:
            warnings.warn(
                LsuvWarning(
                    f"lsuv: layer {name!r} ({type(module).__name__}) was not called by "
                    "model(batch); it keeps its start and is not rescaled"
                ),
                stacklevel=2,
            )
            results[name] = LsuvLayer(
                name, type(module).__name__, 0, math.nan, math.nan, False, "not called"
            )
    ordered = [results[n] for n in order] + [r for n, r in results.items() if n not in order]
    return LsuvSummary(tuple(ordered), init_summary, tol, max_iter)


def _tied_layer(
    model: nn.Module, module: nn.Module, name: str, batch: Any, tol: float, first: str
) -> LsuvLayer:
    v = _measure(model, module, batch, name)
    note = f"tied to {first!r}: rescaled once, there"
    return LsuvLayer(name, type(module).__name__, 0, v, v, abs(v - 1.0) < tol, note)


def _run_layer(
    model: nn.Module, module: nn.Module, name: str, batch: Any, tol: float, max_iter: int
) -> LsuvLayer:
    mtype = type(module).__name__
    v0 = v = _measure(model, module, batch, name)
    if isinstance(module, RECURRENT):
        return LsuvLayer(name, mtype, 0, v0, v0, abs(v0 - 1.0) < tol, "recurrent: start only")
    iterations = 0
    stuck = ""
    while not abs(v - 1.0) < tol and iterations < max_iter:
        if not math.isfinite(v) or v <= 0.0:
            stuck = f"variance {v:g} cannot be rescaled to 1"
            break
        _rescale(module, 1.0 / math.sqrt(v))
        iterations += 1
        v = _measure(model, module, batch, name)
    converged = abs(v - 1.0) < tol
    if not converged:
        why = stuck or f"max_iter={max_iter} rescalings were not enough"
        warnings.warn(
            LsuvWarning(
                f"lsuv: layer {name!r} ({mtype}) did not reach unit variance: output variance "
                f"{v:.6g} after {iterations} rescaling(s), |var - 1| = {abs(v - 1.0):.3g} >= "
                f"tol={tol:g} ({why})"
            ),
            stacklevel=3,
        )
    return LsuvLayer(name, mtype, iterations, v0, v, converged)
