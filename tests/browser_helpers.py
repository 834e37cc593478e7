"""What the browser tests share: Debian's Chromium, its flags and where screenshots go."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
#: headless, no sandbox (root in CI), no network of its own, a fresh profile each launch
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
