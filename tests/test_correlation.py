"""Correlation keys (`correlate by order_id`): an event reaches only the run whose entry event had
the same key value, in both syntaxes, the tables, the runtime and the simulator."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from journeylang import ast
from journeylang.cli import main
from journeylang.compile.validate import check_tables
from journeylang.frontend import parse_source
from journeylang.printer import convert_document, format_text, print_journey, print_yaml
from journeylang.runtime import SqliteStore, open_store
from journeylang.runtime.correlation import same_key
from journeylang.runtime.database import connect
from journeylang.sim import parse_cohort, simulate
from journeylang.sim.vector import vector_support
from journeylang.source import Source

from equivalence import compare
from runtime_kit import HOUR, T0, Kit, compile_text, journey

ORDERS = journey('''
  stage s {
    send via wecom template a
    wait for order_shipped within 2d -> shipped timeout -> late
    shipped: send via wecom template b
    emit order_checked
    exit completed
    late: exit expired
  }''', header='''  entry on order_placed
  reentry always
  correlate by order_id
  goal paid on order_paid within 3d
  exit on unsubscribed as opted_out''')


def parse(text: str, name: str):
    document = parse_source(Source(name, text))
    assert document.diagnostics == [], document.diagnostics
    return document.journey


# --- the syntax -----------------------------------------------------------------------------

YAML = '''journey: t
entry: {on: order_placed}
reentry: always
correlate: order.id
stages:
  - stage: s
    steps:
      - exit: completed
'''
DSL = '''journey t {
  entry on order_placed
  reentry always
  correlate by order.id

  stage s {
    exit completed
  }
}
'''


def test_correlation_in_both_syntaxes():
    text, yaml_text = parse(DSL, "t.journey"), parse(YAML, "t.yaml")
    assert text == yaml_text
    assert text.correlate == ast.Correlation(("order", "id"))
    assert text.correlate.span.line == 4 and yaml_text.correlate.span.line == 4


def test_fmt_and_convert_keep_the_correlation():
    journey = parse(DSL, "t.journey")
    assert "  correlate by order.id\n" in print_journey(journey)
    assert format_text(DSL, "t.journey") == DSL
    assert "correlate: order.id\n" in print_yaml(journey)
    converted = convert_document(parse_source(Source("t.journey", DSL)), "yaml")
    assert parse(converted, "t.yaml") == journey
    back = convert_document(parse_source(Source("t.yaml", converted)), "journey")
    assert parse(back, "t.journey") == journey


@pytest.mark.parametrize("text, expected", [
    ("correlate: order-id", ("JL004", 2, 12, "'correlate' in journey must be an attribute path "
                             "(names joined by dots, such as order_id or order.id), got "
                             "'order-id'")),
    ("correlate: [order_id]", ("JL004", 2, 12, "'correlate' in journey must be an attribute "
                               "path (names joined by dots, such as order_id or order.id), got "
                               "a list")),
])
def test_bad_correlation_keys_in_yaml(text, expected):
    document = parse_source(Source("t.yaml", "journey: t\n" + text + "\n"))
    assert [(d.code, d.span.line, d.span.column, d.message) for d in document.diagnostics] == [
        expected]


def test_a_correlation_without_a_key_is_a_syntax_error():
    document = parse_source(Source("t.journey", "journey t {\n  correlate by\n}\n"))
    assert [d.code for d in document.diagnostics] == ["JL001"]


# --- the tables -----------------------------------------------------------------------------

def test_the_key_is_a_column_of_the_journey_table_and_only_when_used_in_the_hash():
    tables = compile_text(ORDERS)
    assert tables.journey["correlate"] == "order_id"
    plain = compile_text(ORDERS.replace("  correlate by order_id\n", ""))
    assert plain.journey["correlate"] is None
    assert "correlate" not in plain.canonical_json().split('"journey": [')[1].split("]")[0] or \
        plain.journey["correlate"] is None
    check_tables(tables)
    tables.journey["correlate"] = "order id"
    with pytest.raises(ValueError, match="table 'journey', row 1, correlate: must be an "
                                         "attribute path"):
        check_tables(tables)


def test_adding_the_column_keeps_the_content_hash_of_journeys_without_it():
    from journeylang.compile.tables import content_hash
    plain = compile_text(ORDERS.replace("  correlate by order_id\n", ""))
    rows = {**plain.rows, "journey": [{k: v for k, v in plain.journey.items()
                                       if k != "correlate"}]}
    assert content_hash("x", plain) == content_hash("x", type(plain)(rows))


# --- the runtime ----------------------------------------------------------------------------

def _two_orders(kit: Kit) -> None:
    kit.send("order_placed", data={"order_id": "A"}, attributes={"name": "Ann"})
    kit.send("order_placed", at=T0 + 60, data={"order_id": "B"})


def test_an_event_reaches_only_the_run_of_its_key():
    kit = Kit(ORDERS)
    _two_orders(kit)
    assert [r.key for r in kit.runs()] == ["A", "B"]
    kit.send("order_shipped", at=T0 + HOUR, data={"order_id": "B"})
    kit.send("order_paid", at=T0 + 2 * HOUR, data={"order_id": "A"})
    first, second = kit.runs()
    assert (first.outcome, first.step) == ("converted", "s.2")   # never shipped
    assert second.outcome == "completed"                           # shipped, then checked
    assert kit.history(what="undelivered") == []


@pytest.mark.parametrize("data, detail", [
    ({}, "it has no order_id (correlate by order_id)"),
    ({"order_id": None}, "it has no order_id (correlate by order_id)"),
    ({"order_id": {"x": 1}}, "its order_id is not a single value (correlate by order_id)"),
    ({"order_id": "Z"}, 'no active run has order_id "Z" (correlate by order_id)'),
    ({"order_id": 7}, "no active run has order_id 7 (correlate by order_id)"),
])
def test_an_event_without_the_key_or_with_an_unknown_one_is_recorded_undelivered(data, detail):
    kit = Kit(ORDERS)
    _two_orders(kit)
    kit.send("order_paid", at=T0 + HOUR, data=data)
    assert [r.outcome for r in kit.runs()] == [None, None]
    row, = kit.history(what="undelivered")
    assert row == [T0 + HOUR, "c1", None, "t", None, "undelivered", "event order_paid", detail]


def test_events_the_journey_does_not_take_leave_no_undelivered_row():
    kit = Kit(ORDERS)
    _two_orders(kit)
    kit.send("browsed", at=T0 + HOUR)
    kit.send("order_placed", at=T0 + HOUR, data={"order_id": "C"})  # an entry, not a delivery
    assert kit.history(what="undelivered") == []
    assert [r.key for r in kit.runs()] == ["A", "B", "C"]


def test_an_opt_out_reaches_every_run_of_the_customer():
    kit = Kit(ORDERS)
    _two_orders(kit)
    kit.send("unsubscribed", at=T0 + HOUR)
    assert [r.outcome for r in kit.runs()] == ["opted_out", "opted_out"]


@pytest.mark.parametrize("data, detail", [
    ({}, "the entry event has no order_id (correlate by order_id)"),
    ({"order_id": ["A"]}, "the entry event's order_id is not a single value (correlate by "
                          "order_id)"),
    ({"order_id": "A"}, 'run #1 already has order_id "A" (correlate by order_id)'),
])
def test_an_entry_without_a_usable_key_starts_no_run_and_says_why(data, detail):
    kit = Kit(ORDERS)
    kit.send("order_placed", data={"order_id": "A"}, attributes={"name": "Ann"})
    kit.send("order_placed", at=T0 + 60, data=data)
    assert len(kit.runs()) == 1
    row, = kit.history(what="not_entered")
    assert row == [T0 + 60, "c1", None, "t", None, "not_entered", "entry on order_placed", detail]


def test_a_number_and_a_text_are_different_keys():
    kit = Kit(ORDERS)
    kit.send("order_placed", data={"order_id": 42}, attributes={"name": "Ann"})
    kit.send("order_placed", at=T0 + 60, data={"order_id": "42"})
    kit.send("order_paid", at=T0 + HOUR, data={"order_id": 42.0})
    assert [(r.key, r.outcome) for r in kit.runs()] == [(42, "converted"), ("42", None)]


CHECKED = journey('''
  stage s {
    wait for order_closed within 1d -> done timeout -> done
    done: exit completed
  }''', header='''  entry on order_checked
  reentry always
  correlate by order_id
  exit on unsubscribed as opted_out''', ident="u")


def test_an_emitted_event_carries_its_runs_key():
    kit = Kit(ORDERS, CHECKED)
    _two_orders(kit)
    kit.send("order_shipped", at=T0 + HOUR, data={"order_id": "B"})
    checked = [r for r in kit.runs() if r.journey_id == "u"]
    assert [(r.key, r.context) for r in checked] == [("B", {"order_id": "B"})]


LADDER = journey('''
  stage s {
    handoff to agent within 1h
    wait for sla_breached within 1d -> late timeout -> done
    late: exit escalated
    done: exit completed
  }''', header='''  entry on complaint_filed
  reentry always
  correlate by ticket
  exit on unsubscribed as opted_out''')


def test_a_breach_reaches_the_run_whose_handoff_it_was():
    kit = Kit(LADDER)
    kit.send("complaint_filed", data={"ticket": 1}, attributes={"name": "Ann"})
    kit.send("complaint_filed", at=T0 + 30 * 60, data={"ticket": 2})
    kit.advance(T0 + 70 * 60)
    first, second = kit.runs()
    assert (first.outcome, second.outcome) == ("escalated", None)
    assert first.event["ticket"] == 1
    kit.advance(T0 + 2 * HOUR)
    assert kit.runs()[1].outcome == "escalated"


def test_a_handoff_names_its_key_and_a_resolution_meets_the_sla_of_its_own_run():
    """The older ticket's SLA is not met by the resolution of the newer one; a resolution
    without a ticket meets no SLA and says so."""
    kit = Kit(LADDER)
    kit.send("complaint_filed", data={"ticket": 1}, attributes={"name": "Ann"})
    kit.send("complaint_filed", at=T0 + 10 * 60, data={"ticket": 2})
    assert [a.payload for a in kit.actions("handoff")] == [
        {"role": "agent", "note": None, "ticket": 1}, {"role": "agent", "note": None, "ticket": 2}]
    kit.send("handoff_resolved", at=T0 + 20 * 60, data={"role": "agent"})
    kit.send("handoff_resolved", at=T0 + 30 * 60, data={"role": "agent", "ticket": 2})
    slas = sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)
    assert [(s.run_id, s.status) for s in slas] == [(1, "open"), (2, "met")]
    row, = kit.history(what="undelivered")
    assert row[5:] == ["undelivered", "event handoff_resolved",
                       "it has no ticket (correlate by ticket)"]
    kit.advance(T0 + 2 * HOUR)
    assert [s.status for s in sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)] == [
        "breached", "met"]


def test_the_key_survives_a_restart(state_target):
    """In both durable stores (SQLite, PostgreSQL): the key is kept with its run, and an
    event after the restart still reaches only the run of its key."""
    kit = Kit(ORDERS, store=open_store(state_target))
    _two_orders(kit)
    kit.runtime.close()
    again = Kit(store=open_store(state_target))
    again.send("order_paid", at=T0 + HOUR, data={"order_id": "B"}, ident="paid-b")
    again.send("order_paid", at=T0 + HOUR, data={"order_id": "Z"}, ident="paid-z")
    assert [r.key for r in again.customer().runs] == ["A"]
    again.runtime.close()
    db = connect(state_target)
    try:
        rows = [(r[0], json.loads(r[1])) for r in db.execute(
            "SELECT outcome, locals FROM runs ORDER BY id")]
        undelivered = [tuple(r) for r in db.execute(
            "SELECT journey_id, why, detail FROM history WHERE what = 'undelivered'")]
    finally:
        db.close()
    assert rows == [(None, {"key": "A"}), ("converted", {"key": "B"})]
    assert undelivered == [("t", "event order_paid",
                            'no active run has order_id "Z" (correlate by order_id)')]


def test_status_names_each_runs_key(tmp_path):
    path = tmp_path / "state.sqlite"
    kit = Kit(ORDERS, store=SqliteStore(path))
    _two_orders(kit)
    kit.send("order_paid", at=T0 + HOUR, data={"order_id": "Z"})
    kit.runtime.close()
    result = CliRunner().invoke(main, ["status", "--db", str(path), "--customer", "c1"])
    assert result.exit_code == 0, result.output
    assert 'order_id "A"' in result.output and 'order_id "B"' in result.output
    assert 'undelivered' in result.output and 'no active run has order_id "Z"' in result.output


# --- the simulator --------------------------------------------------------------------------

COHORT = """
size: 300
arrival: 1d
segments:
  - name: a
    entry_data: {order_id: {uniform: {min: 1, max: 1000000000, round: 0}}}
    behaviour:
      baseline:
        - {event: order_placed, per_day: 0.5, data: {order_id: {uniform: {min: 1, max: 1000000000, round: 0}}}}
      responses:
        - {event: order_paid, after: {template: a}, p: 0.5, delay: {uniform: {min: 1h, max: 2d}}}
