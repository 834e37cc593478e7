"""``initlab study`` and ``initlab runs`` end to end: report files, store commands, rebuild,
errors, default store location."""

import json

import pytest

from initlab.cli import main

ONLY = "zero_relu,xavier_relu_deep,worked_example"


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A quick study of three experiments, written to a temporary store and folder."""
    pytest.importorskip("matplotlib")
    d = tmp_path_factory.mktemp("cli")
    store, out = d / "runs.sqlite", d / "out"
    code = main(["study", "--quick", "--only", ONLY, "--out", str(out), "--store", str(store)])
    assert code == 0
    return d, store, out


def test_report_files(done):
    _, _, out = done
    data = json.loads((out / "results.json").read_text())
    assert [e["name"] for e in data["experiments"]] == ONLY.split(",")
    html = (out / "report.html").read_text(encoding="utf-8")
    pngs = sorted((out / "figures").glob("*.png"))
    assert len(pngs) == 2  # quick: one figure per experiment; the worked example has none
    assert html.count("data:image/png;base64,") == len(pngs)
    low = html.lower()
    assert "http://" not in low and "https://" not in low  # opens offline: nothing external
    assert "<script" not in low and "<link" not in low and "@import" not in low
    assert html.count("src=") == html.count('src="data:image/png;base64,')
    for e in data["experiments"]:
        assert f'id="{e["name"]}"' in html and e["key_figure"].split(";")[0][:40] in html
    md = (out / "report.md").read_text()
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{p.name}" in md


def test_table_and_json_output(done, capsys):
    d, store, _ = done
    code = main(
        ["study", "--quick", "--only", "worked_example", "--out", str(d / "j"), "--no-store"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "claim" in out and "verdict" in out and "worked example" in out
    code = main(
        ["study", "--quick", "--only", "worked_example", "--out", str(d / "j"), "--json",
         "--no-store"]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["summary"][0]["name"] == "worked_example" and data["study_id"] is None


def test_runs_list_show_export(done, capsys, tmp_path):
    _, store, out = done
    data = json.loads((out / "results.json").read_text())
    ids = sorted({i for e in data["experiments"] for i in e["run_ids"]})
    assert main(["runs", "--store", str(store), "list", "--study", "1", "--limit", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + len(ids)
    assert main(["runs", "list", "--studies", "--store", str(store)]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["runs", "show", str(ids[0]), "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "config" in shown and "verdict:" in shown and "per-layer statistics" in shown
    assert main(["runs", "show", "1", "--study", "--store", str(store)]) == 0
    assert "zero_relu" in capsys.readouterr().out
    assert main(["runs", "export", str(ids[0]), "--store", str(store)]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["id"] == ids[0] and len(run["cost"]) == run["config"]["steps"]
    assert run["layer_stats"] and run["params"]
    f = tmp_path / "run.csv"
    assert main(["runs", "export", str(ids[0]), "--format", "csv", "-o", str(f), "--store",
                 str(store)]) == 0  # fmt: skip
    rows = f.read_text().strip().splitlines()
    assert rows[0] == "step,cost" and len(rows) == 1 + run["config"]["steps"]
    assert float(rows[1].split(",")[1]) == run["cost"][0]


def test_runs_list_says_how_many_it_hides(done, capsys):
    _, store, _ = done
    assert main(["runs", "list", "--limit", "0", "--store", str(store)]) == 0
    everything = capsys.readouterr().out
    n = len(everything.strip().splitlines()) - 2
    assert "shown" not in everything and n > 2
    assert main(["runs", "list", "--limit", "2", "--store", str(store)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 + 2 + 1
    assert out[-1] == f"(2 of {n} runs shown, newest first; --limit 0 shows all)"
    assert main(["runs", "list", "--limit", "2", "--json", "--store", str(store)]) == 0
    res = capsys.readouterr()
    assert len(json.loads(res.out)) == 2 and f"2 of {n} runs shown" in res.err
    assert main(["runs", "list", "--limit", str(n), "--store", str(store)]) == 0
    assert "shown" not in capsys.readouterr().out  # nothing hidden, nothing said


@pytest.mark.parametrize("limit", ["-5", "1e23", "99999999999999999999", "two"])
def test_runs_list_bad_limit_is_an_error(done, capsys, limit):
    _, store, _ = done
    with pytest.raises(SystemExit) as e:
        main(["runs", "list", "--limit", limit, "--store", str(store)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert (
        f"--limit: must be a whole number from 0 (all rows) to 9223372036854775807, got {limit!r}"
        in err
    )


def test_huge_run_and_study_ids_are_one_line_errors(done, capsys):
    _, store, _ = done
    for argv in (
        ["runs", "show", "9999999999999999999999"],
        ["runs", "show", "9999999999999999999999", "--study"],
        ["runs", "export", "99999999999999999999999"],
        ["runs", "list", "--study", "9999999999999999999999"],
        ["runs", "delete", "9223372036854775808"],
    ):
        assert main([*argv, "--store", str(store)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "not a whole number from 1 to 9" in err
        assert str(store) in err and "Traceback" not in err


def test_rebuild_then_delete(done, capsys):
    d, store, out = done
    re_out = d / "rebuilt"
    assert main(["study", "--from-store", "1", "--out", str(re_out), "--store", str(store)]) == 0
    capsys.readouterr()
    a = json.loads((out / "results.json").read_text())
    b = json.loads((re_out / "results.json").read_text())
    assert a["experiments"] == b["experiments"] and b["notes"] == []
    assert sorted(p.name for p in (re_out / "figures").glob("*.png")) == sorted(
        p.name for p in (out / "figures").glob("*.png")
    )
    # delete one run: listing shrinks, and the rebuild falls back to the stored result
    victim = a["experiments"][0]["run_ids"][0]
    assert main(["runs", "delete", str(victim), "--store", str(store)]) == 0
    assert main(["runs", "show", str(victim), "--store", str(store)]) == 2
    assert "no run with id" in capsys.readouterr().err
    assert main(["study", "--from-store", "latest", "--out", str(d / "r2"), "--store",
                 str(store)]) == 0  # fmt: skip
    assert "zero_relu:" in capsys.readouterr().out  # the note about the deleted run
    c = json.loads((d / "r2" / "results.json").read_text())
    assert c["experiments"][0]["verdict"] == a["experiments"][0]["verdict"]
    assert c["experiments"][0]["numbers"] == a["experiments"][0]["numbers"]
    assert main(["runs", "delete", "1", "--study", "--store", str(store)]) == 0
    assert main(["runs", "list", "--store", str(store)]) == 0
    assert "no runs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "--only", "nope"], "zero_relu, zero_tanh, zero_sigmoid"),
        (["study", "--seeds", "0"], "seeds"),
        (["study", "--jobs", "0", "--no-store"], "--jobs 0: must be an integer >= 1"),
        (["study", "--dataset", "bogus"], "dataset"),
        (["study", "--from-store", "1", "--no-store"], "--no-store"),
        (["study", "--store", "x.sqlite", "--no-store"], "not both"),
        (["study", "--from-store", "1", "--quick"], "--quick"),
        (["runs", "show", "7"], "no run store"),
    ],
)
def test_cli_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INITLAB_STORE", str(tmp_path / "missing.sqlite"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and message in err


def test_runs_errors(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    assert main(["study", "--quick", "--only", "worked_example", "--out", str(tmp_path / "o"),
                 "--store", str(store)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["runs", "show", "999", "--store", str(store)]) == 2
    assert main(["runs", "export", "x", "--store", str(store)]) == 2
    assert main(["runs", "delete", "999", "--study", "--store", str(store)]) == 2
    assert main(["runs", "--store", str(store)]) == 2  # no action: help
    assert main(["study", "--from-store", "99", "--store", str(store), "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    assert "no study with id 99" in capsys.readouterr().err


def test_default_store_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INITLAB_STORE", raising=False)
    assert main(["study", "--quick", "--only", "worked_example"]) == 0
    assert (tmp_path / "initlab-out" / "runs.sqlite").is_file()
    # a quick run has its own folder: it never replaces the full report
    assert (tmp_path / "initlab-out" / "quick" / "report.html").is_file()
    assert not (tmp_path / "initlab-out" / "report.html").exists()
    monkeypatch.setenv("INITLAB_STORE", str(tmp_path / "elsewhere" / "s.sqlite"))
    assert main(["study", "--quick", "--only", "worked_example"]) == 0
    assert (tmp_path / "elsewhere" / "s.sqlite").is_file()
    assert main(["runs", "list", "--studies"]) == 0


def test_list_experiments(capsys):
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    assert "zero_relu" in out and "worked_example" in out and "measures:" in out


def test_from_store_with_a_missing_store_is_an_error_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "missing.sqlite"
    argv = ["study", "--from-store", "1", "--store", str(missing), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "no run store at" in capsys.readouterr().err
    assert not missing.exists()


def test_the_interrupt_message_names_the_study_this_process_started(tmp_path, capsys, monkeypatch):
    """Another study begins on the same store while ours runs; Ctrl-C in ours names ours."""
    import initlab.study as study_pkg
    from initlab.store import Store

    store = tmp_path / "s.sqlite"
    real = study_pkg.run_study

    class Interrupt:
        name = "interrupt"

        def wants(self, step, last):
            return True

        def __call__(self, event):
            raise KeyboardInterrupt

        def result(self):
            return None

    def other_study_then_ctrl_c(key):
        with Store(store) as other:
            other.begin_study({"other": True}, {})
        return [Interrupt()]

    def run_study(options, st, **kw):
        return real(options, st, probe_factory=other_study_then_ctrl_c, **kw)

    monkeypatch.setattr(study_pkg, "run_study", run_study)
    argv = ["study", "--quick", "--only", "zero_relu", "--out", str(tmp_path / "o")]
    assert main([*argv, "--store", str(store), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "study 1 interrupted" in err and "--from-store 1" in err and "study 2" not in err
    with Store(store) as st:
        assert st.study(1)["status"] == "interrupted" and st.study(2)["status"] == "running"


def _children(pid: int) -> set[int]:
    """The pids of the live processes whose parent is ``pid`` (from /proc)."""
    from pathlib import Path

    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                after = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(after[1]) == pid and after[0] not in "ZX":
                out.add(int(d.name))
    return out


def _running(pid: int) -> bool:
    from pathlib import Path

    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] not in (
            "Z",
            "X",
        )
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="reads /proc (Linux)")
def test_sigkill_leaves_no_child_behind_and_the_study_is_marked_interrupted(tmp_path, capsys):
    """kill -9 a study while its two workers (and multiprocessing's resource tracker)
    run: none of them outlives it by more than 5 s, and the next open of the store marks the
    study interrupted and says so."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    pytest.importorskip("matplotlib")
    from initlab.store import Store

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    store = tmp_path / "s.sqlite"
    argv = ["study", "--quick", "--jobs", "2", "--out", str(tmp_path / "o")]
    p = subprocess.Popen(
        [sys.executable, "-m", "initlab", *argv, "--store", str(store)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        kids: set[int] = set()
        deadline = time.monotonic() + 120
        while len(kids) < 3 and time.monotonic() < deadline:  # 2 workers + resource tracker
            assert p.poll() is None, "the study ended before its workers started"
            kids |= _children(p.pid)
            time.sleep(0.05)
        assert len(kids) >= 3, f"expected 2 workers and the resource tracker, found {kids}"
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        killed = time.monotonic()
        while any(_running(k) for k in kids) and time.monotonic() - killed < 5.0:
            time.sleep(0.05)
        left = [k for k in kids if _running(k)]
        assert not left, f"children still running 5 s after the study was killed: {left}"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for k in kids:
            if _running(k):
                os.kill(k, signal.SIGKILL)
    assert p.returncode == -signal.SIGKILL
    with Store(store) as st:
        assert st.study(1)["status"] == "interrupted"
        assert st.notes == [
            f"study 1 was still marked running, but its process (pid {p.pid}) is gone: marked "
            "interrupted"
        ]


def test_quick_never_replaces_a_full_report(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    full = {"options": {"quick": False}, "experiments": []}
    (out / "results.json").write_text(json.dumps(full))
    (out / "report.html").write_text("the full report")
    store = tmp_path / "s.sqlite"
    argv = [
        "study",
        "--quick",
        "--only",
        "worked_example",
        "--out",
        str(out),
        "--store",
        str(store),
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert (out / "report.html").read_text() == "the full report"
    assert (out / "quick" / "report.html").is_file()
    assert "holds a full study's report" in captured.err and str(out / "quick") in captured.err
    # the hints keep the store, so they work as pasted
    assert f"--from-store 1 --store {store}" in captured.out
    assert "quick settings" in captured.out
