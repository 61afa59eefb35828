"""Policy rules (JL3xx): caps, quiet hours, consent and opt-out, checked along paths."""
from __future__ import annotations

import datetime as dt
from collections import deque

from ...ast import Handoff, Send, WaitEvent, WAIT_KINDS
from ...diagnostics import Related, Severity
from ...expressions import paths_in
from ...semantics import OPT_OUT_CHANNELS
from ...units import format_duration, format_time
from ..flow import advance, out_edges, sends
from ..registry import Issue, LintContext, rule

MAX_STATES = 50_000  # path search budget per rule and journey


@rule("JL301", "cap-exceeded-on-path", Severity.WARNING,
      "A path sends more messages within a window than the frequency cap allows.")
def cap_exceeded_on_path(ctx: LintContext):
    """Follows every path from the start, counting sends and the least time that must pass
    between them (waits count; an awaited event may arrive at once). When a path can send
    more messages within a cap's window than the cap allows, the runtime will drop the
    extra sends: the journey's design and its policy disagree.

    Bad::

        policy { cap 2 messages per 1d }
        send via wecom template "a"
        send via wecom template "b"
        send via wecom template "c"     # third message within a day

    Good: space the sends with waits longer than the window, or raise the cap.

    The search follows at most 50,000 distinct states (a step, the time of day, the sends
    still inside the window); a journey with more says so in an info note at the cap.
    """
    for cap in ctx.journey.policy.caps:
        found, complete = _cap_violations(ctx, cap)
        for send_node, first_node in found:
            step = ctx.graph.step(send_node)
            scope = f" on {', '.join(cap.channels)}" if cap.channels else ""
            yield Issue(
                f"a path reaches send '{step.name}' as message {cap.messages + 1} within "
                f"{format_duration(cap.per)}, over the cap of {cap.messages}{scope}", step.span,
                hint="add a wait between the sends or raise the cap",
                related=(Related(ctx.graph.step(first_node).span, "first send in that window"),
                         Related(cap.span, "the cap")))
        if not complete:
            yield _search_cut_short(cap.span, "the cap")


def _search_cut_short(span, what: str) -> Issue:
    """A note that a path search ran out of budget: what it did not reach is unchecked."""
    return Issue(f"the path search for {what} stopped after {MAX_STATES:,} states: sends on "
                 "paths beyond were not checked", span, severity=Severity.INFO,
                 hint="the journey has very many distinct paths; split it, or check the "
                      "remaining sends by simulation")


def _cap_violations(ctx: LintContext, cap):
    """(send node, first send of the window) for each send a path can push over the cap, and
    whether the search saw every state. A state is a step, the time of day when the journey
    fixes it, and the sends still inside the cap's window (older ones can never count again)."""
    graph, start = ctx.graph, ctx.graph.start
    if start is None:
        return [], True
    found: dict[str, str] = {}
    seen = set()
    queue = deque([(start, 0, None, ())])  # node, time now, time of day, recent (time, send)
    while queue and len(seen) < MAX_STATES:
        node, now, clock, recent = queue.popleft()
        recent = tuple(r for r in recent if now - r[0] < cap.per)
        step = sends(graph, node)
        if step and (not cap.channels or step.channel in cap.channels):
            recent += ((now, node),)
            if len(recent) > cap.messages:
                found.setdefault(node, recent[0][1])
                recent = recent[1:]
        key = (node, clock, tuple((now - t, n) for t, n in recent))
        if key in seen:
            continue
        seen.add(key)
        for target, kind, _ in out_edges(graph, node):
            delay, after = advance(graph, node, kind, clock)
            queue.append((target, now + delay, after, recent))
    order = sorted(found.items(), key=lambda item: graph.graph.nodes[item[0]]["order"])
    return order, not queue


@rule("JL302", "send-in-quiet-hours", Severity.WARNING,
      "A send happens at a time of day that falls inside quiet hours.")
def send_in_quiet_hours(ctx: LintContext):
    """When a ``wait until`` (plus fixed waits) puts a send inside quiet hours, the runtime
    defers it to the end of the window: the message goes out hours later than designed.

    Bad::

        policy { quiet 22:00-08:00 }
        wait until 23:00
        send via wecom template "late_offer"

    Good: wait until a time outside quiet hours (``wait until 20:00``).
    """
    quiet = ctx.journey.policy.quiet
    graph = ctx.graph
    if quiet is None or graph.start is None:
        return
    reported = set()
    seen = set()
    queue = deque([(graph.start, None)])
    while queue and len(seen) < MAX_STATES:
        node, clock = queue.popleft()
        if (node, clock) in seen:
            continue
        seen.add((node, clock))
        step = sends(graph, node)
        if step and clock is not None and node not in reported:
            moment = _as_time(clock)
            if quiet.contains(moment):
                reported.add(node)
                yield Issue(f"send '{step.name}' happens at {format_time(moment)}, inside quiet "
                            f"hours {format_time(quiet.start)}-{format_time(quiet.end)}; it will "
                            f"be deferred to {format_time(quiet.end)}", step.span,
                            hint="wait until a time outside quiet hours before sending",
                            related=(Related(quiet.span, "quiet hours"),))
        for target, kind, _ in out_edges(graph, node):
            queue.append((target, advance(graph, node, kind, clock)[1]))
    if queue:
        yield _search_cut_short(quiet.span, "quiet hours")


