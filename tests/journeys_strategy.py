"""A hypothesis strategy for random valid journey models that use every construct."""
from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from journeylang import ast

KEYWORDS = set("""journey version owner description entry on where audience reentry never always
after goal within exit as outcomes policy cap messages per quiet consent holdout template stage
send via with wait until for timeout branch when else split tag untag set coupon value expires
handoff to note webhook emit goto true false null and or not in has exists use fragment
every role capacity expect entries promo kpi baseline target at breach next milestone attribute
var locale transactional calendar migrate from""".split())

names = st.from_regex(r"\A[a-z_][a-z0-9_]{0,7}\Z").filter(lambda n: n not in KEYWORDS) | \
    st.sampled_from(["欢迎", "顾客_1", "cart_value"])
channels = st.sampled_from(ast.CHANNELS)
texts = st.text(st.sampled_from(list("abcxyz XYZ019{}#:'\"\\-\n\t.,!?") + ["你", "é", "😀"]),
                max_size=30)
durations = st.integers(0, 10**7)
percents = st.integers(0, 10000).map(lambda n: n / 100)
numbers = st.integers(0, 10**6) | st.integers(0, 10**6).map(lambda n: n / 100)
literal_values = st.none() | st.booleans() | numbers | numbers.map(lambda n: -n) | texts
times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))

paths = st.lists(names, min_size=1, max_size=3).map(lambda p: ast.Path(tuple(p)))


def _expressions():
    atoms = st.one_of(st.builds(ast.Literal, literal_values), paths,
                      st.builds(ast.Duration, durations), st.builds(ast.SegmentRef, names))

    def extend(inner):
        return st.one_of(
            st.builds(ast.ListExpr, st.lists(inner, max_size=3).map(tuple)),
            st.builds(ast.Unary, st.just("-"), paths | inner.filter(
                lambda e: not isinstance(e, (ast.Literal, ast.Unary)))),
            st.builds(ast.Binary, st.sampled_from("+-*/%"), inner, inner),
            st.builds(ast.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                      inner, inner),
            st.builds(ast.In, inner, inner, st.booleans()),
            st.builds(ast.HasTag, texts),
            st.builds(ast.Exists, paths),
            st.builds(ast.Not, inner),
            st.builds(ast.BoolOp, st.sampled_from(["and", "or"]),
                      st.lists(inner, min_size=2, max_size=3).map(tuple)),
            _history(inner),
        )
    return st.recursive(atoms, extend, max_leaves=8)


def _history(inner):
    """A history question; the functions that read a field get one, the others none."""
    def build(function, event, field, condition, within):
        return ast.History(function, event, field if function in ast.FIELD_FUNCTIONS else None,
                           condition, within)
    return st.builds(build, st.sampled_from(ast.HISTORY_FUNCTIONS), names, names,
                     st.none() | inner, st.none() | durations)


conditions = _expressions()
maybe = st.none().__or__


def unique(strategy, key, **kw):
    return st.lists(strategy, unique_by=key, **kw).map(tuple)


params = unique(st.builds(ast.Param, names, literal_values), lambda p: p.name, max_size=3)
use_args = unique(st.builds(ast.Param, names, literal_values | st.sampled_from(["sms", "14d"])),
                  lambda p: p.name, max_size=3)
targets = maybe(names)

event_arms = st.builds(ast.EventArm, names, maybe(conditions), targets)
schedules = st.one_of(
    st.builds(ast.Schedule, st.just("day"), times),
    st.builds(ast.Schedule, st.just("week"), times, weekdays=st.sets(
        st.integers(0, 6), min_size=1).map(lambda days: tuple(sorted(days)))),
    st.builds(ast.Schedule, st.sampled_from(["month", "quarter"]), times,
              day=st.integers(1, 31)),
    st.builds(ast.Schedule, st.just("year"), times, day=st.integers(1, 31),
              month=st.integers(1, 12)))
