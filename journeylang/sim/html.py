"""Simulation output: a self-contained HTML report (inline SVG charts and CSS; no script, no network).

It opens with a headline of what failed (missed KPIs, roles that breach their SLAs), in
colour, then the figures, runs per stage, the flows between steps (sankey.py), time to
convert, KPIs, staff and steps. Journey and stage titles are shown wherever names are.
"""
from __future__ import annotations

import html
from pathlib import Path

from ..views.html import FONTS
from ..views.model import OUTCOME_COLOURS, OTHER_OUTCOME
from .headline import FAIL, SLA_BREACH_LIMIT, WARN, headline
from .report import reference_path_lines
from .sankey import label_width, render_sankey

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = f"""
body {{ font-family: {FONTS}; margin: 1.5em; color: #263238; }}
h1 {{ font-size: 1.4em; margin-bottom: .2em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
.meta {{ color: #546e7a; margin-top: 0; }}
.headline {{ list-style: none; padding: 0; margin: 1em 0; }}
.headline li {{ padding: .5em .8em; margin: .3em 0; border-left: 6px solid; border-radius: 3px; }}
.headline .fail {{ background: #ffebee; border-color: #c62828; color: #b71c1c; font-weight: bold; }}
.headline .warn {{ background: #fff8e1; border-color: #f9a825; color: #795548; }}
.headline .pass {{ background: #e8f5e9; border-color: #2e7d32; color: #1b5e20; }}
.figures span {{ display: inline-block; margin: 0 1.5em .5em 0; }}
.figures b {{ display: block; font-size: 1.3em; }}
.note {{ color: #546e7a; font-size: .9em; max-width: 60em; }}
.scroll {{ overflow-x: auto; }}
.legend span {{ display: inline-block; padding: .1em .6em; margin: 0 .4em .4em 0;
  border-left: 12px solid; font-size: .85em; }}
table {{ border-collapse: collapse; font-size: .9em; }}
td, th {{ border-bottom: 1px solid #cfd8dc; padding: .2em .6em; text-align: right; }}
td:first-child, th:first-child, td.text {{ text-align: left; }}
tr.fail td {{ background: #ffebee; color: #b71c1c; font-weight: bold; }}
tr.warn td {{ background: #fff8e1; }}
svg text {{ font-family: {FONTS}; font-size: 11px; fill: #263238; }}
svg.sankey text {{ paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }}
svg.sankey .loop-label {{ fill: #546e7a; }}
"""
_BAR = "#42a5f5"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _titled(name: str, title: str | None) -> str:
    """``提醒 (remind)``: the title first, with the name it is keyed by."""
    return f"{title} ({name})" if title and title != name else name


def write_html(results, path) -> None:
    """Write the report of ``results`` (sim.Results) to ``path``."""
    Path(path).write_text(render_html(results), encoding="utf-8")


def render_html(results) -> str:
    journey = _titled(results.journey, getattr(results, "title", None))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>Simulation: {_e(journey)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Simulation of {_e(journey)}</h1>",
        f'<p class="meta">cohort {_e(results.cohort)}, {results.customers:,} customers, seed '
        f"{results.seed}, {results.days:g} days, {_e(results.engine)} engine</p>",
        *(f'<p class="meta">{_e(line)}</p>' for line in reference_path_lines(results.paths)),
        _headline(results), _figures(results),
        "<h2>Runs per stage</h2>",
        '<p class="note">Runs that entered each stage, in the journey\'s stage order. A run '
        "can skip a stage or come back to one, so this is not a funnel: a later stage can "
        "count more runs than an earlier one.</p>",
        _bars([(_titled(f["stage"], f.get("title")), f["runs"]) for f in results.funnel],
              "stages"),
        "<h2>Flows between steps</h2>", _legend(results),
        f'<div class="scroll">{render_sankey(results.steps, results.flows)}</div>',
        "<h2>Time to convert</h2>",
        _bars([(b["bucket"], b["runs"]) for b in results.time_to_convert["histogram"]],
              "time-to-convert"),
        *_operations(results), "<h2>Steps</h2>", _steps_table(results), "</body></html>", ""]
    return "\n".join(parts)


def _headline(results) -> str:
    items = "".join(f'<li class="{f.level}">{_e(f.text)}</li>' for f in headline(results))
    return f'<ul class="headline">{items}</ul>'


