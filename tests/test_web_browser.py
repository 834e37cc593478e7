"""End-to-end: the real page in headless Chromium (Debian's ``chromium``, driven by Playwright
with ``executable_path``; no browser is downloaded).  Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def url():
    from initlab.web.server import address, bind, create_app

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield address(sock)
    server.should_exit = True
    thread.join(timeout=10)
    try:
        sock.close()
    except OSError:
        pass


@pytest.fixture(scope="module")
def browser_context():
    profile = tempfile.mkdtemp(prefix="initlab-chromium-")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1500},
        )
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context, url):
    page = browser_context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:"))
            else problems.append(f"request to another site: {r.url}")
        ),
    )
    page.goto(url)
    page.wait_for_selector("#conn[data-state=open]")
    wait_value(page, "#cost-train", lambda v: v != "")
    yield page
    page.close()
    assert problems == []


def wait_value(page, selector: str, ok, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        v = page.get_attribute(selector, "data-value") or ""
        if ok(v):
            return v
        assert time.monotonic() < deadline, f"{selector} stayed at {v!r}"
        time.sleep(0.05)


def wait_js(page, expression: str, arg=None, timeout: float = 30.0):
    """Poll a JavaScript expression until it is truthy (Playwright's wait_for_function evaluates
    strings with eval, which the page's Content-Security-Policy rightly forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        v = page.evaluate(expression, arg)
        if v:
            return v
        assert time.monotonic() < deadline, f"{expression} stayed falsy"
        time.sleep(0.05)


def number(page, selector: str) -> float:
    return float(page.get_attribute(selector, "data-value"))


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def train(page, init: str, activation: str, steps: int) -> None:
    """Choose a scheme and activation, run to ``steps`` at 20 steps per frame, then pause."""
    page.select_option("#activation", activation)
    page.select_option("#init", init)
    wait_value(page, "#step", lambda v: v == "0")
    wait_js(  # the server has applied the choice (its ready message)
        page,
        "([i, a]) => !window.initlab.pending && window.initlab.ready"
        " && window.initlab.ready.configs[0].init === i"
        " && window.initlab.ready.configs[0].activation === a",
        [init, activation],
    )
    page.select_option("#speed", "20")
    page.click("#btn-start")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= steps)
    page.click("#btn-start")  # pause
    wait_js(page, "() => !window.initlab.frame.running")


def test_zeros_never_break_symmetry_and_the_cost_stays_flat(page):
    from initlab.config import RunConfig

    train(page, "zeros", "relu", 300)
    wait_js(page, "() => document.getElementById('verdict').dataset.modes.includes('symm')")
    modes = page.get_attribute("#verdict", "data-modes").split()
    assert "symmetric" in modes
    assert "symmetric" in page.inner_text("#verdict-evidence")
    c0, c = number(page, "#cost-train0"), number(page, "#cost-train")
    # all hidden units are 0, so only the output bias learns: the cost starts at ln 2 and can
    # fall no lower than the entropy of the class frequencies of the training split
    p = float(np.mean(RunConfig().load_data().y_train))
    floor = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert c0 == pytest.approx(math.log(2), abs=1e-9)
    assert floor - 1e-9 <= c <= c0 + 1e-9
    assert "Every weight shown is 0" in page.inner_text("#network-note")
    shot(page, "web-zeros-relu")


def test_he_with_relu_learns(page):
    train(page, "he_normal", "relu", 300)
    c0, c = number(page, "#cost-train0"), number(page, "#cost-train")
    assert c < 0.5 * c0
    assert float(page.get_attribute("#acc-train", "data-value")) > 0.9
    wait_js(page, "() => document.getElementById('verdict').dataset.modes !== ''")
    assert page.get_attribute("#verdict", "data-modes").split() == ["healthy"]
    assert page.locator("#layers-panel .layer").count() == 3  # two hidden layers + output
    assert "he_normal" in page.inner_text("#verdict-recommend")
    shot(page, "web-he-relu")


def test_compare_trains_the_schemes_side_by_side(page):
    page.check("#compare-on")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.compare")
    n = len(page.evaluate("window.initlab.ready.members"))
    assert page.locator("#boundaries canvas").count() == n >= 2
    page.select_option("#speed", "20")
    page.click("#btn-start")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= 100)
    page.click("#btn-start")
    wait_js(page, "() => window.initlab.verdict && window.initlab.verdict.length > 1")
    text = page.inner_text("#verdict-evidence")
    assert "zeros: symmetric" in text and "he_normal: healthy" in text
    shot(page, "web-compare")


def test_a_bad_value_shows_a_clear_error_not_a_stack_trace(page):
    page.fill("#lr", "-1")
    page.wait_for_selector("#errors:not([hidden])")
    text = page.inner_text("#errors")
    assert "lr must be > 0" in text and "Traceback" not in text
    assert "invalid" in (page.get_attribute("#lr", "class") or "")
    shot(page, "web-error")
    page.fill("#lr", "0.01")
    page.wait_for_selector("#errors[hidden]", state="attached")
