"""One browser tab's training: build the run from a request, advance it in chunks, and describe
its state as a frame for the page.

A :class:`Session` holds the data, the network (a population of K members when schemes are
compared), a copy of the initial weights and a :class:`initlab.train.Trainer`.  It has no
server in it and no threads: the server calls :meth:`Session.advance` and :meth:`Session.frame`
from one worker thread per tab.  It computes no statistics of its own: costs and accuracies
come from :func:`initlab.train.evaluate`, the decision boundary from
:func:`initlab.network.predict` on :func:`initlab.data.decision_grid`, and every per-layer
figure and the verdict from :mod:`initlab.diagnostics`.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initlab.config import LIMITS, Prepared, RunConfig, init_population, make_trainer, prepare
from initlab.network import Network, predict
from initlab.train import Schedule, StepEvent, Trainer, evaluate
from initlab.web.protocol import (
    MAX_CELLS,
    MAX_STEPS_PER_FRAME,
    RUN_STATE_FIELDS,
    Request,
    WebError,
    check_size,
    validate_request,
)

__all__ = ["Session"]

#: Units per layer drawn in the network diagram (the rest are counted, not drawn).
DIAGRAM_UNITS = 12
#: Activations one slice of the decision boundary may compute while training (population x
#: grid points x units): a large grid is spread over several frames, so none of them stalls.
BOUNDARY_SLICE_CELLS = 300_000
#: Least time between two records of the page's layer statistics while training (the page
#: redraws its layer cards at most four times a second; the cost chart gets every frame).
STATS_SECONDS = 0.25
#: Fields of the diagnostics' records the page does not draw (left out of frames).
_NOT_SHOWN = ("dW_hist",)


def _f32(a: np.ndarray) -> str:
    """An array as base64 of its float32 bytes (little-endian, C order): compact and exact
    enough for drawing; NaN and inf survive."""
    with np.errstate(over="ignore"):  # beyond float32's range is inf, as it should show
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
    return base64.b64encode(raw).decode("ascii")


def _u8(p: np.ndarray) -> str:
    """Probabilities in [0, 1] as base64 bytes 0..255 (non-finite values become 0)."""
    q = np.nan_to_num(np.clip(p, 0.0, 1.0), nan=0.0) * 255.0
    return base64.b64encode(np.rint(q).astype(np.uint8).tobytes()).decode("ascii")


def _num(x: Any) -> float | None:
    """A finite float for JSON, or None (JSON has no NaN or inf)."""
    v = float(x)
    return v if math.isfinite(v) else None


def _grad_edges() -> list[float]:
    from initlab.diagnostics import GRAD_LOG10_EDGES

    return GRAD_LOG10_EDGES.tolist()


class _LatestGrads:
    """A probe that keeps a copy of the most recent weight gradients it was shown.

    It looks at step 0 and at the last step of every ``run(n)`` call
    (:meth:`Schedule.run_ends`): exactly the step a frame shows.  It copies (the training loop
    reuses its gradient buffer from step to step)."""

    name = "web_latest"

    def __init__(self) -> None:
        self.schedule = Schedule.run_ends()
        self.step: int | None = None
        self.dW: list[np.ndarray] | None = None

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event: StepEvent) -> None:
        self.step = event.step
        self.dW = [g.copy() for g in event.grads.dW]

    def result(self) -> None:
        return None


class _LiveStats:
    """The diagnostics' :class:`~initlab.diagnostics.LayerStats` probe, called when the page
    wants fresh figures rather than on a fixed step grid.

    Its schedule is :meth:`Schedule.on_demand`: it records at step 0, and at the last step of
    a ``run(n)`` after :meth:`request` (the session requests when a frame is due for new
    statistics).  It keeps LayerStats' records of the first step and of the latest step only:
    that is what the page shows and what :func:`initlab.diagnostics.verdict` reads (the first
    record for the initial scale of signals, the latest for symmetry, weight change and dead
    units), and it keeps a long run's memory bounded."""

    name = "layer_stats"

    def __init__(self) -> None:
        from initlab.diagnostics import LayerStats

        self.inner = LayerStats(keep="first_last")  # called by this probe only, on its schedule
        self.schedule = Schedule.on_demand()
        self.first_step: int | None = None
        self.latest_step: int | None = None
        self.first_edges: dict[int, dict[str, list[float]]] = {}
        self.seconds = 0.0

    def request(self) -> None:
        """Record at the last step of the next ``run(n)``."""
        self.schedule.request()

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event: StepEvent) -> None:
        if self.first_step is None:
            self.first_step = event.step
        t0 = time.perf_counter()
        # fresh bins for every record: the page's histograms follow the data as it moves
        # (a spread shrinking from 1e-2 to 1e-7 stays visible); each row carries its range
        self.inner.edges.clear()
        self.inner(event)
        if event.step == self.first_step:
            self.first_edges = {k: dict(v) for k, v in self.inner.edges.items()}
        self.seconds = time.perf_counter() - t0
        self.latest_step = event.step

    def result(self) -> dict[str, Any]:
        return self.inner.result()


