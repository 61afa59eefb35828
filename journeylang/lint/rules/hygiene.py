"""Hygiene rules (JL5xx): known events and attributes, ownership, naming."""
from __future__ import annotations

import re

from ... import ast
from ...config import DEFAULT_NAMING
from ...diagnostics import Severity
from ...expressions import paths_in, walk
from ..places import set_steps
from ..registry import Issue, LintContext, rule
from .names import did_you_mean


def waited_and_handled(journey: ast.Journey):
    """(event, span, where) for every event a wait arm or a handler of the journey takes."""
    for _, step in journey.steps():
        if isinstance(step, ast.WaitEvent):
            for arm in step.arms:
                yield arm.event, arm.span or step.span, f"step '{step.name}'"
    for handler in journey.handlers:
        yield handler.event, handler.span, f"the handler on {handler.event}"


def _event_references(ctx: LintContext):
    """(event, span, where) for every event a journey starts on, waits for, handles or asks
    about in a history function (goals, milestones and exit rules: JL209)."""
    journey = ctx.journey
    if journey.entry and journey.entry.schedule is None:
        yield journey.entry.event, journey.entry.span, "entry"
    yield from waited_and_handled(journey)
    for place in ctx.places:
        for node in walk(place.expr):
            if isinstance(node, ast.History):
                yield node.event, node.span, place.what


@rule("JL501", "unknown-event", Severity.ERROR,
      "The entry, a wait, a handler or a history function names an event the schema does not "
      "declare.")
def unknown_event(ctx: LintContext):
    """Checked when ``[tool.journeylang.schema] events`` is declared: an event the feed
    never sends means a journey nobody enters, a wait that always times out, a handler that
    never runs or a history that is always empty. (Goals, milestones and exit rules: JL209.)

    Bad::

        entry on cart_abandonned

    Good::

        entry on cart_abandoned
    """
    known = ctx.known_events
    if known is None:
        return
    reported = set()
    for event, span, where in _event_references(ctx):
        if event not in known and span not in reported:
            reported.add(span)
            yield Issue(f"unknown event '{event}' in {where}", span, hint=did_you_mean(event, known))


def _reads(ctx: LintContext):
    """(path, event) for every path a journey reads or sets; ``event`` names the past event
    whose data ``event.x`` means inside a history function, else None."""
    for place in ctx.places:
        inside = {}
        for node in walk(place.expr):
            if isinstance(node, ast.History):
                inside.update({id(p): node.event for p in paths_in(node.condition)})
        for path in paths_in(place.expr):
            yield path, inside.get(id(path))
    for step in set_steps(ctx.journey, ctx.graph):
        yield ast.Path(tuple(step.attribute.split(".")), span=step.span), None


@rule("JL502", "unknown-attribute", Severity.ERROR,
      "A condition reads an attribute the schema does not declare.")
def unknown_attribute(ctx: LintContext):
    """Checked when ``[tool.journeylang.schema] attributes`` is declared. A misspelt
    attribute is always missing, so every comparison on it is false and the branch silently
    takes its else arm. ``consent.*`` is always allowed, and so are the journey's own
    ``attribute`` declarations and its variables (``var streak = 0``, read as ``streak``).
    ``event.x`` is checked against the attributes listed for events in
    ``[tool.journeylang.schema.events]``, if any: inside a history function, against those of
    its event (``count(order_paid where event.total > 0)``, ``sum(order_paid.total)``).

    Bad::

        when customer.teir == "gold" -> gold

    Good::

        when customer.tier == "gold" -> gold
    """
    if ctx.config.attributes is None and not ctx.config.events:
        return
    reported = set()
    for path, event in _reads(ctx):
        if path.span in reported or _known(ctx, path, event):
            continue
        reported.add(path.span)
        fields = _fields_of(ctx, event)
        hint = did_you_mean(path.dotted, [f"event.{f}" for f in fields] if fields else
                            _known_paths(ctx))
        yield Issue(f"unknown attribute '{path.dotted}'", path.span, hint=hint)
    for place in ctx.places:
        for node in walk(place.expr):
            fields = _fields_of(ctx, node.event) if isinstance(node, ast.History) else None
            if fields and node.field is not None and node.field not in fields:
                yield Issue(f"event '{node.event}' has no field '{node.field}'", node.span,
                            hint=did_you_mean(node.field, fields))


