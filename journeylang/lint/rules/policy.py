"""Policy rules (JL3xx): caps, quiet hours, consent and opt-out, checked along paths."""
from __future__ import annotations

from collections import deque

from ...ast import Emit, ExitRule, Goal, Handoff, Literal, Send, WaitDay, WaitEvent
from ...diagnostics import Related, Severity
from ...expressions import paths_in
from ...graph import BRANCH, DEFAULT
from ...semantics import OPT_OUT_CHANNELS
from ...units import format_duration, format_time
from ..counters import Counters
from ..flow import (DAY, INF, MAX_STATES, advance, as_time, clocks, held, horizon, least_from,
                    most, out_edges, root_times, sends)
from ..logic import implies
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

    Time is followed through every kind of wait, as the least and the greatest time since
    each send: a ``wait until 20:00`` after a send at 20:00 waits for the next day's 20:00
    even when an event in between made the time of day unknown. The message says the cap
    *will* drop the send when even the greatest time since the earlier sends is inside the
    window, and *can* when that depends on when events come. Run-local counters
    (``var reminders = 0``) that only the run's own steps set are followed too, so a loop
    that a counter ends after two rounds is not reported for a third.

    The search follows at most 50,000 distinct states (a step, the time of day, the sends
    still inside the window); a journey with more says so in an info note at the cap.
    """
    for cap in ctx.journey.policy.caps:
        found, complete = _cap_search(ctx, cap)
        for send_node, (first_node, will) in found:
            step = ctx.graph.step(send_node)
            scope = f" on {', '.join(cap.channels)}" if cap.channels else ""
            window = f"calendar {cap.calendar}" if cap.calendar else format_duration(cap.per)
            reach = "reaches" if will else "can reach"
            then = "the cap will drop it" if will else "depending on timing: the cap can drop it"
            yield Issue(
                f"a path {reach} send '{step.name}' as message {cap.messages + 1} within "
                f"{'one ' if cap.calendar else ''}{window}, over the cap of {cap.messages}{scope}, "
                f"{then}", step.span, hint="add a wait between the sends or raise the cap",
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


def _cap_search(ctx: LintContext, cap):
    """The cap's violations, and whether the search saw every state. Paths that run-local
    counters rule out are left out when the search can afford to follow the counters."""
    found, complete = _cap_violations(ctx, cap)
    counters = Counters(ctx.journey) if found and complete and ctx.journey.variables else None
    if counters and counters.names:
        refined, whole = _cap_violations(ctx, cap, counters)
        if whole:
            return refined, whole
    return found, complete


def _cap_violations(ctx: LintContext, cap, counters: Counters | None = None):
    """(send node, (first send of the window, whether the send surely is over the cap)) for
    each send a path can push over the cap, and whether the search saw every state. A state
    is a step, what is known of the time (``When``), the sends still inside the cap's window
    (older ones can never count again) and, with ``counters``, the counters' values."""
    graph, quiet = ctx.graph, ctx.journey.policy.quiet
    limit = horizon(graph)
    found: dict[str, tuple[str, bool]] = {}
    seen = set()
    start = counters.start(ctx.journey) if counters else ()
    anywhere = counters.anywhere() if counters else ()
    # node, When, recent sends (least and greatest time since, time of day, node), counters
    queue = deque((root, when, (), start if root == graph.start else anywhere)
                  for root, when in root_times(graph))
    complete = True
    while queue:
        node, when, recent, values = queue.popleft()
        step = sends(graph, node)
        if step and _counted(cap, step):
            window = [r for r in recent if _same_window(cap, r, when.clock)]
            if len(window) < cap.messages:
                recent += ((0.0, 0.0, when.clock, node),)
            elif _capped(cap, step):  # else it goes out on a fallback channel
                will = all(_surely_same_window(cap, r) for r in window)
                first, before = found.get(node, (window[0][3], False))
                found[node] = (first, before or will)
        key = (node, when, recent, values)
        if key in seen:
            continue
        if len(seen) >= MAX_STATES:  # a state never seen, beyond the budget
            complete = False
            break
        seen.add(key)
        if counters:
            values = counters.after(graph.step(node), values)
        for target, kind, _ in _open_edges(graph, node, counters, values):
            delay, after = advance(graph, node, kind, when, quiet)
            longest = most(graph, node, kind, when, quiet)
            aged = tuple(_aged(graph, node, kind, r, delay, longest, when, quiet, cap.per)
                         for r in recent)
            queue.append((target, after.clamped(limit), tuple(r for r in aged if r[0] < cap.per),
                          values))
    order = sorted(found.items(), key=lambda item: graph.graph.nodes[item[0]]["order"])
    return order, complete


