"""Graph views: Mermaid and DOT text, SVG through Graphviz, and the HTML page in headless Chromium."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from journeylang import ast
from journeylang.api import parse
from journeylang.cli import main
from journeylang.views import ViewError, render_svg, write_dot, write_html, write_mermaid
from journeylang.views.model import summarize

from conftest import EXAMPLES
from browser import chromium, needs_chromium
from tools import needs_dot

CART = EXAMPLES / "cart_recovery.journey"
ALL = sorted(EXAMPLES.glob("*.journey")) + sorted(EXAMPLES.glob("*.yaml"))


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def journey(path=CART):
    return parse(path).journey


def test_mermaid_has_stages_labels_and_outcome_styles():
    text = write_mermaid(journey())
    assert text.startswith("flowchart TD\n")
    assert '  subgraph s0 ["remind: Remind"]' in text
    assert '  n2 -->|"replied"| n3' in text
    assert '  n2 -.->|"timeout 1d"| n6' in text
    assert '  n6 -->|"cart.value #gt;= 200"| n7' in text
    assert '  n10 -->|"coupon_arm 50%"| n11' in text
    assert '    n20{{"expire<br/>exit expired"}}' in text
    assert "  class n20 outcome_expired" in text


def test_dot_has_clusters_and_labelled_edges():
    text = write_dot(journey())
    assert "  subgraph cluster_s1 {" in text
    assert '    label="convert: Offer"; style="rounded,dashed"; color="#90a4ae";' in text
    assert '  n2 -> n6 [label="cart_viewed where event.count >= 2", color="#1565c0"];' in text
    assert '  n10 -> n13 [label="gift_arm 50%", color="#00838f"];' in text
    assert 'shape=doubleoctagon, fillcolor="#eceff1"' in text


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_example_draws(path):
    model = journey(path)
    for step_stage, step in model.steps():
        assert step.name in write_mermaid(model).replace("#quot;", '"')
    assert write_dot(model).rstrip().endswith("}")


@needs_dot
def test_svg_through_graphviz():
    svg = run("graph", str(CART), "--format", "svg").stdout
    assert "<svg" in svg and "give_coupon" in svg and "cluster_s2" in svg


def test_missing_graphviz_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ViewError, match="Graphviz's 'dot' program, which is not installed"):
        render_svg("digraph {}")
    result = run("graph", str(CART), "--format", "html")
    assert result.exit_code == 1
    assert "error: the svg and html views need Graphviz's 'dot'" in result.stderr
    assert "Traceback" not in result.output


def test_graph_writes_output_file(tmp_path):
    out = tmp_path / "cart.mmd"
    result = run("graph", str(CART), "-o", str(out))
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == write_mermaid(journey())


def test_unreadable_journey_exits_1(write):
    result = run("graph", str(write("bad.journey", "journey {")))
    assert result.exit_code == 1
    assert "JL001" in result.stderr


@needs_dot
@needs_chromium
def test_html_view_renders_in_headlesschromium(tmp_path):
    page = tmp_path / "cart.html"
    assert run("graph", str(CART), "--format", "html", "-o", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org/", "")  # only SVG namespaces
    assert "https://" not in html and "<link" not in html and " src=" not in html

    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    assert 'data-steps="22"' in dom  # the script ran and saw 21 steps and the entry node
    for name in ("nudge", "give_coupon", "sms_last", "remind: Remind", "timeout 1d"):
        assert name in dom

    shot = tmp_path / "cart.png"
    chromium(page, tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000

    # the console check itself works: a page with a script error is caught
    broken = tmp_path / "broken.html"
    broken.write_text(html.replace("(function () {", "(function () { missing();"), "utf-8")
    _, console = chromium(broken, tmp_path / "profile3", "--dump-dom")
    assert any("missing is not defined" in line for line in console)


@needs_dot
def test_html_uses_a_chinese_font_stack_for_page_and_graph():
    from journeylang.views.html import FONTS
    page = write_html(journey())
    assert f"body {{ font-family: {FONTS};" in page and f"#graph svg text {{ font-family: {FONTS}; }}" in page
    assert FONTS.index('"PingFang SC"') < FONTS.index("Helvetica")


@needs_dot
def test_html_needs_no_network_policy():
    html = write_html(journey())
    assert "default-src 'none'" in html


def _step_classes(cls=None):
    for sub in (cls or ast.Step).__subclasses__():
        yield sub
        yield from _step_classes(sub)


# steps whose summary is their kind: nothing more to say (a fragment's `use` is expanded first)
_BARE = {"branch", "split", "use", "step"}


@pytest.mark.parametrize("cls", sorted({c for c in _step_classes() if c is not ast.SequentialStep},
                                       key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_step_kind_has_a_summary(cls):
    step = cls("s.1")
    assert summarize(step) != step.kind or step.kind in _BARE


def test_day_wait_summary():
    step = ast.WaitDay("s.1", day=3, time=dt.time(10, 0))
    assert summarize(step) == "wait until day 3 at 10:00"
