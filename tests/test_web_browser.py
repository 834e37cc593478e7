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
from browser_helpers import ARGS, ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.browser


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


# ------------------------------------------------------------------------ the learner's page
#
# Pixels are read from Playwright's screenshot of an element (what is on the screen, decoded
# by Pillow), never from the page's own data.

Image = pytest.importorskip("PIL.Image")

INK = (0x1F, 0x23, 0x28)  # the single run's cost curves (util.js INK)


def pixels(page, selector: str) -> np.ndarray:
    import io

    png = page.locator(selector).first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def curve_span(page) -> float:
    """The height the current run's cost curves cover, as a fraction of the plot's height:
    rows of the cost chart's plot area holding near-INK pixels (the axes, ticks and labels are
    grey, the previous run's curve lighter grey)."""
    img = pixels(page, "#cost-chart")
    plot = page.evaluate("window.initlab.costScale.plot")
    dpr = page.evaluate("window.devicePixelRatio")
    top, bottom = round(plot["T"] * dpr), round(plot["B"] * dpr)
    left, right = round(plot["L"] * dpr) + 2, round(plot["R"] * dpr)
    area = img[top:bottom, left:right]
    ink = np.abs(area - np.array(INK)).max(axis=2) < 40
    rows = np.flatnonzero(ink.any(axis=1))
    return 0.0 if rows.size == 0 else (rows[-1] - rows[0] + 1) / (bottom - top)


def boundary_colours(page, member: int = 0) -> float:
    """The largest spread (max - min over the canvas, 0-255) of any colour channel of a
    decision boundary drawn without its points."""
    img = pixels(page, f"#boundaries canvas[data-member='{member}']")
    edge = 3  # the rounded corners blend with the page
    body = img[edge:-edge, edge:-edge].reshape(-1, 3)
    return float((body.max(axis=0) - body.min(axis=0)).max())


def run_preset(page, name: str, activation: str, steps: int) -> list[str]:
    """Pick the activation, click a preset, speed it up, train to ``steps`` and pause; return
    the verdict's modes."""
    page.select_option("#activation", activation)
    wait_js(
        page,
        "(a) => !window.initlab.pending && window.initlab.ready"
        " && window.initlab.ready.activation === a",
        activation,
    )
    page.click(f"[data-preset={name}]")
    wait_js(page, "() => !window.initlab.pending && window.initlab.frame.running")
    page.select_option("#speed", "20")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= steps)
    page.click("#btn-start")  # pause
    wait_js(page, "() => !window.initlab.frame.running")
    wait_js(page, "() => window.initlab.verdict && window.initlab.verdict.length > 0")
    page.uncheck("#show-points")
    time.sleep(0.3)  # two animation frames: the drawings catch up with the last frame
    return page.get_attribute("#verdict", "data-modes").split()


@pytest.mark.parametrize(
    ("preset", "expected", "moves"),
    [
        ("zeros", {"symmetric"}, False),
        ("small", {"vanishing"}, False),
        ("appropriate", {"healthy"}, True),
        ("large", {"exploding", "saturated"}, True),
    ],
)
def test_each_preset_shows_its_story(page, preset, expected, moves):
    modes = run_preset(page, preset, "tanh", 300)
    cfg = page.evaluate("window.initlab.ready.configs[0]")
    assert (cfg["optimizer"], cfg["activation"], len(cfg["hidden"])) == ("gd", "tanh", 4)
    assert expected & set(modes), modes
    assert page.inner_text("#preset-hint").startswith("Look for:")
    span = curve_span(page)
    spread = boundary_colours(page)
    if moves:
        # the cost falls over at least half of the chart's height (a linear axis from 0)
        assert span >= 0.5, span
    else:
        # flat at ln 2: the curve is a line a few pixels thick
        assert span < 0.05, span
    if preset == "small":
        # the bins follow the data: each hidden layer's range of Z is printed and narrower
        # than the one before (std(Z) shrinks by std_w * sqrt(fan_in) = 0.01 * 4 = 0.04 per
        # layer, as tanh is linear near 0; asserting a factor 2 leaves a wide margin)
        rows = page.evaluate("window.initlab.hists[0].latest.layers")
        widths = [r["z_range"][1] - r["z_range"][0] for r in rows if r["hidden"]]
        assert all(b < 0.5 * a for a, b in zip(widths, widths[1:], strict=False)), widths
        assert "…" in page.inner_text("#layer-4 .z-cap-now")
    if preset == "zeros":
        assert spread <= 2, spread  # one colour: the output is the same everywhere
    if preset == "appropriate":
        assert spread >= 60, spread  # both classes' colours
    shot(page, f"web-preset-{preset}-tanh")


