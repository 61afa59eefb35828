"""Policy rules (JL3xx): caps, quiet hours, consent and opt-out, checked along paths."""
from __future__ import annotations

from collections import deque

from ...ast import Emit, Goal, Handoff, Send, WaitEvent, WAIT_KINDS
from ...diagnostics import Related, Severity
from ...expressions import paths_in
from ...semantics import OPT_OUT_CHANNELS
from ...units import format_duration, format_time
from ..flow import (DAY, MAX_STATES, advance, as_time, clocks, held, horizon, out_edges,
                    root_times, sends)
from ..registry import Issue, LintContext, rule


@rule("JL301", "cap-exceeded-on-path", Severity.WARNING,
      "A path sends more messages within a window than the frequency cap allows.")
def cap_exceeded_on_path(ctx: LintContext):
    """Follows every path from the start (and from the steps that event handlers jump to),
    counting sends and the least time that must pass between them (waits count; an awaited
    event may arrive at once). When a path can send more messages within a cap's window than
    the cap allows, the runtime will drop the extra sends: the journey's design and its
    policy disagree.

    Bad::

        policy { cap 2 messages per 1d }
        send via wecom template "a"
        send via wecom template "b"
        send via wecom template "c"     # third message within a day

    Good: space the sends with waits longer than the window, or raise the cap.

    Transactional sends are neither limited by caps nor counted in them. A send with
    fallback channels is dropped only when every one of its channels is capped. A calendar
    cap (``cap 1 messages per calendar day``) counts two sends together only when they can
    fall on the same calendar day (or week): at a time of day the journey fixes, else
    whenever they can be less than a day (a week) apart. Round a loop through ``wait until
    next <schedule>`` its occurrences are at least the schedule's shortest gap apart.

    The search follows at most 50,000 distinct states (a step, the time of day, the sends
    still inside the window); a journey with more says so in an info note at the cap.
    """
    for cap in ctx.journey.policy.caps:
        found, complete = _cap_violations(ctx, cap)
        for send_node, first_node in found:
            step = ctx.graph.step(send_node)
            scope = f" on {', '.join(cap.channels)}" if cap.channels else ""
            window = f"calendar {cap.calendar}" if cap.calendar else format_duration(cap.per)
            yield Issue(
                f"a path reaches send '{step.name}' as message {cap.messages + 1} within "
                f"{'one ' if cap.calendar else ''}{window}, over the cap of {cap.messages}{scope}",
                step.span, hint="add a wait between the sends or raise the cap",
                related=(Related(ctx.graph.step(first_node).span, "first send in that window"),
                         Related(cap.span, "the cap")))
        if not complete:
            yield search_cut_short(cap.span, "the cap")


def search_cut_short(span, what: str, unchecked: str = "sends") -> Issue:
    """A note that a path search ran out of budget: what it did not reach is unchecked."""
    return Issue(f"the path search for {what} stopped after {MAX_STATES:,} states: {unchecked} "
                 "on paths beyond were not checked", span, severity=Severity.INFO,
                 hint="the journey has very many distinct paths; split it, or check the "
                      f"remaining {unchecked} by simulation")


def _cap_violations(ctx: LintContext, cap):
    """(send node, first send of the window) for each send a path can push over the cap, and
    whether the search saw every state. A state is a step, the time of day when the journey
    fixes it, what is known of the time since entry (for day waits), and the sends still
    inside the cap's window (older ones can never count again)."""
    graph, quiet = ctx.graph, ctx.journey.policy.quiet
    limit = horizon(graph)
    found: dict[str, str] = {}
    seen = set()
    # node, time now, When, recent (time, time of day, send)
    queue = deque((root, 0, when, ()) for root, when in root_times(graph))
    while queue and len(seen) < MAX_STATES:
        node, now, when, recent = queue.popleft()
        recent = tuple(r for r in recent if now - r[0] < cap.per)
        step = sends(graph, node)
        if step and _counted(cap, step):
            window = [r for r in recent if _same_window(cap, r, now, when.clock)]
            if len(window) < cap.messages:
                recent += ((now, when.clock, node),)
            elif _capped(cap, step):  # else it goes out on a fallback channel
                found.setdefault(node, window[0][2])
        key = (node, when, tuple((now - t, c, n) for t, c, n in recent))
        if key in seen:
            continue
        seen.add(key)
        for target, kind, _ in out_edges(graph, node):
            delay, after = advance(graph, node, kind, when, quiet)
            queue.append((target, now + delay, after.clamped(limit), recent))
    order = sorted(found.items(), key=lambda item: graph.graph.nodes[item[0]]["order"])
    return order, not queue


