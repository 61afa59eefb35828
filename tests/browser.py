"""Headless Chromium for the tests that open generated HTML pages (reports, graph views)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tools import needs

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
needs_chromium = needs(CHROMIUM is not None, "Chromium is not installed")
WINDOW = (1400, 2400)


def chromium(page, profile, *mode: str) -> tuple[str, list[str]]:
    """Open a local page in headless Chromium (``mode``: e.g. ``--dump-dom``) with a fresh
    profile and no network: (stdout, the console lines it logged)."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", "--force-device-scale-factor=1",
               "--hide-scrollbars", *mode, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def screenshot(page: Path, folder: Path):
    """A PNG of the page's first WINDOW of pixels, as a Pillow image."""
    from PIL import Image
    shot = folder / f"{page.stem}.png"
    chromium(page, folder / "profile-shot", f"--screenshot={shot}")
    return Image.open(shot).convert("RGB")


def measure(page: Path, folder: Path, script: str) -> dict:
    """Run ``script`` (JavaScript whose last expression is JSON-able) in a copy of the page
    with its script-free content policy lifted, and return the value. The copy keeps the
    page's layout, so what it measures is where the page puts things."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    probe = ("<script>document.addEventListener('DOMContentLoaded', function () {"
             "var out = document.createElement('pre'); out.id = 'measured';"
             f"out.textContent = JSON.stringify((function () {{ {script} }})());"
             "document.body.appendChild(out); });</script>")
    copy = folder / f"{page.stem}.measured.html"
    copy.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom, console = chromium(copy, folder / "profile-measure", "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, f"the measuring script did not run: {console}"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&quot;", '"').replace("&amp;", "&"))