def _figures(results) -> str:
    conv, pol = results.conversion, results.policies
    figures = [("runs", f"{results.entered['runs']:,}"),
               ("goal conversion", f"{_pct(conv['rate'])} ({_pct(conv['ci95'][0])}-"
                                   f"{_pct(conv['ci95'][1])})"),
               ("messages per customer", f"{results.messages['per_customer_mean']:.2f}"),
               ("opt-outs", f"{pol['opt_outs']:,}"), ("cap skips", f"{pol['cap_skips']:,}"),
               ("quiet-hour deferrals", f"{pol['quiet_deferrals']:,}"),
               ("still inside", f"{results.still_inside:,}")]
    if results.exact.get("available"):
        figures.insert(2, ("exact expectation", _pct(results.exact["conversion"])))
    if results.uplift:
        up = results.uplift
        figures.insert(2, ("holdout uplift", f"{up['absolute']:+.1%} ({up['ci95'][0]:+.1%} to "
                                             f"{up['ci95'][1]:+.1%})"))
    return ('<div class="figures">' + "".join(f"<span>{_e(k)}<b>{_e(v)}</b></span>"
                                              for k, v in figures) + "</div>")


def _legend(results) -> str:
    outcomes = sorted({f["to"].removeprefix("end:") for f in results.flows
                       if f["to"].startswith("end:")})
    keys = "".join(f'<span style="border-color:{OUTCOME_COLOURS.get(o, OTHER_OUTCOME)[1]}">'
                   f"{_e(o)}</span>" for o in outcomes)
    return (f'<p class="legend">outcomes: {keys}</p><p class="note">Each band is the runs '
            "that went from one step to the next; steps every run walks straight through are "
            "joined into one node, and flows back to an earlier step are the dashed lines "
            "below.</p>")


def _experiment(experiment: dict) -> list[str]:
    """One experiment: every arm's rate on every metric, and the difference with the control."""
    against = {(c["arm"], c["metric"]): c for c in experiment["comparisons"]}
    rows = []
    for arm in experiment["arms"]:
        for metric, measured in arm["metrics"].items():
            versus = against.get((arm["arm"], metric))
            compared = ["control", "", ""] if arm["arm"] == experiment["control"] else \
                ["n/a", "", ""] if versus is None or versus["difference"] is None else [
                    f"{versus['difference']:+.1%}",
                    f"{versus['ci95'][0]:+.1%} to {versus['ci95'][1]:+.1%}",
                    f"{versus['p_value']:.3f}"]
            level = "" if versus is None or not versus["significant"] else WARN
            rows.append(([arm["arm"] + (" (held out)" if arm["holdout"] else ""), metric,
                          f"{measured['count']:,} of {measured['runs']:,}", _pct(measured["rate"]),
                          f"{_pct(measured['ci95'][0])}-{_pct(measured['ci95'][1])}", *compared],
                         level))
    title = ("Experiment: the entry holdout" if experiment["stage"] is None
             else f"Experiment: split {experiment['experiment']}")
    return [f"<h2>{_e(title)}</h2>",
            _table(["arm", "metric", "count", "rate", "95% CI", "difference", "95% CI",
                    "p (z-test)"], rows, "experiment"),
            '<p class="note">Each arm against the control; highlighted: significant at 5% '
            "(two-proportion z-test).</p>"]


