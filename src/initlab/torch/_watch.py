"""``watch``: the diagnostics of :func:`initlab.torch.inspect`, recorded over time inside a
user's own training loop, with the update:data ratios only a real step can show.

One call per training step, after the optimizer has updated the parameters::

    w = watch(model, every=100)
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        w.step(loss)              # after optimizer.step(), once per step
    print(w.report())             # per-layer tables at the first and last record + verdict
    w.write_figures("figs/")      # cost, activations, gradients, update:data
    w.close()                     # or use `with watch(model) as w:`

Steps are counted by the calls to :meth:`Watch.step`, from 0.  Step ``t`` is *recorded* when
``t % every == 0``.  Only then are hooks attached (from the previous ``w.step()``, or from
``watch()`` for step 0) and removed again by ``w.step()``, so unrecorded steps run the model
untouched and cost nothing but keeping the loss.  On a recorded step:

* the forward pass (every call made with gradients enabled; a layer called several times is
  pooled) gives ``Z``, ``A`` and the layer's input, and ``W``, ``b`` as they were *before* the
  update, copied at the layer's first call;
* the backward pass gives ``dZ``, ``dA`` (tensor hooks) and ``dW``, ``db`` (parameter hooks:
  the gradient backward computed in this step, summed over backward passes, before any
  clipping; with AMP's GradScaler still multiplied by the scale);
* ``w.step(loss)`` reads ``W``, ``b`` again: the applied update is ``u = W_after - W_before``,
  whatever the optimizer (momentum, Adam, weight decay included), and ``update:data = std(u) /
  std(W)``.

Then :class:`initlab.diagnostics.LayerStats` computes the statistics of that step from the
engine-shaped arrays (see :mod:`initlab.torch._capture`), as for the NumPy engine, and
:meth:`Watch.history` wraps them in a :class:`initlab.train.History` that
:func:`initlab.diagnostics.verdict`, :func:`initlab.diagnostics.report` and
:mod:`initlab.report.figures` take unchanged.

Misuse is reported, not guessed around: a recorded step without a forward pass with gradients
(``w.step()`` called twice) or without a backward pass raises a ValueError; a recorded step
where no watched parameter changed (``w.step()`` called before ``optimizer.step()``) warns
with :class:`WatchWarning`.  The loss may be a tensor (kept on its device and read in one batch
at each record, so no step waits for the device) or a number; without it the cost curve is
empty and the ``diverged`` rule only sees the updates.
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab._checks import check_positive_int
from initlab.diagnostics import (
    THRESHOLDS,
    Finding,
    LayerStats,
    Thresholds,
    Verdict,
    judge,
    report,
    verdict,
)
from initlab.diagnostics._reduce import max_abs_of
from initlab.torch._attention import ATTENTION_PARTS, NOT_CALLED, AttentionSite
from initlab.torch._capture import Capture, find_sites, label_records, step_event
from initlab.train import History

__all__ = ["Watch", "WatchWarning", "watch"]


class WatchWarning(UserWarning):
    """A recorded step looks misused (e.g. no parameter changed before ``w.step()``)."""


class Watch:
    """Records per-layer statistics of ``model`` every ``every`` steps of a training loop; see
    the module docstring for when to call what.  Build it with :func:`watch`."""

    def __init__(
        self,
        model: nn.Module,
        every: int = 100,
        *,
        histograms: bool = True,
        symmetry: bool = True,
    ) -> None:
        self.every = check_positive_int("every", every)
        self.sites, self.skipped = find_sites(model)
        self.model = model
        self._probe = LayerStats(every=1, histograms=histograms, symmetry=symmetry)
        self._step = 0
        self._costs: list[float] = []
        self._given: list[bool] = []
        self._pending: list[Any] = []
        self._order: list[int] | None = None  # site indices in forward order, from record 1
        self._update_diverged: int | None = None
        self._capture: Capture | None = None
        self._not_observed: dict[str, str] = {}
        self._closed = False
        self._arm()

    # ------------------------------------------------------------------ the loop

    @property
    def steps(self) -> int:
        """Steps counted so far (calls to :meth:`step`)."""
        return self._step

    @property
    def recording(self) -> bool:
        """True when the current step will be recorded (its hooks are attached)."""
        return self._capture is not None

    @property
    def layers(self) -> list[str]:
        """Qualified names of the recorded layers, in forward order (known after a record)."""
        order = self._order if self._order is not None else range(len(self.sites))
        return [self.sites[i].name for i in order]

    def _arm(self) -> None:
        cap = Capture(
            self.sites, grads=True, param_hooks=True, grad_enabled_only=True, model=self.model
        )
        cap.attach()
        self._capture = cap

    def step(self, loss: torch.Tensor | float | None = None) -> bool:
        """End the current training step; call it once per step, after ``optimizer.step()``.

        ``loss``: this step's loss (a scalar tensor or a number; None: not recorded).  Returns
        True when this step was recorded."""
        if self._closed:
            raise ValueError("watch: this Watch is closed; create a new one with watch(model)")
        self._pending.append(self._loss_value(loss))
        self._given.append(loss is not None)
        t = self._step
        cap, self._capture = self._capture, None
        try:
            if cap is not None:
                try:
                    self._record(cap, t)
                finally:
                    cap.remove()
        finally:
            self._step += 1
            if self._step % self.every == 0:
                self._arm()
        return cap is not None

    @staticmethod
    def _loss_value(loss: Any) -> Any:
        if loss is None:
            return math.nan
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ValueError(
                    f"watch: loss must be a scalar (one value), got a tensor of shape "
                    f"{tuple(loss.shape)}"
                )
            return loss.detach().reshape(())
        if isinstance(loss, numbers.Real) and not isinstance(loss, bool):
            return float(loss)
        raise TypeError(f"watch: loss must be a scalar tensor, a number or None, got {loss!r}")

    def _flush(self) -> None:
        """Convert the losses kept as tensors to floats (one transfer for all of them)."""
        if not self._pending:
            return
        tensors = [v for v in self._pending if isinstance(v, torch.Tensor)]
        values: list[float] = []
        if tensors:
            try:
                values = torch.stack([v.to(torch.float64) for v in tensors]).cpu().tolist()
            except RuntimeError:  # losses on several devices
                values = [float(v) for v in tensors]
        it = iter(values)
        self._costs += [next(it) if isinstance(v, torch.Tensor) else v for v in self._pending]
        self._pending.clear()

    def _record(self, cap: Capture, t: int) -> None:
        order = cap.called()
        if not order:
            raise ValueError(
                f"watch: step {t} is recorded (every={self.every}) but the model ran no forward "
                "pass with gradients enabled since the previous w.step(); call w.step() exactly "
                "once per training step, after loss.backward() and optimizer.step()"
            )
        if self._order is None:
            self._order = order
        elif sorted(order) != sorted(self._order):
            now = {self.sites[i].name for i in order}
            before = {self.sites[i].name for i in self._order}
            raise ValueError(
                f"watch: step {t} called layers {sorted(now)} but the first recorded step "
                f"called {sorted(before)}; a Watch needs the same layers at every record"
            )
        sites = [self.sites[i] for i in self._order]
        data = [cap.data[i] for i in self._order]
        if not any(d.backward_seen or d.dw is not None for d in data):
            raise ValueError(
                f"watch: step {t} is recorded but no backward pass reached the watched layers "
                "before w.step(); call w.step() after loss.backward() and optimizer.step()"
            )
        self._flush()
        dw, db, updates = [], [], []
        for site, d in zip(sites, data, strict=True):
            dw.append(site.weight_like(d.dw))
            db.append(site.bias_like(d.db))
            updates.append((site.weight() - d.w0, site.bias() - d.b0))
        # max |u| of each update: 0 when nothing changed, NaN/inf when the update is not finite
        extent = [float(np.maximum(max_abs_of(uw), max_abs_of(ub))) for uw, ub in updates]
        if all(e == 0 for e in extent):
            warnings.warn(
                WatchWarning(
                    f"watch: no watched parameter changed between the forward pass of step {t} "
                    "and w.step(); call w.step() after optimizer.step() (ignore this if the "
                    "parameters are meant to stay fixed)"
                ),
                stacklevel=3,
            )
        if self._update_diverged is None and not all(np.isfinite(e) for e in extent):
            self._update_diverged = t
        event = step_event(
            t,
            self._costs[t],
            sites,
            data,
            dw=dw,
            db=db,
            updates=updates,
            with_grads=True,
            x=cap.x,
        )
        n = len(self._probe.records)
        self._probe(event)
        label_records(self._probe.records[n:], sites, cap.boundaries(self._order))
        for r in self._probe.records[n:]:
            site, d = sites[r["layer"] - 1], data[r["layer"] - 1]
            if isinstance(site, AttentionSite):  # its q/k/v and out_proj tensors
                grads = {**d.pgrads, id(site.weight_param): d.dw, id(site.bias_param): d.db}
                r["params"] = site.block_stats(grads, d.p0)
        self._not_observed = {
            s.name: cap.not_observed.get(i, NOT_CALLED if isinstance(s, AttentionSite) else "")
            for i, s in enumerate(self.sites)
            if i not in self._order
        }

    # ------------------------------------------------------------------ results

    @property
    def records(self) -> list[dict[str, Any]]:
        """The per-layer records so far (one per recorded step and layer), as plain dicts."""
        return list(self._probe.records)

    def history(self) -> History:
        """Everything recorded so far as a :class:`initlab.train.History` (K = 1): ``cost[0, t]``
        the loss given at step t (NaN where none was given), ``diverged_at`` the first step
        whose given loss, or a recorded update, is NaN/inf, and the per-layer records under
        ``records["layer_stats"]``.  ``final_cost`` is the last loss given (not a cost on the
        whole training set, which the Watch never sees)."""
        self._flush()
        cost = np.array([self._costs], dtype=np.float64).reshape(1, -1)
        bad = [
            t
            for t, (c, g) in enumerate(zip(self._costs, self._given, strict=True))
            if g and not math.isfinite(c)
        ]
        firsts = [x for x in (bad[0] if bad else None, self._update_diverged) if x is not None]
        given = [c for c, g in zip(self._costs, self._given, strict=True) if g]
        return History(
            cost=cost,
            final_cost=np.array([given[-1] if given else math.nan]),
            diverged_at=[min(firsts) if firsts else None],
            steps_run=self._step,
            records={LayerStats.name: self._probe.result()},
            meta={
                "source": "initlab.torch.watch",
                "every": self.every,
                "steps": self._step,
                "layers": self.layers,
                "modules": [type(self.sites[i].module).__name__ for i in self._order or []],
                "activations": [self.sites[i].activation.spec for i in self._order or []],
            },
        )

    def _recorded_history(self) -> History:
        if not self._probe.records:
            raise ValueError(
                "watch: no step has been recorded yet; run a training step (forward, backward, "
                "optimizer.step()) and call w.step()"
            )
        return self.history()

    def verdict(
        self, reference: History | np.ndarray | None = None, thresholds: Thresholds = THRESHOLDS
    ) -> list[Finding]:
        """:func:`initlab.diagnostics.verdict` of what was recorded (``reference``: another
        run's History or cost curve, for the ``slow`` rule)."""
        return verdict(self._recorded_history(), reference=reference, thresholds=thresholds)

    def judge(
        self, reference: History | np.ndarray | None = None, thresholds: Thresholds = THRESHOLDS
    ) -> Verdict:
        """The two-part :func:`initlab.diagnostics.judge` verdict of what was recorded: its
        sentence, the findings at initialization (the first record) and in training."""
        return judge(self._recorded_history(), reference=reference, thresholds=thresholds)

    @property
    def not_observed(self) -> dict[str, str]:
        """The layers the last record did not see, with the reason where one is known (an
        attention computed by a fused path or fed nested tensors; see
        :mod:`initlab.torch._attention`)."""
        return dict(self._not_observed)

    def legend(self) -> str:
        """Which layer number is which module, e.g. ``layer 1 = '0' (Conv2d, relu)``, and the
        layers that were not observed."""
        lines = []
        for k, i in enumerate(self._order or [], start=1):
            site = self.sites[i]
            parts = f": {ATTENTION_PARTS}" if isinstance(site, AttentionSite) else ""
            lines.append(
                f"layer {k} = {site.name!r} ({type(site.module).__name__}{parts}, "
                f"{site.activation.spec})"
            )
        for name, why in self._not_observed.items():
            lines.append(f"not observed: {name!r}" + (f" ({why})" if why else ""))
        return "\n".join(lines)

    def report(self, reference: History | None = None) -> str:
        """:func:`initlab.diagnostics.report` (tables at the first and last record, verdict)
        followed by the legend of layer numbers."""
        text = report(self._recorded_history(), reference=reference)
        return f"{text}\n{self.legend()}"

    def write_figures(self, directory: str | Path) -> list[Path]:
        """Write the figures of :mod:`initlab.report.figures` for what was recorded: the loss
        curve (when losses were given), activation and log10 |dZ| histograms, update:data per
        layer, as PNG into ``directory``.  Returns the paths.  Needs matplotlib."""
        from initlab.report.figures import (
            activation_histograms,
            cost_curves,
            gradient_histograms,
            save_png,
            update_ratio_curves,
        )

        h = self._recorded_history()
        d = Path(directory)
        paths = []
        if any(self._given):
            paths.append(save_png(cost_curves(h, ["loss"], title="loss"), d / "cost.png"))
        paths += [
            save_png(activation_histograms(h), d / "activations.png"),
            save_png(gradient_histograms(h), d / "gradients.png"),
            save_png(update_ratio_curves(h), d / "update_ratio.png"),
        ]
        return paths

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Remove every hook; the records stay readable.  Calling it again does nothing."""
        if self._capture is not None:
            self._capture.remove()
            self._capture = None
        self._closed = True

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"step {self._step}"
        return (
            f"Watch({len(self.sites)} layers, every={self.every}, {state}, "
            f"{len({r['step'] for r in self._probe.records})} records)"
        )


def watch(
    model: nn.Module, every: int = 100, *, histograms: bool = True, symmetry: bool = True
) -> Watch:
    """A :class:`Watch` on ``model``'s Linear, Conv, ConvTranspose and MultiheadAttention layers
    (:mod:`initlab.torch._attention`: q/k/v and out_proj figures per attention) that records the
    per-layer statistics of initlab's diagnostics at steps 0, ``every``, ``2 every``, ... of a
    training loop, including ``update:data = std(W_after - W_before) / std(W)``.

    Call ``w.step(loss)`` once per step, after ``optimizer.step()`` (see the module docstring of
    :mod:`initlab.torch._watch` for exactly what is recorded when); read the results with
    ``w.history()``, ``w.verdict()``, ``w.report()``, ``w.write_figures(dir)``; ``w.close()``
    (or a ``with`` block) removes the hooks.  ``histograms=False`` and ``symmetry=False`` skip
    those parts of the statistics (for large layers).
    """
    return Watch(model, every, histograms=histograms, symmetry=symmetry)
