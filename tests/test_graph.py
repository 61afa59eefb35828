"""Lowering to the IR graph: typed edges, stage membership, reference resolution."""
from __future__ import annotations

from journeylang.frontend.text import parse_text
from journeylang.graph import build_graph
from journeylang.source import Source


def graph_of(text: str):
    document = parse_text(Source("g.journey", text))
    assert document.diagnostics == []
    return build_graph(document.journey)


def edges(result):
    return sorted((a, b, d["kind"], d["label"]) for a, b, d in result.graph.edges(data=True))


def test_edges_are_typed():
    result = graph_of('''journey g {
      stage one {
        hello: send via wecom template "hi"
        reply: wait for replied where event.text exists within 1d -> split_it timeout -> check
        check: branch { when customer.vip -> vip; else -> done }
        split_it: split { a 30% -> vip; b 70% -> done }
        vip: goto two
      }
      stage two {
        care: handoff to agent within 30m
        done: exit completed
      }
    }''')
    assert result.start == "hello"
    assert edges(result) == [
        ("care", "done", "next", ""),
        ("check", "done", "default", "else"),
        ("check", "vip", "branch", "customer.vip"),
        ("hello", "reply", "next", ""),
        ("reply", "check", "timeout", "timeout"),
        ("reply", "split_it", "event", "replied"),
        ("split_it", "done", "split", "b 70%"),
        ("split_it", "vip", "split", "a 30%"),
        ("vip", "care", "goto", ""),
    ]
    assert result.graph.nodes["care"]["stage"] == "two"
    weights = {d["label"]: d["weight"] for _, _, d in result.graph.out_edges("split_it", data=True)}
    assert weights == {"a 30%": 30.0, "b 70%": 70.0}


def test_wait_without_timeout_has_no_timeout_edge():
    result = graph_of('journey g { stage s { wait for replied -> done\n done: exit completed } }')
    assert edges(result) == [("s.1", "done", "event", "replied")]


def test_fall_through_crosses_stages_and_skips_empty_ones():
    result = graph_of('journey g { stage a { send via sms template "t" } stage empty { } '
                      'stage b { exit completed } }')
    assert edges(result) == [("a.1", "b.1", "next", "")]


def test_goto_an_empty_stage_goes_to_the_next_step():
    result = graph_of('journey g { stage a { goto empty } stage empty { } stage b { exit completed } }')
    assert ("a.1", "b.1", "goto", "") in edges(result)


def test_duplicate_names_stay_separate_nodes():
    result = graph_of('journey g { stage a { x: wait 1d } stage b { x: exit completed } }')
    assert sorted(result.graph.nodes) == ["x", "x#2"]
    assert edges(result) == [("x", "x#2", "next", "")]


def test_unresolved_targets_are_kept_for_the_checks():
    result = graph_of('journey g { stage a { goto nowhere } }')
    [(step, target)] = result.unresolved
    assert (step.name, target.name, target.kind) == ("a.1", "nowhere", "goto")
