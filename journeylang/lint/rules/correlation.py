"""Correlation rules (JL74x): a journey that keys its runs by a value of their entry event."""
from __future__ import annotations

from ... import ast
from ...diagnostics import Related, Severity
from ...units import format_duration
from ..registry import Issue, LintContext, rule
from .hygiene import waited_and_handled

SCOPES = ("event", "customer", "consent")  # roots of condition paths, not of event data
BREACH = "sla_breached"  # the runtime gives it the key of the run whose SLA it was


@rule("JL741", "correlation-key-unreadable", Severity.ERROR,
      "The correlation key cannot be read from the journey's entry event.")
def correlation_key_unreadable(ctx: LintContext):
    """``correlate by order_id`` reads the key from the data of the event that starts a run:
    a journey without an entry event (or with a scheduled entry, whose data is only the
    occurrence) has none, a key written like a condition path (``event.order_id``,
    ``customer.id``) names a field the event does not have, and a key that the schema's
    declaration of the entry event does not list is missing from every entry. In each case
    no run ever starts.

    Bad::

        entry on order_placed          # schema: order_placed = ["total"]
        correlate by event.order_id

    Good::

        entry on order_placed          # schema: order_placed = ["order_id", "total"]
        correlate by order_id
    """
    key, entry = ctx.journey.correlate, ctx.journey.entry
    if key is None:
        return
    if entry is None or entry.schedule is not None:
        what = "a scheduled entry" if entry is not None else "no entry event"
        yield Issue(f"`correlate by {key.dotted}` reads the key from the entry event, and the "
                    f"journey has {what}: no run can start",
                    key.span, hint="correlate a journey that starts on an event",
                    related=(Related(entry.span, "the entry"),) if entry is not None else ())
    elif key.path[0] in SCOPES and len(key.path) > 1:
        yield Issue(f"`correlate by {key.dotted}` names a field '{key.path[0]}' of the entry "
                    "event's data; the key is a path inside the data", key.span,
                    hint=f"write `correlate by {'.'.join(key.path[1:])}`")
    elif _declared(ctx, entry.event) and key.path[0] not in _declared(ctx, entry.event):
        fields = ", ".join(_declared(ctx, entry.event))
        yield Issue(f"the entry event '{entry.event}' has no '{key.path[0]}' in the schema "
                    f"({fields}): no run can start with `correlate by {key.dotted}`", key.span,
                    hint=f"add '{key.path[0]}' to the schema's {entry.event}, or correlate by "
                         "one of its fields",
                    related=(Related(entry.span, "the entry"),))


@rule("JL742", "correlation-without-reentry", Severity.WARNING,
      "A journey correlates its runs by a key but lets a customer have one run at a time.")
def correlation_without_reentry(ctx: LintContext):
    """A correlation key tells a customer's runs apart (one run per order, per ticket). With
    ``reentry never`` or ``reentry after``, a customer has one run at a time, so a second
    order's entry starts no run, and the key only keeps the events of other orders from the
    one run there is. Say ``reentry always``, or drop the key.

    Bad::

        entry on order_placed
        correlate by order_id          # and no reentry line: one run per customer

    Good::

        entry on order_placed
        reentry always
        correlate by order_id
    """
    key, reentry = ctx.journey.correlate, ctx.journey.reentry
    if key is None or reentry.mode == "always":
        return
    rule_text = f"reentry after {format_duration(reentry.after or 0)}" \
        if reentry.mode == "after" else "reentry never"
    yield Issue(f"`correlate by {key.dotted}` with `{rule_text}`: a customer has one run at a "
                f"time, so a second {key.path[-1]} starts no run of its own", key.span,
                hint="write `reentry always` for one run per key, or remove the correlation",
                related=(Related(reentry.span, "the reentry rule"),)
                if reentry.span.line > 0 else ())


@rule("JL743", "correlated-event-without-key", Severity.WARNING,
      "An event a correlated journey takes is declared without the correlation key.")
def correlated_event_without_key(ctx: LintContext):
    """In a journey with ``correlate by order_id``, an event reaches a run only when its data
    has the run's ``order_id``; one the schema declares without the key reaches no run, so
    the goal, exit rule, wait or handler on it never fires (the runtime records each such
    event as undelivered). Opt-out events reach every run, and the journey's own emitted
    events and ``sla_breached`` carry the key of their run, so they are not checked.

    Bad::

        correlate by order_id
        goal paid on order_paid        # schema: order_paid = ["total"]

    Good::

        correlate by order_id
        goal paid on order_paid        # schema: order_paid = ["order_id", "total"]
    """
    key = ctx.journey.correlate
    if key is None or (key.path[0] in SCOPES and len(key.path) > 1):
        return  # no key, or one JL741 reports
    exempt = set(ctx.config.opt_out_events) | {BREACH} | {
        step.event for _, step in ctx.journey.steps() if isinstance(step, ast.Emit)}
    reported = set()
    for event, span, where in _taken(ctx.journey):
        fields = _declared(ctx, event)
        if event in exempt or not fields or key.path[0] in fields or span in reported:
            continue
        reported.add(span)
        yield Issue(f"{where} takes '{event}', which the schema declares without "
                    f"'{key.path[0]}' ({', '.join(fields)}): with `correlate by {key.dotted}` it "
                    "reaches no run", span,
                    hint=f"add '{key.path[0]}' to the schema's {event} if the feed sends it",
                    related=(Related(key.span, "the correlation key"),))


def _declared(ctx: LintContext, event: str) -> tuple[str, ...]:
    """The data fields the schema lists for an event (empty: none listed, or no schema)."""
    return (ctx.config.events or {}).get(event, ())


def _taken(journey: ast.Journey):
    """(event, span, where) for every event that acts on a run: goals, milestones, exit
    rules, wait arms and handlers."""
    for goal in journey.goals:
        yield goal.event, goal.span, f"goal '{goal.name}'"
    for milestone in journey.milestones:
        yield milestone.event, milestone.span, f"milestone '{milestone.name}'"
    for exit_rule in journey.exits:
        yield exit_rule.event, exit_rule.span, f"the exit rule on {exit_rule.event}"
    yield from waited_and_handled(journey)
