"""``inspect``: one forward (and, with a target, one backward) pass over a torch model, with the
per-layer statistics and the verdict of initlab's NumPy diagnostics.

Nothing here computes a statistic or decides a verdict: the hooks of
:mod:`initlab.torch._capture` turn what the pass produced into the engine's arrays, the
:class:`initlab.diagnostics.LayerStats` probe computes the statistics from them and
:func:`initlab.diagnostics.verdict` names the failure modes, with the thresholds of
:data:`initlab.diagnostics.THRESHOLDS`.

The result type is :class:`initlab.torch._inspect_result.InspectResult`; the hooks that name
the module a failing ``model(batch)`` came from are :mod:`initlab.torch._locator`.

The model is left exactly as it was:

* parameters are never written; gradients come from ``torch.autograd.grad(loss, params)``,
  which returns them without accumulating into any ``.grad`` (every ``.grad`` keeps its
  value, None included).  A frozen layer (``requires_grad=False``) is unfrozen for the pass so
  that its gradient can be measured, and frozen again;
* buffers (BatchNorm running statistics, ...) are saved before the pass and copied back, so a
  pass in training mode updates nothing;
* every module's ``training`` flag is restored, and torch's global random state too (dropout
  draws during the pass do not shift the user's random stream);
* every hook (module forward hooks and pre-hooks, tensor hooks) is removed, also when the
  forward pass or the loss raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab._checks import check_choice
from initlab.diagnostics import Finding, LayerStats, judge
from initlab.torch._attention import NOT_CALLED, AttentionSite
from initlab.torch._capture import Capture, find_sites, label_records, step_event
from initlab.torch._inspect_result import InspectResult
from initlab.torch._locator import Locator
from initlab.torch._sites import Site, describe
from initlab.train import History

__all__ = ["InspectResult", "inspect"]

#: Record fields that need a backward pass (None in a forward-only inspection).
GRADIENT_FIELDS = (
    "dZ_norm",
    "dZ_rms",
    "dW_norm",
    "dW_std",
    "db_norm",
    "dA_norm",
    "dA_rms",
    "grad_data",
    "dZ_hist",
    "dW_hist",
)
#: Record fields that need an applied update (None for ``inspect``, which updates nothing).
UPDATE_FIELDS = ("update_std", "update_data", "log10_update_data", "weight_change")
_INTEGER = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


# --------------------------------------------------------------------------- the pass


def _call(model: nn.Module, batch: Any) -> Any:
    if isinstance(batch, torch.Tensor):
        return model(batch)
    if isinstance(batch, Mapping):
        return model(**batch)
    return model(*batch)


def _loss(output: Any, target: Any, loss_fn: Any) -> tuple[torch.Tensor, str]:
    """The loss of the pass and its name; every way it can fail is a ValueError."""
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__) if loss_fn is not None else ""
    if loss_fn is None:
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f"inspect: the model returned {describe(output)}, not a tensor; pass "
                "loss_fn=<a callable loss_fn(output, target) -> scalar tensor>"
            )
        if target.dtype in _INTEGER:
            if output.dim() < 2 or tuple(target.shape) != (output.shape[0], *output.shape[2:]):
                raise ValueError(
                    f"inspect: integer targets are class labels for cross-entropy, which needs "
                    f"output (N, C, ...) and target (N, ...); got output {describe(output)} "
                    f"and target {describe(target)} (pass loss_fn for another loss)"
                )
            loss_fn, name = nn.CrossEntropyLoss(), "cross_entropy"
        elif target.is_floating_point():
            if target.shape != output.shape:
                raise ValueError(
                    f"inspect: floating-point targets are compared with the output by "
                    f"mean-squared error, which needs the same shape; got output "
                    f"{describe(output)} and target {describe(target)} (pass loss_fn for "
                    "another loss, e.g. nn.CrossEntropyLoss() with integer class labels)"
                )
            loss_fn, name = nn.MSELoss(), "mse"
        else:
            raise ValueError(
                f"inspect: target has dtype {target.dtype}; give integer class labels, "
                "floating-point values, or a loss_fn"
            )
    try:
        loss = loss_fn(output) if target is None else loss_fn(output, target)
    except Exception as exc:
        call = "loss_fn(output)" if target is None else "loss_fn(output, target)"
        shown = "" if target is None else f" and target {describe(target)}"
        raise ValueError(
            f"inspect: {call} failed for output {describe(output)}{shown}: "
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(
            f"inspect: loss_fn must return a scalar tensor (a mean over the batch, e.g. "
            f"reduction='mean'), got {describe(loss)}"
        )
    if not loss.requires_grad:
        raise ValueError(
            "inspect: the loss does not depend on any parameter that requires a gradient "
            "(is the output detached, or computed under torch.no_grad()?)"
        )
    return loss.reshape(()), name


def inspect(
    model: nn.Module,
    batch: Any,
    target: torch.Tensor | None = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    mode: str = "train",
    histograms: bool = True,
    symmetry: bool = True,
) -> InspectResult:
    """Per-layer statistics and the verdict of initlab's diagnostics for ``model`` on ``batch``.

    Runs ``model(batch)`` once with hooks on every Linear, Conv and ConvTranspose layer and
    every ``nn.MultiheadAttention`` (one layer of kind ``"attention"``: query in, attention
    output out, ``out_proj`` as its ``W``, the q/k/v blocks' figures under the record's
    ``params``; see :mod:`initlab.torch._sites` and :mod:`initlab.torch._attention` for how each
    maps to the engine's ``Z``, ``A``, ``W``, ``b``: conv channels are the units, positions are
    rows) and, when ``target`` or ``loss_fn`` is given, one backward pass of the loss.  A model
    with attention runs its forward with gradients enabled, so that PyTorch's fused attention
    paths (which skip the module) are not taken.  Then :class:`initlab.diagnostics.LayerStats`
    computes the statistics (activation mean, std, saturation, dead units, distinct units; gradient
    norms and RMS; ``grad:data = std(dW) / std(W)``) and :func:`initlab.diagnostics.verdict`
    names the failure modes, exactly as for the NumPy engine.  The last layer called is the
    output layer; the others are hidden layers.

    * ``batch``: a tensor (``model(batch)``), a tuple/list (``model(*batch)``) or a dict
      (``model(**batch)``), on the model's device.
    * ``target`` and ``loss_fn``: the loss is ``loss_fn(output, target)`` (``loss_fn(output)``
      without a target).  Without ``loss_fn``, integer targets are class labels and the loss is
      ``nn.CrossEntropyLoss()``; floating-point targets of the output's shape use
      ``nn.MSELoss()``.  Without both, the pass is forward only: gradient figures are None and
      the verdict rules that need gradients (vanishing, exploding gradients, update:data) are
      not applied (a note says so).
    * ``mode``: ``"train"`` (default: dropout active, BatchNorm on batch statistics, as the
      first training step sees the model) or ``"eval"``.
    * ``histograms=False`` and ``symmetry=False`` skip those parts of the statistics (their
      record fields are None and :meth:`InspectResult.write_figures` has no histograms to
      draw); on wide layers they cost most of the time (``benchmarks/bench_torch_watch.py``).

    The model is left exactly as it was (parameters, every ``.grad``, buffers, training flags,
    no hook left, torch's random state), also when the pass fails; see the module docstring.
    A batch the model cannot take, a target or loss that does not fit the output, and a model
    with no layer to inspect raise ValueError naming the layer or the shapes.

    Example::

        r = inspect(model, x[:256], y[:256])      # integer labels: cross-entropy
        print(r.table()); r.modes                 # e.g. ['vanishing'] for a too-small init
    """
    sites, skipped = find_sites(model)
    if not isinstance(batch, torch.Tensor | tuple | list | Mapping):
        raise TypeError(
            "batch must be a tensor, a tuple/list of model(*batch) arguments or a dict of "
            f"model(**batch) arguments, got {type(batch).__name__} (convert NumPy arrays with "
            "torch.as_tensor(x, dtype=torch.float32))"
        )
    if target is not None and not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a tensor or None, got {type(target).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {loss_fn!r}")
    check_choice("mode", mode, ("train", "eval"))
    for key, flag in (("histograms", histograms), ("symmetry", symmetry)):
        if not isinstance(flag, bool):
            raise TypeError(f"inspect: {key} must be True or False, got {flag!r}")
    backward = target is not None or loss_fn is not None

    flags = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    seen: set[int] = set()
    params: list[torch.Tensor] = []
    for site in sites:
        for p in site.params + site.extra_params:
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    frozen = [p for p in params if not p.requires_grad] if backward else []
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    capture = Capture(sites, grads=backward, model=model)
    locator = Locator(model)
    loss_value: float | None = None
    loss_name: str | None = None
    grads: dict[int, torch.Tensor | None] = {}
    try:
        with torch.random.fork_rng(devices=devices):
            model.train(mode == "train")
            for p in frozen:
                p.requires_grad_(True)
            capture.attach()
            locator.attach()
            # with gradients enabled, PyTorch's fused attention paths (the encoder layer's
            # native kernel, the nested-tensor padding path) are not taken: they would
            # compute the attention without calling the module (see torch/_attention.py)
            with torch.set_grad_enabled(
                backward or any(isinstance(s, AttentionSite) for s in sites)
            ):
                try:
                    output = _call(model, batch)
                except Exception as exc:
                    raise ValueError(locator.message(exc, batch)) from exc
                locator.remove()
                if backward:
                    loss, loss_name = _loss(output, target, loss_fn)
                    loss_value = float(loss.detach())
                    called = [p for p in params if p.requires_grad]
                    try:
                        gs = torch.autograd.grad(loss, called, allow_unused=True)
                    except RuntimeError as exc:
                        raise ValueError(
                            f"inspect: the backward pass of the loss failed: {exc}"
                        ) from exc
                    grads = {id(p): g for p, g in zip(called, gs, strict=True)}
    finally:
        capture.remove()
        locator.remove()
        for p in frozen:
            p.requires_grad_(False)
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
        for m, flag in flags:
            m.training = flag
    probe = LayerStats(every=1, histograms=histograms, symmetry=symmetry, weight_change=False)
    return _result(sites, skipped, capture, grads, loss_value, loss_name, mode, backward, probe)


def _why_not(capture: Capture, i: int, site: Site) -> str:
    """Why site ``i`` has no record."""
    if i in capture.not_observed:
        return capture.not_observed[i]
    return NOT_CALLED if isinstance(site, AttentionSite) else "not called by model(batch)"


def _result(
    sites: list[Site],
    skipped: list[tuple[str, str]],
    capture: Capture,
    grads: dict[int, torch.Tensor | None],
    loss_value: float | None,
    loss_name: str | None,
    mode: str,
    backward: bool,
    probe: LayerStats,
) -> InspectResult:
    order = capture.called()
    if not order:
        reasons: dict[str, list[str]] = {}
        for i, r in capture.not_observed.items():
            reasons.setdefault(r, []).append(sites[i].name)
        why = "".join(f"; {', '.join(names)}: {r}" for r, names in reasons.items())
        raise ValueError(
            "inspect: model(batch) ran without calling any of its layers "
            f"({', '.join(s.name for s in sites)}){why}"
        )
    used = [sites[i] for i in order]
    data = [capture.data[i] for i in order]
    not_called = [(s.name, _why_not(capture, i, s)) for i, s in enumerate(sites) if i not in order]
    dw, db = [], []
    for site in used:
        dw.append(site.weight_like(grads.get(id(site.weight_param))))
        b = site.bias_param
        db.append(site.bias_like(grads.get(id(b)) if b is not None else None))
    # no update is applied: one NaN stands for each (LayerStats' update figures are then NaN,
    # and set to None below), instead of a NaN array the size of every weight
    nan = [(np.full((1, 1), np.nan), np.full(1, np.nan)) for _ in used]
    cost = math.nan if loss_value is None else loss_value
    event = step_event(
        0, cost, used, data, dw=dw, db=db, updates=nan, with_grads=backward, x=capture.x
    )
    probe(event)
    label_records(probe.records, used, capture.boundaries(order))
    for r in probe.records:
        site = used[r["layer"] - 1]
        if isinstance(site, AttentionSite):  # its q/k/v and out_proj tensors, each on its own
            r["params"] = site.block_stats(grads if backward else {})
    if not backward:  # not measured, not zero: the verdict's gradient rules then skip them
        for r in probe.records:
            r.update({k: None for k in GRADIENT_FIELDS if k in r})
    history = History(
        cost=np.array([[cost]]) if backward else np.empty((1, 0)),
        final_cost=np.array([cost]),
        diverged_at=[0 if backward and not math.isfinite(cost) else None],
        steps_run=0,
        records={LayerStats.name: probe.result()},
        meta={
            "source": "initlab.torch.inspect",
            "loss": loss_name,
            "mode": mode,
            "layers": [s.name for s in used],
            "modules": [type(s.module).__name__ for s in used],
            "activations": [s.activation.spec for s in used],
        },
    )
    judged = judge(history)
    findings = judged.findings
    if not backward and [f.mode for f in findings] == ["healthy"]:
        findings = [
            Finding(
                mode="healthy",
                message="no failure mode found in the forward statistics (activation scale, "
                "saturation, dead units, symmetry); gradients were not measured",
                part="none",
            )
        ]
    layers = []
    for r in probe.records:
        rec = dict(r)
        for key in UPDATE_FIELDS + (() if backward else GRADIENT_FIELDS):
            if key in rec:
                rec[key] = None
        if not backward:
            rec["cost"] = None
        layers.append(rec)
    notes = []
    if not backward:
        notes.append(
            "forward pass only (no target or loss_fn): gradient figures are not measured and "
            "the verdict rules that need them (vanishing, exploding gradients, update:data) "
            "were not applied"
        )
    unknown = [s.name for s in used if s.activation.name == "unknown"]
    if unknown:
        notes.append(
            "the activation after " + ", ".join(repr(n) for n in unknown) + " is not known "
            "from an nn.Sequential chain: A = Z (the layer's output) is recorded and the "
            "saturation and dead-unit rules do not apply there"
        )
    all_skipped = tuple(skipped) + tuple(not_called)
    if all_skipped:
        notes.append("not inspected: " + "; ".join(f"{n} ({r})" for n, r in all_skipped))
    return InspectResult(
        layers=tuple(layers),
        findings=tuple(findings),
        loss=loss_value,
        loss_name=loss_name,
        mode=mode,
        history=history,
        notes=tuple(notes),
        skipped=all_skipped,
        verdict=judged,
    )