"""


def test_a_correlated_journey_runs_on_the_vectorised_path():
    """Each event finds its run by key on both engines: several orders per customer at once,
    the payments (responses to a run's message) reaching the run of their order."""
    tables, cohort = compile_text(ORDERS), parse_cohort(COHORT.replace("size: 300", "size: 2000"))
    assert vector_support(tables, cohort) is None
    auto = simulate(tables, cohort, seed=4, days=5, engine="auto")
    reference = simulate(tables, cohort, seed=4, days=5, engine="reference")
    assert (auto.engine, auto.paths["reference"]) == ("vector", 0)
    assert reference.entered["runs"] > 1.5 * 2000   # customers with several orders at once
    compare(auto, reference)


ONE_RUN = ORDERS.replace("  reentry always\n", "")   # one run per customer: JL742 warns
ONE_RUN_COHORT = """
size: 4000
arrival: 1d
segments:
  - name: a
    entry_data: {order_id: {uniform: {min: 1, max: 1000000000, round: 0}}}
    behaviour:
      responses:
        - {event: order_shipped, after: {template: a}, p: 0.6, delay: {uniform: {min: 1h, max: 3d}}}
        - {event: order_paid, after: {template: b}, p: 0.5, delay: {uniform: {min: 1h, max: 2d}}}
  - name: b
    entry_data: {order_id: {categorical: {A: 1, B: 1}}}
    behaviour:
      responses:
        - {event: order_paid, after: {template: a}, p: 0.3, delay: 5h}
"""


def test_both_engines_agree_on_a_correlated_journey_with_one_run_per_customer():
    """Each customer's one run takes the responses to its messages (which carry its key):
    both engines agree, and with the uncorrelated journey."""
    tables, cohort = compile_text(ONE_RUN), parse_cohort(ONE_RUN_COHORT)
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=3, days=6, engine="vector")
    slow = simulate(tables, cohort, seed=3, days=6, engine="reference")
    compare(fast, slow)
    assert slow.conversion["converted"] > 500 and slow.undelivered == {} == fast.undelivered
    plain = simulate(compile_text(ONE_RUN.replace("  correlate by order_id\n", "")), cohort,
                     seed=3, days=6, engine="reference")
    assert plain.to_dict() == slow.to_dict()


