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


def test_report_fits_1200px_and_screenshot(report_file):
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
            page.screenshot(path=str(ARTIFACTS / "study-report.png"), full_page=True)
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert wide == [], f"elements wider than a {WIDTH} px page: {wide}"
    assert images and all(w > 0 and done for w, done in images), images
    # every verdict is shown, the summary's and each experiment's
    assert len(badges) >= 2 * 11, badges