def _operations(results) -> list[str]:
    """Milestone, KPI and staff tables, and the promo share, for journeys that declare them."""
    parts = []
    if getattr(results, "milestones", None):
        rows = [([m["milestone"], m["event"], f"{m['reached']:,} of {m['runs']:,}",
                  _pct(m["rate"]), f"{_pct(m['ci95'][0])}-{_pct(m['ci95'][1])}",
                  "-" if m["holdout"] is None else
                  f"{_pct(m['holdout']['rate'])} of {m['holdout']['runs']:,}",
                  _hours(m["median_hours"])], "") for m in results.milestones]
        parts += ["<h2>Milestones</h2>", _table(["milestone", "event", "runs", "rate", "95% CI",
                                                 "holdout", "median time (h)"], rows,
                                                "milestones")]
    if getattr(results, "kpis", None):
        stages = getattr(results, "stage_titles", {})
        rows = [([k["title"] or k["kpi"], _titled(k["stage"], stages.get(k["stage"])),
                  f"{k['observations']:,}", f"{k['open']:,} ({k.get('hits_open', 0):,} hit)",
                  _pct(k["value"]), f"{_pct(k['ci95'][0])}-{_pct(k['ci95'][1])}",
                  _pct(k["baseline"]), _pct(k["target"]),
                  {None: "n/a", True: "yes", False: "no"}[k["met"]]],
                 {None: WARN, True: "", False: FAIL}[k["met"]]) for k in results.kpis]
        parts += ["<h2>KPIs</h2>", _table(["kpi", "stage", "closed windows", "still open",
                                           "value", "95% CI", "baseline", "target", "met"],
                                          rows, "kpis"),
                  '<p class="note">A KPI counts the observations whose window has closed by the '
                  "horizon; hits inside a window still open are counted when it closes.</p>"]
    for experiment in getattr(results, "experiments", ()):
        parts += _experiment(experiment)
    if getattr(results, "staff", None):
        rows = [([r["role"], "-" if r["capacity"] is None
                  else f"{r['capacity']:,} per {r['per_hours']:g} h",
                  f"{r['handoffs']:,}", _hours(r["mean_wait_hours"]), _hours(r["p90_wait_hours"]),
                  f"{r['max_queue']:,}", _pct(r["breach_rate"])], _staff_level(r))
                for r in results.staff]
        parts += ["<h2>Staff</h2>", _table(["role", "capacity", "handoffs", "mean wait (h)",
                                            "p90 wait (h)", "max queue", "SLA breach rate"],
                                           rows, "staff")]
    promo = getattr(results, "promo", None) or {}
    if promo.get("promo") or promo.get("budget") is not None:
        budget = "no budget" if promo["budget"] is None else f"budget {_pct(promo['budget'])}"
        parts.append(f"<p>promo sends: {promo['promo']:,} of {promo['sends']:,} "
                     f"({_pct(promo['share'])}, {budget})</p>")
    return parts


def _staff_level(role: dict) -> str:
    rate = role["breach_rate"] or 0
    return FAIL if rate > SLA_BREACH_LIMIT else WARN if rate else ""


def _hours(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _table(header: list[str], rows: list[tuple[list[str], str]], name: str) -> str:
    out = [f'<table class="{name}"><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    out += [f'<tr class="{level}">' + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>"
            for cells, level in rows]
    out.append("</table>")
    return "".join(out)


def _bars(rows: list[tuple[str, int]], name: str) -> str:
    label = max([150.0] + [label_width(key) + 12 for key, _ in rows])
    width, row = label + 640, 24
    top = max((n for _, n in rows), default=0) or 1
    out = [f'<svg class="{name}" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{row * len(rows) + 10}" role="img" aria-label="{name}">']
    for i, (key, count) in enumerate(rows):
        y, length = 5 + i * row, 560 * count / top
        out.append(f'<text x="0" y="{y + 15}">{_e(key)}</text>'
                   f'<rect x="{label:.0f}" y="{y}" width="{length:.1f}" height="{row - 6}" '
                   f'fill="{_BAR}"><title>{_e(key)}: {count:,}</title></rect>'
                   f'<text x="{label + length + 6:.1f}" y="{y + 15}">{count:,}</text>')
    out.append("</svg>")
    return "".join(out)


def _steps_table(results) -> str:
    rows = ['<table class="steps"><tr><th>step</th><th>stage</th><th>kind</th><th>entered</th>'
            "<th>sent</th><th>skipped</th><th>deferred</th><th>ignored</th><th>exits</th></tr>"]
    stages = getattr(results, "stage_titles", {})
    for s in results.steps:
        exits = "; ".join(f"{k}: {v:,}" for k, v in s["exits"].items())
        stage = _titled(s["stage"], s.get("stage_title") or stages.get(s["stage"]))
        rows.append(f"<tr><td>{_e(s['step'])}</td><td class=\"text\">{_e(stage)}</td>"
                    f"<td class=\"text\">{_e(s['kind'])}</td><td>{s['entered']:,}</td>"
                    f"<td>{s['sent']:,}</td><td>{s['skipped']:,}</td><td>{s['deferred']:,}</td>"
                    f"<td>{s.get('ignored', 0):,}</td><td class=\"text\">{_e(exits)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)
