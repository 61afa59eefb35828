"""Graph views: a journey's step graph as Mermaid, DOT, SVG or a self-contained HTML page."""
from __future__ import annotations

from .. import ast
from .dot import write_dot
from .html import write_html
from .mermaid import write_mermaid
from .svg import ViewError, render_svg

FORMATS = ("mermaid", "dot", "svg", "html")


def render_view(journey: ast.Journey, fmt: str) -> str:
    """The view of ``journey`` in ``fmt``; raises ViewError when a needed tool is missing."""
    if fmt == "mermaid":
        return write_mermaid(journey)
    if fmt == "dot":
        return write_dot(journey)
    if fmt == "svg":
        return render_svg(write_dot(journey))
    if fmt == "html":
        return write_html(journey)
    raise ValueError(f"unknown view format {fmt!r}")


__all__ = ["FORMATS", "ViewError", "render_view", "write_dot", "write_html", "write_mermaid",
           "render_svg"]
