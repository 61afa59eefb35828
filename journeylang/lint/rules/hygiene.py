"""Hygiene rules (JL5xx): known events and attributes, ownership, naming."""
from __future__ import annotations

import re

from ... import ast
from ...config import DEFAULT_NAMING
from ...diagnostics import Severity
from ...expressions import paths_in
from ..registry import Issue, LintContext, rule
from .names import did_you_mean


def _event_references(journey: ast.Journey):
    """(event, span, where) for every event a journey starts on or waits for."""
    if journey.entry:
        yield journey.entry.event, journey.entry.span, "entry"
    for _, step in journey.steps():
        if isinstance(step, ast.WaitEvent):
            for arm in step.arms:
                yield arm.event, arm.span or step.span, f"step '{step.name}'"


@rule("JL501", "unknown-event", Severity.ERROR,
      "The entry or a wait names an event the schema does not declare.")
def unknown_event(ctx: LintContext):
    """Checked when ``[tool.journeylang.schema] events`` is declared: an event the feed
    never sends means a journey nobody enters or a wait that always times out.

    Bad::

        entry on cart_abandonned

    Good::

        entry on cart_abandoned
    """
    known = ctx.known_events
    if known is None:
        return
    for event, span, where in _event_references(ctx.journey):
        if event not in known:
            yield Issue(f"unknown event '{event}' in {where}", span, hint=did_you_mean(event, known))


def _conditions(journey: ast.Journey):
    if journey.entry:
        yield journey.entry.condition
    yield journey.audience
    for goal in journey.goals:
        yield goal.condition
    for exit_rule in journey.exits:
        yield exit_rule.condition
    for _, step in journey.steps():
        if isinstance(step, ast.Branch):
            yield from (arm.condition for arm in step.arms)
        elif isinstance(step, ast.WaitEvent):
            yield from (arm.condition for arm in step.arms)
        elif isinstance(step, ast.SetAttribute):
            yield step.value
            yield ast.Path(tuple(step.attribute.split(".")), span=step.span)


@rule("JL502", "unknown-attribute", Severity.ERROR,
      "A condition reads an attribute the schema does not declare.")
def unknown_attribute(ctx: LintContext):
    """Checked when ``[tool.journeylang.schema] attributes`` is declared. A misspelt
    attribute is always missing, so every comparison on it is false and the branch silently
    takes its else arm. ``consent.*`` is always allowed; ``event.x`` is checked against the
    attributes listed for events in ``[tool.journeylang.schema.events]``, if any.

    Bad::

        when customer.teir == "gold" -> gold

    Good::

        when customer.tier == "gold" -> gold
    """
    if ctx.config.attributes is None and not ctx.config.events:
        return
    reported = set()
    for condition in _conditions(ctx.journey):
        for path in paths_in(condition):
            if not ctx.config.knows_attribute(path.dotted) and path.span not in reported:
                reported.add(path.span)
                yield Issue(f"unknown attribute '{path.dotted}'", path.span,
                            hint=did_you_mean(path.dotted, _known_paths(ctx.config)))


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
      "A journey, stage, step, template, arm or outcome name breaks the naming convention.")
def naming_convention(ctx: LintContext):
    """Names are lower snake_case or Chinese by default (configurable with ``naming`` in the
    config), so that reports, tables and dashboards can use them as keys. Chinese names
    (``提醒``, ``新客欢迎``) and mixed ones (``vip_提醒``) follow the convention.

    Bad: ``stage WinBack`` or ``VipOffer: send ...``. Good: ``stage win_back`` or ``stage 挽回``.
    """
    pattern = re.compile(ctx.config.naming)
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
    for kind, name, span in named:
        if not pattern.match(name):
            suggestion = snake_case(name)
            hint = (f"rename it to '{suggestion}'" if pattern.match(suggestion)
                    else f"rename it to match {ctx.config.naming}")
            yield Issue(f"{kind} name '{name}' does not match the naming convention "
                        f"({convention})", span, hint=hint)


def snake_case(name: str) -> str:
    """``VipOffer`` -> ``vip_offer``, ``VIPOffer`` -> ``vip_offer``; Chinese is kept."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words)
    return re.sub(r"_+", "_", words.replace("-", "_")).lower()


def _known_paths(config) -> list[str]:
    events = {f"event.{a}" for attrs in (config.events or {}).values() for a in attrs}
    return sorted(set(config.attributes or ()) | events)
