"""The page's server under hostile or careless clients: nested JSON, huge bodies, foreign Host
headers (DNS rebinding), idle sessions, floods, closed pages, absurd parameter values, and the
page's own ``speed``-before-``config`` order.  Each test failed before the server was hardened."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from initlab.web import connection as web_connection  # noqa: E402
from initlab.web import create_app  # noqa: E402
from initlab.web.protocol import MAX_DEPTH, MAX_MESSAGE  # noqa: E402
from initlab.web.server import allowed_hosts  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NESTED = "[" * 5000 + "]" * 5000
SMALL = {"n_samples": 40, "hidden": [3], "steps": 100_000}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def receive(ws, kind: str, limit: int = 400) -> dict:
    for _ in range(limit):
        m = ws.receive_json()
        if m["type"] == kind:
            return m
        if m["type"] == "error" and kind != "error":
            raise AssertionError(f"server error: {m}")
    raise AssertionError(f"no {kind} message in {limit}")


def configure(ws, config: dict | None = None) -> dict:
    ws.send_json({"type": "config", "config": config or {}})
    ready = receive(ws, "ready")
    receive(ws, "frame")
    return ready


# ------------------------------------------------------------------------- nested JSON


def test_deeply_nested_json_is_an_error_and_the_session_goes_on(client):
    with client.websocket_connect("/ws") as ws:
        configure(ws, SMALL)
        ws.send_text(NESTED)
        m = receive(ws, "error")
        assert f"more than {MAX_DEPTH} levels" in m["message"]
        ws.send_text('{"type": "config", "config": {"hidden": ' + "[" * 40 + "]" * 40 + "}}")
        assert "levels" in receive(ws, "error")["message"]
        ws.send_json({"type": "step", "n": 2})
        assert receive(ws, "frame")["step"] == 2  # the session is still there


def test_deeply_nested_json_over_http_is_a_422_not_a_500(client):
    r = client.post("/api/config", content=NESTED, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "levels" in r.json()["message"]
    body = '{"config": {"hidden": ' + "[" * 900 + "]" * 900 + "}}"
    r = client.post("/api/config", content=body)
    assert r.status_code == 422 and "levels" in r.json()["message"]


# ------------------------------------------------------------------- streaming body limit


def test_a_huge_body_is_refused_as_soon_as_it_passes_the_limit():
    """An endless chunked body: the server must answer 413 after reading just past
    MAX_MESSAGE bytes (before the fix it read the body whole, so this never returned)."""
    app = create_app()
    chunk = b" " * 16384
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/config",
        "raw_path": b"/api/config",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=20))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert pulled * len(chunk) <= MAX_MESSAGE + len(chunk)  # stopped one chunk past the limit


def test_a_declared_length_over_the_limit_is_refused_unread(client):
    r = client.post("/api/config", content=b" " * (MAX_MESSAGE + 1))
    assert r.status_code == 413 and "larger than the limit" in r.json()["message"]


# --------------------------------------------------------------------------- Host header


def test_foreign_host_headers_are_refused_when_hosts_are_checked():
    hosts = allowed_hosts("127.0.0.1")
    assert set(hosts) == {"127.0.0.1", "localhost", "::1"}
    with TestClient(create_app(hosts=hosts), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/options").status_code == 200
        r = c.get("/api/options", headers={"host": "evil.example:8000"})
        assert r.status_code == 400
        # a rebound page's own origin matches its Host: the Origin check alone let it in
        evil = {"host": "evil.example:8000", "origin": "http://evil.example:8000"}
        with pytest.raises(Exception) as exc:
            with c.websocket_connect("/ws", headers=evil) as ws:
                ws.receive_json()
        assert "400" in repr(exc.value) or "Denial" in type(exc.value).__name__
        with c.websocket_connect("/ws", headers={"host": "localhost:8000"}) as ws:
            configure(ws, SMALL)
    named = allowed_hosts("0.0.0.0", ["lab.example"])
    assert "lab.example" in named and "0.0.0.0" not in named


def test_initlab_serve_answers_only_its_own_host_names():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "initlab", "serve", "--port", "0", "--no-browser"]
    cmd += ["--allow-host", "lab.example"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", p.stdout.readline())
        assert m
        port = m.group(1)

        def status(host: str) -> int:
            url = f"http://127.0.0.1:{port}/api/options"
            req = urllib.request.Request(url, headers={"Host": f"{host}:{port}"})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        deadline = time.monotonic() + 20
        while True:
            try:
                first = status("127.0.0.1")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert first == 200
        assert status("localhost") == 200 and status("lab.example") == 200
        assert status("evil.example") == 400
    finally:
        p.terminate()
        p.wait(timeout=10)


# ------------------------------------------------------------------------- idle sessions


def test_idle_sessions_close_and_a_refused_page_is_told_when_to_retry():
    with TestClient(create_app(max_sessions=1, idle_seconds=1.0)) as c:
        with c.websocket_connect("/ws") as first:
            with c.websocket_connect("/ws") as second:
                m = second.receive_json()
                assert m["type"] == "error" and "limit" in m["message"]
                assert "retry" in m["message"] and "1 s" in m["message"]
                assert 0 <= m["value"]["retry_after"] <= 1.0
            t0 = time.monotonic()
            m = first.receive_json()  # nothing sent: the server closes it
            assert m["type"] == "error" and "without a message" in m["message"]
            assert 0.5 < time.monotonic() - t0 < 5
        with c.websocket_connect("/ws") as again:  # its place is free
            configure(again, SMALL)


def test_a_training_session_is_not_idle():
    with TestClient(create_app(idle_seconds=0.5)) as c:
        with c.websocket_connect("/ws") as ws:
            configure(ws, {**SMALL, "steps": 100_000})
            ws.send_json({"type": "speed", "steps_per_frame": 1})
            ws.send_json({"type": "start"})
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.5:  # three idle periods, still sending frames
                assert receive(ws, "frame")["running"]


def test_a_run_that_ends_after_the_idle_time_is_not_closed_at_once():
    with TestClient(create_app(idle_seconds=0.6)) as c:
        with c.websocket_connect("/ws") as ws:
            configure(ws, {**SMALL, "steps": 45})
            ws.send_json({"type": "speed", "steps_per_frame": 1})
            ws.send_json({"type": "start"})  # 45 frames at 30 per second: longer than 0.6 s
            while not receive(ws, "frame")["done"]:
                pass
            t0 = time.monotonic()
            m = ws.receive_json()
            assert m["type"] == "error" and "without a message" in m["message"]
            assert time.monotonic() - t0 > 0.4  # idle counts from the end of the run


# --------------------------------------------------------------------- closed session


def test_a_closed_page_stops_its_training_within_one_frame():
    app = create_app()
    with TestClient(app) as c:
        with c.websocket_connect("/ws") as ws:
            configure(ws, {"n_samples": 2000, "hidden": [64, 64], "steps": 100_000})
            conn = app.state.connections[0]
            ws.send_json({"type": "step", "n": 1000})  # about 10 s of training here
            time.sleep(0.3)
        t0 = time.monotonic()
        while conn.executor._threads and any(t.is_alive() for t in conn.executor._threads):
            assert time.monotonic() - t0 < 5, "the session went on training after close"
            time.sleep(0.02)
        step = conn.session.step
        time.sleep(0.3)
        assert conn.session.step == step < 1000  # stopped, long before the 1000 steps


# ------------------------------------------------------------------------------ memory


@pytest.mark.slow
def test_a_session_at_the_size_limit_stays_within_the_documented_memory():
    """The largest run the page accepts (just under MAX_CELLS activations per pass), built,
    trained with statistics and drawn: NumPy's peak allocation (tracemalloc sees every array)
    stays under SESSION_MEMORY_MB; one step more rows is refused."""
    import tracemalloc

    from initlab.web.protocol import MAX_CELLS, SESSION_MEMORY_MB, WebError
    from initlab.web.session import Session

    hidden = [256] * 4
    units = 2 + sum(hidden) + 1
    rows = MAX_CELLS // units  # the training split: 3/4 of the points
    n = rows * 4 // 3
    s = Session()
    tracemalloc.start()
    try:
        s.configure({"hidden": hidden, "n_samples": n})
        s.advance(1, force_stats=True)
        s.frame(boundary=True, full=True)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert s.step == 1
    assert peak < SESSION_MEMORY_MB, f"{peak:.0f} MB"
    with pytest.raises(WebError, match="too large"):
        Session().configure({"hidden": hidden, "n_samples": n + 8})


# ----------------------------------------------------------------------------- floods


def test_a_command_flood_gets_a_clear_error_and_the_session_stays(monkeypatch):
    monkeypatch.setattr(web_connection, "INBOX", 4)
    with TestClient(create_app()) as c:
        with c.websocket_connect("/ws") as ws:
            configure(ws, {"n_samples": 400, "hidden": [32, 32], "steps": 100_000})
            for _ in range(40):
                ws.send_json({"type": "step", "n": 200})
            seen = []
            while not any(m["type"] == "error" for m in seen):
                seen.append(ws.receive_json())
            error = next(m for m in seen if m["type"] == "error")
            assert "too many commands" in error["message"] and "4" in error["allowed"]
            time.sleep(2.0)  # the few accepted steps finish
            ws.send_json({"type": "pause"})  # the session still answers
            while True:
                m = ws.receive_json()
                if m["type"] == "frame" and not m["running"] and m["step"] >= 200:
                    break


# ----------------------------------------------------------------- huge parameter values


HUGE = ["he_normal:gain=1e200", "random_uniform:low=-1e308,high=1e308"]


@pytest.mark.parametrize("init", HUGE)
def test_huge_parameter_values_are_validation_errors_over_http(client, init):
    r = client.post("/api/config", json={"config": {"init": init}})
    assert r.status_code == 422
    assert r.json()["field"] == "init" and "internal error" not in r.json()["message"]


@pytest.mark.parametrize("init", HUGE)
def test_huge_parameter_values_leave_the_running_session_alone(client, init):
    with client.websocket_connect("/ws") as ws:
        configure(ws, SMALL)
        ws.send_json({"type": "speed", "steps_per_frame": 1})
        ws.send_json({"type": "start"})
        receive(ws, "frame")
        ws.send_json({"type": "config", "config": {**SMALL, "init": init}})
        m = receive(ws, "error")
        assert m["field"] == "init" and "internal error" not in m["message"]
        assert receive(ws, "frame")["running"]  # not paused


# -------------------------------------------------------------------- the page's order


def test_speed_before_config_is_kept_without_an_error(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "speed", "steps_per_frame": 7})
        ws.send_json({"type": "config", "config": SMALL})
        assert receive(ws, "ready")["type"] == "ready"  # receive() fails on an error first
        receive(ws, "frame")
        ws.send_json({"type": "start"})
        a = receive(ws, "frame")["step"]
        b = receive(ws, "frame")["step"]
        assert b - a == 7  # the speed sent first is the one used
