"""The operations constructs in both syntaxes: schedules, roles, volume, KPIs, promo and escalation ladders."""
from __future__ import annotations

import datetime as dt

import pytest

from journeylang import api, ast
from journeylang.ast import Schedule
from journeylang.expand import expand
from journeylang.frontend import parse_source
from journeylang.graph import build_graph
from journeylang.printer import format_text, print_journey, print_yaml
from journeylang.source import Source


def dsl(text: str, name: str = "t.journey"):
    return parse_source(Source(name, text))


def yml(text: str, name: str = "t.yaml"):
    return parse_source(Source(name, text))


def problems(document) -> list[tuple]:
    return [(d.code, d.span.line, d.span.column, d.message) for d in document.diagnostics]


def clean(document) -> ast.Journey:
    assert document.diagnostics == []
    return document.journey


NINE, EIGHT = dt.time(9, 0), dt.time(20, 0)


# --- schedules ------------------------------------------------------------------------------

@pytest.mark.parametrize("phrase, schedule", [
    ("day at 09:00", Schedule("day", NINE)),
    ("wednesday at 20:00", Schedule("week", EIGHT, weekdays=(2,))),
    ("thursday, monday at 09:00", Schedule("week", NINE, weekdays=(0, 3))),
    ("month on day 1 at 09:00", Schedule("month", NINE, day=1)),
    ("quarter on day 15 at 20:00", Schedule("quarter", EIGHT, day=15)),
    ("year on mar 15 at 09:00", Schedule("year", NINE, day=15, month=3)),
])
def test_schedules_in_both_syntaxes(phrase, schedule):
    text = clean(dsl(f"journey j {{ entry every {phrase}\n"
                     f"  stage s {{ wait until next {phrase} }} }}"))
    yaml_text = clean(yml(f'journey: j\nentry: {{every: "{phrase}"}}\nstages:\n  - stage: s\n'
                          f'    steps:\n      - wait: {{until_next: "{phrase}"}}\n'))
    assert text == yaml_text
    assert text.entry == ast.Entry("", schedule=schedule)
    assert text.stages[0].steps[0] == ast.WaitSchedule("s.1", schedule=schedule)


def test_common_words_stay_usable_as_names():
    journey = clean(dsl('''journey j {
      entry on day where event.day == 3 and customer.month > 1 and year != wednesday.at
      audience customer.role == "vip" and expect.entries > 0 and not kpi and promo.next
      goal monday on friday
      stage week {
        day: wait for month where every == 1 -> month
        month: tag "x"
        escalate: handoff to day within 1h -> year
        year: wait until next day at 09:00 -> day
        quarter: goto week
      }
    }'''))
    steps = {step.name: step for _, step in journey.steps()}
    assert set(steps) == {"day", "month", "escalate", "year", "quarter"}
    assert journey.entry.event == "day" and steps["escalate"].role == "day"


@pytest.mark.parametrize("phrase, expected", [
    ("wendesday at 20:00", ("JL002", 1, 25, "unknown schedule word 'wendesday'; did you mean "
                                            "'wednesday'?")),
    ("monday, fryday at 20:00", ("JL002", 1, 33, "unknown weekday 'fryday'; did you mean "
                                                 "'friday'?")),
    ("year on march 1 at 20:00", ("JL002", 1, 33, "unknown month 'march'; did you mean 'mar'?")),
    ("month at 20:00", ("JL002", 1, 25, "a monthly schedule needs its day: write e.g. "
                                        "'month on day 1 at 10:00'")),
    ("month on mar 1 at 20:00", ("JL002", 1, 34, "expected 'on day N' in a monthly schedule, "
                                                 "got 'on mar'")),
    ("day on day 1 at 20:00", ("JL002", 1, 32, "a daily schedule takes no 'on ...'")),
    ("week at 20:00", ("JL002", 1, 25, "a weekly schedule names its weekdays")),
    ("monday at 24:00", ("JL002", 1, 35, "invalid time of day '24:00': use HH:MM between 00:00 "
                                         "and 23:59")),
    ("monday", ("JL001", 1, 32, "unexpected '}'; expected ',', 'at', 'on'")),
])
def test_bad_schedules_in_the_dsl(phrase, expected):
    document = dsl(f"journey j {{ entry every {phrase} }}")
    assert problems(document) == [expected]
    assert document.journey is not None or expected[0] == "JL001"


def test_bad_schedules_in_yaml_point_into_the_file():
    document = yml('journey: j\nentry: {every: "monday, fryday at 20:00"}\nstages:\n'
                   '  - stage: s\n    steps:\n      - wait: {until_next: day at 9}\n')
    assert problems(document) == [
        ("JL002", 2, 25, "unknown weekday 'fryday'; did you mean 'friday'?"),
        ("JL001", 6, 35, "unexpected '9'; expected a time of day such as 09:30")]


# --- journey and stage items ----------------------------------------------------------------

