"""SVG through Graphviz's ``dot`` program."""
from __future__ import annotations

import shutil
import subprocess


class ViewError(Exception):
    """A view cannot be made (a missing tool, a failing renderer); the message says why."""


def render_svg(dot: str, program: str = "dot", timeout: float = 60) -> str:
    """Render DOT text to SVG with Graphviz; raises ViewError when Graphviz is unusable."""
    path = shutil.which(program)
    if path is None:
        raise ViewError(f"the svg and html views need Graphviz's '{program}' program, which "
                        "is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: "
                        "brew install graphviz); the dot and mermaid views work without it")
    try:
        done = subprocess.run([path, "-Tsvg"], input=dot.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ViewError(f"Graphviz '{program}' failed: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise ViewError(f"Graphviz '{program}' failed: {message}")
    return done.stdout.decode("utf-8")