def _open_edges(graph, node, counters: Counters | None, values):
    """The ways out of ``node`` that the counters' values do not rule out."""
    ruled = counters.ruled_out(graph.step(node), values) if counters else set()
    for target, kind, data in out_edges(graph, node):
        arm = id(data.get("condition")) if kind == BRANCH else id(None) if kind == DEFAULT else 0
        if arm not in ruled:
            yield target, kind, data


def _aged(graph, node, kind, sent, delay, longest, when, quiet, per):
    """A send inside the window once the run leaves ``node``: the least time since it grows
    by the least stay, or, from a send at a known time of day when the time of day is not
    known now, by the least stay from the earliest moment the run can be here (a ``wait
    until`` waits for the next occurrence of its time after the send); the greatest time
    since (counted up to the window) grows by the greatest stay."""
    since, late, clock, first = sent
    if clock is not None and when.clock is None and not isinstance(graph.step(node), WaitDay):
        delay = max(delay, least_from(graph, node, kind, int(clock + since) % DAY, quiet))
    return since + delay, min(late + longest, per), clock, first


def _counted(cap, send: Send) -> bool:
    """Whether a send counts against a cap (on its first channel; never a transactional one)."""
    return not send.transactional and (not cap.channels or send.channel in cap.channels)


def _capped(cap, send: Send) -> bool:
    """Whether a cap stops every channel of a send (else it falls back to another)."""
    return not cap.channels or all(channel in cap.channels for channel in send.channels)


def _same_window(cap, earlier, clock: int | None) -> bool:
    """Whether a send now (time of day ``clock``) can share the cap's window with an
    ``earlier`` one: a rolling window holds every send less than its length ago (the search
    drops older ones); a calendar day or week holds two sends when they can fall on the same
    day (or week), the first as early in it as its time of day allows."""
    if cap.calendar is None:
        return True
    apart, first_clock = earlier[0], earlier[2]
    if first_clock is not None:
        return first_clock + apart < cap.per
    if clock is not None:
        return apart <= cap.per - DAY + clock
    return apart < cap.per


def _surely_same_window(cap, earlier) -> bool:
    """Whether a send now surely shares the cap's window with an ``earlier`` one: its
    greatest time since is shorter than the window (for a calendar unit: from the earlier
    send's time of day to the unit's end)."""
    late, first_clock = earlier[1], earlier[2]
    if cap.calendar is None:
        return late < cap.per
    return first_clock is not None and first_clock + late < cap.per


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
    event is never taken, and a "thank you" planned after it (however long after) is never
    sent. Send it from a separate journey triggered by the goal event instead.

    Bad::

        goal purchased on order_paid
        wait for order_paid within 2d -> thanks
        thanks: send via wecom template "thanks"

    Good: a post-purchase journey with ``entry on order_paid``.

    The same holds for a send after an ``emit`` of a goal's or exit rule's event (without a
    ``where``): the run receives the event it emits at once, so the goal (or exit) ends it at
    the emit.

    Bad::

        goal done on level_reached
        emit level_reached
        send via wecom template "congrats"     # the goal ended the run at the emit

    A goal with a ``where`` counts for the arms whose condition implies it. A goal with a
    ``within`` ends the run only that long after entry: the time since entry at the wait (or
    the emit) is bounded along every path, through every kind of wait; the message says the
    send *will* not be sent when the event always comes inside the goal's window, *can* when
    it may, and nothing when it always comes later.
    """
    graph = ctx.graph
    alive = _reachable_unended(ctx)
    for node in graph.in_source_order(graph.graph.nodes):
        step = graph.step(node)
        if not isinstance(step, WaitEvent):
            continue
        for target, kind, data in out_edges(graph, node):
            goal = _goal_of_arm(ctx, kind, data)
            surely = goal and _inside(goal, _arrival(ctx, node, step.within))
            if surely is None or goal is None:
                continue
            for send_node in _first_sends_from(graph, target):
                message = graph.step(send_node)
                why = ("the goal ends the journey first, so it will never be sent"
                       + (" from there" if send_node in alive else "") if surely else
                       f"when it comes within {format_duration(goal.within)} of entry, the goal "
                       "ends the journey first, so it can go unsent")
                yield Issue(f"send '{message.name}' follows goal event '{goal.event}': {why}",
                            message.span,
                            hint="send it from a journey that starts on the goal event",
                            related=(Related(goal.span, "the goal"),
                                     Related(step.span, "the wait")))
    yield from _sends_after_ending_emits(ctx, alive)


def _goal_of_arm(ctx: LintContext, kind: str, data) -> Goal | None:
    """The goal that an event arm's event reaches whenever the arm is taken."""
    if kind != "event":
        return None
    return next((goal for goal in ctx.journey.goals if goal.event == data["label"] and (
        goal.condition is None or implies(data.get("condition") or Literal(True), goal.condition))),
        None)