def _known(ctx: LintContext, path: ast.Path, event: str | None) -> bool:
    dotted = path.dotted
    fields = _fields_of(ctx, event)
    if fields and path.parts[0] == "event":
        return len(path.parts) > 1 and path.parts[1] in fields
    if len(path.parts) == 1 and dotted in ctx.variables:
        return True
    if any(dotted == known or dotted.startswith(known + ".") for known in ctx.attributes):
        return True
    return ctx.config.knows_attribute(dotted)


def _fields_of(ctx: LintContext, event: str | None) -> tuple[str, ...]:
    """The fields the schema lists for an event (none when it lists none)."""
    return (ctx.config.events or {}).get(event, ()) if event else ()


@rule("JL503", "missing-owner", Severity.WARNING, "The journey does not name an owner.")
def missing_owner(ctx: LintContext):
    """Every journey needs an owner who answers for it when it misbehaves.

    Bad: no ``owner`` line. Good: ``owner "crm-team"``.
    """
    if not ctx.journey.owner:
        yield Issue(f"journey '{ctx.journey.id}' has no owner", ctx.journey.span,
                    hint='add `owner "team-name"`')


@rule("JL504", "missing-version", Severity.WARNING, "The journey has no version number.")
def missing_version(ctx: LintContext):
    """Compiled journeys are versioned and customers stay on the version they entered, so a
    journey should say which version it is.

    Bad: ``journey welcome {``. Good: ``journey welcome "Welcome" version 2 {``.
    """
    if ctx.journey.version is None:
        yield Issue(f"journey '{ctx.journey.id}' has no version", ctx.journey.span,
                    hint="add `version 1` after the journey's name")


@rule("JL505", "naming-convention", Severity.WARNING,
      "A journey, stage, step, template, arm, outcome, milestone, attribute or variable name "
      "breaks the naming convention.")
def naming_convention(ctx: LintContext):
    """Names are lower snake_case or Chinese by default (configurable with ``naming`` in the
    config), so that reports, tables and dashboards can use them as keys. Chinese names
    (``提醒``, ``新客欢迎``) and mixed ones (``vip_提醒``) follow the convention.

    Bad: ``stage WinBack`` or ``VipOffer: send ...``. Good: ``stage win_back`` or ``stage 挽回``.
    """
    pattern = _Convention(ctx.config.naming)
    convention = ("lower snake_case or Chinese" if ctx.config.naming == DEFAULT_NAMING
                  else ctx.config.naming)
    journey = ctx.journey
    named = [("journey", journey.id, journey.span)]
    named += [("stage", s.name, s.span) for s in journey.stages]
    named += [("step", s.name, s.span) for _, s in journey.steps() if not s.is_auto_named]
    named += [("template", t.name, t.span) for t in journey.templates]
    named += [("split arm", a.name, a.span) for _, s in journey.steps()
              if isinstance(s, ast.Split) for a in s.arms]
    named += [("outcome", o, journey.span) for o in journey.outcomes]
    named += [("milestone", m.name, m.span) for m in journey.milestones]
    named += [("attribute", a.name, a.span) for a in journey.attributes]
    named += [("variable", v.name, v.span) for v in journey.variables]
    for kind, name, span in named:
        if not pattern.match(name):
            suggestion = snake_case(name)
            hint = (f"rename it to '{suggestion}'" if pattern.match(suggestion)
                    else f"rename it to match {ctx.config.naming}")
            yield Issue(f"{kind} name '{name}' does not match the naming convention "
                        f"({convention})", span, hint=hint)


_ASCII_SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*\Z")


class _Convention:
    """The naming convention's expression, compiled when a name first needs it: the default
    one (its ranges of CJK characters take a millisecond or two to compile) needs no
    compiling for a name in ASCII lower snake_case, which it accepts."""

    def __init__(self, naming: str):
        self.naming, self._compiled = naming, None

    def match(self, name: str) -> bool:
        if self.naming == DEFAULT_NAMING and _ASCII_SNAKE_CASE.match(name):
            return True
        if self._compiled is None:
            self._compiled = re.compile(self.naming)
        return self._compiled.match(name) is not None


def snake_case(name: str) -> str:
    """``VipOffer`` -> ``vip_offer``, ``VIPOffer`` -> ``vip_offer``; Chinese is kept."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words)
    return re.sub(r"_+", "_", words.replace("-", "_")).lower()


def _known_paths(ctx: LintContext) -> list[str]:
    config = ctx.config
    events = {f"event.{a}" for attrs in (config.events or {}).values() for a in attrs}
    return sorted(set(config.attributes or ()) | events | set(ctx.attributes) | set(ctx.variables))