@dataclass
class _Built:
    """What a request builds: the prepared data, loss and sizes, and the initial population."""

    request: Request
    prepared: Prepared
    initial: Network
    init_key: tuple

    @property
    def dataset(self) -> Any:
        return self.prepared.dataset

    @property
    def loss(self) -> str:
        return self.prepared.loss

    @property
    def kind(self) -> str:
        return "binary" if self.prepared.sizes[-1] == 1 else "one_hot"

    @property
    def Y_train(self) -> np.ndarray:
        return self.prepared.Y_train

    @property
    def Y_test(self) -> np.ndarray:
        return self.prepared.Y_test


def _init_key(configs: Sequence[RunConfig], sizes: Sequence[int], data_dependent: bool) -> tuple:
    """Everything the initial weights depend on: the configurations minus the run-state fields
    (and minus the data, unless a scheme looks at the data)."""
    data_fields = ("dataset", "n_samples", "noise", "data_seed", "test_fraction")
    parts = []
    for c in configs:
        d = c.to_dict()
        for f in RUN_STATE_FIELDS:
            d.pop(f)
        if not data_dependent:
            for f in data_fields:
                d.pop(f)
        parts.append(tuple(sorted((k, str(v)) for k, v in d.items())))
    return (tuple(sizes), tuple(parts))


def _build(request: Request, previous: _Built | None) -> tuple[_Built, bool]:
    """Data, loss and initial network for ``request`` with :func:`initlab.config.prepare` and
    :func:`initlab.config.init_population` (the same path as :func:`initlab.config.run`);
    reuses ``previous``'s initial weights when only run-state fields changed.  Returns the
    build and whether the initial weights were reused."""
    configs = request.configs
    c0 = configs[0]
    try:
        prepared = prepare(list(configs))
    except (ValueError, TypeError) as exc:
        raise WebError.of(exc) from None
    ds, sizes = prepared.dataset, prepared.sizes
    if ds.n_features != 2:
        raise WebError(
            f"dataset={c0.dataset!r} has {ds.n_features} features; the page needs 2",
            "dataset",
            c0.dataset,
            "a data set with 2 features",
        )
    K = len(configs)
    rows = max(ds.n_train, ds.n_test, 1)
    check_size(K, rows, sizes, MAX_CELLS)
    from initlab.schemes import parse_scheme

    data_dependent = any(parse_scheme(c.init).info.data_dependent for c in configs)
    key = _init_key(configs, sizes, data_dependent)
    reused = previous is not None and previous.init_key == key
    if reused:
        initial = previous.initial
    else:
        try:
            initial = init_population(prepared)
        except (ValueError, TypeError, ArithmeticError, MemoryError) as exc:
            field = "compare" if request.compare else "init"  # the schemes draw the weights
            raise WebError.of(exc, "cannot build the network: ", field) from None
    return _Built(request, prepared, initial, key), reused


