"""The page's server: validation (RunConfig's rules and the limits), the WebSocket protocol,
reset semantics, compare mode, concurrent sessions, and that what it streams is the engine's and
the diagnostics' own numbers."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from initlab import data, schemes  # noqa: E402
from initlab.config import LIMITS, RunConfig, check_limits  # noqa: E402
from initlab.network import init_network  # noqa: E402
from initlab.web import create_app  # noqa: E402
from initlab.web.protocol import WebError  # noqa: E402
from initlab.web.server import STATIC, dumps  # noqa: E402
from initlab.web.session import DIAGRAM_UNITS, Session  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def f32(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def receive(ws, kind: str, limit: int = 200) -> dict:
    """The next message of type ``kind`` (frames in between are skipped)."""
    for _ in range(limit):
        m = ws.receive_json()
        if m["type"] == kind:
            return m
        if m["type"] == "error" and kind != "error":
            raise AssertionError(f"server error: {m}")
    raise AssertionError(f"no {kind} message in {limit}")


def configure(ws, config: dict | None = None, compare=None) -> tuple[dict, dict]:
    ws.send_json({"type": "config", "config": config or {}, "compare": compare})
    ready = receive(ws, "ready")
    frame = receive(ws, "frame")
    return ready, frame


# ------------------------------------------------------------------------------- static


def test_page_and_its_files_come_from_the_package(client):
    r = client.get("/")
    assert r.status_code == 200 and "/static/app.js" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("app.js", "style.css", "index.html"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200
        assert r.text == (STATIC / name).read_text()
        # nothing is loaded from another site: no absolute URL in the page's own files
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", r.text, re.I), name
    assert client.get("/static/nope.js").status_code == 404


def test_options_come_from_the_registries(client):
    o = client.get("/api/options").json()
    assert [s["name"] for s in o["schemes"]] == schemes.available()
    for s in o["schemes"]:
        defaults = schemes.info(s["name"]).defaults
        assert s["params"] == json.loads(json.dumps(defaults))
        assert s["formula"] == schemes.info(s["name"]).formula
    names = [d["name"] for d in o["datasets"]]
    assert names == list(data.available("synthetic"))
    for want in ("circles", "moons", "spirals", "xor", "blobs", "checkerboard"):
        assert want in names
    acts = [a["name"] for a in o["activations"]]
    for want in ("relu", "leaky_relu", "tanh", "sigmoid", "linear", "gelu"):
        assert want in acts
    assert "softmax" not in acts  # output only
    for want in ("gd", "momentum", "adam"):
        assert want in o["optimizers"]
    assert o["defaults"] == RunConfig().to_dict()
    assert o["limits"]["hidden_layers"] == LIMITS["hidden_layers"] >= 8


# ---------------------------------------------------------------------------- validation

BAD = [
    ({"n_samples": 2}, "n_samples"),
    ({"n_samples": 3.5}, "n_samples"),
    ({"hidden": [4, 0]}, "hidden"),
    ({"hidden": 5}, "hidden"),
    ({"activation": "nope"}, "activation"),
    ({"activation": "softmax"}, "activation"),
    ({"init": "no_such_scheme"}, "init"),
    ({"init": "random_normal:std=-1"}, "init"),
    ({"lr": -1}, "lr"),
    ({"lr": "abc"}, "lr"),
    ({"optimizer": "sgdd"}, "optimizer"),
    ({"seed": -1}, "seed"),
    ({"noise": -0.5}, "noise"),
    ({"batch_size": 0}, "batch_size"),
    ({"steps": 0}, "steps"),
]


@pytest.mark.parametrize(("config", "field"), BAD)
def test_bad_values_get_runconfigs_own_message_naming_the_field(client, config, field):
    with pytest.raises((ValueError, TypeError)) as exc:
        RunConfig.from_dict(config)  # the CLI's schema says this
    r = client.post("/api/config", json={"config": config})
    assert r.status_code == 422
    body = r.json()
    assert exc.value.field == field  # the error carries its field, the page reads it
    assert body["type"] == "error" and body["field"] == field
    assert body["message"] == str(exc.value)
    assert body["allowed"] == exc.value.allowed and body["allowed"]
    sent = config[field]
    assert body["value"] == sent
    assert "Traceback" not in body["message"]


def test_unknown_fields_and_requests_are_refused(client):
    r = client.post("/api/config", json={"config": {"hiden": [3]}})
    assert r.status_code == 422 and r.json()["field"] == "hiden"
    assert "unknown configuration field" in r.json()["message"]
    r = client.post("/api/config", json={"config": {}, "extra": 1})
    assert r.status_code == 422 and "extra" in r.json()["message"]
    r = client.post("/api/config", content=b"{not json")
    assert r.status_code == 422 and "not valid JSON" in r.json()["message"]


def test_the_page_offers_only_two_feature_synthetic_data(client):
    r = client.post("/api/config", json={"config": {"dataset": "digits"}})
    assert r.status_code == 422 and r.json()["field"] == "dataset"
    for name in data.available("synthetic"):
        ok = client.post("/api/config", json={"config": {"dataset": name}})
        assert ok.status_code == 200, ok.json()


def _limited():
    L = LIMITS
    cases = [
        ("hidden", [3] * (L["hidden_layers"] + 1), [3] * L["hidden_layers"]),
        ("hidden", [L["units"] + 1], [L["units"]]),
        ("n_samples", L["n_samples"] + 1, L["n_samples"]),
        ("steps", L["steps"] + 1, L["steps"]),
        ("batch_size", L["batch_size"] + 1, L["batch_size"]),
    ]
    return [({field: over}, {field: at}, field) for field, over, at in cases]


@pytest.mark.parametrize(("over", "at", "field"), _limited())
def test_limits_refuse_what_would_exhaust_the_machine(client, over, at, field):
    cfg = RunConfig.from_dict(over)  # valid for the CLI ...
    with pytest.raises(ValueError) as exc:
        check_limits(cfg)  # ... but not for an untrusted request
    assert exc.value.field == field
    r = client.post("/api/config", json={"config": over})
    assert r.status_code == 422
    body = r.json()
    assert (body["field"], body["message"], body["value"]) == (field, str(exc.value), over[field])
    assert str(LIMITS[{"hidden": "hidden_layers"}.get(field, field)]) in body["allowed"] or (
        str(LIMITS["units"]) in body["allowed"]
    )
    assert client.post("/api/config", json={"config": at}).status_code == 200  # at the limit


@pytest.mark.parametrize("field", ["steps", "n_samples", "batch_size"])
def test_a_huge_value_is_blamed_on_its_own_field(client, field):
    """2**63 once made the limit check blame ``hidden`` (the other limits were re-checked at
    2**62); the error now carries the field the limit belongs to."""
    r = client.post("/api/config", json={"config": {field: 2**63}})
    assert r.status_code == 422
    assert r.json()["field"] == field and str(2**63) in r.json()["message"]


def test_custom_limits_and_the_population_limit():
    small = {**LIMITS, "steps": 50, "population": 2}
    with TestClient(create_app(small)) as c:
        assert c.post("/api/config", json={"config": {"steps": 51}}).status_code == 422
        assert c.post("/api/config", json={"config": {"steps": 50}}).status_code == 200
        ok = {"steps": 50}
        r = c.post("/api/config", json={"config": ok, "compare": ["zeros", "small", "large"]})
        assert r.status_code == 422 and r.json()["field"] == "compare"
        r = c.post("/api/config", json={"config": ok, "compare": ["zeros", "bogus"]})
        assert r.status_code == 422 and r.json()["field"] == "compare"
        assert "bogus" in r.json()["message"]
        r = c.post("/api/config", json={"config": ok, "compare": ["zeros", "he_normal"]})
        assert r.status_code == 200
        assert [x["init"] for x in r.json()["configs"]] == ["zeros", "he_normal"]
    with pytest.raises(ValueError, match="limits lacks"):
        create_app({"steps": 10})


def test_a_run_too_large_for_memory_is_refused_with_a_sentence(client):
    big = {"hidden": [LIMITS["units"]] * LIMITS["hidden_layers"], "n_samples": LIMITS["n_samples"]}
    assert client.post("/api/config", json={"config": big}).status_code == 200  # within limits
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "config", "config": big, "compare": ["he_normal"] * 16})
        m = receive(ws, "error")
        assert "too large" in m["message"] and "Traceback" not in m["message"]
        ready, frame = configure(ws)  # the connection is still usable
        assert frame["step"] == 0


# ------------------------------------------------------------------------------ protocol


def test_bad_messages_get_an_error_and_the_session_goes_on(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "step"})
        assert "no configuration yet" in receive(ws, "error")["message"]
        ws.send_text("{oops")
        assert "not valid JSON" in receive(ws, "error")["message"]
        ws.send_json({"type": "fly"})
        m = receive(ws, "error")
        assert m["field"] == "type" and "fly" in m["message"]
        ws.send_json([1, 2])
        assert "JSON object" in receive(ws, "error")["message"]
        configure(ws)
        ws.send_json({"type": "step", "n": 0})
        assert receive(ws, "error")["field"] == "n"
        ws.send_json({"type": "step", "n": "3"})
        assert receive(ws, "error")["field"] == "n"
        ws.send_json({"type": "focus", "member": 3})
        assert receive(ws, "error")["field"] == "member"
        ws.send_json({"type": "config", "config": {"lr": 0}})
        m = receive(ws, "error")
        assert m["field"] == "lr" and "lr must be > 0" in m["message"]
        ws.send_json({"type": "step", "n": 2})
        assert receive(ws, "frame")["step"] == 2  # the previous run was kept


def test_step_start_pause_and_reset(client):
    with client.websocket_connect("/ws") as ws:
        ready, f0 = configure(ws, {"hidden": [6, 4], "seed": 3})
        assert f0["step"] == 0 and not f0["running"] and "boundary" in f0
        assert ready["network"]["sizes"] == [2, 6, 4, 1]
        ws.send_json({"type": "step", "n": 3})
        f = receive(ws, "frame")
        assert f["step"] == 3 and not f["running"]
        assert f["diag"]["step"] == 2 and [r["layer"] for r in f["diag"]["layers"]] == [1, 2, 3]
        assert f["diag"]["first"]["step"] == 0  # where the page's "over time" views start
        ws.send_json({"type": "speed", "steps_per_frame": 2})
        ws.send_json({"type": "start"})
        steps = [receive(ws, "frame")["step"] for _ in range(6)]
        assert steps == sorted(steps) and steps[-1] > 3
        ws.send_json({"type": "pause"})
        while (f := receive(ws, "frame"))["running"]:
            pass
        paused_at = f["step"]
        ws.send_json({"type": "step", "n": 1})
        assert receive(ws, "frame")["step"] == paused_at + 1
        ws.send_json({"type": "reset"})
        f = receive(ws, "frame")
        assert f["step"] == 0 and f["run"] > f0["run"] and "diag" not in f
        # the very same initial weights
        for a, b in zip(f["diagram"]["weights"], f0["diagram"]["weights"], strict=True):
            assert a == b
        assert f["members"] == f0["members"]


def test_training_stops_at_the_step_limit(client):
    with client.websocket_connect("/ws") as ws:
        configure(ws, {"steps": 7})
        ws.send_json({"type": "speed", "steps_per_frame": 5})
        ws.send_json({"type": "start"})
        while not (f := receive(ws, "frame"))["done"]:
            pass
        assert f["step"] == 7 and not f["running"]
        ws.send_json({"type": "step", "n": 1})
        assert receive(ws, "frame")["step"] == 7


def test_reset_keeps_the_initial_weights_when_only_run_state_changed(client):
    base = {"hidden": [5, 3], "init": "xavier_uniform", "seed": 11, "activation": "tanh"}
    with client.websocket_connect("/ws") as ws:
        _, f0 = configure(ws, base)
        w0 = [f32(w) for w in f0["diagram"]["weights"]]
        # the weights are init_network's, drawn independently here
        net = init_network([2, 5, 3, 1], "tanh", "sigmoid", ["xavier_uniform"], seed=[11])
        for a, W in zip(w0, net.weights, strict=True):
            cap = W[0, :DIAGRAM_UNITS, :DIAGRAM_UNITS]
            np.testing.assert_array_equal(a, cap.astype("<f4").ravel())
        ws.send_json({"type": "step", "n": 5})
        receive(ws, "frame")
        for change in ({"lr": 0.5}, {"optimizer": "gd"}, {"batch_size": 16}, {"steps": 99}):
            ready, f = configure(ws, {**base, **change})
            assert ready["same_initial_weights"] is True and f["step"] == 0
            assert [f32(w).tolist() for w in f["diagram"]["weights"]] == [a.tolist() for a in w0]
        ready, f = configure(ws, {**base, "seed": 12})
        assert ready["same_initial_weights"] is False
        assert f32(f["diagram"]["weights"][0]).tolist() != w0[0].tolist()


def test_two_sessions_train_at_the_same_time(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        configure(a, {"init": "he_normal"})
        configure(b, {"init": "zeros", "activation": "tanh"})
        for ws in (a, b):
            ws.send_json({"type": "speed", "steps_per_frame": 3})
            ws.send_json({"type": "start"})
        seen = {"a": [], "b": []}
        for _ in range(8):  # interleaved: neither waits for the other to finish
            seen["a"].append(receive(a, "frame")["step"])
            seen["b"].append(receive(b, "frame")["step"])
        for steps in seen.values():
            assert steps[-1] >= 8 * 3 - 3 and steps == sorted(steps)
        for ws in (a, b):
            ws.send_json({"type": "pause"})


def test_session_limit():
    with TestClient(create_app(max_sessions=1)) as c:
        with c.websocket_connect("/ws") as first:
            with c.websocket_connect("/ws") as second:
                m = second.receive_json()
                assert m["type"] == "error" and "limit" in m["message"]
            configure(first)  # the first one is unaffected
        with c.websocket_connect("/ws") as again:  # its slot is free again
            configure(again)


def test_cross_site_pages_cannot_open_a_session(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


# ------------------------------------------------------------------ what the page shows


def _bce_floor(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_zeros_stay_symmetric_with_a_flat_cost_and_he_relu_learns():
    cfg = {"hidden": [8, 8], "activation": "relu", "steps": 400}
    s = Session()
    s.configure({**cfg, "init": "zeros"})
    c0 = s.frame()["members"][0]["cost_train"]
    s.advance(300, force_stats=True)
    f = s.frame()
    modes = {x["mode"] for x in f["verdict"][0]}
    assert {"symmetric", "no_learning"} <= modes
    # with every hidden unit at 0 only the output bias learns: the cost can fall from ln 2 to
    # no lower than the entropy of the class frequencies of the training split
    y = RunConfig(**cfg).load_data().y_train
    floor = _bce_floor(float(np.mean(y)))
    assert c0 == pytest.approx(math.log(2), abs=1e-12)
    assert floor - 1e-12 <= f["members"][0]["cost_train"] <= c0 + 1e-12

    s.configure({**cfg, "init": "he_normal"})
    s.advance(300, force_stats=True)
    f = s.frame()
    assert f["members"][0]["cost_train"] < 0.5 * c0
    assert [x["mode"] for x in f["verdict"][0]] == ["healthy"]


def test_frames_carry_the_diagnostics_own_records_and_verdict():
    from initlab import diagnostics as D
    from initlab.config import run

    cfg = {"hidden": [6, 6], "activation": "tanh", "init": "large", "seed": 2}
    s = Session()
    s.configure(cfg)
    s.advance(40, force_stats=True)
    f = s.frame()
    result = run(RunConfig(**cfg, steps=40), probes=[D.LayerStats(every=39)])
    rows = [r for r in D.layer_stats(result.history, 0) if r["step"] == 39]
    assert f["diag"]["step"] == 39
    assert len(rows) == len(f["diag"]["layers"])
    hists = ("z_hist", "a_hist", "a_hist_outside", "z_range", "a_range")
    for mine, theirs in zip(f["diag"]["layers"], rows, strict=True):
        for k, v in mine.items():
            if k not in hists:
                assert json.loads(dumps(v)) == json.loads(dumps(theirs[k])), k
        # the page's bins follow the data: fitted at this record (mean +- 4 std of Z; the
        # activation's range for a bounded A), not at step 0; every value is still counted
        lo, hi = mine["z_range"]
        assert lo == pytest.approx(theirs["z_mean"] - 4 * theirs["z_std"], rel=1e-9, abs=1e-12)
        assert hi == pytest.approx(theirs["z_mean"] + 4 * theirs["z_std"], rel=1e-9, abs=1e-12)
        assert mine["a_range"] == {"tanh": [-1.0, 1.0], "sigmoid": [0.0, 1.0]}[mine["activation"]]
        total = sum(theirs["a_hist"]) + sum(theirs["a_hist_outside"])
        assert sum(mine["a_hist"]) + sum(mine["a_hist_outside"]) == total
    expected = [x.to_dict() for x in D.verdict(result.history)]
    assert json.loads(dumps(f["verdict"][0])) == json.loads(dumps(expected))
    # the two-part verdict, from the same home: sentence, at initialization, in training
    parts = f["verdict_parts"][0]
    assert parts["sentence"] == D.judge(result.history, predict=False).sentence
    assert {"at_init", "in_training", "status"} <= set(parts)


def test_compare_members_start_from_the_single_runs_weights():
    cfg = {"hidden": [7, 5], "activation": "relu", "seed": 4}
    compare = ["zeros", "xavier_normal", "he_normal"]
    s = Session()
    ready = s.configure(cfg, compare)
    assert [m["label"] for m in ready["members"]] == compare
    for k, scheme in enumerate(compare):
        s.set_focus(k)
        mine = s.frame()["diagram"]["weights"]
        single = Session()
        single.configure({**cfg, "init": scheme})
        assert mine == single.frame()["diagram"]["weights"]
    s.advance(60)
    f = s.frame(boundary=True)  # forced: "when due" depends on the wall clock (a loaded machine)
    assert len(f["members"]) == 3 and len(f["boundary"]["members"]) == 3
    costs = [m["cost_train"] for m in f["members"]]
    assert costs[2] < costs[0]  # He learns, zeros does not


def test_a_diverged_run_is_reported_as_strict_json():
    s = Session()
    s.configure({"init": "large", "activation": "linear", "optimizer": "gd", "lr": 50.0})
    s.advance(200, force_stats=True)
    f = s.frame()
    text = dumps(f)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert f["members"][0]["diverged_at"] is not None and f["done"]
    assert "diverged" in {x["mode"] for x in f["verdict"][0]}


def test_boundary_is_the_networks_output_on_the_grid():
    from initlab.network import predict

    s = Session()
    ready = s.configure({"dataset": "blobs", "hidden": [5]})
    f = s.frame(boundary=True)
    b = f["boundary"]
    G = b["steps"]
    assert b["outputs"] == 3 and ready["grid"]["steps"] == G
    ds = RunConfig(dataset="blobs").load_data()
    _, _, pts = data.decision_grid(np.vstack([ds.X_train, ds.X_test]), steps=G, margin=0.5)
    P = predict(s.net, pts)[0]  # (G*G, 3)
    got = np.frombuffer(base64.b64decode(b["members"][0]), np.uint8).reshape(3, G * G)
    assert np.max(np.abs(got / 255.0 - P.T)) <= 0.5 / 255 + 1e-12


def test_session_argument_errors():
    s = Session()
    with pytest.raises(WebError, match="no configuration"):
        s.advance()
    s.configure({})
    with pytest.raises(WebError, match="steps_per_frame"):
        s.set_speed(0)
    with pytest.raises(WebError, match="member"):
        s.set_focus(1)


# ----------------------------------------------------------------------------------- CLI


def test_initlab_serve_prints_the_address_and_serves_the_page():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "initlab", "serve", "--port", "0", "--no-browser"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(m.group(0), timeout=5) as r:
                    assert r.status == 200 and b"/static/app.js" in r.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_bind_defaults_to_loopback_and_names_a_busy_port():
    import inspect
    import socket

    from initlab.web.server import bind, serve

    assert inspect.signature(bind).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot listen on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)
    finally:
        busy.close()


def test_initlab_serve_refuses_a_bad_port(capsys):
    from initlab.cli import main

    assert main(["serve", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err
