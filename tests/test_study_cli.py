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
    assert (tmp_path / "initlab-out" / "report.html").is_file()
    monkeypatch.setenv("INITLAB_STORE", str(tmp_path / "elsewhere" / "s.sqlite"))
    assert main(["study", "--quick", "--only", "worked_example"]) == 0
    assert (tmp_path / "elsewhere" / "s.sqlite").is_file()
    assert main(["runs", "list", "--studies"]) == 0


def test_list_experiments(capsys):
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    assert "zero_relu" in out and "worked_example" in out and "measures:" in out
