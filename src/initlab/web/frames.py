"""The messages a :class:`initlab.web.session.Session` sends the page: ``ready`` (what stays
fixed for a configuration) and ``frame`` (step, costs and accuracies, the network diagram, the
diagnostics and verdict when new, the decision boundary when due), with their compact
encodings (float32 and byte arrays as base64)."""

from __future__ import annotations

import base64
import math
import time
from typing import Any

import numpy as np

from initlab.network import predict
from initlab.train import evaluate
from initlab.web.protocol import MAX_CELLS

__all__ = ["BOUNDARY_SLICE_CELLS", "DIAGRAM_UNITS", "Frames"]

#: Units per layer drawn in the network diagram (the rest are counted, not drawn).
DIAGRAM_UNITS = 12
#: Activations one slice of the decision boundary may compute while training (population x
#: grid points x units): a large grid is spread over several frames, so none of them stalls.
BOUNDARY_SLICE_CELLS = 300_000
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


class Frames:
    """The :class:`~initlab.web.session.Session` methods that describe its state as messages
    (they read the session's run, never change its training).  The session's state they read
    (and the frame bookkeeping they keep) is set by :class:`~initlab.web.session.Session`."""

    built: Any
    net: Any
    trainer: Any
    focus: int
    run_id: int
    running: bool
    population: int
    steps_limit: int
    done: bool

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
        from initlab.diagnostics import THRESHOLDS

        if self._verdict is None:
            self._judge()

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

    def _judge(self) -> None:
        """Every member's verdict from the diagnostics, read again (their statistics are
        new)."""
        from initlab.diagnostics import judge

        st = self._stats
        assert st is not None
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
        t = self.trainer
        assert t is not None
        members = self._members()
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
        self._add_boundary(out, boundary, now)
        return out

    def _members(self) -> list[dict[str, Any]]:
        """Cost and accuracy of every member on both splits (None where not finite), and the
        step each diverged at."""
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
        return members

    def _add_boundary(self, out: dict[str, Any], boundary: bool | None, now: float) -> None:
        """Put the decision boundary in the frame ``out``: ``boundary`` None when due (a slice
        per frame), True now and whole, False never."""
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
