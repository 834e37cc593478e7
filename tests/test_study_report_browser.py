"""The study's report in headless Chromium (Debian's ``chromium`` through Playwright's
``executable_path``; no browser is downloaded): nothing on the page may be wider than a
1200 px window, and a full-page screenshot goes to ``test-artifacts/``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from browser_helpers import ARGS, ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.browser


WIDTH = 1200

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("matplotlib")

#: Elements wider than the page's content box, or reaching past the window: (tag, id or
#: class, right edge, width).  A table cell's own scroll width counts too (text that cannot
#: wrap).
OVERFLOW_JS = """
(width) => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > width) out.push(["document", "", doc.scrollWidth, doc.scrollWidth]);
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.right > width + 0.5 || el.scrollWidth > el.clientWidth + 1 && el.tagName !== "PRE"
        && getComputedStyle(el).overflowX === "visible" && el.clientWidth > 0
        && el.tagName !== "DETAILS" && el.tagName !== "SUMMARY") {
      out.push([el.tagName, el.id || el.className || "", Math.round(r.right),
                Math.round(r.width)]);
    }
  }
  return out.slice(0, 20);
}
"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    """A quick study's report (every figure kind of the quick set, the decision boundary of the
    zero-initialized network included)."""
    from initlab import study
    from initlab.study import StudyOptions

    report = study.run_study(StudyOptions(quick=True), None, progress=False)
    out = tmp_path_factory.mktemp("report")
    return study.write_outputs(report, out)["html"]


@pytest.fixture(scope="module")
def full_report_file(tmp_path_factory):
    """The default study's report (every figure, the widest tables), from the session's one
    run of the default study (shared with tests/test_study_seeds.py)."""
    from study_runs import full_study

    from initlab import study

    pytest.importorskip("sklearn")  # the imbalanced data set of claim 3
    out = tmp_path_factory.mktemp("full-report")
    return study.write_outputs(full_study(), out)["html"]


def _render(report_file, screenshot):
    """Open the report at 1200 px: the elements wider than the page, the images' (natural
    width, loaded), the verdict badges; a full-page screenshot goes to ``screenshot``."""
    profile = tempfile.mkdtemp(prefix="initlab-chromium-")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_api.sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=ARGS,
                viewport={"width": WIDTH, "height": 900},
            )
            page = ctx.new_page()
            page.goto(Path(report_file).resolve().as_uri())
            page.wait_for_load_state("load")
            wide = page.evaluate(OVERFLOW_JS, WIDTH)
            images = page.evaluate(
                "() => [...document.images].map(i => [i.naturalWidth, i.complete])"
            )
            badges = page.locator(".verdict").all_inner_texts()
            page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return wide, images, badges


def test_report_fits_1200px_and_screenshot(report_file):
    wide, images, badges = _render(report_file, "study-report.png")
    assert wide == [], f"elements wider than a {WIDTH} px page: {wide}"
    assert images and all(w > 0 and done for w, done in images), images
    # every verdict is shown, the summary's and each experiment's
    assert len(badges) >= 2 * 11, badges


@pytest.mark.slow
def test_full_report_fits_1200px_and_screenshot(full_report_file):
    """The default study's report: its tables are the widest (20 seeds, claim 8's sweep) and
    it has every figure."""
    from initlab.study import names

    wide, images, badges = _render(full_report_file, "study-report-full.png")
    assert wide == [], f"elements wider than a {WIDTH} px page: {wide}"
    html = Path(full_report_file).read_text(encoding="utf-8")
    assert len(images) == html.count("<img ") and len(images) >= 25, len(images)
    assert all(w > 0 and done for w, done in images), images
    assert len(badges) >= 2 * len(names()), badges
