"""Headless Chromium for the tests that open generated HTML pages (reports, graph views)."""
from __future__ import annotations

import shutil
import subprocess

from tools import needs

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
needs_chromium = needs(CHROMIUM is not None, "Chromium is not installed")


def chromium(page, profile, *mode: str) -> tuple[str, list[str]]:
    """Open a local page in headless Chromium (``mode``: e.g. ``--dump-dom``) with a fresh
    profile and no network: (stdout, the console lines it logged)."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               "--window-size=1200,1600", *mode, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