def test_compare_all_four_keeps_each_schemes_history(page):
    page.select_option("#activation", "relu")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.activation === 'relu'")
    page.click("[data-preset=all]")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.compare")
    labels = [m["label"] for m in page.evaluate("window.initlab.ready.members")]
    assert labels == ["zeros", "small", "he_normal", "large"]
    assert page.is_checked("#cost-log")  # log scale by default in compare mode
    # the greyed scheme box names the compared schemes, not the scheme it held before
    assert page.inner_text("#init-formula").startswith("comparing zeros, small, he_normal, large")
    page.select_option("#speed", "20")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= 200)
    page.click("#btn-start")
    wait_js(page, "() => !window.initlab.frame.running")
    text = page.inner_text("#verdict-evidence")
    assert "zeros: symmetric" in text and "he_normal: healthy" in text
    # every member's layer history has as many recorded steps, whoever was in focus
    counts = page.evaluate("window.initlab.hists.map((h) => h.steps.length)")
    assert len(set(counts)) == 1 and counts[0] >= 3, counts
    page.click("#boundaries figure:nth-child(3)")
    wait_js(page, "() => window.initlab.focus === 2")
    shot(page, "web-compare-all-four")


def test_a_shared_link_restores_the_configuration_and_the_first_frames(page, browser_context):
    page.select_option("#activation", "tanh")
    page.click("[data-preset=small]")
    wait_js(page, "() => window.initlab.frame.running")
    page.click("#btn-start")
    wait_js(page, "() => !window.initlab.frame.running")
    page.fill("#seed", "7")
    page.fill("#lr", "0.25")
    wait_js(
        page,
        "() => !window.initlab.pending && window.initlab.ready.configs[0].seed === 7"
        " && window.initlab.ready.configs[0].lr === 0.25",
    )
    for _ in range(3):
        page.click("#btn-step")
    wait_value(page, "#step", lambda v: v == "3")
    link = page.url
    assert "seed=7" in link and "lr=0.25" in link
    first = page.evaluate("[window.initlab.ready.configs, window.initlab.history[0].train]")
    other = browser_context.new_page()
    try:
        other.goto(link)
        other.wait_for_selector("#conn[data-state=open]")
        wait_js(other, "() => window.initlab.ready && !window.initlab.pending")
        for _ in range(3):
            other.click("#btn-step")
        wait_value(other, "#step", lambda v: v == "3")
        again = other.evaluate("[window.initlab.ready.configs, window.initlab.history[0].train]")
        assert again == first
        assert other.input_value("#lr") == "0.25" and other.input_value("#activation") == "tanh"
    finally:
        other.close()