def _arrival(ctx: LintContext, node: str, within: float | None = 0) -> tuple[float, float]:
    """Bounds of the time since entry at which an event awaited at ``node`` can come (0:
    at the step itself), from the path bounds of both searches (of the time-of-day search
    only when it saw every state: else the times it did not reach are missing)."""
    least, latest = ctx.elapsed.get(node, (0.0, INF))
    found, complete = ctx.timings
    whens = found.get(node) if complete else None
    if whens:
        least = max(least, min(w.least for w in whens))
        latest = min(latest, max(w.latest for w in whens))
    return least, latest + (INF if within is None else within)


def _inside(rule_, moments: tuple[float, float]) -> bool | None:
    """Whether an ending rule surely (True), maybe (False) or never (None) ends the run at
    an event that comes between ``moments``: a goal counts up to its ``within``."""
    within = getattr(rule_, "within", None)
    if within is None or moments[1] <= within:
        return True
    return None if moments[0] > within else False


def _reachable_unended(ctx: LintContext) -> set[str]:
    """The steps that paths reach without passing a goal arm or an emit of an ending event
    that surely ends the run."""
    ends = {(node, target, kind, data.get("label")) for node in ctx.graph.graph.nodes
            for target, kind, data in out_edges(ctx.graph, node)
            if _ends_there(ctx, node, kind, data)}
    seen, queue = set(ctx.graph.roots()), deque(ctx.graph.roots())
    while queue:
        node = queue.popleft()
        for target, kind, data in out_edges(ctx.graph, node):
            if (node, target, kind, data.get("label")) not in ends and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _ends_there(ctx: LintContext, node: str, kind: str, data) -> bool:
    """Whether a goal or exit rule surely ends the run on its way out of ``node``."""
    step = ctx.graph.step(node)
    if isinstance(step, WaitEvent):
        rule_, moments = _goal_of_arm(ctx, kind, data), _arrival(ctx, node, step.within)
    else:
        rule_, moments = _ending_rule(ctx, step), _arrival(ctx, node)
    return rule_ is not None and _inside(rule_, moments) is True


def _ending_rule(ctx: LintContext, step) -> Goal | ExitRule | None:
    """The goal or exit rule (without a ``where``) that an emit's event reaches."""
    if not isinstance(step, Emit):
        return None
    return next((rule_ for rule_ in (*ctx.journey.exits, *ctx.journey.goals)
                 if rule_.event == step.event and rule_.condition is None), None)


def _sends_after_ending_emits(ctx: LintContext, alive: set[str]):
    graph = ctx.graph
    for node in graph.in_source_order(graph.reachable()):
        step = graph.step(node)
        rule_ = _ending_rule(ctx, step)
        surely = rule_ and _inside(rule_, _arrival(ctx, node))
        if rule_ is None or surely is None:
            continue
        what = "goal" if isinstance(rule_, Goal) else "exit rule"
        for target, _, _ in out_edges(graph, node):
            for send_node in _first_sends_from(graph, target):
                message = graph.step(send_node)
                why = (f"the run receives its own event at once and the {what} ends it at the "
                       "emit, so it will never be sent" + (" from there" if send_node in alive
                                                            else "") if surely else
                       f"when the emit comes within {format_duration(rule_.within)} of entry, "
                       f"the run receives its own event and the {what} ends it there, so it can "
                       "go unsent")
                yield Issue(f"send '{message.name}' follows emit '{step.name}' of {what} event "
                            f"'{step.event}': {why}", message.span,
                            hint=f"send before the emit, or from a journey that starts on "
                                 f"{step.event}",
                            related=(Related(step.span, "the emit"),
                                     Related(rule_.span, f"the {what}")))


def _first_sends_from(graph, start: str) -> list[str]:
    """The first send on each path from ``start``, through waits of every kind."""
    found, seen, queue = [], {start}, deque([start])
    while queue:
        current = queue.popleft()
        if sends(graph, current):
            found.append(current)
            continue
        for target, _, _ in out_edges(graph, current):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return found


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
