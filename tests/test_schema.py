"""One JSON schema: every surface emits strict JSON in the one convention that validates
against ``initlab/schema/initlab.schema.json`` -- the web API (responses and WebSocket
messages), the run store's rows and exports, ``results.json`` of a quick study, and the
``--json`` outputs of ``train`` and ``theory``."""

from __future__ import annotations

import json
import math
import warnings

import pytest

jsonschema = pytest.importorskip("jsonschema")

from initlab import _json  # noqa: E402
from initlab._schema import KINDS, load_schema, validate  # noqa: E402
from initlab.cli import main  # noqa: E402
from initlab.config import RunConfig, run  # noqa: E402
from initlab.diagnostics import LayerStats, verdict  # noqa: E402
from initlab.store import Store  # noqa: E402


def strict(text: str):
    """Decode ``text`` refusing NaN/Infinity tokens (they are not JSON)."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c!r} is not JSON"))


def test_the_schema_is_a_valid_json_schema_with_the_one_number_type():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["nonfinite"]["enum"] == list(_json.NONFINITE)
    for kind in ("train_output", "web_frame", "api_config", "store_run", "study_results"):
        assert kind in KINDS


def test_the_number_type_takes_the_convention_and_nothing_else():
    validate({"label": "x", "status": "ok", "final_cost": "nan", "train_accuracy": None,
              "test_accuracy": 0.5, "steps_run": 3}, "run_summary")  # fmt: skip
    for bad in ("NaN", "Infinity", "1.0", None):
        doc = {"label": "x", "status": "ok", "final_cost": bad, "train_accuracy": None,
               "test_accuracy": 0.5, "steps_run": 3}  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            validate(doc, "run_summary")
    with pytest.raises(ValueError, match="kind="):
        validate({}, "nope")


# ------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize(
    "argv",
    [
        ["--steps", "5"],
        ["--steps", "5", "--diagnose"],
        ["--lr", "1e308", "--steps", "3", "--diagnose"],  # diverged: final cost "nan"
    ],
)
def test_train_json_validates(argv, capsys):
    assert main(["train", "--json", *argv]) == 0
    doc = strict(capsys.readouterr().out)
    validate(doc, "train_output")
    if "1e308" in argv:
        assert doc["result"]["final_cost"] in _json.NONFINITE


def test_theory_json_validates(capsys):
    assert main(["theory", "--json"]) == 0
    doc = strict(capsys.readouterr().out)
    validate(doc, "theory_mean_field")
    assert main(["theory", "--json", "--layers", "10,10,2"]) == 0
    validate(strict(capsys.readouterr().out), "theory_layers")


# ---------------------------------------------------------------------------- store


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    base = RunConfig(hidden=(4, 3), activation="linear", optimizer="gd", lr=0.5, steps=8)
    configs = [base.replace(init="xavier_normal"), base.replace(init="large:std=1e100", seed=1)]
    result = run(configs, [LayerStats(every=4)], eval_every=4)
    members = [("xavier_normal", 0), ("large", 1)]
    verdicts = [[f.to_dict() for f in verdict(result.history, k)] for k in range(2)]
    path = tmp_path_factory.mktemp("store") / "runs.sqlite"
    with Store(path) as st:
        ids = st.save_population(None, "p", "test", {}, result, members, verdicts)
    return path, ids


def test_store_json_columns_are_strict_json_in_the_convention(stored):
    import sqlite3

    path, ids = stored
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT config, evals, layer_stats, verdict FROM runs").fetchall()
    finally:
        con.close()
    texts = [t for row in rows for t in row]
    assert texts and all(isinstance(t, str) for t in texts)
    for t in texts:
        strict(t)  # no NaN tokens: SQLite's JSON functions and other readers accept it
    assert any('"nan"' in t or '"inf"' in t for t in texts)  # the diverged member's numbers
    for row in rows:
        validate(strict(row[0]), "run_config")


def test_store_export_validates_and_reads_back_as_floats(stored, capsys):
    path, ids = stored
    with Store(path) as st:
        back = st.run(ids[1])
    values = [v for rec in back["layer_stats"] for v in rec.values() if isinstance(v, float)]
    assert any(not math.isfinite(v) for v in values)  # read back as floats, not strings
    assert main(["runs", "export", str(ids[1]), "--store", str(path)]) == 0
    validate(strict(capsys.readouterr().out), "store_run")
    assert main(["runs", "list", "--json", "--store", str(path)]) == 0
    strict(capsys.readouterr().out)


# ---------------------------------------------------------------------------- study


def test_results_json_of_a_quick_study_validates(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["study", "--quick", "--only", "zero_relu", "--no-store", "--out", str(out), "--json"]
    assert main(argv) == 0
    printed = strict(capsys.readouterr().out)
    written = strict((out / "results.json").read_text())
    for doc in (printed, written):
        validate(doc, "study_results")
    assert printed["experiments"] == written["experiments"]


# ------------------------------------------------------------------------------ web


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from initlab.web import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_web_api_responses_validate(client):
    r = client.get("/api/options")
    validate(strict(r.text), "api_options")
    r = client.post("/api/config", json={"config": {"hidden": [3]}, "compare": ["zeros", "small"]})
    assert r.status_code == 200
    validate(strict(r.text), "api_config")
    r = client.post("/api/config", json={"config": {"lr": -1}})
    assert r.status_code == 422
    validate(strict(r.text), "error")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_web_messages_validate_including_a_diverged_run(client):
    diverging = {"init": "large", "activation": "linear", "optimizer": "gd", "lr": 50.0}
    with client.websocket_connect("/ws") as ws:
        seen = set()
        ws.send_json({"type": "config", "config": {"n_samples": 60, **diverging}})
        ws.send_json({"type": "step", "n": 200})
        ws.send_json({"type": "focus", "member": 0})
        ws.send_json({"type": "step", "n": 0})  # an error
        while "error" not in seen:
            text = ws.receive_text()
            doc = strict(text)
            validate(doc, "web_message")
            validate(doc, {"ready": "web_ready", "frame": "web_frame"}.get(doc["type"], "error"))
            seen.add(doc["type"])
            if doc["type"] == "frame" and doc["members"][0]["diverged_at"] is not None:
                seen.add("diverged")
        assert {"ready", "frame", "diverged", "error"} <= seen