OPERATIONS_DSL = '''journey j {
  entry every wednesday at 20:00 where customer.active
  role advisor capacity 80 per 1d
  expect 3000 entries per 1d
  policy { promo 30% }
  stage s {
    kpi weekly "Weekly participation" on joined where event.week > 0 within 7d baseline 20% target 25.5% at go
    go: send promo via group template flash
  }
}
'''
OPERATIONS_YAML = '''journey: j
entry: {every: wednesday at 20:00, where: customer.active}
roles: [{name: advisor, capacity: 80, per: 1d}]
expect: {entries: 3000, per: 1d}
policy: {promo: 30%}
stages:
  - stage: s
    kpis:
      - {name: weekly, title: Weekly participation, on: joined, where: event.week > 0,
         within: 7d, baseline: 20, target: 25.5%, at: go}
    steps:
      - {name: go, send: {via: group, template: flash, promo: true}}
'''


def test_operations_items_in_both_syntaxes():
    journey = clean(dsl(OPERATIONS_DSL))
    assert journey == clean(yml(OPERATIONS_YAML))
    assert journey.roles == (ast.Role("advisor", 80, 86400),)
    assert journey.volume == ast.Volume(3000, 86400)
    assert journey.policy.promo == 30.0
    assert journey.stages[0].kpis == (ast.Kpi(
        "weekly", "joined", 7 * 86400, 20.0, 25.5, "Weekly participation",
        ast.Compare(">", ast.Path(("event", "week")), ast.Literal(0)), "go"),)
    assert journey.stages[0].steps[0].promo is True


def test_kpi_percentages_outside_0_to_100_are_left_to_lint():
    journey = clean(dsl("journey j { stage s { kpi k on e within 1d baseline 10% target 150% } }"))
    assert journey.stages[0].kpis[0].target == 150.0


@pytest.mark.parametrize("text, expected", [
    ("entry: {on: e, every: day at 09:00}",
     ("JL004", 2, 8, "'entry' in journey needs exactly one of 'on' or 'every': an event ('on') "
                     "or a schedule ('every')")),
    ("entry: {evrey: day at 09:00}",
     ("JL004", 2, 9, "unknown key 'evrey' in entry; did you mean 'every'?")),
    ("entry: {where: a}",
     ("JL004", 2, 8, "'entry' in journey needs exactly one of 'on' or 'every': an event ('on') "
                     "or a schedule ('every')")),
    ("roles: [{name: a, capacity: many, per: 1d}]",
     ("JL004", 2, 29, "'capacity' in role must be a whole number, got 'many'")),
    ("expect: {entries: 10}", ("JL004", 2, 9, "missing required key 'per' in expect")),
    ("policy: {promo: 130%}",
     ("JL002", 2, 17, "invalid percentage '130%': it must be between 0% and 100%")),
    ("stages: [{stage: s, kpis: [{name: k, on: e, within: 1d, baseline: 1%}]}]",
     ("JL004", 2, 28, "missing required key 'target' in kpi")),
])
def test_bad_operations_items_in_yaml(text, expected):
    assert problems(yml("journey: j\n" + text + "\n")) == [expected]


# --- escalation ladders -----------------------------------------------------------------------

LADDER_DSL = '''journey j {
  stage s {
    crisis: escalate until resolved where event.ok within 4h -> done {
      at 0m: send via wecom template ack   # rung comment
      at 30m: handoff to staff within 30m note "1/2"
      at 2h: tag "hot"
      breach -> late
    }
    done: exit completed
    late: exit escalated
  }
}
'''
LADDER_YAML = '''journey: j
stages:
  - stage: s
    steps:
      - name: crisis
        escalate:
          until: resolved
          where: event.ok
          within: 4h
          then: done
          breach: late
          rungs:
            - {at: 0m, send: {via: wecom, template: ack}}
            - {at: 30m, handoff: {to: staff, within: 30m, note: "1/2"}}
            - {at: 2h, tag: hot}
      - {name: done, exit: completed}
      - {name: late, exit: escalated}
'''


def test_ladders_in_both_syntaxes():
    journey = clean(dsl(LADDER_DSL))
    assert journey == clean(yml(LADDER_YAML))
    ladder = journey.stages[0].steps[0]
    assert (ladder.event, ladder.target, ladder.next, ladder.within) == (
        "resolved", "done", "late", 4 * 3600)
    assert [(r.after, r.action.kind) for r in ladder.rungs] == [
        (0, "send"), (1800, "handoff"), (7200, "tag")]
    assert ladder.rungs[1].span.line == 5


def test_a_ladder_expands_into_primitive_steps():
    expanded = expand(clean(dsl(LADDER_DSL)))
    assert expanded.diagnostics == []
    arm = (ast.EventArm("resolved", ast.Path(("event", "ok")), "done"),)
    steps = expanded.journey.stages[0].steps
    assert [(s.name, s.kind, s.next) for s in steps[:6]] == [
        ("crisis", "send", "crisis.w1"), ("crisis.w1", "wait_event", "crisis.r2"),
        ("crisis.r2", "handoff", "crisis.w2"), ("crisis.w2", "wait_event", "crisis.r3"),
        ("crisis.r3", "tag", "crisis.w3"), ("crisis.w3", "wait_event", "late")]
    assert [(s.arms, s.within) for s in steps[1:6:2]] == [(arm, 1800), (arm, 5400), (arm, 7200)]
    assert [s.span.line for s in steps[:6]] == [4, 5, 5, 6, 6, 3]