sequential = {
    "send": st.builds(ast.Send, st.just(""), next=targets, channel=channels,
                      template=names | texts, params=params, promo=st.booleans(),
                      fallback=st.lists(channels, max_size=2).map(tuple)).flatmap(
        lambda send: st.just(send) if send.promo else st.builds(
            lambda t: ast.Send(**{**vars_of(send), "transactional": t}), st.booleans())),
    "wait": st.builds(ast.Wait, st.just(""), next=targets, duration=durations),
    "wait_until": st.builds(ast.WaitUntil, st.just(""), next=targets, time=times),
    "wait_day": st.builds(ast.WaitDay, st.just(""), next=targets, day=st.integers(0, 400),
                          time=times),
    "wait_schedule": st.builds(ast.WaitSchedule, st.just(""), next=targets,
                               schedule=schedules),
    "wait_event": st.builds(ast.WaitEvent, st.just(""), next=targets,
                            arms=st.lists(event_arms, max_size=3).map(tuple),
                            within=maybe(durations)),
    "tag": st.builds(ast.Tag, st.just(""), next=targets,
                     tags=st.lists(texts, min_size=1, max_size=3).map(tuple)),
    "untag": st.builds(ast.Untag, st.just(""), next=targets,
                       tags=st.lists(texts, min_size=1, max_size=3).map(tuple)),
    "set": st.builds(ast.SetAttribute, st.just(""), next=targets,
                     attribute=paths.map(lambda p: p.dotted), value=conditions),
    "coupon": st.builds(ast.Coupon, st.just(""), next=targets, code=texts,
                        value=maybe(numbers.map(float)), expires=maybe(durations)),
    "handoff": st.builds(ast.Handoff, st.just(""), next=targets, role=names,
                         within=maybe(durations), note=maybe(texts)),
    "webhook": st.builds(ast.Webhook, st.just(""), next=targets, url=texts),
    "emit": st.builds(ast.Emit, st.just(""), next=targets, event=names, params=params),
}
others = {
    "branch": st.builds(ast.Branch, st.just(""),
                        arms=st.lists(st.builds(ast.BranchArm, conditions, names),
                                      max_size=3).map(tuple), default=targets),
    "split": st.builds(ast.Split, st.just(""), arms=st.lists(
        st.builds(ast.SplitArm, names, percents, names)
        | st.builds(ast.SplitArm, names, percents, st.none(), st.just(True)),
        max_size=3).map(tuple)),
    "goto": st.builds(ast.Goto, st.just(""), target=names),
    "exit": st.builds(ast.Exit, st.just(""), outcome=names),
}
# a rung runs one action step, unnamed and without a target of its own
rung_actions = st.one_of(*(sequential[kind].map(lambda step: _bare(step)) for kind in (
    "send", "tag", "untag", "set", "coupon", "handoff", "webhook", "emit")))
others["escalate"] = st.builds(
    ast.Escalate, st.just(""), next=targets, event=names, condition=maybe(conditions),
    target=targets, within=durations,
    rungs=st.lists(st.builds(ast.Rung, durations, rung_actions), max_size=3).map(tuple))
if hasattr(ast, "Use"):
    others["use"] = st.builds(ast.Use, st.just(""), fragment=names, args=use_args)
step_bodies = st.one_of(*sequential.values(), *others.values())


kpis = st.builds(ast.Kpi, names, names, durations, percents, percents, title=maybe(texts),
                 condition=maybe(conditions), step=maybe(names))


@st.composite
def stages(draw, name):
    bodies = draw(st.lists(st.tuples(maybe(names), step_bodies), max_size=5))
    steps = tuple(body.__class__(**{**vars_of(body), "name": label or ast.auto_step_name(name, i)})
                  for i, (label, body) in enumerate(bodies))
    return ast.Stage(name, draw(maybe(texts)), steps, draw(st.lists(kpis, max_size=2).map(tuple)))


def vars_of(node) -> dict:
    return {f: getattr(node, f) for f in node.__dataclass_fields__ if f != "span"}


def _bare(step):
    return step.__class__(**{**vars_of(step), "next": None})


templates = st.builds(
    ast.Template, names,
    st.one_of(texts.map(lambda t: (ast.TemplateText(None, t),)),
              unique(st.builds(ast.TemplateText, names, texts), lambda t: t.locale, max_size=3)))
calendar_caps = st.sampled_from(sorted(ast.CALENDAR_UNITS)).flatmap(
    lambda unit: st.builds(ast.Cap, st.integers(1, 99), st.just(ast.CALENDAR_UNITS[unit]),
                           st.lists(channels, max_size=2).map(tuple), calendar=st.just(unit)))
