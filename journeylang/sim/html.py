"""Simulation output: a self-contained HTML report (inline SVG charts and CSS; no script, no network)."""
from __future__ import annotations

import html
from collections import defaultdict, deque

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #263238; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.figures span { display: inline-block; margin: 0 1.5em .5em 0; }
.figures b { display: block; font-size: 1.3em; }
table { border-collapse: collapse; font-size: .9em; }
td, th { border-bottom: 1px solid #cfd8dc; padding: .2em .6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
svg text { font-size: 11px; fill: #263238; }
"""
_BAR, _LINK, _END = "#42a5f5", "#90caf9", "#66bb6a"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def write_html(results, path) -> None:
    """Write the report of ``results`` (sim.Results) to ``path``."""
    from pathlib import Path
    Path(path).write_text(render_html(results), encoding="utf-8")


def render_html(results) -> str:
    conv, pol = results.conversion, results.policies
    figures = [("customers", f"{results.customers:,}"), ("runs", f"{results.entered['runs']:,}"),
               ("goal conversion", f"{_pct(conv['rate'])} ({_pct(conv['ci95'][0])}-{_pct(conv['ci95'][1])})"),
               ("messages per customer", f"{results.messages['per_customer_mean']:.2f}"),
               ("opt-outs", f"{pol['opt_outs']:,}"), ("cap skips", f"{pol['cap_skips']:,}"),
               ("quiet-hour deferrals", f"{pol['quiet_deferrals']:,}"),
               ("still inside", f"{results.still_inside:,}")]
    if results.exact.get("available"):
        figures.insert(3, ("exact expectation", _pct(results.exact["conversion"])))
    if results.uplift:
        up = results.uplift
        figures.insert(3, ("holdout uplift", f"{up['absolute']:+.1%} ({up['ci95'][0]:+.1%} to "
                                             f"{up['ci95'][1]:+.1%})"))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>Simulation: {_e(results.journey)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Simulation of {_e(results.journey)} with cohort {_e(results.cohort)}</h1>",
        f"<p>seed {results.seed}, {results.days:g} days</p>",
        '<div class="figures">' + "".join(f"<span>{_e(k)}<b>{_e(v)}</b></span>" for k, v in figures)
        + "</div>",
        "<h2>Funnel by stage</h2>", _bars([(f["stage"], f["runs"]) for f in results.funnel], "funnel"),
        "<h2>Flows between steps</h2>", _sankey(results),
        "<h2>Time to convert</h2>",
        _bars([(b["bucket"], b["runs"]) for b in results.time_to_convert["histogram"]], "time-to-convert"),
        "<h2>Steps</h2>", _steps_table(results), *_operations(results), "</body></html>", ""]
    return "\n".join(parts)


def _operations(results) -> list[str]:
    """KPI and staff tables, and the promo share, for journeys that declare them."""
    parts = []
    if getattr(results, "kpis", None):
        parts += ["<h2>KPIs</h2>", _table(
            ["kpi", "observations", "value", "95% CI", "baseline", "target", "met"],
            [[k["title"] or k["kpi"], f"{k['observations']:,}", _pct(k["value"]),
              f"{_pct(k['ci95'][0])}-{_pct(k['ci95'][1])}", _pct(k["baseline"]),
              _pct(k["target"]), {None: "n/a", True: "yes", False: "no"}[k["met"]]]
             for k in results.kpis], "kpis")]
    if getattr(results, "staff", None):
        parts += ["<h2>Staff</h2>", _table(
            ["role", "capacity", "handoffs", "mean wait (h)", "p90 wait (h)", "max queue",
             "SLA breach rate"],
            [[r["role"], "-" if r["capacity"] is None else f"{r['capacity']:,} per {r['per_hours']:g} h",
              f"{r['handoffs']:,}", _hours(r["mean_wait_hours"]), _hours(r["p90_wait_hours"]),
              f"{r['max_queue']:,}", _pct(r["breach_rate"])] for r in results.staff], "staff")]
    promo = getattr(results, "promo", None) or {}
    if promo.get("promo") or promo.get("budget") is not None:
        budget = "no budget" if promo["budget"] is None else f"budget {_pct(promo['budget'])}"
        parts.append(f"<p>promo sends: {promo['promo']:,} of {promo['sends']:,} "
                     f"({_pct(promo['share'])}, {budget})</p>")
    return parts


def _hours(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _table(header: list[str], rows: list[list[str]], name: str) -> str:
    out = [f'<table class="{name}"><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "".join(out)


def _bars(rows: list[tuple[str, int]], name: str) -> str:
    width, row, label = 760, 24, 150
    top = max((n for _, n in rows), default=0) or 1
    out = [f'<svg class="{name}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{row * len(rows) + 10}" role="img" aria-label="{name}">']
    for i, (key, count) in enumerate(rows):
        y, length = 5 + i * row, (width - label - 80) * count / top
        out.append(f'<text x="0" y="{y + 15}">{_e(key)}</text>'
                   f'<rect x="{label}" y="{y}" width="{length:.1f}" height="{row - 6}" fill="{_BAR}">'
                   f'<title>{_e(key)}: {count:,}</title></rect>'
                   f'<text x="{label + length + 6:.1f}" y="{y + 15}">{count:,}</text>')
    out.append("</svg>")
    return "".join(out)


def _sankey(results) -> str:
    """Steps in columns by their distance from the first step, ends in the last column; each
    link's width is the runs that took it."""
    order = [s["step"] for s in results.steps]
    size = {s["step"]: s["entered"] for s in results.steps}
    links = [(f["from"], f["to"], f["runs"], f["edge"]) for f in results.flows]
    for _, target, runs, _ in links:
        if target.startswith("end:"):
            size[target] = size.get(target, 0) + runs
    following = defaultdict(list)
    for origin, target, _, _ in links:
        following[origin].append(target)
    depth = {order[0]: 0} if order else {}
    queue = deque(depth)
    while queue:
        node = queue.popleft()
        for target in following[node]:
            if target not in depth and not target.startswith("end:"):
                depth[target] = depth[node] + 1
                queue.append(target)
    last = max(depth.values(), default=0) + 1
    for node in size:
        depth.setdefault(node, last if node.startswith("end:") else last - 1)
    columns = defaultdict(list)
    for node in [*order, *sorted(n for n in size if n.startswith("end:"))]:
        if size.get(node):
            columns[depth[node]].append(node)
    height, gap, pad = 360, 8, 12
    total = max((sum(size[n] for n in nodes) for nodes in columns.values()), default=1) or 1
    tallest = max((len(nodes) for nodes in columns.values()), default=1)
    scale = (height - gap * tallest) / total
    width = max(760, min(1160, 110 * (last + 1)))
    step_x = (width - 140) / max(last, 1)
    place = {}
    for column, nodes in columns.items():
        y = pad
        for node in nodes:
            h = max(2.0, size[node] * scale)
            place[node] = [column * step_x + 10, y, h, y, y]  # x, y, height, out offset, in offset
            y += h + gap
    out = [f'<svg class="sankey" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height + 2 * pad}" role="img" aria-label="flows between steps">']
    for origin, target, runs, edge in sorted(links, key=lambda l: -l[2]):
        if origin not in place or target not in place or not runs:
            continue
        a, b, w = place[origin], place[target], max(1.0, runs * scale)
        x0, y0 = a[0] + 10, a[3] + w / 2
        x1, y1 = b[0], b[4] + w / 2
        a[3] += w
        b[4] += w
        bend = max(40.0, abs(x1 - x0) / 2)
        out.append(f'<path d="M{x0:.1f},{y0:.1f} C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} '
                   f'{x1:.1f},{y1:.1f}" stroke="{_LINK}" stroke-opacity="0.6" fill="none" '
                   f'stroke-width="{w:.1f}"><title>{_e(origin)} -&gt; {_e(target)} ({_e(edge)}): '
                   f'{runs:,}</title></path>')
    for node, (x, y, h, _, _) in place.items():
        colour = _END if node.startswith("end:") else _BAR
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="{h:.1f}" fill="{colour}">'
                   f'<title>{_e(node)}: {size[node]:,}</title></rect>'
                   f'<text x="{x + 13:.1f}" y="{y + min(h, 20) / 2 + 4:.1f}">{_e(node)}</text>')
    out.append("</svg>")
    return "".join(out)


def _steps_table(results) -> str:
    rows = ["<table><tr><th>step</th><th>stage</th><th>kind</th><th>entered</th><th>sent</th>"
            "<th>skipped</th><th>deferred</th><th>exits</th></tr>"]
    for s in results.steps:
        exits = "; ".join(f"{k}: {v:,}" for k, v in s["exits"].items())
        rows.append(f"<tr><td>{_e(s['step'])}</td><td>{_e(s['stage'])}</td><td>{_e(s['kind'])}</td>"
                    f"<td>{s['entered']:,}</td><td>{s['sent']:,}</td><td>{s['skipped']:,}</td>"
                    f"<td>{s['deferred']:,}</td><td style=\"text-align:left\">{_e(exits)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)
