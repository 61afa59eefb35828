"""Unlabelled steps in diagnostics: named by what they do in text output, by their stable id in
machine formats."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from journeylang import api, ast
from journeylang.cli import main
from journeylang.lint.step_names import describe
from journeylang.lsp.diagnostics import to_lsp
from journeylang.lsp.positions import Lines

JOURNEY = """journey win_back version 1 {
  owner "crm"
  policy { cap 1 messages per 1d; consent wecom }
  template cart_offer "Your cart is waiting."
  stage win_back {
    send via wecom template cart_offer
    wait 1h
    send via wecom template cart_offer
    exit completed
  }
}
"""
MESSAGE = "a path reaches {} as message 2 within 1d, over the cap of 1, the cap will drop it"


@pytest.fixture
def journey(write):
    return write("win_back.journey", JOURNEY)


def test_text_output_names_the_step_by_what_it_does(journey):
    result = CliRunner().invoke(main, ["check", str(journey)])
    assert MESSAGE.format("the send of cart_offer in stage win_back (line 8)") in result.output
    assert "win_back.3" not in result.output


def test_json_and_sarif_keep_the_stable_id(journey):
    output = CliRunner().invoke(main, ["lint", str(journey), "--format", "json"]).stdout
    [found] = [d for d in json.loads(output)["diagnostics"] if d["code"] == "JL301"]
    assert found["message"] == MESSAGE.format("send 'win_back.3'")
    sarif = CliRunner().invoke(main, ["lint", str(journey), "--format", "sarif"]).stdout
    assert MESSAGE.format("send 'win_back.3'") in sarif


def test_the_language_server_shows_what_the_step_does(journey):
    [found] = [d for d in api.check(journey).diagnostics if d.code == "JL301"]
    shown = to_lsp(found, Lines(JOURNEY), str(journey), journey.as_uri())
    assert shown.message.startswith(MESSAGE.format(
        "the send of cart_offer in stage win_back (line 8)"))


def test_a_labelled_step_keeps_its_label(write):
    path = write("j.journey", JOURNEY.replace("    wait 1h\n    send",
                                              "    wait 1h\n    again: send"))
    [found] = [d.for_people() for d in api.check(path).diagnostics if d.code == "JL301"]
    assert found.message == MESSAGE.format("send 'again'")


def test_a_fragment_step_names_the_fragment_file(write):
    path = write("j.journey", """journey j version 1 {
  owner "crm"
  policy { consent wecom }
  stage main {
    use winback with { silent_for: 1d }
    exit completed
  }
}
""")
    result = api.check(path)
    expanded = dict((s.name, (stage, s)) for stage, s in result.journey.steps())
    assert describe(*expanded["winback.1"], str(path)) == \
        "the wait of 1d in stage main (line 10 of winback.journey)"


STAGE = ast.Stage("s")


@pytest.mark.parametrize("step, what", [
    (ast.Send("s.1", channel="sms", template="offer"), "the send of offer"),
    (ast.Wait("s.1", duration=7200), "the wait of 2h"),
    (ast.WaitUntil("s.1", time=dt.time(20, 0)), "the wait until 20:00"),
    (ast.WaitDay("s.1", day=3, time=dt.time(10, 0)), "the wait until day 3 at 10:00"),
    (ast.WaitSchedule("s.1", schedule=ast.Schedule("week", dt.time(20, 0), (2,))),
     "the wait until next wednesday at 20:00"),
    (ast.WaitEvent("s.1", arms=(ast.EventArm("replied"), ast.EventArm("order_paid"))),
     "the wait for replied or order_paid"),
    (ast.Branch("s.1"), "the branch"),
    (ast.Tag("s.1", tags=("vip", "new")), "the tag vip, new"),
    (ast.SetAttribute("s.1", attribute="customer.level"), "the set of customer.level"),
    (ast.Coupon("s.1", code="SAVE10"), "the coupon SAVE10"),
    (ast.Handoff("s.1", role="agent"), "the handoff to agent"),
    (ast.Emit("s.1", event="level_up"), "the emit of level_up"),
    (ast.Goto("s.1", target="start"), "the goto start"),
    (ast.Exit("s.1", outcome="completed"), "the exit as completed"),
])
def test_every_kind_of_step_says_what_it_does(step, what):
    assert describe(STAGE, step) == f"{what} in stage s (line 0)"
