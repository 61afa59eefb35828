"""The path searches of the policy and timing rules: exact on the bundled examples, and a note
(never a silent stop) where a journey has more states than the budget."""
from __future__ import annotations

from pathlib import Path

import pytest

from journeylang import api
from journeylang.diagnostics import Severity
from journeylang.expand import expand_document
from journeylang.lint import flow
from journeylang.lint.registry import LintContext
from journeylang.lint.rules import policy

from conftest import EXAMPLES

JOURNEYS = sorted([*EXAMPLES.glob("*.journey"), *EXAMPLES.glob("*.yaml")])
CUT_SHORT = "the path search for"


def _context(path: Path) -> LintContext:
    document = api.parse(path)
    config = api.config_for(path)
    expansion = expand_document(document, config.channels, config.segments)
    return LintContext.of(expansion.journey, config, str(path), document.source.text)


@pytest.mark.parametrize("path", JOURNEYS, ids=lambda p: p.name)
def test_every_search_on_the_bundled_examples_sees_every_state(path):
    ctx = _context(path)
    assert ctx.timings[1], "the time-of-day search stopped at its budget"
    for cap in ctx.journey.policy.caps:
        assert policy._cap_violations(ctx, cap)[1], f"the search for {cap} stopped at its budget"
    notes = [d for d in api.check(path).diagnostics if d.message.startswith(CUT_SHORT)]
    assert notes == []


LOOP = """
journey weekly_care {
  entry on joined
  policy { cap 2 messages per 1d; quiet 22:00-08:00; consent wecom }
  template hello "hello"
  stage care {
    again: send via wecom template hello
    wait 25h
    send via wecom template hello
    wait 3d
    goto again
  }
}
"""


def test_a_loop_that_waits_past_the_window_repeats_its_states(monkeypatch, write):
    """Sends older than the cap's window drop out of the search's state, so a loop comes back
    to a state it has seen within a handful of steps (it would never repeat if they stayed)."""
    monkeypatch.setattr(policy, "MAX_STATES", 40)
    ctx = _context(write("weekly.journey", LOOP))
    [cap] = ctx.journey.policy.caps
    found, complete = policy._cap_violations(ctx, cap)
    assert complete and found == []


BUSY = """
journey busy {
  entry on joined
  exit on unsubscribed as opted_out
  policy { cap 1 messages per 1d; quiet 22:00-08:00; consent wecom }
  template hello "hello"
  stage one {
    send via wecom template hello
    wait for clicked within 1h -> later timeout -> later
    later: wait until 21:30
    send via wecom template hello
    wait until day 3 at 10:00
    wait for replied within 2d -> done timeout -> done
    done: exit completed
  }
}
"""


def test_each_rule_says_when_its_search_stops_at_the_budget(monkeypatch, write):
    monkeypatch.setattr(flow, "MAX_STATES", 3)
    monkeypatch.setattr(policy, "MAX_STATES", 3)
    diagnostics = api.check(write("busy.journey", BUSY)).diagnostics
    notes = {d.code: d for d in diagnostics if d.message.startswith(CUT_SHORT)}
    assert set(notes) == {"JL213", "JL214", "JL301", "JL302"}
    assert all(d.severity is Severity.INFO and "stopped after 3 states" in d.message
               for d in notes.values())
    assert notes["JL214"].span.line == 12  # at the first day wait
    assert "day waits on paths beyond were not checked" in notes["JL214"].message
    assert "events lost while a send is held" in notes["JL213"].message


def test_no_note_when_the_budget_is_not_reached(write):
    diagnostics = api.check(write("busy.journey", BUSY)).diagnostics
    assert [d for d in diagnostics if d.message.startswith(CUT_SHORT)] == []


def test_a_budget_of_exactly_the_number_of_states_is_enough(monkeypatch, write):
    """The search is cut short only when it meets a state it has not seen beyond the budget,
    not when what is left to follow holds only states it has seen (round a loop)."""
    ctx = _context(write("weekly.journey", LOOP))
    found, complete = flow.timings(ctx.graph, ctx.journey.policy.quiet)
    states = sum(len(whens) for whens in found.values())
    assert complete
    monkeypatch.setattr(flow, "MAX_STATES", states)
    assert flow.timings(ctx.graph, ctx.journey.policy.quiet) == (found, True)
    monkeypatch.setattr(flow, "MAX_STATES", states - 1)
    assert flow.timings(ctx.graph, ctx.journey.policy.quiet)[1] is False
