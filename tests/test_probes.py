"""Probes own their schedule: the loop asks ``wants(step, last)``; Schedule's three kinds; no
import cycle between the loop and the diagnostics."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from initlab import diagnostics as D
from initlab.network import init_network
from initlab.train import Schedule, Trainer, fit

SRC = Path(__file__).resolve().parents[1] / "src" / "initlab"


def _data(m: int = 64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, 2))
    Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    return X, Y


class Recorder:
    """A probe that records the steps it is called at, on a given schedule."""

    def __init__(self, schedule: Schedule, name: str = "rec") -> None:
        self.schedule, self.name, self.steps = schedule, name, []

    def wants(self, step: int, last: int) -> bool:
        return self.schedule.wants(step, last)

    def __call__(self, event) -> None:
        self.steps.append(event.step)

    def result(self) -> list[int]:
        return list(self.steps)


def _trainer(*probes) -> Trainer:
    X, Y = _data()
    return Trainer(init_network([2, 4, 1], seed=0), X, Y, probes=probes)


def test_every_n_steps_plus_the_last_step_of_each_run():
    p = Recorder(Schedule.every(10))
    t = _trainer(p)
    t.run(25)  # steps 0..24
    t.run(7)  # steps 25..31: 30 is a multiple of 10, 31 ends the run
    assert p.steps == [0, 10, 20, 24, 30, 31]


def test_run_ends_sees_step_zero_and_each_runs_last_step():
    p = Recorder(Schedule.run_ends())
    t = _trainer(p)
    for n in (1, 5, 3):
        t.run(n)
    assert p.steps == [0, 5, 8]


def test_on_demand_records_once_per_request_at_the_end_of_the_next_run():
    p = Recorder(Schedule.on_demand())
    t = _trainer(p)
    t.run(4)  # step 0 always; no request: nothing at step 3
    p.schedule.request()
    t.run(4)  # steps 4..7: the request is answered at 7
    t.run(4)  # used up: nothing at 11
    p.schedule.request()
    p.schedule.request()  # two requests before a run are one record
    t.run(2)
    t.run(2)
    assert p.steps == [0, 7, 13]


def test_request_needs_an_on_demand_schedule():
    with pytest.raises(ValueError, match="on_demand"):
        Schedule.every(3).request()


def test_schedule_every_is_validated_with_its_name():
    with pytest.raises(ValueError, match="every"):
        Schedule.every(0)
    with pytest.raises(ValueError, match="every"):
        D.LayerStats(every=-1)


def test_probes_with_different_schedules_in_one_run():
    a, b = Recorder(Schedule.every(4), "a"), Recorder(Schedule.run_ends(), "b")
    X, Y = _data()
    h = fit(init_network([2, 4, 1], seed=0), X, Y, steps=10, probes=[a, b])
    assert h.records == {"a": [0, 4, 8, 9], "b": [0, 9]}


def test_layer_stats_and_evaluate_answer_from_their_schedule():
    X, Y = _data()
    stats = D.LayerStats(every=3)
    h = fit(init_network([2, 4, 1], seed=0), X, Y, steps=8, probes=[stats])
    assert sorted({r["step"] for r in D.layer_stats(h)}) == [0, 3, 6, 7]
    assert [s for s in range(8) if stats.wants(s, 7)] == [0, 3, 6, 7]


def test_a_probe_without_wants_is_a_clear_error():
    class Old:
        name, every = "old", 10

        def __call__(self, event):
            pass

        def result(self):
            return None

    with pytest.raises(TypeError, match=r"probe 'old' has no wants\(step, last\)"):
        _trainer(Old())


def _imports(path: Path) -> set[str]:
    """Every initlab module ``path`` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("initlab"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("initlab"))
    return out


def _module_path(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for p in (SRC / rel.with_suffix(".py"), SRC / rel / "__init__.py"):
        if p.is_file():
            return p
    return None


def test_the_loop_does_not_import_the_diagnostics():
    """Everything initlab.train reaches through its imports (lazy ones too) stays clear of
    initlab.diagnostics, so diagnostics -> train is one-way."""
    seen, todo = set(), ["initlab.train"]
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        todo.extend(_imports(path))
    assert not any(n == "initlab.diagnostics" or n.startswith("initlab.diagnostics.") for n in seen)
    # the direction that stays: the probe (diagnostics/stats.py) imports the loop's types
    assert "initlab.train" in _imports(SRC / "diagnostics" / "stats.py")
