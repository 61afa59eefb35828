"""The simulation report: a headline of what failed, titles, a Sankey laid out with few
crossings and outcomes coloured by kind, checked in headless Chromium and its screenshots."""
from __future__ import annotations

import re

import pytest

from journeylang import api
from journeylang.sim import load_cohort
from journeylang.sim.headline import FAIL, PASS, headline
from journeylang.sim.html import FONTS, write_html
from journeylang.sim.sankey import layout_flows, render_sankey
from journeylang.views.model import OUTCOME_COLOURS

from browser import measure, needs_chromium, screenshot
from conftest import EXAMPLES


@pytest.fixture(scope="module")
def ladder():
    """The churn ladder with its full cohort: the save-rate KPI misses its target and the
    operations director's queue breaches almost every SLA."""
    cohort = load_cohort(EXAMPLES / "cohorts" / "churn_ladder.cohort.yaml")
    return api.simulate(EXAMPLES / "churn_ladder.yaml", cohort, seed=0)


def test_the_headline_names_missed_kpis_and_roles_that_breach_their_sla(ladder):
    found = headline(ladder)
    assert [f.level for f in found] == [FAIL, FAIL]
    assert found[0].text.startswith("KPI missed: Save rate is ")
    assert re.match(r"Role ops_director breaches its SLA: 9\d\.\d% of [\d,]+ SLAs breached "
                    r"\([\d,]+\), queue up to [\d,]+$", found[1].text)
    assert all("care_staff" not in f.text for f in found)  # it keeps its SLAs


def test_a_clean_run_says_so(ladder):
    from dataclasses import replace
    clean = replace(ladder, kpis=[], staff=[])
    assert [(f.level, f.text) for f in headline(clean)] == [
        (PASS, "No KPIs or SLAs are declared: nothing to check against.")]
    roles = [dict(r, breach_rate=0.0) for r in ladder.staff]
    assert headline(replace(ladder, kpis=[], staff=roles))[0].text == \
        f"All {len(roles)} roles keep their SLAs."
    assert headline(replace(ladder, kpis=[], staff=roles[:1]))[0].text == \
        "The role keeps its SLAs."


def test_titles_and_a_chinese_font_stack_are_in_the_report(ladder, tmp_path):
    page = tmp_path / "report.html"
    write_html(ladder, page)
    text = page.read_text(encoding="utf-8")
    assert "<h1>Simulation of Churn ladder (churn_ladder)</h1>" in text
    assert "Care ladder (ladder)" in text and "Win-back offer (winback)" in text
    assert '"PingFang SC"' in FONTS and '"Noto Sans CJK SC"' in FONTS and FONTS in text
    assert "Runs per stage" in text and "not a funnel" in text
    assert ladder.title == "Churn ladder"
    assert ladder.stage_titles == {"ladder": "Care ladder", "winback": "Win-back offer"}


# --- the Sankey layout -------------------------------------------------------------------------

def _steps(*names):
    return [{"step": n, "entered": 100} for n in names]


def _flow(a, b, runs, edge="next"):
    return {"from": a, "edge": edge, "to": b, "runs": runs}


def test_crossings_are_reduced_where_a_naive_order_crosses():
    """Two branches, written a then b, that end in outcomes listed the other way round
    (lost before won): that order crosses the branches; the layout's order does not."""
    steps = _steps("start", "a", "b", "a_sent", "b_sent")
    steps[0]["entered"] = 200
    flows = [_flow("start", "a", 100), _flow("start", "b", 100),
             _flow("a", "a_sent", 100), _flow("b", "b_sent", 100),
             _flow("a_sent", "end:won", 70), _flow("a_sent", "a_late", 30),
             _flow("a_late", "end:won", 30), _flow("b_sent", "end:lost", 100)]
    steps.append({"step": "a_late", "entered": 30})
    layout = layout_flows(steps, flows)
    assert [n.id for n in layout.layers[-1]] == ["end:won", "end:lost"]
    assert layout.crossings() == 0