def _counted(cap, send: Send) -> bool:
    """Whether a send counts against a cap (on its first channel; never a transactional one)."""
    return not send.transactional and (not cap.channels or send.channel in cap.channels)


def _capped(cap, send: Send) -> bool:
    """Whether a cap stops every channel of a send (else it falls back to another)."""
    return not cap.channels or all(channel in cap.channels for channel in send.channels)


def _same_window(cap, earlier, now: float, clock: int | None) -> bool:
    """Whether a send at ``now`` (time of day ``clock``) can share the cap's window with an
    ``earlier`` one: a rolling window holds every send less than its length ago (the search
    drops older ones); a calendar day or week holds two sends when they can fall on the same
    day (or week), the first as early in it as its time of day allows."""
    if cap.calendar is None:
        return True
    apart, first_clock = now - earlier[0], earlier[1]
    if first_clock is not None:
        return first_clock + apart < cap.per
    if clock is not None:
        return apart <= cap.per - DAY + clock
    return apart < cap.per


@rule("JL302", "send-in-quiet-hours", Severity.WARNING,
      "A send happens at a time of day that falls inside quiet hours.")
def send_in_quiet_hours(ctx: LintContext):
    """When a ``wait until`` (plus fixed waits) puts a send inside quiet hours, the runtime
    defers it to the end of the window: the message goes out hours later than designed.
    Transactional sends are exempt from quiet hours and are not reported.

    Bad::

        policy { quiet 22:00-08:00 }
        wait until 23:00
        send via wecom template "late_offer"

    Good: wait until a time outside quiet hours (``wait until 20:00``).
    """
    quiet, graph = ctx.journey.policy.quiet, ctx.graph
    if quiet is None:
        return
    found, complete = ctx.timings
    times = clocks(found)
    for node in graph.in_source_order(times):
        step = sends(graph, node)
        inside = sorted(c for c in times[node] if c is not None and held(step, quiet, c))
        if step and inside:
            moment = as_time(inside[0])
            yield Issue(f"send '{step.name}' happens at {format_time(moment)}, inside quiet "
                        f"hours {format_time(quiet.start)}-{format_time(quiet.end)}; it will "
                        f"be deferred to {format_time(quiet.end)}", step.span,
                        hint="wait until a time outside quiet hours before sending",
                        related=(Related(quiet.span, "quiet hours"),))
    if not complete:
        yield search_cut_short(quiet.span, "quiet hours")


@rule("JL303", "send-without-consent", Severity.WARNING,
      "A send on a channel can be reached without checking the customer's consent.")
def send_without_consent(ctx: LintContext):
    """Personal data may be used only with consent. A send is guarded when the policy lists
    its channel under ``consent`` (the runtime then checks it), or when the entry condition,
    the audience or a branch arm on every path to it tests ``consent.<channel>``. Every
    channel of a send with fallback channels is checked, and the search starts at the start
    and at every step an event handler jumps to. Transactional sends need consent too.

    Bad::

        send via sms template "offer"       # no consent check anywhere

    Good::

        policy { consent sms }
    """
    journey, graph = ctx.journey, ctx.graph
    globally = {p.dotted for expr in (journey.entry.condition if journey.entry else None,
                                      journey.audience) for p in paths_in(expr)}
    # unknown channels are JL104's business
    channels = {c for _, s in journey.steps() if isinstance(s, Send)
                for c in s.channels if c in ctx.config.channels}
    for channel in sorted(channels):
        guard = f"consent.{channel}"
        if channel in journey.policy.consent or guard in globally:
            continue
        for node in graph.in_source_order(_reachable_unguarded(graph, guard)):
            step = sends(graph, node)
            if step and channel in step.channels:
                which = "" if channel == step.channel else " (a fallback channel)"
                yield Issue(f"send '{step.name}' on {channel}{which} can be reached without a "
                            f"consent check", step.span,
                            hint=f"add `consent {channel}` to the policy, or branch on {guard}")