NO_KEY = """
size: 300
arrival: 1d
segments:
  - name: a
    entry_data: ENTRY
    behaviour:
      BEHAVIOUR
"""


def no_key(behaviour: str, entry: str = "{order_id: 7}") -> str:
    return NO_KEY.replace("ENTRY", entry).replace("BEHAVIOUR", behaviour)


@pytest.mark.parametrize("entry_data, behaviour", [
    ("{}", "responses: [{event: order_paid, after: {template: a}, p: 0.5}]"),
    ("{order_id: [1, 2]}", "responses: [{event: order_paid, after: {template: a}, p: 0.5}]"),
    ("{order_id: 7}", "baseline: [{event: order_paid, per_day: 0.5}]"),
    ("{order_id: 7}", "responses: [{event: order_paid, after: {template: a}, p: 0.5, "
                      "data: {order_id: 8}}]"),
])
def test_events_without_the_runs_key_reach_no_run_on_both_engines(entry_data, behaviour):
    """An entry without a usable key starts no run; an event without the run's key (none, or
    another) reaches no run and is counted undelivered: on both engines alike."""
    tables = compile_text(ONE_RUN)
    cohort = parse_cohort(no_key(behaviour, entry_data).replace("size: 300", "size: 2000"))
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=1, days=4, engine="auto")
    slow = simulate(tables, cohort, seed=1, days=4, engine="reference")
    assert fast.engine == "vector"
    compare(fast, slow)
    if entry_data != "{order_id: 7}":
        assert fast.entered["runs"] == slow.entered["runs"] == 0
    else:
        assert fast.conversion["converted"] == slow.conversion["converted"] == 0
        assert slow.undelivered["order_paid"] > 100