class Session:
    """The state of one tab: configure, reset, advance, frame.

    ``frame_seconds`` is the time between frames the server aims for; with
    ``steps_per_frame=None`` :meth:`advance` trains as many steps as fit in ``train_share`` of
    it (measured as it goes), otherwise exactly that many steps per frame.
    """

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        *,
        frame_seconds: float = 1.0 / 30.0,
        train_share: float = 0.7,
        steps_per_frame: int | None = 5,
    ) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.frame_seconds = frame_seconds
        self.train_share = train_share
        self.steps_per_frame = steps_per_frame
        self.built: _Built | None = None
        self.trainer: Trainer | None = None
        self.net: Network | None = None
        self.running = False
        self.focus = 0
        self.run_id = 0
        self._latest = _LatestGrads()
        self._stats: _LiveStats | None = None
        self._stats_next = 0.0
        self._stats_sent: tuple | None = None
        self._verdict: list[list[dict[str, Any]]] | None = None
        self._verdict_parts: list[dict[str, Any]] | None = None
        self._verdict_step: int | None = None
        self._verdict_seconds = 0.0
        self._sec_per_step: float | None = None
        self._grid: np.ndarray | None = None
        self._grid_steps = 0
        self._boundary_next = 0.0
        self._boundary_spent = 0.0
        self._slices: tuple[Network, list[np.ndarray]] | None = None
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0

    # ---------------------------------------------------------------- configuration

    @property
    def configs(self) -> tuple[RunConfig, ...]:
        if self.built is None:
            raise WebError("no configuration yet: send a config message first")
        return self.built.request.configs

    @property
    def population(self) -> int:
        return len(self.configs)

    @property
    def steps_limit(self) -> int:
        return self.configs[0].steps

    def configure(self, fields: Any, compare: Sequence[str] | None = None) -> dict[str, Any]:
        """Validate and apply a request; return the ``ready`` message.  On a WebError nothing
        changes (the previous run stays as it was)."""
        request = validate_request(fields, compare, self.limits)
        built, reused = _build(request, self.built)
        self.built = built
        self.focus = min(self.focus, len(request.configs) - 1)
        self._grid = None
        self.reset()
        return self.ready(reused)

    def reset(self) -> None:
        """Back to step 0 from the initial weights (the same ones, not a new draw)."""
        b = self.built
        if b is None:
            raise WebError("no configuration yet: send a config message first")
        self.net = b.initial.copy()
        self._latest = _LatestGrads()
        self._stats = _LiveStats()
        self._stats_next = 0.0
        self._stats_sent = None
        self._verdict = None
        self._verdict_step = None
        self.trainer = make_trainer(b.prepared, self.net, [self._latest, self._stats])
        self.running = False
        self.run_id += 1
        self._sec_per_step = None
        self._boundary_next = 0.0
        self._boundary_spent = 0.0
        self._slices = None
        self._rate_t0 = time.perf_counter()
        self._rate_step0 = 0
        self._rate = 0.0

    def set_speed(self, steps_per_frame: int | None) -> None:
        if steps_per_frame is not None and not 1 <= steps_per_frame <= MAX_STEPS_PER_FRAME:
            raise WebError(
                f"steps_per_frame must be between 1 and {MAX_STEPS_PER_FRAME}, got "
                f"{steps_per_frame!r}",
                "speed",
                steps_per_frame,
                f"1 to {MAX_STEPS_PER_FRAME}, or null",
            )
        self.steps_per_frame = steps_per_frame

    def set_focus(self, member: int) -> None:
        if not 0 <= member < self.population:
            raise WebError(
                f"member must be between 0 and {self.population - 1}, got {member!r}",
                "member",
                member,
                f"0 to {self.population - 1}",
            )
        self.focus = member

    # ---------------------------------------------------------------- training

    @property
    def step(self) -> int:
        return 0 if self.trainer is None else self.trainer.step

    @property
    def done(self) -> bool:
        t = self.trainer
        return t is not None and (t.step >= self.steps_limit or not t.active.any())

    def advance(self, n: int | None = None, *, force_stats: bool = False) -> int:
        """Train ``n`` steps, or (``n=None``) one frame's worth; returns the steps run.  Stops
        at the configuration's ``steps`` and when every member has diverged.  The diagnostics
        record the chunk's last step when due (every :data:`STATS_SECONDS` at most, their cost
        kept under about a fifth of the time) or when ``force_stats``."""
        t = self.trainer
        if t is None:
            raise WebError("no configuration yet: send a config message first")
        remaining = self.steps_limit - t.step
        if remaining <= 0 or not t.active.any():
            self.running = False
            return 0
        if n is None:
            if self.steps_per_frame is not None:
                n = self.steps_per_frame
            elif self._sec_per_step is None:
                n = 1
            else:
                budget = self.frame_seconds * self.train_share
                n = max(1, int(budget / self._sec_per_step))
        n = min(n, remaining)
        t0 = time.perf_counter()
        if self._stats is not None and (force_stats or t0 >= self._stats_next):
            self._stats.request()
        before = t.step
        t.run(n)
        ran = t.step - before
        st = self._stats
        recorded = st is not None and st.latest_step is not None and st.latest_step >= before
        if ran:
            spent = time.perf_counter() - t0 - (st.seconds if recorded and st else 0.0)
            sps = max(spent, 0.0) / ran
            self._sec_per_step = (
                sps if self._sec_per_step is None else 0.7 * self._sec_per_step + 0.3 * sps
            )
        if recorded and st is not None:
            self._verdict = None  # new statistics: the verdict is read again for the frame
            cost = st.seconds + self._verdict_seconds
            self._stats_next = time.perf_counter() + max(STATS_SECONDS, 4.0 * cost)
        if self.done:
            self.running = False
        return ran

    # ---------------------------------------------------------------- frames

    def ready(self, reused: bool = False) -> dict[str, Any]:
        """The ``ready`` message: what stays fixed for this configuration."""
        b = self.built
        assert b is not None and self.net is not None
        ds = b.dataset
        c0 = b.request.config
        grid_steps = self._grid_size()
        xx, yy = self._mesh(grid_steps)
        from initlab.schemes import info, recommend

        act = c0.activation
        name, _, param = act.partition(":")
        try:
            rec = [str(s) for s in recommend(name, float(param) if param else None)]
        except ValueError:
            rec = []
        members = [
            {
                "label": c.init if b.request.compare else c.label(),
                "init": c.init,
                "summary": info(c.init.partition(":")[0]).summary,
            }
            for c in b.request.configs
        ]
        return {
            "type": "ready",
            "run": self.run_id,
            "configs": [c.to_dict() for c in b.request.configs],
            "compare": b.request.compare,
            "members": members,
            "same_initial_weights": reused,
            "dataset": {
                **ds.to_dict(),
                "train": {"x": _f32(ds.X_train), "y": ds.y_train.tolist()},
                "test": {"x": _f32(ds.X_test), "y": ds.y_test.tolist()},
            },
            "grid": {
                "steps": grid_steps,
                "x": [float(xx[0, 0]), float(xx[0, -1])],
                "y": [float(yy[0, 0]), float(yy[-1, 0])],
            },
            "network": {
                "sizes": list(self.net.sizes),
                "activations": [g.spec for g in self.net.activations],
                "loss": b.loss,
                "shown": [min(n, DIAGRAM_UNITS) for n in self.net.sizes],
            },
            "recommended": rec,
            "activation": act,
            "steps_limit": self.steps_limit,
            "batch_size": self.trainer.batch_size if self.trainer else None,
            "focus": self.focus,
        }

    def _grid_size(self) -> int:
        return 60 if self.population <= 4 else 40

    def _mesh(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        from initlab.data import decision_grid

        ds = self.built.dataset  # type: ignore[union-attr]
        X = np.vstack([ds.X_train, ds.X_test]) if ds.n_test else ds.X_train
        xx, yy, pts = decision_grid(X, steps=steps, margin=0.5)
        self._grid = pts
        self._grid_steps = steps
        return xx, yy

    def _boundary(self, whole: bool = True) -> dict[str, Any] | None:
        """Every member's output on the grid, as bytes: for one output unit p(class 1), for
        several the probability of each class (rows of the grid first).

        With ``whole=False`` the grid is done a slice per call (at most
        :data:`BOUNDARY_SLICE_CELLS` activations each), from a copy of the weights taken at
        the first slice, so no frame waits for a whole large grid and the picture is still
        one step's network; it returns None until the last slice is done."""
        net = self.net
        assert net is not None
        if self._grid is None or self._grid_steps != self._grid_size():
            self._mesh(self._grid_size())
            self._slices = None
        pts = self._grid
        assert pts is not None
        per_row = net.population * sum(net.sizes)
        if whole or self._slices is None:
            self._slices = (net.copy(), [])
        frozen, parts = self._slices
        done = sum(p.shape[1] for p in parts)
        cap = MAX_CELLS if whole else BOUNDARY_SLICE_CELLS
        chunk = max(1, cap // per_row)
        with np.errstate(all="ignore"):
            while done < pts.shape[0]:
                parts.append(predict(frozen, pts[done : done + chunk]))
                done += parts[-1].shape[1]
                if not whole:
                    break
        if done < pts.shape[0]:
            return None
        self._slices = None
        P = np.concatenate(parts, axis=1)  # (K, G*G, n_out)
        return {
            "steps": self._grid_steps,
            "outputs": P.shape[-1],
            "members": [_u8(np.moveaxis(P[k], -1, 0)) for k in range(net.population)],
        }

    def _diagram(self) -> dict[str, Any]:
        """Weights (and the latest gradients) of the focused member, the first DIAGRAM_UNITS
        units of each layer."""
        net = self.net
        assert net is not None
        k = self.focus
        cap = DIAGRAM_UNITS
        grads = self._latest.dW if self._latest.step is not None else None
        return {
            "member": k,
            "weights": [_f32(W[k, :cap, :cap]) for W in net.weights],
            "biases": [_f32(b[k, 0, :cap]) for b in net.biases],
            "grads": None if grads is None else [_f32(g[k, :cap, :cap]) for g in grads],
            "grad_step": self._latest.step,
        }

    def _diagnostics(self, with_first: bool = False) -> dict[str, Any]:
        """The focused member's latest per-layer records from the diagnostics (histograms,
        saturation, dead units, gradient norms, update:data, symmetry); reads every member's
        verdict again when the statistics are new.  ``with_first`` adds the records of the
        first step (for a page that starts drawing this member's history)."""
        st = self._stats
        assert st is not None and st.latest_step is not None
        from initlab.diagnostics import THRESHOLDS, judge

        if self._verdict is None:
            t0 = time.perf_counter()
            t = self.trainer
            assert t is not None
            history = t.history()
            ref = self._reference()
            judged = [
                judge(
                    history,
                    member=k,
                    reference=None if ref is None or ref == k else history,
                    reference_member=0 if ref is None else ref,
                    predict=False,
                )
                for k in range(self.population)
            ]
            # the findings per member (as before), and the two-part verdict: its sentence,
            # status, at_init and in_training (docs/diagnostics.md)
            self._verdict = [[f.to_dict() for f in v.findings] for v in judged]
            self._verdict_parts = [v.to_dict() for v in judged]
            self._verdict_step = st.latest_step
            self._verdict_seconds = time.perf_counter() - t0

        by_member: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for r in st.inner.records:
            by_member.setdefault((r["step"], r["member"]), []).append(r)
        edges = {k: st.inner.edges_for(k) for k in range(self.population)}

        def rows(step: int | None, member: int) -> list[dict[str, Any]]:
            table = edges[member] if step == st.latest_step else st.first_edges.get(member, {})
            out = []
            for r in by_member.get((step, member), []):
                row = {k: v for k, v in r.items() if k not in _NOT_SHOWN}
                for key in ("z", "a"):  # the bins' range of this record (its edges follow it)
                    e = table.get(f"{key}{r['layer']}")
                    row[f"{key}_range"] = None if e is None else [e[0], e[-1]]
                out.append(row)
            return out

        first = None
        if with_first and st.first_step != st.latest_step:
            first = {
                "step": st.first_step,
                "layers": rows(st.first_step, self.focus),
                "members": [rows(st.first_step, k) for k in range(self.population)],
            }
        return {
            "member": self.focus,
            "step": st.latest_step,
            "layers": rows(st.latest_step, self.focus),
            "first": first,
            # every member's latest rows: the page keeps each compared scheme's own history
            "members": [rows(st.latest_step, k) for k in range(self.population)],
            "edges": edges[self.focus] | {"grad_log10": _grad_edges()},
            "thresholds": THRESHOLDS.to_dict(),
        }

    def _reference(self) -> int | None:
        """In compare mode, the first member trained with a scheme recommended for the
        activation: the verdict's reference for the ``slow`` rule (None if there is none)."""
        b = self.built
        if b is None or not b.request.compare:
            return None
        from initlab.schemes import recommend

        name, _, param = b.request.config.activation.partition(":")
        try:
            names = {s.name for s in recommend(name, float(param) if param else None)}
        except ValueError:
            return None
        for k, c in enumerate(b.request.configs):
            if c.init.partition(":")[0] in names:
                return k
        return None

    def frame(self, boundary: bool | None = None, *, full: bool = False) -> dict[str, Any]:
        """The ``frame`` message: step, cost and accuracy of every member on both splits, the
        focused member's weights for the network diagram, and, when they are new (or
        ``full``), the diagnostics and the verdict, and the decision boundary (``boundary``:
        force it on or off; by default when due, its computation kept under about a quarter
        of the time)."""
        b, t, net = self.built, self.trainer, self.net
        assert b is not None and t is not None and net is not None
        ds = b.dataset
        tr = evaluate(net, ds.X_train, b.Y_train, b.loss)
        te = evaluate(net, ds.X_test, b.Y_test, b.loss) if ds.n_test else None
        members = []
        for k in range(net.population):
            members.append(
                {
                    "cost_train": _num(tr["cost"][k]),
                    "cost_test": None if te is None else _num(te["cost"][k]),
                    "acc_train": _num(tr["accuracy"][k]),
                    "acc_test": None if te is None else _num(te["accuracy"][k]),
                    "diverged_at": t.diverged_at[k],
                }
            )
        now = time.perf_counter()
        if now - self._rate_t0 >= 0.5:
            self._rate = (t.step - self._rate_step0) / (now - self._rate_t0)
            self._rate_t0, self._rate_step0 = now, t.step
        out: dict[str, Any] = {
            "type": "frame",
            "run": self.run_id,
            "step": t.step,
            "running": self.running,
            "done": self.done,
            "steps_limit": self.steps_limit,
            "steps_per_second": round(self._rate, 1),
            "members": members,
            "diagram": self._diagram(),
        }
        st = self._stats
        key = None if st is None else (st.latest_step, self.focus)
        if key is not None and key[0] is not None and (key != self._stats_sent or full):
            fresh = full or self._stats_sent is None or self._stats_sent[1] != self.focus
            out["diag"] = self._diagnostics(with_first=fresh)
            out["verdict"] = self._verdict
            out["verdict_parts"] = self._verdict_parts
            out["verdict_step"] = self._verdict_step
            out["reference"] = self._reference()
            self._stats_sent = key
        if boundary is None:  # when due, a slice per frame; its cost kept under about a quarter
            if now >= self._boundary_next or self._slices is not None:
                t0 = time.perf_counter()
                b = self._boundary(whole=False)
                self._boundary_spent += time.perf_counter() - t0
                if b is not None:
                    out["boundary"] = b
                    self._boundary_next = time.perf_counter() + 3.0 * self._boundary_spent
                    self._boundary_spent = 0.0
        elif boundary:
            t0 = time.perf_counter()
            out["boundary"] = self._boundary(whole=True)
            self._boundary_next = time.perf_counter() + 3.0 * (time.perf_counter() - t0)
            self._boundary_spent = 0.0
        return out