def test_loops_are_thin_dashed_lines_and_outcomes_have_their_colours():
    steps = _steps("ask", "wait", "again")
    flows = [_flow("ask", "wait", 100), _flow("wait", "again", 40, "timeout"),
             _flow("again", "ask", 40, "goto"), _flow("wait", "end:converted", 50),
             _flow("wait", "end:opted_out", 10)]
    svg = render_sankey(steps, flows)
    loop = re.search(r'<g class="loop"><path d="[^"]+" stroke="[^"]+" stroke-width="1.5" '
                     r'stroke-dasharray="4 3"', svg)
    assert loop and "back to ask: 40" in svg
    for outcome in ("converted", "opted_out"):
        node = re.search(rf'data-node="end:{outcome}"><rect [^>]*fill="([^"]+)"', svg)
        assert node.group(1) == OUTCOME_COLOURS[outcome][1]
    assert OUTCOME_COLOURS["converted"][1] != OUTCOME_COLOURS["opted_out"][1]


def test_straight_chains_become_one_node():
    steps = _steps("a", "b", "c")
    flows = [_flow("a", "b", 100), _flow("b", "c", 100), _flow("c", "end:completed", 100)]
    layout = layout_flows(steps, flows)
    assert [[n.label for n in layer] for layer in layout.layers] == [
        ["a … c (100)"], ["completed (100)"]]


# --- in the browser -----------------------------------------------------------------------------

MEASURE = """
function box(e) { var r = e.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }
var svg = document.querySelector('svg.sankey'), view = svg.viewBox.baseVal;
var texts = Array.prototype.map.call(svg.querySelectorAll('text'), function (t) {
  var b = t.getBBox(); return {text: t.textContent, x: b.x, y: b.y, right: b.x + b.width,
                               bottom: b.y + b.height}; });
return {view: {width: view.width, height: view.height}, svg: box(svg),
        fails: Array.prototype.map.call(document.querySelectorAll('.headline li.fail'), box),
        outcomes: Array.prototype.map.call(svg.querySelectorAll('g.outcome'), function (g) {
          var rect = g.querySelector('rect');
          return {node: g.getAttribute('data-node'), fill: rect.getAttribute('fill'),
                  box: box(rect)}; }),
        texts: texts, window: window.innerWidth};
"""


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _close(pixel, colour, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, _rgb(colour)))


@needs_chromium
def test_the_report_in_chromium_shows_failures_in_red_and_every_label_whole(ladder, tmp_path):
    page = tmp_path / "report.html"
    write_html(ladder, page)
    found = measure(page, tmp_path, MEASURE)
    image = screenshot(page, tmp_path)
    # the headline: two red items, on screen, with their red border and pink background
    assert len(found["fails"]) == 2
    for item in found["fails"]:
        middle = int((item["top"] + item["bottom"]) / 2)
        assert _close(image.getpixel((int(item["left"]) + 2, middle)), "#c62828")
        assert _close(image.getpixel((int(item["right"]) - 4, int(item["top"]) + 3)), "#ffebee")
    # the Sankey fits the page and no label leaves its drawing
    assert found["svg"]["right"] <= found["window"]
    view = found["view"]
    for label in found["texts"]:
        assert label["x"] >= 0 and label["right"] <= view["width"], label
        assert label["y"] >= 0 and label["bottom"] <= view["height"], label
    # each outcome is drawn in its own colour (and the screenshot shows it)
    colours = {o["node"]: o["fill"] for o in found["outcomes"]}
    assert colours["end:opted_out"] == OUTCOME_COLOURS["opted_out"][1]
    assert colours["end:converted"] == OUTCOME_COLOURS["converted"][1]
    assert len(set(colours.values())) == len(colours)
    for outcome in found["outcomes"]:
        rect = outcome["box"]
        if rect["bottom"] - rect["top"] >= 4:
            centre = (int((rect["left"] + rect["right"]) / 2), int((rect["top"] + rect["bottom"]) / 2))
            assert _close(image.getpixel(centre), outcome["fill"]), outcome