@pytest.mark.parametrize("engine", ["vector", "reference"])
def test_the_simulation_counts_the_events_that_reached_no_run(tmp_path, engine):
    """Baseline payments carry no order's key: each reaches no run, and the simulation says
    how many, in its results and its summary."""
    tables = compile_text(ONE_RUN)
    cohort = parse_cohort(no_key(
        "baseline: [{event: order_paid, per_day: 1}, {event: browsed, per_day: 1}]"))
    results = simulate(tables, cohort, seed=1, days=4, engine=engine)
    paid = results.undelivered["order_paid"]
    assert list(results.undelivered) == ["order_paid"] and 400 < paid < 900  # while runs wait (2d)
    assert results.conversion["converted"] == 0
    assert results.to_dict()["undelivered"] == {"order_paid": paid}
    if engine == "reference":
        return
    journey_path, cohort_path = tmp_path / "orders.journey", tmp_path / "orders.cohort.yaml"
    journey_path.write_text(ONE_RUN, encoding="utf-8")
    cohort_path.write_text(no_key("baseline: [{event: order_paid, per_day: 1}, "
                                  "{event: browsed, per_day: 1}]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(journey_path), "--cohort",
                                       str(cohort_path), "--days", "4", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert (f"events that reached no run (no run had their correlation key): order_paid {paid:,}"
            in result.output)
    assert "the reference engine runs this simulation" not in result.output


def test_a_response_to_a_message_carries_the_key_of_the_run_that_sent_it():
    """Customers place several orders (each a run) and pay for half of the orders they were
    reminded of: each payment reaches the run of its own order, and no payment is lost."""
    results = simulate(compile_text(ORDERS), parse_cohort(COHORT), seed=4, days=5,
                       engine="reference")
    runs, converted = results.entered["runs"], results.conversion["converted"]
    assert runs > 400 and 0.4 < converted / runs < 0.6
    reached = {step["step"]: step["entered"] for step in results.steps}
    assert reached["s.1"] == runs


HANDOFFS = journey('''
  stage s {
    send via wecom template a
    handoff to agent within 1h
    wait for handoff_resolved within 1d -> done timeout -> late
    done: exit completed
    late: exit expired
  }''', header='''  entry on complaint_filed
  reentry always
  correlate by ticket
  exit on unsubscribed as opted_out''')

TICKETS = """
size: 200
arrival: 1d
segments:
  - name: a
    entry_data: {ticket: {uniform: {min: 1, max: 1000000000, round: 0}}}
    behaviour:
      baseline: [{event: complaint_filed, per_day: 1, data: {ticket: {uniform: {min: 1, max: 1000000000, round: 0}}}}]
"""


def test_staff_resolve_each_handoff_for_the_run_that_made_it():
    """Several tickets per customer at once: the simulated staff's resolution carries the
    ticket of its handoff, so it meets that run's SLA and reaches that run's wait."""
    results = simulate(compile_text(HANDOFFS), parse_cohort(TICKETS), seed=2, days=3,
                       engine="reference")
    runs = results.entered["runs"]
    assert runs > 400 and results.ended == {"treated:completed": runs - results.still_inside}
    assert results.undelivered == {}
    agent, = results.staff
    assert agent["met"] == agent["slas"] == runs and agent["breached"] == 0


READS_KEY = ONE_RUN.replace("goal paid on order_paid within 3d",
                            "goal paid on order_paid where event.order_id > 0 within 3d")
MOVES_ZONE = ONE_RUN.replace("    shipped: send via wecom template b\n",
                             "    shipped: set customer.timezone = event.zone\n"
                             "    send via wecom template b\n")
WHY = ("a set of something the engine does not hold (the profile's timezone to a value worked "
       "out per customer, or beside a scheduled entry): the customers reaching it would be run "
       "again on the reference path with new draws, so every customer takes it")


def test_simulate_cli_says_why_the_reference_engine_runs(tmp_path):
    journey_path = tmp_path / "orders.journey"
    journey_path.write_text(MOVES_ZONE, encoding="utf-8")
    cohort_path = tmp_path / "orders.cohort.yaml"
    cohort_path.write_text(COHORT, encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(journey_path), "--cohort",
                                       str(cohort_path), "--days", "3"])
    assert result.exit_code == 0, result.output
    assert f"the reference engine runs this simulation: the vectorised engine cannot ({WHY})" \
        in result.output


def test_a_condition_on_the_key_runs_on_the_vector_engine():
    """The key a response inherits is in its data, as the runtime puts it there: a goal whose
    condition reads it converts as on the reference engine."""
    tables = compile_text(READS_KEY)
    cohort = parse_cohort(no_key("responses: [{event: order_paid, after: {template: a}, "
                                 "p: 0.5}]"))
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=1, days=4, engine="auto")
    slow = simulate(tables, cohort, seed=1, days=4, engine="reference")
    assert fast.engine == "vector" and fast.paths["reference"] == 0
    assert slow.conversion["converted"] > 100
    compare(fast, slow)