def test_the_phone_layout_puts_start_cost_and_boundary_in_the_first_screen(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    time.sleep(0.3)
    for sel in ("#btn-start", "#cost-chart", "#boundaries canvas"):
        box = page.locator(sel).first.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, (sel, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (sel, box)
    # an error is scrolled into view, wherever the control is
    page.locator("#lr").scroll_into_view_if_needed()
    page.fill("#lr", "-1")
    page.wait_for_selector("#errors:not([hidden])")
    time.sleep(0.3)
    box = page.locator("#errors").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box
    shot(page, "web-phone-error")
    page.fill("#lr", "0.01")
    page.wait_for_selector("#errors[hidden]", state="attached")
    # compare all four: every boundary still in the first screen, under the cost
    page.evaluate("window.scrollTo(0, 0)")
    page.click("[data-preset=all]")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.compare")
    time.sleep(0.3)
    for sel in ("#btn-start", "#cost-chart", "#boundaries figure:last-child canvas"):
        box = page.locator(sel).first.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, (sel, box)
    shot(page, "web-phone-compare")
    page.set_viewport_size({"width": 1400, "height": 1500})


def test_the_listed_bugs_stay_fixed(page):
    # the page sent its configuration before its speed: no error at load
    assert page.get_attribute("#errors", "hidden") is not None
    # the words "hidden layers" are not the "-" button
    before = page.inner_text("#layers")
    page.click("#layers-title")
    time.sleep(0.4)
    assert page.inner_text("#layers") == before
    # the blobs legend lists its three classes
    page.select_option("#dataset", "blobs")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.dataset.name === 'blobs'")
    assert page.locator("#class-legend i.chip").count() == 3
    page.select_option("#dataset", "circles")
    wait_js(
        page, "() => !window.initlab.pending && window.initlab.ready.dataset.name === 'circles'"
    )
    # a layer card of one unit says "1 unit"
    page.click("#btn-step")
    page.wait_for_selector("#layers-panel .layer")
    assert "1 unit ·" in page.inner_text("#layers-panel") and "1 units" not in page.inner_text(
        "#layers-panel"
    )


def test_fixing_a_bad_value_keeps_the_run_and_outlines_only_that_box(page):
    page.select_option("#speed", "5")
    page.click("#btn-start")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= 20)
    run = page.evaluate("window.initlab.run")
    page.fill("#units-1", "0")
    page.wait_for_selector("#errors:not([hidden])")
    field = page.evaluate(
        "document.querySelector('.invalid') && document.querySelector('.invalid').id"
    )
    invalid = page.locator(".invalid").count()
    assert page.inner_text("#errors").startswith("L2 (hidden[1]): ")  # the box's own name
    page.fill("#units-1", "5")  # back to the running configuration
    page.wait_for_selector("#errors[hidden]", state="attached")
    time.sleep(0.5)
    assert page.evaluate("window.initlab.run") == run  # not restarted
    assert int(page.get_attribute("#step", "data-value")) > 20
    page.click("#btn-start")
    assert (field, invalid) == ("units-1", 1)  # the box just changed, not the whole row


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour ``#rrggbb``."""
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str = "#ffffff") -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_accessibility_contrast_sizes_and_text_alternatives(page):
    colours = page.evaluate("window.initlab.colors")
    # WCAG 2.1: 3:1 for graphics (curves, axes, class colours), 4.5:1 for text
    for c in [*colours["PALETTE"], colours["GHOST"], colours["AXIS"], *colours["CLASS"]]:
        assert contrast(c) >= 3.0, (c, contrast(c))
    for c in (colours["INK"], colours["DIM"]):
        assert contrast(c) >= 4.5, (c, contrast(c))
    page.click("#btn-step")
    page.wait_for_selector("#layers-panel .layer")
    page.click("#btn-step")
    wait_js(page, "() => document.getElementById('verdict-live').textContent.length > 0")
    assert page.get_attribute("#verdict-live", "aria-live") == "polite"
    # every chart has a role, a name and a summary in words
    for cv in page.locator("canvas").all():
        if cv.is_visible():
            assert cv.get_attribute("role") == "img" and cv.get_attribute("aria-label")
    wait_js(page, "() => document.getElementById('cost-summary').textContent.includes('step')")
    assert page.inner_text("#boundary-summary").startswith("Accuracy")
    # no visible text under 12 px
    small = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter((e) => {
            const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
            const r = e.getBoundingClientRect();
            return own && r.width > 0 && parseFloat(getComputedStyle(e).fontSize) < 12;
        }).map((e) => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 30))"""
    )
    assert small == []


def test_the_previous_run_is_kept_for_a_new_lr_never_sets_the_scale_and_goes_with_the_scheme(
    page,
):
    # ReLU with large weights and lr 0.3 blows up (the cost passes 1e100) before its units die
    page.select_option("#activation", "relu")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.activation === 'relu'")
    page.click("[data-preset=large]")
    wait_value(page, "#step", lambda v: v != "" and int(v) >= 30)
    page.click("#btn-start")
    wait_js(page, "() => !window.initlab.frame.running")
    worst = page.evaluate("Math.max(...window.initlab.history[0].train.map((p) => p[1] ?? 0))")
    assert worst > 1e50
    page.fill("#lr", "1e-9")  # only the learning rate: the same initial weights
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.configs[0].lr === 1e-9")
    page.click("#btn-step")
    wait_value(page, "#step", lambda v: v == "1")
    time.sleep(0.3)
    assert page.evaluate("window.initlab.ghost.label") == "previous run (lr 0.3)"
    top = page.evaluate("window.initlab.costScale.y1")
    now = page.evaluate("Math.max(...window.initlab.history[0].train.map((p) => p[1]))")
    assert top < 1.2 * now < worst  # the axis is set by this run; the old curve is cut off
    page.select_option("#init", "xavier_normal")  # another scheme: the old curve goes
    wait_js(
        page,
        "() => !window.initlab.pending && window.initlab.ready.configs[0].init === 'xavier_normal'",
    )
    page.click("#btn-step")
    wait_js(page, "() => window.initlab.ghost === null")


def test_copy_link_gives_the_address_of_this_configuration(page):
    page.fill("#seed", "3")
    wait_js(page, "() => !window.initlab.pending && window.initlab.ready.configs[0].seed === 3")
    page.click("#btn-link")
    wait_js(page, "() => document.getElementById('link-status').textContent !== ''")
    text = page.inner_text("#link-status")
    assert text == "link copied" or ("seed=3" in text and text.startswith("copy this link"))
    assert "seed=3" in page.url


def test_a_link_with_a_bad_value_names_it(browser_context, url):
    page = browser_context.new_page()
    try:
        page.goto(url + "#dataset=circles&lr=abc&speed=77")
        page.wait_for_selector("#errors:not([hidden])")
        text = page.inner_text("#errors")
        assert "lr" in text and "abc" in text and "Traceback" not in text
        invalid = page.evaluate("[...document.querySelectorAll('.invalid')].map((e) => e.id)")
        assert invalid == ["lr"]
        assert "speed=77 is not offered" in page.inner_text("#link-status")
    finally:
        page.close()
