"""YAML frontend: the same model as the DSL, and every malformed input as a diagnostic."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylang import ast
from journeylang.diagnostics import Span
from journeylang.frontend import parse_file, parse_source
from journeylang.frontend.yaml import parse_yaml
from journeylang.source import Source

PAIR = Path(__file__).parent / "fixtures" / "pair"
STEPS = "journey: j\nstages:\n  - stage: s\n    steps:\n"  # step lines start on line 5


def parse(text: str, name: str = "t.yaml"):
    return parse_yaml(Source(name, text))


def problems(text: str) -> list[tuple]:
    return [(d.code, d.span.line, d.span.column, d.message) for d in parse(text).diagnostics]


def only_step(text: str) -> ast.Step:
    doc = parse(STEPS + text)
    assert doc.diagnostics == []
    return doc.journey.stages[0].steps[0]


# --- the same journey in both syntaxes ---------------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    return parse_file(PAIR / "cart_recovery.journey"), parse_file(PAIR / "cart_recovery.yaml")


def test_pair_parses_without_diagnostics(pair):
    dsl, yml = pair
    assert dsl.diagnostics == [] and yml.diagnostics == []


def test_pair_gives_equal_models(pair):
    dsl, yml = pair
    assert dsl.journey == yml.journey
    # == says 10 == 10.0; the reprs also agree on every int, float and tuple
    assert repr(dsl.journey) == repr(yml.journey)


def test_pair_covers_every_step_kind_and_journey_field(pair):
    journey = pair[1].journey
    assert {step.kind for _, step in journey.steps()} == set(ast._KIND_NAMES.values())
    bare = ast.Journey(journey.id)
    unset = [f.name for f in dataclasses.fields(ast.Journey)
             if f.compare and getattr(journey, f.name) == getattr(bare, f.name) and f.name != "id"]
    assert unset == []
    assert all(getattr(journey.policy, f.name) for f in dataclasses.fields(ast.Policy) if f.compare)


def test_spans_point_into_the_yaml_file(pair):
    journey = pair[1].journey
    steps = dict((step.name, step) for _, step in journey.steps())
    name = str(PAIR / "cart_recovery.yaml")
    # the step's mapping, from "name: nudge" to the end of its params
    assert steps["nudge"].span == Span(name, 60, 9, 64, 93)
    assert (steps["remind.2"].span.line, steps["remind.2"].span.column) == (65, 9)
    condition = journey.entry.condition  # "  where: cart.value >= 50 and consent.wecom" on line 9
    assert (condition.span.line, condition.span.column) == (9, 10)
    assert (condition.operands[1].span.line, condition.operands[1].span.column) == (9, 31)


def test_parse_source_picks_the_yaml_frontend_by_suffix():
    doc = parse_source(Source("x.yml", "journey: j\n"))
    assert doc.diagnostics == [] and doc.journey == ast.Journey("j")


# --- forms and YAML details --------------------------------------------------------------------

@pytest.mark.parametrize("short, full", [
    ("reentry: after 30d", "reentry: {after: 30d}"),
    ("policy: {quiet: '22:00-08:00'}", "policy: {quiet: {from: '22:00', to: '08:00'}}"),
    ("policy: {holdout: 5%}", "policy: {holdout: 5}"),
    ("policy: {cap: {messages: 3, per: 7d}}", "policy: {cap: [{messages: 3, per: 7d}]}"),
    ("policy: {consent: wecom}", "policy: {consent: [wecom]}"),
    ("outcomes: saved", "outcomes: [saved]"),
], ids=["reentry", "quiet", "holdout", "cap", "consent", "outcomes"])
def test_journey_level_shorthands(short, full):
    one, other = parse("journey: j\n" + short), parse("journey: j\n" + full)
    assert one.diagnostics == other.diagnostics == []
    assert one.journey == other.journey != ast.Journey("j")


@pytest.mark.parametrize("short, full", [
    ("tag: vip", "tag: [vip]"),
    ("coupon: CART10", "coupon: {code: CART10}"),
    ("webhook: 'https://x.test/h'", "webhook: {url: 'https://x.test/h'}"),
    ("emit: done", "emit: {event: done}"),
    ("wait: {for: paid, then: x, timeout: y}", "wait: {on: [{event: paid, then: x}], timeout: y}"),
], ids=["tag", "coupon", "webhook", "emit", "wait-for"])
def test_step_shorthands(short, full):
    assert only_step(f"      - {short}\n") == only_step(f"      - {full}\n")


def test_yaml_1_1_booleans_and_sexagesimals_stay_as_written():
    # PyYAML reads `on` as True and 10:00 as the integer 600; keys and times use the text
    doc = parse("journey: j\nentry: {on: no}\n" + STEPS[11:] + "      - wait: {until: 10:00}\n")
    assert doc.diagnostics == []
    assert doc.journey.entry == ast.Entry("no")
    assert doc.journey.stages[0].steps[0].time == dt.time(10, 0)


def test_literals_keep_their_yaml_types():
    step = only_step("      - set: {attribute: customer.score, value: 5}\n")
    assert repr(step.value) == "Literal(value=5)"
    step = only_step("      - send: {via: sms, template: t,\n"
                     "              params: {a: 1.5, b: true, c: ~, d: '7'}}\n")
    assert [(p.name, p.value) for p in step.params] == [("a", 1.5), ("b", True), ("c", None),
                                                        ("d", "7")]
    assert only_step("      - coupon: {code: C, value: 10}\n").value == 10.0


def test_a_stage_without_steps_is_empty():
    doc = parse("journey: j\nstages:\n  - {stage: s, title: Start}\n")
    assert doc.journey.stages == (ast.Stage("s", "Start"),)


@pytest.mark.parametrize("line, column", [
    ("  where: x > > 1", 14),
    ('  where: "x > > 1"', 15),
    ("  where: 'x > > 1'", 15),
], ids=["plain", "double-quoted", "single-quoted"])
def test_condition_errors_point_into_the_yaml_file(line, column):
    found = problems("journey: j\nentry:\n  on: e\n" + line + "\n")
    assert found == [("JL001", 4, column, "unexpected '>'; expected '(', '-', '[', a duration "
                                          "such as 30m, 2h or 7d, a name, a number, a quoted "
                                          "string")]


@pytest.mark.parametrize("indicator", ["|", ">", "|-", ">+"])
def test_condition_in_a_block_scalar_points_at_its_text(indicator):
    text = f"journey: j\naudience: {indicator}\n\n  a > 1 and\n    b == == 2\n"
    assert [(code, line, column) for code, line, column, _ in problems(text)] == [("JL001", 5, 10)]
    ok = parse(f"journey: j\naudience: {indicator}\n  a > 1 and\n    b == 2\n")
    assert ok.diagnostics == [] and ok.journey.audience == parse(
        "journey: j\naudience: a > 1 and b == 2\n").journey.audience


# --- diagnostics: code, line, column and exact message -----------------------------------------

CASES = [
    # JL003: YAML syntax
    ("yaml syntax", "a: b: c\n",
     [("JL003", 1, 5, "invalid YAML: mapping values are not allowed here")]),
    ("unclosed flow list", "journey: j\ngoals: [a, b\n",
     [("JL003", 3, 1, "invalid YAML: expected ',' or ']', but got '<stream end>'")]),
    ("tab indentation", "journey: j\nentry:\n\ton: e\n",
     [("JL003", 3, 1, "invalid YAML: found character '\\t' that cannot start any token")]),
    ("two documents", "journey: j\n---\njourney: k\n",
     [("JL003", 2, 1, "invalid YAML: found another document")]),
    ("control character", "journey: j\nti\x00tle: x\n",
     [("JL003", 2, 3, "invalid YAML: unacceptable character #x0000: special characters are not "
                      "allowed")]),
    # JL004: not a journey at all
    ("empty file", "", [("JL004", 1, 1, "the file is empty; a YAML journey starts with "
                                         "'journey: <id>'")]),
    ("comments only", "# nothing\n\n", [("JL004", 1, 1, "the file is empty; a YAML journey "
                                                         "starts with 'journey: <id>'")]),
    ("top-level list", "- journey: j\n", [("JL004", 1, 1, "the top level must be a mapping with "
                                                          "a 'journey' key, got a list")]),
    ("top-level scalar", "hello\n", [("JL004", 1, 1, "the top level must be a mapping with a "
                                                     "'journey' key, got 'hello'")]),
    ("no journey key", "title: x\nversion: 2\n",
     [("JL004", 1, 1, "missing required key 'journey' at the top level")]),
    ("journey id is a mapping", "journey:\n  title: x\n",
     [("JL004", 2, 3, "'journey' must be the journey's id (a name), got a mapping")]),
    ("journey id is not a name", "journey: cart-recovery\n",
     [("JL004", 1, 10, "'journey' must be a name (letters, digits and _, not starting with a "
                       "digit), got 'cart-recovery'")]),
    # JL004: keys
    ("unknown key, did you mean", "journey: j\ngoasl: []\n",
     [("JL004", 2, 1, "unknown key 'goasl' in journey; did you mean 'goals'?")]),
    ("unknown key, no close match", "journey: j\ncolour: red\n",
     [("JL004", 2, 1, "unknown key 'colour' in journey")]),
    ("unknown step kind", STEPS + "      - sned: {via: sms, template: t}\n",
     [("JL004", 5, 9, "unknown key 'sned' in step 1 of stage 's'; did you mean 'send'?")]),
    ("unknown key in send", STEPS + "      - send: {via: sms, tempalte: t}\n",
     [("JL004", 5, 15, "missing required key 'template' in send"),
      ("JL004", 5, 26, "unknown key 'tempalte' in send; did you mean 'template'?")]),
    ("duplicate key", "journey: j\ntitle: a\nowner: o\ntitle: b\n",
     [("JL004", 4, 1, "duplicate key 'title' in journey")]),
    ("duplicate key in a flow mapping", "journey: j\nentry: {on: a, on: b}\n",
     [("JL004", 2, 16, "duplicate key 'on' in entry")]),
    ("missing required key", "journey: j\ngoals:\n  - name: g\n    within: 7d\n",
     [("JL004", 3, 5, "missing required key 'on' in goal")]),
    ("missing exit outcome", "journey: j\nexits: [{on: e}]\n",
     [("JL004", 2, 9, "missing required key 'as' in exit")]),
    ("non-scalar key", "journey: j\n? [a]\n: 1\n", [("JL004", 2, 3, "keys in journey must be "
                                                                    "names, got a list")]),
    # JL004: wrong types
    ("version is text", "journey: j\nversion: three\n",
     [("JL004", 2, 10, "'version' in journey must be a whole number, got 'three'")]),
    ("version is a bool", "journey: j\nversion: true\n",
     [("JL004", 2, 10, "'version' in journey must be a whole number, got true")]),
    ("goals is a mapping", "journey: j\ngoals: {name: g}\n",
     [("JL004", 2, 8, "'goals' in journey must be a list, got a mapping")]),
    ("goal entry is a string", "journey: j\ngoals: [purchased]\n",
     [("JL004", 2, 9, "entry 1 of 'goals' in journey must be a mapping, got 'purchased'")]),
    ("title is empty", "journey: j\ntitle:\n",
     [("JL004", 2, 7, "'title' in journey must be a string, got nothing")]),
    ("outcome is a number", "journey: j\noutcomes: [ok, 2]\n",
     [("JL004", 2, 16, "entry 2 of 'outcomes' in journey must be a name (letters, digits and _, "
                       "not starting with a digit), got 2")]),
    ("steps is a mapping", "journey: j\nstages:\n  - stage: s\n    steps: {wait: 2h}\n",
     [("JL004", 4, 12, "'steps' in stage 's' must be a list of steps, got a mapping")]),
    ("step is a string", STEPS + "      - wait 2h\n",
     [("JL004", 5, 9, "step 1 of stage 's' must be a mapping, got 'wait 2h'")]),
    ("param is a date", STEPS + "      - send: {via: sms, template: t, params: {d: 2024-01-01}}\n",
     [("JL004", 5, 51, "'d' in 'params' in send must be a string, number, true, false or null, "
                       "got 2024-01-01")]),
    ("unknown tag", "journey: j\nversion: !custom 3\n",
     [("JL004", 2, 10, "YAML tags are not part of a journey file: !custom")]),
    ("standard tag", "journey: j\nversion: !!bool maybe\ntitle: !!str x\n",
     [("JL004", 2, 10, "YAML tags are not part of a journey file: tag:yaml.org,2002:bool"),
      ("JL004", 3, 8, "YAML tags are not part of a journey file: tag:yaml.org,2002:str")]),
    ("reentry word", "journey: j\nreentry: sometimes\n",
     [("JL004", 2, 10, "'reentry' in journey must be never, always or after <duration> "
                       "(e.g. after 30d), got 'sometimes'")]),
    ("set attribute not a path", STEPS + "      - set: {attribute: a-b, value: 1}\n",
     [("JL004", 5, 26, "'attribute' in set must be an attribute path such as customer.segment, "
                       "got 'a-b'")]),
    # JL004: step shape
    ("two step kinds", STEPS + "      - send: {via: sms, template: t}\n        wait: 2h\n",
     [("JL004", 6, 9, "step 1 of stage 's' has more than one step kind: 'send' and 'wait'")]),
    ("no step kind", STEPS + "      - name: a\n",
     [("JL004", 5, 9, "step 1 of stage 's' has no step kind")]),
    ("then on goto", STEPS + "      - goto: done\n        then: x\n",
     [("JL004", 6, 9, "'then' is not allowed on a goto step")]),
    ("then beside a wait for events", STEPS + "      - wait: {for: paid}\n        then: x\n",
     [("JL004", 6, 9, "'then' is not allowed on a wait step")]),
    ("wait form unknown", STEPS + "      - wait: {fro: paid}\n",
     [("JL004", 5, 16, "unknown key 'fro' in wait; did you mean 'for'?")]),
    ("wait form needs a kind", STEPS + "      - wait: {within: 2h}\n",
     [("JL004", 5, 15, "'wait' in step 1 of stage 's' needs one of 'until', 'until_day', "
                       "'until_next', 'for' or 'on'")]),
    ("key of another wait form", STEPS + "      - wait: {until: '10:00', within: 2h}\n",
     [("JL004", 5, 32, "unknown key 'within' in wait with 'until'")]),
    ("else not last", STEPS + "      - branch: [{else: a}, {when: x, then: b}]\n",
     [("JL004", 5, 19, "'else' must be the last entry of a branch")]),
    ("branch arm without then", STEPS + "      - branch: [{when: x}]\n",
     [("JL004", 5, 18, "missing required key 'then' in branch arm")]),
    ("set without value", STEPS + "      - set: {attribute: a.b}\n",
     [("JL004", 5, 14, "set needs exactly one of 'value' (a literal) or 'expr' (an expression)")]),
    # JL002: bad durations, times and percentages, as in the DSL
    ("bare number duration", STEPS + "      - wait: 30\n",
     [("JL002", 5, 15, "invalid duration '30': write a number and a unit, e.g. 30m, 2h, 7d")]),
    ("bad duration", "journey: j\nreentry: after 3x\n",
     [("JL002", 2, 10, "invalid duration '3x': write a number and a unit, e.g. 30m, 2h, 7d")]),
    ("fractional seconds", "journey: j\ngoals: [{name: g, on: e, within: 1.5s}]\n",
     [("JL002", 2, 34, "invalid duration '1.5s': it must be a whole number of seconds")]),
    ("bad time", STEPS + "      - wait: {until: '25:00'}\n",
     [("JL002", 5, 23, "invalid time of day '25:00': use HH:MM between 00:00 and 23:59")]),
    ("quiet one time", "journey: j\npolicy: {quiet: '22:00'}\n",
     [("JL002", 2, 17, "invalid quiet hours '22:00': write two times of day, e.g. 22:00-08:00")]),
    ("percent too big", "journey: j\npolicy: {holdout: 120%}\n",
     [("JL002", 2, 19, "invalid percentage '120%': it must be between 0% and 100%")]),
    ("percent words", STEPS + "      - split: [{arm: a, percent: 50 percent, then: x}]\n",
     [("JL002", 5, 35, "invalid percentage '50 percent': write e.g. 5%")]),
    # JL001: conditions are parsed with the DSL grammar, positions in the YAML file
    ("condition syntax", "journey: j\nexits: [{on: e, as: x, where: a b}]\n",
     [("JL001", 2, 33, "unexpected 'b'")]),
    # several problems are all reported, in file order
    ("collects all", "journey: j\nversion: x\ngoasl: []\npolicy: {holdout: 101}\n",
     [("JL004", 2, 10, "'version' in journey must be a whole number, got 'x'"),
      ("JL004", 3, 1, "unknown key 'goasl' in journey; did you mean 'goals'?"),
      ("JL002", 4, 19, "invalid percentage 101: it must be between 0% and 100%")]),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_diagnostics(text, expected):
    assert problems(text) == expected


def test_diagnostics_name_the_file_and_give_hints():
    doc = parse("journey: j\ngoasl: []\n", name="flows/cart.yaml")
    (problem,) = doc.diagnostics
    assert problem.span == Span("flows/cart.yaml", 2, 1, 2, 6)
    assert problem.hint.startswith("expected one of: journey, title, version")
    (problem,) = parse(STEPS + "      - wait: 30\n").diagnostics
    assert problem.hint == "a bare number has no unit; write e.g. 30s, 30m or 30h"
    (problem,) = parse("journey: j\ntitle: a\ntitle: b\n").diagnostics
    assert problem.hint == "'title' is already given on line 2"


def test_syntax_errors_give_no_journey_but_structure_errors_keep_the_rest():
    assert parse("a: b: c\n").journey is None
    doc = parse("journey: j\nversion: x\ntitle: T\n" + STEPS[11:] +
                "      - wait: 2h\n      - sned: x\n      - {name: b, send: {via: sms}}\n"
                "      - wait: 3h\n")
    assert [d.code for d in doc.diagnostics] == ["JL004"] * 3
    assert doc.journey.title == "T" and doc.journey.version is None
    # unusable steps are left out; the others keep their position's name
    assert [step.name for step in doc.journey.stages[0].steps] == ["s.1", "s.4"]


def test_bad_values_fall_back_like_the_dsl():
    dsl = parse_source(Source("t.journey", """journey j {
      reentry after 1.5s
      goal g on e within 1.5s
      policy { cap 3 messages per 1.5s quiet 25:00-08:00 holdout 120% }
      stage s {
        wait 1.5s
        wait until 25:00
        split { a 120% -> x }
        coupon "C" expires 1.5s
      }
    }"""))
    yml = parse("""journey: j
