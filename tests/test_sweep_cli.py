"""``initlab sweep`` and ``initlab runs list --sweeps``: plan, run, output, errors."""

from __future__ import annotations

import csv
import json
import re

import pytest

from initlab.cli import main
from initlab.sweep import cell_flops, grid, make_plan

TINY = ["--steps", "5", "--n-samples", "40", "--optimizer", "gd", "--workers", "1"]


def test_dry_run_prints_cells_batches_and_cost_and_writes_nothing(tmp_path, capsys) -> None:
    store = tmp_path / "runs.sqlite"
    argv = ["sweep", "--grid", "seed=0..3", "--grid", "hidden=4x1..4x3", *TINY]
    assert main([*argv, "--store", str(store), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cells        12" in out
    assert "populations  3 (3 of 4 members)" in out
    assert "FLOPs" in out and "s on one worker" in out
    assert not store.exists()
    assert main([*argv, "--store", str(store), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    ref = make_plan(
        grid({"seed": "0..3", "hidden": "4x1..4x3"}, steps=5, n_samples=40, optimizer="gd")
    )
    assert plan["cells"] == 12 and plan["populations"] == 3
    assert plan["estimate"]["flops"] == sum(cell_flops(c.config) for c in ref.cells)
    assert plan["key"] == ref.key


def test_json_one_record_per_cell_csv_and_store(tmp_path, capsys) -> None:
    store, out_csv = tmp_path / "runs.sqlite", tmp_path / "cells.csv"
    argv = ["sweep", "--grid", "seed=0..2", "--grid", "lr=0.1,0.01", *TINY]
    rc = main([*argv, "--store", str(store), "--json", "--csv", str(out_csv)])
    assert rc == 0
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()
    assert len(lines) == 6
    recs = [json.loads(x) for x in lines]
    assert [r["cell"] for r in recs] == list(range(6))
    assert recs[1]["values"] == {"seed": 0, "lr": 0.01} and recs[1]["config"]["lr"] == 0.01
    assert all(r["status"] == "ok" and r["config"]["steps"] == 5 for r in recs)
    rows = list(csv.DictReader(out_csv.open()))
    assert [float(r["final_cost"]) for r in rows] == [r["final_cost"] for r in recs]
    assert "6 trained" in cap.err
    # the same command again trains nothing
    assert main([*argv, "--store", str(store), "--json"]) == 0
    assert "0 trained, 6 already recorded (resumed)" in capsys.readouterr().err
    assert main(["runs", "--store", str(store), "list", "--sweeps", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 1 and listed[0]["recorded"] == 6 and listed[0]["status"] == "complete"
    assert main(["sweep", "--store", str(store), "--from-store", "latest"]) == 0
    assert "6 of 6 cells recorded" in capsys.readouterr().out
    assert main(["runs", "--store", str(store), "list", "--studies"]) == 0
    beside = capsys.readouterr().out.split("\nsweeps\n")[1]
    assert "seed x lr" in beside and "complete" in beside
    assert main(["sweep", "--store", str(store), "--delete", "1"]) == 0
    assert "deleted sweep 1 and its 6 cells" in capsys.readouterr().out
    assert main(["runs", "--store", str(store), "list", "--sweeps"]) == 0
    assert capsys.readouterr().out.strip() == "no sweeps"


def test_a_store_without_sweeps(tmp_path, capsys) -> None:
    from initlab.store import Store

    Store(tmp_path / "s.sqlite").close()  # a store with studies' tables only
    assert main(["runs", "--store", str(tmp_path / "s.sqlite"), "list", "--sweeps"]) == 0
    assert capsys.readouterr().out.strip() == "no sweeps"
    assert main(["sweep", "--store", str(tmp_path / "s.sqlite"), "--from-store", "1"]) == 2
    assert "holds no sweep yet" in capsys.readouterr().err
    assert main(["sweep", "--store", str(tmp_path / "none.sqlite"), "--from-store", "1"]) == 2
    assert not (tmp_path / "none.sqlite").exists()


def test_failed_cell_reported_exit_1(tmp_path, capsys) -> None:
    argv = ["sweep", "--grid", "init=he_normal,dirac", *TINY, "--store", str(tmp_path / "s")]
    assert main(argv) == 1
    cap = capsys.readouterr()
    assert "1 failed" in cap.err and "dirac needs a convolution kernel" in cap.err
    assert "he_normal" in cap.out and "Traceback" not in cap.err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--grid", "seed=0..x"], ["seed", "'x'", "allowed"]),
        (["--grid", "depth=1..3"], ["'depth'", "RunConfig field"]),
        (["--grid", "steps=1,2", "--steps", "5"], ["steps", "also set by a flag"]),
        (["--grid", "seed=0..1", "--metric", "loss"], ["--metric 'loss'", "final_cost"]),
        (["--grid", "seed=0..1", "--scheduler", "host:1"], ["scheduler='host:1'", "tcp://"]),
        (["--grid", "seed=0..1", "--workers", "0"], ["workers=0", ">= 1"]),
        (["--grid", "lr=-1,0.1"], ["lr", "-1"]),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, capsys, extra, words) -> None:
    argv = ["sweep", *extra, "--store", str(tmp_path / "s.sqlite")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("initlab sweep: error:") and "Traceback" not in err
    for w in words:
        assert w in err


def test_toml_spec_with_flags_over_fixed(tmp_path, capsys) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        '[fixed]\nsteps = 30\nn_samples = 40\noptimizer = "gd"\nhidden = [3, 3]\n'
        '[grid]\nseed = "0..1"\ninit = ["he_normal", "variance_scaling:scale={1,2}"]\n'
        "[sweep]\nmax_population = 2\n"
    )
    argv = ["sweep", str(spec), "--steps", "7", "--workers", "1"]
    assert main([*argv, "--store", str(tmp_path / "s.sqlite"), "--json"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(recs) == 6
    assert {r["config"]["steps"] for r in recs} == {7}  # the flag wins over [fixed]
    assert {tuple(r["config"]["hidden"]) for r in recs} == {(3, 3)}
    assert [r["config"]["init"] for r in recs[:3]] == [
        "he_normal",
        "variance_scaling:scale=1",
        "variance_scaling:scale=2",
    ]
    spec.write_text('[grid]\nseed = "0..1"\n[sweep]\nretries = 3\n')
    assert main(["sweep", str(spec), "--dry-run"]) == 2
    assert "retries" in capsys.readouterr().err


def test_plot_writes_heatmap_and_lines(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    argv = ["sweep", "--grid", "seed=0..1", "--grid", "hidden=4x1,4x2", "--grid", "lr=0.1,0.01"]
    out = tmp_path / "figs"
    rc = main([*argv, *TINY, "--store", str(tmp_path / "s"), "--plot", str(out)])
    assert rc == 0
    assert (out / "heatmap.png").stat().st_size > 2000
    assert (out / "lines.png").stat().st_size > 2000


def test_progress_bar_on_a_terminal(tmp_path) -> None:
    """Under a pseudo-terminal the sweep draws the shared bar: cells done of all and the
    failed count, ending as one clean line; piped, it draws nothing."""
    pytest.importorskip("pyte")
    from test_progress import _run_in_pty, _run_piped, _screen

    args = ["sweep", "--grid", "seed=0..5", "--grid", "init=he_normal,dirac", *TINY]
    rc, raw = _run_in_pty([*args, "--store", "a.sqlite"], tmp_path)
    assert rc == 1, raw.decode(errors="replace")  # the dirac cells fail
    lines = _screen(raw)
    bar = re.compile(r"sweep \u2501+ 12/12 \d:\d\d:\d\d failed 6")
    assert sum(bool(bar.fullmatch(x)) for x in lines) == 1, "\n".join(lines)
    piped = _run_piped([*args, "--store", "b.sqlite"], tmp_path)
    assert piped.returncode == 1 and "\u2501" not in piped.stderr
    quiet = _run_in_pty([*args, "--store", "c.sqlite", "--quiet"], tmp_path)[1]
    assert "\u2501" not in quiet.decode()


def test_a_missing_extra_is_an_error_not_a_traceback(tmp_path, capsys, monkeypatch) -> None:
    import builtins

    real = builtins.__import__

    def no_dask(name, *a, **k):
        if name.startswith("distributed"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    argv = ["sweep", "--grid", "seed=0..1", "--dask-local", "1", "--store", str(tmp_path / "s")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert 'pip install "initlab[dask]"' in err and "Traceback" not in err