KEYS = st.one_of(st.integers(-3, 3), st.sampled_from([2 ** 60, 2 ** 60 + 1, 1.5, -0.0, 2.0 ** 60]),
                 st.floats(-3, 3).map(float), st.booleans(), st.sampled_from(["1", "0", "", "工单"]),
                 st.none(), st.just([1]))


@settings(max_examples=200, deadline=None)
@given(st.lists(KEYS, max_size=12), st.booleans())
def test_the_vectorised_engines_key_codes_tell_keys_apart_as_the_runtime_does(values, column):
    """One code per key the runtime's ``same_key`` takes as one (42 and 42.0 one key; 42 and
    "42", or true and 1, two), -1 for what is no key (none, a list); numbers in a float column
    as numbers one by one."""
    from journeylang.runtime.correlation import key_of
    from journeylang.sim.vector.correlation import KeyCodes
    codes = KeyCodes()
    numbers = [v for v in values if type(v) in (int, float) and float(v) == v]
    found = codes.code(np.array(numbers, dtype=float), len(numbers)) if column else None
    got = [int(codes.code(v, 1)[0]) for v in values]
    for value, code in zip(values, got):
        assert (code < 0) == (key_of({"k": value}, ("k",))[1] is not None)
    for a, ca in zip(values, got):
        for b, cb in zip(values, got):
            if ca >= 0 and cb >= 0:
                assert (ca == cb) == same_key(a, b), (a, b)
    if column:
        assert found.tolist() == [int(codes.code(v, 1)[0]) for v in numbers]


def test_what_the_vectorised_engine_does_not_follow_takes_the_reference_path():
    """Journeys correlating by keys one inside the other (the runtime sets them in no set
    order), and correlated handoffs when a segment's customers take the reference path (the
    staff settlement needs every run's key), are run by the reference engine, which says
    why; journeys correlating by different keys otherwise are not."""
    def other(key):
        return compile_text(ONE_RUN.replace("journey t ", "journey u ")
                            .replace("correlate by order_id", f"correlate by {key}"))
    cohort = parse_cohort(COHORT)
    assert vector_support([compile_text(ONE_RUN), other("order.id")], cohort) is None
    nested = compile_text(ONE_RUN.replace("correlate by order_id", "correlate by order"))
    assert vector_support([nested, other("order.id")], cohort) == \
        "journeys correlate their runs by a key inside another's (order, order.id)"
    assert vector_support(compile_text(HANDOFFS.replace(
        "    wait for handoff_resolved within 1d -> done timeout -> late\n", "")), parse_cohort(
            TICKETS.replace("  - name: a\n", "  - name: a\n    attributes: {opted_out: false}\n"))) \
        == ("correlated runs with handoffs, and customers of some segments on the reference "
            "path: the staff settlement needs every run's key")
