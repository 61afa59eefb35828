"""The HTML view: one self-contained page (inline SVG, CSS and script; no network at all)."""
from __future__ import annotations

import html
import re

from .. import ast
from .dot import dot_lines
from .model import OUTCOME_COLOURS, View, build_view
from .svg import render_svg

# nothing may be fetched: no default source, only the inline style and script of the page
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "img-src data:")

# Chinese first: fonts with Simplified Chinese glyphs before the Latin fallbacks, on macOS,
# Windows, Linux (Noto, Source Han, WenQuanYi) and Android (the simulation report uses it too)
FONTS = ('"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
         '"Source Han Sans SC", "WenQuanYi Micro Hei", system-ui, -apple-system, "Segoe UI", '
         'Roboto, Helvetica, Arial, sans-serif')

_STYLE = """
body { font-family: FONTS; margin: 1.5em; color: #263238; }
#graph svg text { font-family: FONTS; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
.meta { color: #546e7a; margin-bottom: 1em; }
.legend span { display: inline-block; padding: .1em .6em; margin-right: .4em; border: 2px solid;
  border-radius: 4px; font-size: .85em; }
#graph svg { max-width: 100%; height: auto; }
#graph .node.dim { opacity: .25; }
#graph .node.hit polygon, #graph .node.hit path { stroke-width: 3px; stroke: #d81b60; }
table { border-collapse: collapse; margin-top: 1em; font-size: .9em; }
td, th { border: 1px solid #cfd8dc; padding: .2em .6em; text-align: left; }
""".replace("FONTS", FONTS)

_SCRIPT = """
(function () {
  var input = document.getElementById("find");
  var nodes = Array.prototype.slice.call(document.querySelectorAll("#graph g.node"));
  function name(node) {
    var title = node.querySelector("title");
    var link = node.querySelector("a");
    return (link && link.getAttribute("xlink:title")) || (title ? title.textContent : "");
  }
  input.addEventListener("input", function () {
    var text = input.value.trim().toLowerCase();
    nodes.forEach(function (node) {
      var label = (node.textContent || "").toLowerCase();
      var hit = text !== "" && label.indexOf(text) >= 0;
      node.classList.toggle("hit", hit);
      node.classList.toggle("dim", text !== "" && !hit);
    });
  });
  document.body.setAttribute("data-steps", String(nodes.length));
})();
"""


def write_html(journey: ast.Journey) -> str:
    view = build_view(journey)
    svg = _inline(render_svg("\n".join(dot_lines(view)) + "\n"))
    legend = "".join(f'<span style="background:{fill};border-color:{stroke}">{name}</span>'
                     for name, (fill, stroke) in OUTCOME_COLOURS.items())
    meta = f"journey {html.escape(journey.id)}"
    if journey.version is not None:
        meta += f", version {journey.version}"
    if journey.owner:
        meta += f", owner {html.escape(journey.owner)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(view.title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{html.escape(view.title)}</h1>
<div class="meta">{meta}</div>
<div class="legend">exits: {legend}</div>
<p><label>Find a step: <input id="find" type="search" placeholder="name or action"></label></p>
<div id="graph">
{svg}
</div>
{_steps_table(view)}
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _inline(svg: str) -> str:
    """SVG text fit to sit inside HTML: no XML declaration or doctype."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    return svg.strip()


def _steps_table(view: View) -> str:
    rows = []
    for stage in view.stages:
        for node in stage.nodes:
            rows.append(f"<tr><td>{html.escape(stage.name)}</td><td>{html.escape(node.name)}</td>"
                        f"<td>{html.escape(node.summary)}</td></tr>")
    return ("<table><thead><tr><th>stage</th><th>step</th><th>does</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