def _as_time(seconds: int) -> dt.time:
    return dt.time(seconds // 3600, seconds % 3600 // 60)


@rule("JL303", "send-without-consent", Severity.WARNING,
      "A send on a channel can be reached without checking the customer's consent.")
def send_without_consent(ctx: LintContext):
    """Personal data may be used only with consent. A send is guarded when the policy lists
    its channel under ``consent`` (the runtime then checks it), or when the entry condition,
    the audience or a branch arm on every path to it tests ``consent.<channel>``.

    Bad::

        send via sms template "offer"       # no consent check anywhere

    Good::

        policy { consent sms }
    """
    journey, graph = ctx.journey, ctx.graph
    globally = {p.dotted for expr in (journey.entry.condition if journey.entry else None,
                                      journey.audience) for p in paths_in(expr)}
    # unknown channels are JL104's business
    channels = {s.channel for _, s in journey.steps()
                if isinstance(s, Send) and s.channel in ctx.config.channels}
    for channel in sorted(channels):
        guard = f"consent.{channel}"
        if channel in journey.policy.consent or guard in globally:
            continue
        for node in _reachable_unguarded(graph, guard):
            step = sends(graph, node)
            if step and step.channel == channel:
                yield Issue(f"send '{step.name}' on {channel} can be reached without a consent "
                            f"check", step.span,
                            hint=f"add `consent {channel}` to the policy, or branch on {guard}")


def _reachable_unguarded(graph, guard: str) -> set[str]:
    if graph.start is None:
        return set()
    seen, queue = {graph.start}, deque([graph.start])
    while queue:
        node = queue.popleft()
        for target, _, data in out_edges(graph, node):
            guarded = guard in {p.dotted for p in paths_in(data.get("condition"))}
            if not guarded and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


@rule("JL304", "send-after-goal", Severity.WARNING,
      "A message is sent after the customer reached the goal.")
def send_after_goal(ctx: LintContext):
    """A goal event ends the journey wherever the customer is, so a wait arm on a goal
    event is never taken, and a "thank you" planned after it is never sent. Send it from
    a separate journey triggered by the goal event instead.

    Bad::

        goal purchased on order_paid
        wait for order_paid within 2d -> thanks
        thanks: send via wecom template "thanks"

    Good: a post-purchase journey with ``entry on order_paid``.
    """
    goals = {goal.event: goal for goal in ctx.journey.goals}
    graph = ctx.graph
    for node in graph.in_source_order(graph.graph.nodes):
        step = graph.step(node)
        if not isinstance(step, WaitEvent):
            continue
        for target, kind, data in out_edges(graph, node):
            goal = goals.get(data["label"]) if kind == "event" else None
            message = goal and _first_send_after(graph, target)
            if message:
                yield Issue(f"send '{message.name}' follows goal event '{goal.event}': the goal "
                            "ends the journey first, so it is never sent", message.span,
                            hint="send it from a journey that starts on the goal event",
                            related=(Related(goal.span, "the goal"), Related(step.span, "the wait")))


def _first_send_after(graph, node: str) -> Send | None:
    """The first send reached from ``node`` without waiting."""
    seen, queue = {node}, deque([node])
    while queue:
        current = queue.popleft()
        step = graph.step(current)
        if isinstance(step, Send):
            return step
        if isinstance(step, WAIT_KINDS):
            continue
        for target, _, _ in out_edges(graph, current):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return None


@rule("JL305", "handoff-without-deadline", Severity.WARNING, "A handoff to a human has no deadline.")
def handoff_without_deadline(ctx: LintContext):
    """Complaints must reach a human fast, and a handoff without a response deadline cannot
    be measured or escalated.

    Bad::

        handoff to agent

    Good::

        handoff to agent within 30m
    """
    for _, step in ctx.journey.steps():
        if isinstance(step, Handoff) and step.within is None:
            yield Issue(f"handoff '{step.name}' to {step.role} has no deadline", step.span,
                        hint="add `within <duration>`, e.g. within 30m")


@rule("JL306", "missing-opt-out", Severity.ERROR,
      "A journey sends SMS or e-mail but does not end on an opt-out event.")
def missing_opt_out(ctx: LintContext):
    """SMS and e-mail must honour unsubscribes. A journey that sends on them needs an exit
    rule on an opt-out event (configurable; by default unsubscribed, opted_out, opt_out or
    stop) so that a customer who opts out leaves at once.

    Bad: ``send via sms ...`` with no exit rule.

    Good::

        exit on unsubscribed as opted_out
    """
    used = [s for _, s in ctx.journey.steps() if isinstance(s, Send) and s.channel in OPT_OUT_CHANNELS]
    handled = any(e.event in ctx.config.opt_out_events for e in ctx.journey.exits)
    if used and not handled:
        channels = sorted({s.channel for s in used})
        yield Issue(f"the journey sends on {' and '.join(channels)} but has no exit rule on an "
                    "opt-out event", used[0].span,
                    hint="add `exit on unsubscribed as opted_out`")
