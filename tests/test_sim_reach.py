"""A cohort checked against the journeys simulated before the run: arrival events that change
nothing, journeys no customer can enter, responses that never happen, each said where the
cohort says it."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from journeylang import api
from journeylang.cli import main
from journeylang.sim import load_cohort, parse_cohort
from journeylang.sim.reach import cohort_warnings

from conftest import EXAMPLES
from runtime_kit import compile_text, journey

CARTS = compile_text(journey('  stage s "S" {\n    send via wecom template a\n    exit completed\n  }',
                             header="  entry on cart_abandoned", ident="carts"))
HELPER = compile_text(journey('  stage s "S" {\n    send via wecom template b\n    exit completed\n  }',
                              header="  entry on nudged", ident="helper"))
NUDGING = compile_text(journey('  stage s "S" {\n    emit nudged\n    exit completed\n  }',
                               header="  entry on cart_abandoned", ident="nudging"))


def _cohort(entry: str, behaviour: str = "") -> str:
    return f"size: 10\nentry: {entry}\nsegments:\n  - name: a\n{behaviour}"


def test_a_misspelt_arrival_event_is_said_twice_at_the_entry_key():
    cohort = parse_cohort(_cohort("cart_abandonned"), "c.yaml")
    first, second = cohort_warnings(cohort, CARTS)
    assert str(first) == ("c.yaml:2:8: customers arrive with 'cart_abandonned', which no journey "
                          "takes and no response follows: their arrival changes nothing; did "
                          "you mean 'cart_abandoned'?")
    assert str(second) == ("c.yaml:2:8: journey 'carts' is entered on 'cart_abandoned', which no "
                           "customer of this cohort arrives with or gets from a response, a "
                           "baseline event or an emit: none of its runs can begin")


@pytest.mark.parametrize("entry, behaviour", [
    ("cart_abandoned", ""),
    # arriving with an event nothing takes (and like none a journey takes), entering on a
    # response to it or a baseline event
    ("visited", "    behaviour:\n      responses:\n"
                "        - {event: cart_abandoned, after: {event: visited}, p: 0.5}\n"),
    ("visited", "    behaviour:\n      baseline:\n        - {event: cart_abandoned, per_day: 0.1}\n"),
    ("[visited, cart_abandoned]", "    behaviour:\n      responses:\n"
                                  "        - {event: bought, after: {event: visited}, p: 0.5}\n"),
])
def test_arrivals_that_do_something_and_journeys_some_customer_can_enter_are_not_warned(
        entry, behaviour):
    assert cohort_warnings(parse_cohort(_cohort(entry, behaviour)), CARTS) == []


def test_a_misspelt_arrival_event_beside_one_that_enters():
    found = cohort_warnings(parse_cohort(_cohort("[cart_abandoned, cart_abandonned]"), "c.yaml"),
                             CARTS)
    assert [str(w) for w in found] == [
        "c.yaml:2:8: customers arrive with 'cart_abandonned', which no journey takes and no "
        "response follows: their arrival changes nothing; did you mean 'cart_abandoned'?"]


def test_a_journey_entered_on_another_journeys_emit_can_begin():
    cohort = parse_cohort(_cohort("cart_abandoned"))
    assert cohort_warnings(cohort, [NUDGING, HELPER]) == []
    assert [w.message.split(",")[0] for w in cohort_warnings(cohort, [CARTS, HELPER])] == [
        "journey 'helper' is entered on 'nudged'"]


def test_without_an_entry_customers_arrive_with_the_journeys_own_entry_events():
    assert cohort_warnings(parse_cohort("size: 3\nsegments: [{name: a}]\n"), CARTS) == []


@pytest.mark.parametrize("cohort_file", sorted((EXAMPLES / "cohorts").glob("*.cohort.yaml")),
                         ids=lambda p: p.name.removesuffix(".cohort.yaml"))
def test_no_bundled_example_warns(cohort_file):
    name = cohort_file.name.removesuffix(".cohort.yaml")
    journey_file, = [p for p in EXAMPLES.glob(f"{name}.*") if p.is_file()]
    assert cohort_warnings(load_cohort(cohort_file), api.load_tables(journey_file)) == []


def test_the_command_warns_and_still_runs(tmp_path):
    cohort = tmp_path / "c.yaml"
    cohort.write_text(_cohort("cart_abandonned", "    consent: {wecom: 1}\n"), encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "cart_recovery.journey"),
                                       "--cohort", str(cohort), "--days", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"warning: {cohort}:2:8: customers arrive with 'cart_abandonned'" in result.output
    assert f"warning: {cohort}:2:8: journey 'cart_recovery' is entered on 'cart_abandoned'" \
        in result.output
    assert "entered: 0 runs, holdout 0; ended 0, still inside 0; 10 of 10 customers never " \
           "entered" in result.output


def test_responses_after_a_misspelt_event_or_channel_are_said_where_they_name_it():
    behaviour = ("    behaviour:\n      responses:\n"
                 "        - {event: cart_abandoned, after: {event: visted}, p: 0.5}\n"
                 "        - {event: bought, after: {channel: wecon}, p: 0.5}\n"
                 "        - {event: bought, after: {channel: email}, p: 0.5}\n"
                 "        - {event: bought, after: {event: browsed}, p: 0.5}\n")
    found = cohort_warnings(parse_cohort(_cohort("[visited, cart_abandoned]", behaviour),
                                         "c.yaml"), CARTS)
    # (email and browsed, like nothing the journey uses: another journey's, left alone)
    assert [str(w) for w in found] == [
        "c.yaml:7:50: a response of segment 'a' follows event 'visted', which no customer of "
        "this cohort can have: it never happens; did you mean 'visited'?",
        "c.yaml:8:44: a response of segment 'a' follows channel 'wecon', which no journey "
        "sends on: it never happens; did you mean 'wecom'?"]


def test_a_response_after_an_event_the_runtime_or_an_emit_makes_can_happen():
    behaviour = ("    behaviour:\n      responses:\n"
                 "        - {event: bought, after: {event: message_delivered}, p: 0.5}\n"
                 "        - {event: bought, after: {event: nudged}, p: 0.5}\n")
    assert cohort_warnings(parse_cohort(_cohort("cart_abandoned", behaviour)),
                           [NUDGING, HELPER]) == []


GATED = compile_text(journey(
    '  stage s "S" {\n    send via wecom template a\n    exit completed\n  }',
    header='  entry on cart_abandoned where cart.value >= 50 and consent.wecom and '
           'customer.score >= 10 and event.order.total > 0\n'
           '  audience customer.tier == "gold" and not has tag "staff"\n'
           '  attribute score: number = 0', ident="gated"))


def test_what_an_entry_reads_that_no_segment_gives_is_said_at_the_segments():
    cohort = parse_cohort("size: 10\nsegments:\n  - name: a\n    consent: {wechat: 1}\n"
                          "    entry_data: {cart: {value: 80}}\n", "c.yaml")
    assert [str(w) for w in cohort_warnings(cohort, GATED)] == [
        "c.yaml:3:3: journey 'gated' reads consent 'wecom' in its entry condition, which no "
        "segment of the cohort gives: it is null for every customer; the cohort gives consent "
        "'wechat'",
        "c.yaml:3:3: journey 'gated' reads the entry event's data 'order' in its entry "
        "condition, which no segment of the cohort gives: it is null for every customer",
        "c.yaml:3:3: journey 'gated' reads the profile attribute 'tier' in its audience, which "
        "no segment of the cohort gives and the journey declares no default for: it is null "
        "for every customer"]


def test_an_entry_reading_what_the_segments_or_their_events_give_is_not_warned():
    behaviour = ("    behaviour:\n      baseline:\n"
                 "        - {event: cart_abandoned, per_day: 1, data: {order: {total: 5}}}\n"
                 "      responses:\n"
                 "        - {event: bought, p: 1, attributes: {tier: gold}}\n")
    cohort = parse_cohort("size: 10\nsegments:\n  - name: a\n    consent: {wecom: 1}\n"
                          "    entry_data: {cart: {value: 80}}\n" + behaviour)
    assert cohort_warnings(cohort, GATED) == []


def test_the_data_of_an_entry_event_a_journey_emits_is_not_known_before_the_run():
    helper = compile_text(journey('  stage s "S" {\n    exit completed\n  }',
                                  header="  entry on nudged where event.reason == 1",
                                  ident="helper"))
    assert cohort_warnings(parse_cohort(_cohort("cart_abandoned")), [NUDGING, helper]) == []
