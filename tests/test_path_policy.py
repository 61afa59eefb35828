"""Path policy through timed waits: what JL301 and JL304 say, and the counters they follow."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang import api, ast
from journeylang.compile.conditions import DictScope, evaluate, to_tree
from journeylang.lint.counters import UNKNOWN, Counters, value_of

from conftest import FIXTURES

RULES = FIXTURES / "rules"


def _messages(path, code: str) -> list[str]:
    return [d.message for d in api.check(path).diagnostics if d.code == code]


def test_a_send_the_cap_always_drops_will_be_dropped():
    assert _messages(RULES / "JL301" / "fail.journey", "JL301") == [
        "a path reaches send 'one.4' as message 3 within 1d, over the cap of 2, "
        "the cap will drop it"]


def test_a_send_that_timing_may_keep_in_the_window_can_be_dropped():
    assert _messages(RULES / "JL301" / "fail_event.journey", "JL301") == [
        "a path can reach send 'answer' as message 2 within 12h, over the cap of 1, "
        "depending on timing: the cap can drop it"]


def test_wait_until_after_an_event_waits_for_the_next_occurrence_after_the_send():
    """The community-levels programme: a nudge at 20:00, an answer at any time, then `wait
    until 20:00` again: the next nudge is a day after the first at the least."""
    assert _messages(RULES / "JL301" / "pass_levels.journey", "JL301") == []


def test_counters_rule_out_a_third_reminder():
    assert _messages(RULES / "JL301" / "pass_counter.journey", "JL301") == []
    assert len(_messages(RULES / "JL301" / "fail_counter.journey", "JL301")) == 1


def test_a_counter_a_handler_sets_is_not_followed(write):
    text = (RULES / "JL301" / "pass_counter.journey").read_text(encoding="utf-8").replace(
        "  stage one {", "  on replied {\n    set reminders = 0\n  }\n  stage one {")
    assert len(_messages(write("reminders.journey", text), "JL301")) == 1


def test_a_goal_arm_behind_a_timed_wait_will_never_send():
    assert _messages(RULES / "JL304" / "fail_wait.journey", "JL304") == [
        "send 'one.3' follows goal event 'order_paid': the goal ends the journey first, so it "
        "will never be sent"]


def test_a_goal_that_counts_for_a_while_can_end_the_run_first():
    assert _messages(RULES / "JL304" / "fail_within.journey", "JL304") == [
        "send 'thanks' follows goal event 'order_paid': when it comes within 3d of entry, the "
        "goal ends the journey first, so it can go unsent"]


def test_a_send_other_paths_reach_is_never_sent_from_there():
    assert _messages(RULES / "JL304" / "fail_block.journey", "JL304") == [
        "send 'thanks' follows goal event 'order_paid': the goal ends the journey first, so it "
        "will never be sent from there"]


def test_an_emit_inside_the_goal_window_on_some_paths_can_end_the_run(write):
    path = write("emit.journey", """journey levels {
  goal quick on level_reached within 1d
  policy { consent wecom }
  template congrats "Level 2!"
  stage one {
    wait for replied within 2d -> go timeout -> go
    go: emit level_reached
    send via wecom template congrats
    exit completed
  }
}
""")
    assert _messages(path, "JL304") == [
        "send 'one.3' follows emit 'go' of goal event 'level_reached': when the emit comes "
        "within 1d of entry, the run receives its own event and the goal ends it there, so it "
        "can go unsent"]


# --- counters follow the runtime's semantics ----------------------------------------------------

_VARIABLES = ("a", "b", "c")
_values = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["x", "y"])


def _expressions():
    atoms = st.one_of(st.builds(ast.Literal, _values),
                      st.sampled_from(_VARIABLES).map(lambda name: ast.Path((name,))))

    def extend(inner):
        return st.one_of(
            st.builds(ast.Unary, st.just("-"), inner),
            st.builds(ast.Binary, st.sampled_from("+-*/%"), inner, inner),
            st.builds(ast.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                      inner, inner),
            st.builds(ast.In, inner, st.builds(ast.ListExpr, st.lists(inner, max_size=3)
                                               .map(tuple)), st.booleans()),
            st.builds(ast.Not, inner),
            st.builds(ast.BoolOp, st.sampled_from(["and", "or"]),
                      st.lists(inner, min_size=2, max_size=3).map(tuple)))
    return st.recursive(atoms, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_expressions(), st.fixed_dictionaries({name: _values for name in _VARIABLES}),
       st.sets(st.sampled_from(_VARIABLES)))
def test_what_counters_decide_the_runtime_decides_alike(expr, values, hidden):
    """With every value known the search's evaluation is the runtime's; with some hidden, a
    value it still decides is the one the runtime finds."""
    expected = evaluate(to_tree(expr), DictScope(values))
    assert value_of(expr, values) == expected
    partial = value_of(expr, {k: UNKNOWN if k in hidden else v for k, v in values.items()})
    assert partial is UNKNOWN or partial == expected


def test_counting_for_ever_is_forgotten_beyond_the_journeys_numbers():
    journey = ast.Journey("j", variables=(ast.Variable("n", 0),))
    counters = Counters(journey)
    step = ast.SetAttribute("s", attribute="n", value=ast.Binary(
        "+", ast.Path(("n",)), ast.Literal(1)))
    values = counters.start(journey)
    for _ in range(counters.bound):
        values = counters.after(step, values)
    assert values == (counters.bound,)
    assert counters.after(step, values) == (UNKNOWN,)