def _reachable_unguarded(graph, guard: str) -> set[str]:
    seen = set(graph.roots())
    queue = deque(seen)
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

    The same holds for a send after an ``emit`` of a goal's or exit rule's event (without a
    ``where``): the run receives the event it emits at once, so the goal (or exit) ends it at
    the emit. A goal whose ``within`` has always passed at the emit does not count.

    Bad::

        goal done on level_reached
        emit level_reached
        send via wecom template "congrats"     # the goal ended the run at the emit
    """
    goals = {goal.event: goal for goal in ctx.journey.goals}
    graph = ctx.graph
    for node in graph.in_source_order(graph.graph.nodes):
        step = graph.step(node)
        if not isinstance(step, WaitEvent):
            continue
        for target, kind, data in out_edges(graph, node):
            goal = goals.get(data["label"]) if kind == "event" else None
            message = goal and _first_send_from(graph, [target])
            if message:
                yield Issue(f"send '{message.name}' follows goal event '{goal.event}': the goal "
                            "ends the journey first, so it is never sent", message.span,
                            hint="send it from a journey that starts on the goal event",
                            related=(Related(goal.span, "the goal"), Related(step.span, "the wait")))
    yield from _sends_after_ending_emits(ctx)


def _sends_after_ending_emits(ctx: LintContext):
    graph = ctx.graph
    ending = {rule.event: rule for rule in (*ctx.journey.exits, *ctx.journey.goals)
              if rule.condition is None}
    for node in graph.in_source_order(graph.reachable()):
        step = graph.step(node)
        rule_ = ending.get(step.event) if isinstance(step, Emit) else None
        if rule_ is None:
            continue
        if getattr(rule_, "within", None) is not None:
            if ctx.elapsed[node][0] > rule_.within:
                continue
        message = _first_send_from(graph, [t for t, _, _ in out_edges(graph, node)])
        if message:
            what = "goal" if isinstance(rule_, Goal) else "exit rule"
            yield Issue(f"send '{message.name}' follows emit '{step.name}' of {what} event "
                        f"'{step.event}': the run receives its own event at once and the {what} "
                        "ends it at the emit, so it is never sent from there", message.span,
                        hint=f"send before the emit, or from a journey that starts on {step.event}",
                        related=(Related(step.span, "the emit"), Related(rule_.span, f"the {what}")))


def _first_send_from(graph, starts) -> Send | None:
    """The first send reached from ``starts`` without waiting."""
    seen, queue = set(starts), deque(starts)
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
    """SMS and e-mail must honour unsubscribes. A journey that sends on them (as a send's
    channel or fallback channel, transactional sends included) needs an exit rule on an
    opt-out event (configurable; by default unsubscribed, opted_out, opt_out or stop) so that
    a customer who opts out leaves at once.

    Bad: ``send via sms ...`` with no exit rule.

    Good::

        exit on unsubscribed as opted_out
    """
    used = [s for _, s in ctx.journey.steps()
            if isinstance(s, Send) and set(s.channels) & set(OPT_OUT_CHANNELS)]
    handled = any(e.event in ctx.config.opt_out_events for e in ctx.journey.exits)
    if used and not handled:
        channels = sorted({c for s in used for c in s.channels if c in OPT_OUT_CHANNELS})
        yield Issue(f"the journey sends on {' and '.join(channels)} but has no exit rule on an "
                    "opt-out event", used[0].span,
                    hint="add `exit on unsubscribed as opted_out`")
