"""Inline suppressions in both syntaxes."""
from __future__ import annotations

from journeylang import api

DSL = '''journey s "S" version 1 {
  owner "o"
  entry on joined
  stage one {
    # journeylang: disable=JL208
    wait for replied
    handoff to agent   # journeylang: disable=JL305
    branch {                      # journeylang: disable=JL207
      when cart.value > 1 -> done
      when cart.value > 2 -> done
      else -> h
    }
    h: handoff to agent
    done: exit completed
  }
}
'''


def codes(text: str, name: str) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in api.check_text(text, name).diagnostics]


def test_line_and_next_line_and_whole_step_suppressions():
    assert codes(DSL, "s.journey") == [("JL305", 13)]


def test_file_suppression_and_all():
    text = "# journeylang: disable-file=JL305, JL208\n" + DSL
    assert codes(text, "s.journey") == []
    assert codes(DSL.replace("disable=JL208", "disable=all"), "s.journey") == [("JL305", 13)]


def test_other_codes_are_not_suppressed():
    assert ("JL208", 6) in codes(DSL.replace("disable=JL208", "disable=JL999"), "s.journey")


def test_yaml_comments_suppress_too():
    text = '''journey: s
title: S
version: 1
owner: o
entry: {on: joined}
stages:
  - stage: one
    steps:
      # journeylang: disable=JL305
      - handoff: {to: agent}
      - handoff: {to: agent}   # journeylang: disable=JL305
      - handoff: {to: agent}
      - exit: completed
'''
    assert codes(text, "s.yaml") == [("JL305", 12)]