reentry: after 1.5s
goals: [{name: g, on: e, within: 1.5s}]
policy: {cap: {messages: 3, per: 1.5s}, quiet: "25:00-08:00", holdout: 120%}
stages:
  - stage: s
    steps:
      - wait: 1.5s
      - wait: {until: "25:00"}
      - split: [{arm: a, percent: 120%, then: x}]
      - coupon: {code: C, expires: 1.5s}
""")
    assert [d.code for d in yml.diagnostics] == ["JL002"] * 9
    assert [d.message for d in yml.diagnostics] == [d.message for d in dsl.diagnostics]
    assert yml.journey == dsl.journey and repr(yml.journey) == repr(dsl.journey)


# --- robustness: never a traceback ------------------------------------------------------------

FIXTURE = (PAIR / "cart_recovery.yaml").read_text(encoding="utf-8")
KEYS = ["journey", "title", "version", "entry", "on", "where", "reentry", "goals", "name",
        "within", "exits", "as", "outcomes", "policy", "cap", "messages", "per", "quiet", "from",
        "to", "consent", "holdout", "templates", "stages", "stage", "steps", "send", "via",
        "template", "params", "wait", "until", "for", "then", "timeout", "event", "branch", "when",
        "else", "split", "arm", "percent", "tag", "untag", "set", "attribute", "value", "expr",
        "coupon", "code", "expires", "handoff", "note", "webhook", "url", "emit", "goto", "exit"]
SCALARS = st.one_of(st.sampled_from(["2h", "30", "5%", "10:00", "22:00-08:00", "x > 1", "a b",
                                     "after 3d", "never", "", "null", "true", "2024-01-01"]),
                    st.integers(-5, 200), st.floats(allow_nan=False), st.booleans(), st.none(),
                    st.text(max_size=8))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=30)


def assert_only_diagnostics(text: str) -> None:
    doc = parse(text)
    assert doc.journey is None or isinstance(doc.journey, ast.Journey)
    assert all(d.code.startswith("JL") and d.span.line >= 1 for d in doc.diagnostics)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("journey:{}[]-,'\"#&*!|>?% \n\t.0123456789abc\x00")),
               max_size=120))
def test_random_text_never_raises(text):
    assert_only_diagnostics(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(FIXTURE)), st.integers(0, 12),
                          st.text(alphabet=":{}[]-,'\"#&* \n\t%0123456789abc", max_size=6)),
                min_size=1, max_size=4))
def test_mutated_fixture_never_raises(edits):
    text = FIXTURE
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut:]
    assert_only_diagnostics(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, st.sampled_from(KEYS))
def test_random_structures_never_raise(tree, key):
    base = yaml.safe_load(FIXTURE)
    target = base["stages"][0]["steps"] if key in ("send", "wait", "branch") else base
    if isinstance(target, list):
        target.append({key: tree})
    else:
        target[key] = tree
    assert_only_diagnostics(yaml.safe_dump(base, allow_unicode=True))
    assert_only_diagnostics(yaml.safe_dump({"journey": "j", key: tree}))