policies = st.builds(
    ast.Policy, caps=st.lists(st.builds(ast.Cap, st.integers(1, 99), durations.filter(bool),
                                        st.lists(channels, max_size=2).map(tuple))
                              | calendar_caps, max_size=2).map(tuple),
    quiet=maybe(st.builds(ast.QuietHours, times, times)),
    consent=st.lists(channels, max_size=3).map(tuple), holdout=maybe(percents),
    promo=maybe(percents))
reentries = st.one_of(st.just(ast.Reentry()), st.just(ast.Reentry("always")),
                      st.builds(ast.Reentry, st.just("after"), durations))


@st.composite
def journeys(draw):
    stage_names = draw(st.lists(names, unique=True, max_size=3))
    return ast.Journey(
        draw(names), title=draw(maybe(texts)), version=draw(maybe(st.integers(1, 999))),
        owner=draw(maybe(texts)), description=draw(maybe(texts)),
        entry=draw(maybe(st.builds(ast.Entry, names, maybe(conditions))
                         | st.builds(ast.Entry, st.just(""), maybe(conditions), schedules))),
        audience=draw(maybe(conditions)), reentry=draw(reentries),
        correlate=draw(maybe(st.lists(names, min_size=1, max_size=3).map(
            lambda parts: ast.Correlation(tuple(parts))))),
        goals=draw(st.lists(st.builds(ast.Goal, names, names, maybe(conditions),
                                      maybe(durations)), max_size=2).map(tuple)),
        exits=draw(st.lists(st.builds(ast.ExitRule, names, names, maybe(conditions)),
                            max_size=2).map(tuple)),
        outcomes=draw(st.lists(names, max_size=2).map(tuple)),
        policy=draw(policies),
        roles=draw(st.lists(st.builds(ast.Role, names, st.integers(1, 9999), durations.filter(
            bool)), max_size=2).map(tuple)),
        volume=draw(maybe(st.builds(ast.Volume, st.integers(1, 10**6), durations.filter(bool)))),
        templates=draw(unique(templates, lambda t: t.name, max_size=3)),
        stages=tuple(draw(stages(n)) for n in stage_names),
        milestones=draw(st.lists(st.builds(ast.Milestone, names, names, maybe(conditions),
                                           maybe(durations)), max_size=2).map(tuple)),
        handlers=draw(st.lists(handlers, max_size=2).map(tuple)),
        attributes=draw(unique(attributes, lambda a: a.name, max_size=2)),
        variables=draw(unique(st.builds(ast.Variable, names, literal_values,
                                        maybe(attribute_types)), lambda v: v.name, max_size=2)),
        locale=draw(maybe(names)),
        migrations=draw(st.lists(migrations, max_size=2).map(tuple)))


attribute_types = st.sampled_from(ast.ATTRIBUTE_TYPES)
attributes = st.one_of(
    st.builds(ast.Attribute, names, maybe(attribute_types)),
    st.builds(ast.Attribute, names, maybe(attribute_types), literal_values, st.just(True)))
handler_actions = st.one_of(*(sequential[kind].map(lambda step: _bare(step)) for kind in (
    "set", "tag", "untag", "emit"))).map(lambda step: step)


def _handler(event, condition, actions, target):
    named = tuple(step.__class__(**{**vars_of(step), "name": f"on.{i + 1}"})
                  for i, step in enumerate(actions))
    return ast.Handler(event, condition, named, target)


handlers = st.builds(_handler, names, maybe(conditions),
                     st.lists(handler_actions, max_size=3), targets)


# a step of an older version: a label, an automatic name (remind.2) or an expanded one (wb.ask)
old_steps = st.builds(lambda name, rest: ".".join([name, *rest]), names,
                      st.lists(names | st.integers(1, 99).map(str), max_size=2)).filter(
    lambda step: step != ast.OTHER_STEPS)
move_targets = names | st.sampled_from(ast.MIGRATION_ACTIONS)
migrations = st.builds(
    ast.Migration, st.integers(0, 999),
    unique(st.builds(ast.Move, old_steps, move_targets), lambda m: m.step, max_size=3),
    maybe(move_targets))
