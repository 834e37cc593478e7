"""Running sweeps: the same numbers on local processes, on a Dask LocalCluster and from the
engine directly; a failing cell recorded while the others go on; resume after SIGINT and
after a killed worker without redoing finished cells."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from initlab import config as C
from initlab.sweep import (
    LocalExecutor,
    SweepInterrupted,
    SweepStore,
    grid,
    make_plan,
    run_sweep,
    sweep,
)

# 200 tiny cells: 10 seeds x 2 schemes x 2 learning rates x 5 depths, 10 full-batch GD steps
# on 40 points; one of the schemes (dirac) cannot initialise a dense layer, so 100 cells fail.
GRID = {
    "seed": "0..9",
    "init": "he_normal,dirac",
    "lr": "1e-2..1e-1:log2",
    "hidden": "4x1..4x5",
}
FIXED = {"steps": 10, "n_samples": 40, "optimizer": "gd"}


def _numbers(results) -> list[tuple]:
    return [
        (
            r["cell"],
            r["status"],
            r["final_cost"],
            r["train_accuracy"],
            r["test_accuracy"],
            r["error"],
        )
        for r in results.rows
    ]


@pytest.fixture(scope="module")
def local_200(tmp_path_factory):
    path = tmp_path_factory.mktemp("local") / "runs.sqlite"
    return path, sweep(grid(GRID, **FIXED), store=path, workers=2)


def test_200_cells_locally_with_failing_cells_recorded(local_200) -> None:
    path, res = local_200
    assert len(res) == 200
    failed = [r for r in res.rows if r["status"] == "failed"]
    ok = [r for r in res.rows if r["status"] == "ok"]
    assert len(failed) == 100 and len(ok) == 100
    assert all(r["values"]["init"] == "dirac" for r in failed)
    assert all("dirac needs a convolution kernel" in r["error"] for r in failed)
    assert all(np.isfinite(r["final_cost"]) for r in ok)
    assert res.sweep["status"] == "failed cells"


def test_sweep_numbers_are_the_engines_numbers(local_200) -> None:
    """Batched into populations, a cell trains exactly as it does alone through config.run."""
    _, res = local_200
    for r in res.rows[::17]:
        if r["status"] != "ok":
            continue
        alone = C.run(C.RunConfig.from_dict(r["config"]))
        assert r["final_cost"] == float(alone.history.final_cost[0])
        assert r["test_accuracy"] == alone.summary()["test_accuracy"]


def test_dask_local_cluster_gives_identical_numbers(local_200, tmp_path) -> None:
    pytest.importorskip("distributed")
    _, local = local_200
    dask = sweep(grid(GRID, **FIXED), store=tmp_path / "dask.sqlite", dask_local=2)
    assert _numbers(dask) == _numbers(local)


def test_resume_skips_finished_and_retries_failed(local_200, tmp_path) -> None:
    path, first = local_200
    with SweepStore(path) as s:
        before = {r[0]: r[1] for r in s.conn.execute("SELECT cell, id FROM sweep_cells")}
        plan = make_plan(grid(GRID, **FIXED))
        ex = LocalExecutor(1)
        try:
            out = run_sweep(plan, ex, s)
        finally:
            ex.close()
        after = {r[0]: r[1] for r in s.conn.execute("SELECT cell, id FROM sweep_cells")}
    assert out.resumed and out.sweep_id == first.sweep["id"]
    assert out.skipped == 100 and out.trained == 100 and out.failed == 100
    ok_cells = {r["cell"] for r in first.rows if r["status"] == "ok"}
    # finished cells keep their rows (same id); failed ones were trained again (new rows)
    assert all(after[c] == before[c] for c in ok_cells)
    assert all(after[c] != before[c] for c in set(before) - ok_cells)


def _count(path: Path) -> int:
    try:
        with sqlite3.connect(path) as c:
            return c.execute("SELECT count(*) FROM sweep_cells").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


SLOW = [
    "--grid",
    "seed=0..23",
    "--hidden",
    "32,32",
    "--steps",
    "250",
    "--n-samples",
    "200",
    "--optimizer",
    "gd",
    "--max-population",
    "1",
]
LOCAL = ["--workers", "2"]


def _sweep_cmd(path: Path, where: list[str] = LOCAL) -> list[str]:
    return [sys.executable, "-m", "initlab", "sweep", *SLOW, *where, "--store", str(path)]


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
@pytest.mark.parametrize("where", [LOCAL, ["--dask-local", "2"]], ids=["local", "dask"])
def test_sigint_leaves_a_consistent_resumable_store(tmp_path, where) -> None:
    if "--dask-local" in where:
        pytest.importorskip("distributed")
    path = tmp_path / "runs.sqlite"
    # a new session: SIGINT goes to the driver and its workers, as Ctrl-C in a terminal does;
    # only the driver may answer it (no worker traceback)
    p = subprocess.Popen(
        _sweep_cmd(path, where),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _count(path) < 4 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert p.poll() is None, "the sweep finished before it could be interrupted"
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "run the same command again" in err
    with sqlite3.connect(path) as c:
        status = c.execute("SELECT status FROM sweeps").fetchone()[0]
        first = dict(c.execute("SELECT cell, id FROM sweep_cells").fetchall())
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert status == "interrupted"
    assert 4 <= len(first) < 24
    p2 = subprocess.run(_sweep_cmd(path), env=_env(), capture_output=True, text=True, timeout=120)
    assert p2.returncode == 0, p2.stderr
    assert f"{24 - len(first)} trained, {len(first)} already recorded" in p2.stderr
    assert "Traceback" not in p2.stderr
    with sqlite3.connect(path) as c:
        after = dict(c.execute("SELECT cell, id FROM sweep_cells").fetchall())
        assert c.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    assert len(after) == 24
    assert all(after[k] == v for k, v in first.items())  # not redone


def test_killed_worker_stops_the_sweep_resumably(tmp_path) -> None:
    g = grid({"seed": "0..11"}, hidden=(32, 32), steps=400, n_samples=300, optimizer="gd")
    plan = make_plan(g, max_population=1)
    killed = []

    def kill_one(state) -> None:
        if state.done >= 1 and not killed:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with SweepStore(tmp_path / "runs.sqlite") as s:
        ex = LocalExecutor(2)
        with pytest.raises(SweepInterrupted, match="worker process died"):
            run_sweep(plan, ex, s, kill_one)
        ex.close()
        sw = s.sweeps()[0]
        assert sw["status"] == "interrupted"
        recorded = s.finished(sw["id"])
        assert 1 <= len(recorded) < 12
        ex = LocalExecutor(2)
        try:
            out = run_sweep(plan, ex, s)
        finally:
            ex.close()
        assert out.skipped == len(recorded) and out.trained == 12 - len(recorded)
        assert s.sweeps()[0]["status"] == "complete"


@pytest.mark.slow
def test_a_killed_driver_leaves_the_sweep_interrupted_and_resumable(tmp_path) -> None:
    """kill -9 of the driver and its workers: every recorded cell is whole, the sweep reads
    as interrupted (its process is gone), and the same command finishes it."""
    from initlab.store import Store
    from initlab.sweep import list_sweeps

    path = tmp_path / "runs.sqlite"
    p = subprocess.Popen(
        _sweep_cmd(path),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _count(path) < 2 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert p.poll() is None, "the sweep finished before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    with Store(path) as s:
        (sw,) = list_sweeps(s)
    assert sw["status"] == "interrupted" and 2 <= sw["recorded"] < 24
    p2 = subprocess.run(_sweep_cmd(path), env=_env(), capture_output=True, text=True, timeout=120)
    assert p2.returncode == 0, p2.stderr
    assert f"{sw['recorded']} already recorded" in p2.stderr


def test_a_running_scheduler_by_address(tmp_path) -> None:
    """--scheduler tcp://...: a Dask cluster started elsewhere (here a LocalCluster in this
    process, reached by its address) gives the same numbers as local processes."""
    distributed = pytest.importorskip("distributed")
    import logging

    small = {"seed": "0..3", "init": "he_normal,dirac", "lr": "1e-2", "hidden": "4x2"}
    local = sweep(grid(small, **FIXED), store=tmp_path / "a.sqlite", workers=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster:
        remote = sweep(
            grid(small, **FIXED), store=tmp_path / "b.sqlite", scheduler=cluster.scheduler_address
        )
    assert _numbers(remote) == _numbers(local)
    assert sum(r["status"] == "failed" for r in remote.rows) == 4


def test_sweep_tables_hold_strict_json(tmp_path: Path) -> None:
    # the sweep tables are in the store's one JSON convention: a non-finite number is the
    # string "nan" (strict JSON, which SQLite's JSON functions and jq read), read back as NaN
    import json
    import math

    def no_tokens(token: str) -> None:
        raise AssertionError(f"non-strict JSON token {token}")

    with SweepStore(tmp_path / "runs.sqlite") as s:
        sid, resumed = s.open_sweep("k", {"target": math.nan, "grid": [1.0]}, 1)
        raw = s.conn.execute("SELECT spec FROM sweeps WHERE id = ?", (sid,)).fetchone()[0]
        back = s.sweep(sid)["spec"]
    assert not resumed
    assert json.loads(raw, parse_constant=no_tokens)["target"] == "nan"
    assert math.isnan(back["target"]) and back["grid"] == [1.0]