def test_ladders_in_a_fragment_expand_with_its_prefix(tmp_path):
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "crisis.journey").write_text(
        'fragment crisis(role: string = "staff") {\n'
        "  ladder: escalate until resolved within 2h {\n"
        "    at 0m: emit opened\n    at 1h: handoff to $role within 1h\n  }\n}\n")
    path = tmp_path / "j.journey"
    path.write_text("journey j { stage s { c: use crisis\n done: exit completed } }\n")
    from journeylang.frontend import parse_file
    from journeylang.expand import expand_document
    expanded = expand_document(parse_file(path))
    assert expanded.diagnostics == []
    names = [(s.name, s.next) for s in expanded.journey.stages[0].steps[:4]]
    assert names == [("c.ladder", "c.ladder.w1"), ("c.ladder.w1", "c.ladder.r2"),
                         ("c.ladder.r2", "c.ladder.w2"), ("c.ladder.w2", None)]
    assert expanded.journey.stages[0].steps[2].role == "staff"


@pytest.mark.parametrize("text, expected", [
    ("escalate: {until: x, within: 1h, rungs: [{at: 0m}]}",
     ("JL004", 5, 50, "entry 1 of 'rungs' in escalate needs exactly one action")),
    ("escalate: {until: x, within: 1h, rungs: [{at: 0m, goto: a}]}",
     ("JL004", 5, 59, "unknown key 'goto' in rung")),
    ("escalate: {until: x, within: 1h, rungs: []}\n        then: y",
     ("JL004", 6, 9, "'then' is not allowed on an escalate step")),
    ("escalate: {until: x, rungs: []}",
     ("JL004", 5, 19, "missing required key 'within' in escalate")),
    ("send: {via: sms, template: t, promo: yes please}",
     ("JL004", 5, 46, "'promo' in send must be true or false, got 'yes please'")),
])
def test_bad_ladders_and_flags_in_yaml(text, expected):
    steps = "journey: j\nstages:\n  - stage: s\n    steps:\n"
    assert problems(yml(steps + "      - " + text + "\n")) == [expected]


def test_bad_ladders_in_the_dsl():
    document = dsl("journey j { stage s {\n  x: escalate until e within 1h { at 0m: goto y }\n} }")
    assert problems(document) == [
        ("JL001", 2, 42, "unexpected 'goto'; expected 'coupon', 'emit', 'handoff', 'send', "
                         "'set', 'tag', 'untag', 'webhook'")]
    document = dsl('journey j { stage s {\n  x: escalte until e within 1h { at 0m: tag "a" }\n} }')
    assert problems(document) == [("JL001", 2, 6, "unexpected 'escalte'; expected a step")]


# --- printing, graph ----------------------------------------------------------------------------

def test_fmt_keeps_rung_comments_and_both_printers_agree():
    formatted = format_text(LADDER_DSL)
    assert "      at 0m: send via wecom template ack  # rung comment\n" in formatted
    journey = clean(dsl(LADDER_DSL))
    assert clean(yml(print_yaml(journey))) == journey == clean(dsl(print_journey(journey)))
    operations = clean(dsl(OPERATIONS_DSL))
    assert clean(yml(print_yaml(operations))) == operations
    assert clean(dsl(format_text(OPERATIONS_DSL))) == operations


def test_wait_until_next_is_a_wait_for_loop_checks():
    journey = clean(dsl("journey j { stage s { a: wait until next monday at 09:00\n"
                        "  tag \"x\" -> a } }"))
    assert isinstance(journey.stages[0].steps[0], ast.WAIT_KINDS)
    graph = build_graph(journey)
    assert sorted(graph.graph.edges) == [("a", "s.2", 0), ("s.2", "a", 0)]


# --- YAML mistakes in the operations constructs ---------------------------------------------

_YAML_HEAD = "journey: j\nentry: {on: signup}\nstages:\n  - stage: s\n    steps:\n"


@pytest.mark.parametrize("text, expected", [
    ("journey: j\nentry: {every: 5}\n",
     [("JL004", 2, 16, "'every' in entry must be a schedule such as \"wednesday at 20:00\", "
                       "got 5")]),
    (_YAML_HEAD + "      - wait: {until_next: 2024}\n",
     [("JL004", 6, 28, "'until_next' in wait with 'until_next' must be a schedule such as "
                       "\"wednesday at 20:00\", got 2024")]),
])
def test_yaml_schedule_that_is_a_number_says_what_is_expected(text, expected):
    assert problems(yml(text)) == expected


def test_yaml_ladder_with_an_unreadable_rung_reports_only_the_rung():
    # the rung is dropped; checking what is left would report a ladder it is not
    text = _YAML_HEAD + ("      - name: crisis\n        escalate:\n          until: resolved\n"
                         "          within: 1h\n          rungs:\n"
                         "            - {at: 0m, wait: 1h}\n            - {at: 30m, tag: late}\n")
    result = api.check_text(text, "t.yaml")
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics
            if d.code in ("JL004", "JL711")] == [("JL004", 11, 24)]
