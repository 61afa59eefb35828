"""The DSL frontend: every construct lowers to the model, errors point at the right place."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from journeylang import ast
from journeylang.expressions import unparse
from journeylang.frontend.text import parse_condition, parse_text
from journeylang.source import Source

RICH = '''
# cart recovery, every construct
journey cart_recovery "Cart recovery" version 3 {
  owner "crm-team"
  description """
    Nudge customers who left a cart.
  """
  entry on cart_abandoned where cart.value >= 50 and consent.wecom
  audience not (customer.tier in ["blocked"]) and has tag "member"
  reentry after 30d
  goal purchased on order_paid where order.total > 0 within 7d
  exit on unsubscribed as opted_out
  outcomes saved
  policy { cap 3 messages per 7d on wecom, sms; quiet 22:00-08:00; consent wecom, sms; holdout 5% }
  template cart_nudge "Hi {{ customer.name }}"
  template thanks { zh: "谢谢" en: "Thanks" }
  stage remind "Remind" {
    nudge: send via wecom template "cart_nudge" with { discount: 10, code: "X", rate: -0.5 }
    wait for order_paid within 2h -> thanks timeout -> check
    check: branch { when cart.value >= 200 -> vip_offer; else -> offer }
    vip_offer: handoff to agent within 30m note "VIP" -> done
    offer: coupon "CART10" value 10 expires 7d
    ab: split { a 50% -> done; b 50% -> thanks }
    thanks: send via wecom template thanks
    set customer.score = customer.score + 1 * 2
    wait 2h
    wait until 10:00
    wait within 24h { on replied -> done; on order_paid where order.total > 0; timeout -> done }
    tag "a", "b"
    untag "cart_open"
    webhook "https://crm.example/hook"
    emit followed_up with { source: "cart" }
    goto remind
    done: exit converted
  }
}
'''


@pytest.fixture(scope="module")
def journey():
    document = parse_text(Source("rich.journey", RICH))
    assert document.diagnostics == []
    return document.journey


def test_journey_level_fields(journey):
    assert (journey.id, journey.title, journey.version, journey.owner) == (
        "cart_recovery", "Cart recovery", 3, "crm-team")
    assert journey.description == "Nudge customers who left a cart."
    assert journey.entry.event == "cart_abandoned"
    assert unparse(journey.entry.condition) == "cart.value >= 50 and consent.wecom"
    assert unparse(journey.audience) == 'not customer.tier in ["blocked"] and has tag "member"'
    assert journey.reentry == ast.Reentry("after", 30 * 86400)
    assert journey.goals[0].name == "purchased" and journey.goals[0].within == 7 * 86400
    assert journey.exits == (ast.ExitRule("unsubscribed", "opted_out"),)
    assert journey.outcomes == ("saved",)
    assert journey.policy == ast.Policy(
        caps=(ast.Cap(3, 7 * 86400, ("wecom", "sms")),),
        quiet=ast.QuietHours(dt.time(22), dt.time(8)), consent=("wecom", "sms"), holdout=5.0)
    assert journey.templates[1].texts == (ast.TemplateText("zh", "谢谢"), ast.TemplateText("en", "Thanks"))


def test_every_step_kind(journey):
    steps = [step for _, step in journey.steps()]
    kinds = [step.kind for step in steps]
    assert kinds == ["send", "wait_event", "branch", "handoff", "coupon", "split", "send", "set",
                     "wait", "wait_until", "wait_event", "tag", "untag", "webhook", "emit",
                     "goto", "exit"]
    assert steps[0].params == (ast.Param("discount", 10), ast.Param("code", "X"),
                               ast.Param("rate", -0.5))
    assert steps[1] == ast.WaitEvent("remind.2", next="check", arms=(
        ast.EventArm("order_paid", None, "thanks"),), within=7200)
    assert steps[3] == ast.Handoff("vip_offer", next="done", role="agent", within=1800, note="VIP")
    assert steps[4] == ast.Coupon("offer", code="CART10", value=10.0, expires=7 * 86400)
    assert steps[9].time == dt.time(10, 0)
    assert [arm.target for arm in steps[10].arms] == ["done", None]
    assert steps[6].template == "thanks"


def test_unnamed_steps_are_named_by_stage_and_position(journey):
    names = [step.name for _, step in journey.steps()]
    assert names[1] == "remind.2" and names[7] == "remind.8"
    assert not journey.stages[0].steps[0].is_auto_named


def test_spans_point_at_the_source(journey):
    nudge = journey.stages[0].steps[0]
    assert (nudge.span.line, nudge.span.column) == (18, 5)
    assert (journey.entry.span.line, journey.entry.span.column) == (8, 3)


def test_comments_are_collected():
    document = parse_text(Source("c.journey", '# top\njourney x { # trailing\n stage a { exit completed } }'))
    assert [(c.text, c.span.line, c.span.column) for c in document.comments] == [
        ("# top", 1, 1), ("# trailing", 2, 13)]


def test_hash_inside_a_string_is_not_a_comment():
    document = parse_text(Source("c.journey", 'journey x { owner "team #1" stage a { exit completed } }'))
    assert document.journey.owner == "team #1" and document.comments == []


@pytest.mark.parametrize("text, message, position", [
    ("journey x { stage a { wait 2h ", "unexpected end of file", None),
    ("journey x { owner @ }", "unexpected character '@'; expected a quoted string", (1, 19)),
    ("journey x { stage a { send via wecom } }",
     "unexpected '}'; expected ',', 'template'", (1, 38)),
    ("journey x { stage a { coupon: coupon \"x\" } }",
     "unexpected ':'; expected a quoted string", (1, 29)),
])
def test_syntax_errors(text, message, position):
    [diagnostic] = parse_text(Source("e.journey", text)).diagnostics
    assert diagnostic.code == "JL001"
    assert diagnostic.message.startswith(message)
    if position:
        assert (diagnostic.span.line, diagnostic.span.column) == position


def test_keyword_label_gets_a_hint():
    [diagnostic] = parse_text(Source("e.journey", 'journey x { stage a { wait: wait 1d } }')).diagnostics
    assert diagnostic.hint == "'wait' is a keyword and cannot name a step; choose another label"


@pytest.mark.parametrize("text, message", [
    ("wait 1.5s", "invalid duration '1.5s': it must be a whole number of seconds"),
    ("wait until 24:30", "invalid time of day '24:30': use HH:MM between 00:00 and 23:59"),
    ("split { a 120% -> b }", "invalid percentage '120%': it must be between 0% and 100%"),
])
def test_invalid_values(text, message):
    document = parse_text(Source("v.journey", f"journey x {{ stage a {{ {text}\n b: exit completed }} }}"))
    assert [d.message for d in document.diagnostics] == [message]
    assert document.journey is not None  # the model is still built so other checks can run


@pytest.mark.parametrize("text, expected", [
    ("a or b and c", "a or b and c"),
    ("(a or b) and c", "(a or b) and c"),
    ("not a and b", "not a and b"),
    ("1 + 2 * 3 - 4", "1 + 2 * 3 - 4"),
    ("(1 + 2) * 3", "(1 + 2) * 3"),
    ("x - (y - z)", "x - (y - z)"),
    ("-x.y > -3", "-x.y > -3"),
    ('customer.tier not in ["a", "b"]', 'customer.tier not in ["a", "b"]'),
    ("customer.email exists", "customer.email exists"),
    ('has tag "vip" or false', 'has tag "vip" or false'),
])
def test_condition_precedence_and_printing(text, expected):
    expr, diagnostics = parse_condition(text, "c")
    assert diagnostics == []
    assert unparse(expr) == expected


def test_condition_spans_are_shifted_into_the_host_file():
    expr, _ = parse_condition("a >= 1", "j.yaml", line=4, column=12)
    assert (expr.span.line, expr.span.column, expr.span.end_column) == (4, 12, 18)
    _, [error] = parse_condition("a >=", "j.yaml", line=4, column=12)
    assert error.span.line == 4 and error.span.column >= 12


names = st.sampled_from(["customer", "cart", "event", "value", "tier", "x"])
paths = st.lists(names, min_size=1, max_size=3).map(lambda p: ast.Path(tuple(p)))
literals = st.one_of(
    st.integers(-1000, 1000), st.floats(-1e12, 1e12, allow_nan=False),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
    st.booleans(), st.none()).map(ast.Literal)
atoms = st.one_of(paths, literals)


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from("+-*/%"), children, children).map(lambda t: ast.Binary(*t)),
        st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), children, children)
        .map(lambda t: ast.Compare(*t)),
        st.tuples(children, st.lists(children, max_size=3).map(lambda i: ast.ListExpr(tuple(i))),
                  st.booleans()).map(lambda t: ast.In(*t)),
        children.map(ast.Not),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3))
        .map(lambda t: ast.BoolOp(t[0], tuple(t[1]))),
        paths.map(ast.Exists),
        st.text(alphabet="abc _", max_size=5).map(ast.HasTag),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(atoms, _extend, max_leaves=12))
def test_printing_a_condition_and_parsing_it_gives_it_back(expr):
    parsed, diagnostics = parse_condition(unparse(expr), "gen")
    assert diagnostics == []
    assert unparse(parsed) == unparse(expr)
