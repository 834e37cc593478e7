"""The training loop of the seed: forward, cost, backpropagation, update — and nothing else.

:func:`fit` repeats, for each step: forward propagate a batch, compute the cost, backpropagate,
ask the optimizer for the updates and apply them.  It records only the cost.  Everything else is
observed by *probes*: callables invoked with a :class:`StepEvent` (the parameters before the
update, the forward cache, the gradients, the update) at the steps they ask for -- the loop asks
each probe ``probe.wants(step, last)`` and does not know what is being watched (a
:class:`Schedule` answers that question for the usual cases); what they record ends up in
:attr:`History.records`.

For speed the loop keeps all parameters of the population in one contiguous buffer of shape
``(K, 1, P)`` (``W_l`` and ``b_l`` become views into it) and writes the gradients into a second
buffer of the same layout, so the optimizer, the divergence check and the update each run once
per step instead of once per array.  Probes therefore see gradient and update arrays that the
next step overwrites: a probe that keeps them must copy them.

A member whose cost or update is NaN or inf stops there: its parameters are frozen (the
non-finite update is not applied), :attr:`History.diverged_at` holds the step, and the other
members of the population keep training.  Divergence is a result, never an exception.

This module holds the loop (:class:`Trainer`, :func:`fit`).  What a probe sees and when it looks
(:class:`StepEvent`, :class:`Probe`, :class:`Schedule`, the :class:`Evaluate` probe) is in
:mod:`initlab.train.probes`; the result (:class:`History`) and :func:`evaluate` in
:mod:`initlab.train.results`; the checks of the Trainer's arguments in
:mod:`initlab.train.arguments`.  Everything is re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import initlab._fast as _fast
from initlab._checks import ParameterError, check_positive_int
from initlab.losses import Loss
from initlab.network import Grads, Network, backward, check_data, forward
from initlab.optim import Optimizer, get_optimizer
from initlab.train.arguments import _as_data, _check_arguments
from initlab.train.probes import Evaluate, Probe, Schedule, StepEvent, _look_ahead
from initlab.train.results import History, accuracy, evaluate

__all__ = [
    "Evaluate",
    "History",
    "Probe",
    "Schedule",
    "StepEvent",
    "Trainer",
    "accuracy",
    "evaluate",
    "fit",
]


class Trainer:
    """The training loop as an object that can be advanced in chunks (``run(n)`` then
    ``run(n)`` again continues with the same optimizer state and data order); :func:`fit` is
    ``Trainer(...).run(steps)`` in one go.  The web page uses it to train step by step.

    ``engine`` chooses who runs the steps no probe watches: ``"fast"`` the compiled loop of
    :mod:`initlab._fast` wherever it applies; ``"auto"`` (the default) the same, for runs long
    enough to be worth loading it (:func:`initlab._fast.worth_loading`); ``"reference"``
    always the NumPy reference engine.  Set it on the instance before :meth:`run`."""

    engine: str = "auto"

    def __init__(
        self,
        net: Network,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        loss: Loss | str = "binary_cross_entropy",
        optimizer: Optimizer | str = "gd",
        lr: Any = 0.1,
        batch_size: int | None = None,
        seed: int = 0,
        probes: Sequence[Probe] = (),
    ) -> None:
        _check_arguments(net, optimizer, seed, lr)
        self.X = _as_data("X", X, net)
        self.Y = _as_data("Y", Y, net)
        self.loss = check_data(net, self.X, self.Y, loss)
        self.opt = get_optimizer(optimizer, lr) if isinstance(optimizer, str) else optimizer
        lr_arr = getattr(self.opt, "lr", None)
        if isinstance(lr_arr, np.ndarray) and lr_arr.shape[0] != net.population:
            raise ValueError(
                f"lr has {lr_arr.shape[0]} rates for a population of {net.population} members"
            )
        m = self.X.shape[0]
        self.batch_size = (
            m if batch_size is None else min(check_positive_int("batch_size", batch_size), m)
        )
        self.steps_per_epoch = math.ceil(m / self.batch_size)
        for p in probes:
            if not callable(getattr(p, "wants", None)):
                raise TypeError(
                    f"probe {getattr(p, 'name', p)!r} has no wants(step, last) method: a probe "
                    "says which steps it looks at (e.g. with initlab.train.Schedule.every(n))"
                )
        self.net = net
        self.probes = list(probes)
        self.seed = seed
        self.step = 0
        self._pack()
        self.state = self.opt.init([self._gflat])
        self.active = np.ones(net.population, dtype=bool)
        self.diverged_at: list[int | None] = [None] * net.population
        self._rng = np.random.default_rng(seed)
        self._perm = np.arange(m)
        self._costs: list[np.ndarray] = []

    def _pack(self) -> None:
        """Move the network's parameters into one ``(K, 1, P)`` buffer (``W_l``, ``b_l`` become
        views of it, values unchanged) and make a gradient buffer of the same layout."""
        net = self.net
        params = net.params
        K = net.population
        sizes = [math.prod(p.shape[1:]) for p in params]
        self._offsets = np.cumsum([0, *sizes]).tolist()
        self._flat = np.empty((K, 1, self._offsets[-1]), dtype=net.dtype)
        self._gflat = np.empty_like(self._flat)
        views = self._views(self._flat)
        for v, p in zip(views, params, strict=True):
            v[...] = p
        net.weights[:] = views[0::2]
        net.biases[:] = views[1::2]
        g = self._views(self._gflat)
        self._gout = Grads(g[0::2], g[1::2], [], [])
        # per-layer learning-rate multipliers, spread over each layer's W and b
        self._lr_scale = None
        per_param = [s for pair in zip(net.lr_scale, net.bias_lr_scale, strict=True) for s in pair]
        if any(s != 1.0 for s in per_param):
            scale = np.repeat(per_param, sizes).astype(net.dtype)
            self._lr_scale = scale.reshape(1, 1, -1)

    def _views(self, buf: np.ndarray) -> list[np.ndarray]:
        """``buf`` cut into arrays shaped like ``[W_1, b_1, W_2, ...]`` (views, no copies)."""
        o = self._offsets
        return [
            buf[:, 0, a:b].reshape(p.shape)
            for p, a, b in zip(self.net.params, o[:-1], o[1:], strict=True)
        ]

    def run(self, steps: int) -> np.ndarray:
        """Advance ``steps`` steps (fewer if every member has stopped); returns their costs,
        shape (K, steps run).

        Stretches of steps at which no probe is due run on the compiled loop of
        :mod:`initlab._fast` where it applies (same equations; see there); every step a probe
        watches, and every run it does not apply to, runs on the reference engine below."""
        n = check_positive_int("steps", steps)
        net = self.net
        if any(w.base is not self._flat for w in net.weights + net.biases):
            # the parameters were replaced since the last run: pack the new ones (the
            # optimizer's state is kept, it does not depend on the values)
            self._pack()
        try:
            log = np.full((net.population, n), np.nan)
        except MemoryError:
            # the History keeps every step's cost, so a run this long cannot be recorded
            raise ParameterError(
                "steps",
                n,
                "a number of steps whose cost log (population x steps floats) fits in memory",
                f"steps={n} is too many to record: the cost log of {net.population} member(s) "
                f"would take {net.population * n * 8 / 2**30:.3g} GiB; run fewer steps",
            ) from None
        last = self.step + n - 1
        # (with every member stopped already, the reference loop runs its one step)
        fast = self._fast_plan(n) if self.active.any() else None
        done = 0
        with np.errstate(all="ignore"):
            while done < n:
                if fast is None:
                    done += self._reference_steps(n - done, log, done, last)
                    break
                free, due = _look_ahead(self.probes, self.step, last)
                if free:
                    done += self._fast_stretch(fast, free, log[:, done:])
                if due and self.active.any():
                    done += self._reference_steps(1, log, done, last, asked=due)
                if not self.active.any():
                    break
        self._costs.append(log[:, :done])
        return log[:, :done]

    def _fast_plan(self, steps: int) -> _fast.FastPlan | None:
        """The compiled loop's plan for a run of ``steps`` steps, or None where the reference
        engine runs (see :attr:`engine`)."""
        if self.engine not in ("auto", "fast"):
            if self.engine != "reference":
                raise ValueError(
                    f"Trainer.engine must be 'auto', 'fast' or 'reference', got {self.engine!r}"
                )
            return None
        if self.engine == "auto" and not _fast.worth_loading(self.net, self.batch_size, steps):
            return None
        key = (self.net.sizes, self.net.activations, self.net.dtype, self.opt)
        if getattr(self, "_plan_key", None) != key:
            self._plan_key = key
            self._plan = _fast.plan(self.net, self.loss, self.opt)
        return self._plan

    def _batches(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of the next ``n`` steps' batches as ``(rows, starts, sizes)`` for
        :func:`initlab._fast.run_chunk`, drawing the epochs' orders as the reference loop
        does (one permutation of the examples at the start of each epoch)."""
        m, bs, per_epoch = self.X.shape[0], self.batch_size, self.steps_per_epoch
        if bs >= m:
            return _fast.full_batch(m, n)
        perms: list[np.ndarray] = []
        starts = np.empty(n, dtype=np.int64)
        sizes = np.empty(n, dtype=np.int64)
        for s in range(n):
            j = (self.step + s) % per_epoch
            if j == 0:
                self._perm = self._rng.permutation(m)
            if j == 0 or s == 0:
                perms.append(self._perm)
            starts[s] = (len(perms) - 1) * m + j * bs
            sizes[s] = min(bs, m - j * bs)
        return np.concatenate(perms).astype(np.int64), starts, sizes

    def _fast_stretch(self, plan: _fast.FastPlan, n: int, log: np.ndarray) -> int:
        """Run ``n`` steps on the compiled loop (no probe is due in them); returns how many
        ran (fewer if every member stopped) and writes their costs into ``log``."""
        t = self.step
        work = getattr(self, "_work", None)
        need = _fast.workspace_size(plan, self._flat.shape[-1], self.batch_size)
        if work is None or work.shape[0] < need or work.dtype != self._flat.dtype:
            work = self._work = np.empty(need, dtype=self._flat.dtype)
        costs, stopped = _fast.run_chunk(
            plan,
            self._flat,
            self.opt,
            self.state,
            self.X,
            self.Y,
            self._batches(n),
            self.active,
            work,
        )
        done = costs.shape[1]
        log[:, :done] = costs
        for k in np.flatnonzero(stopped >= 0):
            self.diverged_at[k] = t + int(stopped[k])
        self.step += done
        return done

    def _reference_steps(
        self, n: int, log: np.ndarray, at: int, last: int, asked: list[Probe] | None = None
    ) -> int:
        """Run up to ``n`` steps on the NumPy reference engine, writing their costs into
        ``log[:, at:]``; returns how many ran (fewer if every member stopped).  The probes are
        asked whether they want each step, unless ``asked`` already holds the answer for a
        single step."""
        net, X, Y, loss, opt, probes = self.net, self.X, self.Y, self.loss, self.opt, self.probes
        flat, gflat, gout = self._flat, self._gflat, self._gout
        bs, m, per_epoch = self.batch_size, X.shape[0], self.steps_per_epoch
        active = self.active
        all_active = bool(active.all())
        Xb, Yb = X, Y
        done = 0
        for i in range(at, at + n):
            t = self.step
            if bs < m:
                j = t % per_epoch
                if j == 0:
                    self._perm = self._rng.permutation(m)
                idx = self._perm[j * bs : (j + 1) * bs]
                Xb, Yb = X[idx], Y[idx]
            A, cache = forward(net, Xb)
            cost = loss.cost(cache.Z[-1], A, Yb)
            grads = backward(net, cache, Yb, loss, out=gout)
            (U,) = opt.updates([gflat], self.state)
            if self._lr_scale is not None:
                U *= self._lr_scale
            total = U.sum(axis=2)[:, 0] + cost  # NaN or inf iff a member's step is
            if all_active and math.isfinite(total.sum()):
                log[:, i] = cost
            else:
                ok = np.isfinite(total)
                log[active, i] = cost[active]
                for k in np.flatnonzero(active & ~ok):
                    self.diverged_at[k] = t
                active &= ok
                U[~active] = 0.0
                all_active = bool(active.all())
            if probes:
                due = [p for p in probes if p.wants(t, last)] if asked is None else asked
                if due:
                    event = StepEvent(
                        t,
                        net,
                        Xb,
                        Yb,
                        cache,
                        grads,
                        self._views(U),
                        cost,
                        active.copy(),
                        loss,
                    )
                    for p in due:
                        p(event)
            flat += U
            self.step += 1
            done += 1
            if not all_active and not active.any():
                break
        return done

    def history(self) -> History:
        """A :class:`History` of everything run so far (the final cost is evaluated now)."""
        final = evaluate(self.net, self.X, self.Y, self.loss)["cost"]
        cost = (
            np.concatenate(self._costs, axis=1)
            if self._costs
            else np.empty((self.net.population, 0))
        )
        meta = {
            "optimizer": getattr(self.opt, "name", type(self.opt).__name__),
            "lr": np.ravel(getattr(self.opt, "lr", np.nan)).tolist(),
            "loss": self.loss.name,
            "steps": self.step,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "sizes": list(self.net.sizes),
            "activations": [g.spec for g in self.net.activations],
            **self.net.meta,
        }
        return History(
            cost=cost,
            final_cost=np.where(self.active, final, np.nan),
            diverged_at=list(self.diverged_at),
            steps_run=self.step,
            records={p.name: p.result() for p in self.probes},
            meta=meta,
        )


def fit(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    loss: Loss | str = "binary_cross_entropy",
    optimizer: Optimizer | str = "gd",
    lr: Any = 0.1,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    probes: Sequence[Probe] = (),
) -> History:
    """Train ``net`` in place on ``(X, Y)`` and return its :class:`History`.

    ``steps`` counts parameter updates; ``epochs`` (instead of steps) counts passes over the
    data.  ``batch_size=None`` is full batch (no shuffling); otherwise each epoch visits the
    examples in an order drawn from ``seed`` (the last batch may be smaller).  ``optimizer`` is
    an :mod:`initlab.optim` object or a name used with ``lr`` (which may hold one rate per
    population member).  ``loss`` needs the matching output activation (sigmoid for
    binary_cross_entropy, softmax for cross_entropy).
    """
    trainer = Trainer(
        net,
        X,
        Y,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        probes=probes,
    )
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps and epochs")
    n_steps = (
        check_positive_int("steps", steps)
        if steps is not None
        else check_positive_int("epochs", epochs) * trainer.steps_per_epoch
    )
    trainer.run(n_steps)
    return trainer.history()
