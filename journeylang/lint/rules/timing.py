"""Timing rules (JL213-JL214): events lost while a run waits elsewhere, day waits reached late."""
from __future__ import annotations

from collections import deque

import networkx as nx

from ...ast import Send, Wait, WaitDay, WaitEvent, WaitSchedule, WaitUntil
from ...diagnostics import Related, Severity
from ...expressions import schedule_text
from ...units import format_duration, format_span, format_time
from ..flow import DAY, INF, as_time, clocks, day_moments, waits_there
from ..registry import Issue, LintContext, rule
from .policy import search_cut_short

NAMED = 3  # waiting steps named in a message; the rest are counted


@rule("JL213", "event-lost-between-waits", Severity.WARNING,
      "A journey waits for an event at one step that it can receive, and lose, at another.")
def event_lost_between_waits(ctx: LintContext):
    """An event reaches a run wherever it is. When it is waiting for something else (``wait
    2h``, ``wait until``, a wait for other events, a send that quiet hours hold back), the
    event is recorded as ignored and changes nothing; when the run later waits for that
    event, it waits for one that already came. Reported at the wait arm, naming the steps
    where the event is lost, unless a handler, a goal or an exit rule takes the event
    wherever the run is.

    A step loses the event when the run goes on from it to the wait without sending
    anything first (a message sent in between, or the held message itself, is likely what
    prompts the event), or when the step and the wait are on one loop (the event comes again
    and again: lessons done, points earned).

    Bad::

        send via wecom template lesson
        wait until 20:00                     # a lesson_done now is lost
        wait for lesson_done within 1d -> praise

    Good: count it whenever it comes, then branch on the count::

        var lessons = 0
        on lesson_done { set lessons = lessons + 1 }

    Which sends quiet hours can hold back is found by the path search that follows the time
    of day (as JL302's); when it stops at its budget of 50,000 states, an info note at the
    quiet hours says so.
    """
    journey, graph = ctx.journey, ctx.graph
    quiet = journey.policy.quiet
    anywhere = {rule.event for rule in (*journey.handlers, *journey.goals, *journey.exits)}
    awaited = {arm.event for _, step in journey.steps() if isinstance(step, WaitEvent)
               for arm in step.arms}
    if not awaited - anywhere:
        return
    times = clocks(ctx.timings[0]) if quiet else {}
    if quiet and not ctx.timings[1]:  # sends held by quiet hours beyond it are not known
        yield search_cut_short(quiet.span, "quiet hours", "events lost while a send is held")
    waiting = [n for n in graph.in_source_order(graph.reachable())
               if waits_there(graph.step(n), quiet, times.get(n, {None}))]
    loop_of = {n: i for i, loop in enumerate(nx.strongly_connected_components(graph.graph))
               for n in loop}
    for node in waiting:
        step = graph.step(node)
        if not isinstance(step, WaitEvent):
            continue
        for arm in step.arms:
            if arm.event in anywhere:
                continue
            quietly = _leading_to(graph, node, arm.event, through_sends=False)
            around = {n for n in _leading_to(graph, node, arm.event, through_sends=True)
                      if loop_of[n] == loop_of[node]}
            lost = [n for n in waiting if n in quietly | around]
            if lost:
                yield _lost_issue(graph, step, arm, lost)


def _takes(step, event: str) -> bool:
    return isinstance(step, WaitEvent) and any(arm.event == event for arm in step.arms)


def _leading_to(graph, node: str, event: str, through_sends: bool) -> set[str]:
    """The steps from which a run reaches ``node`` without first waiting for ``event`` (nor
    sending, unless ``through_sends``), other than steps that wait for ``event``."""
    found, queue = set(), deque(graph.graph.predecessors(node))
    while queue:
        current = queue.popleft()
        step = graph.step(current)
        if current in found or current == node or _takes(step, event):
            continue
        if isinstance(step, Send) and not through_sends:
            continue
        found.add(current)
        queue.extend(graph.graph.predecessors(current))
    return found


def _lost_issue(graph, step: WaitEvent, arm, lost: list[str]) -> Issue:
    shown = [f"'{graph.step(n).name}' ({_waiting(graph.step(n))})" for n in lost[:NAMED]]
    more = f" and {len(lost) - NAMED} more" if len(lost) > NAMED else ""
    waits = [graph.step(n).name for n in lost if not isinstance(graph.step(n), Send)]
    also = f", or wait for {arm.event} at '{waits[0]}' too" if waits else ""
    return Issue(f"'{step.name}' waits for {arm.event}, but a {arm.event} that comes while the "
                 f"run is at {', '.join(shown)}{more} is lost: the run then waits here for an "
                 "event that already came", arm.span or step.span,
                 hint=f"take it wherever the run is with a handler, `on {arm.event} {{ ... }}` "
                      f"(one that counts it in a `var`, say){also}",
                 related=tuple(Related(graph.step(n).span, "the event is lost here")
                               for n in lost))


def _waiting(step) -> str:
    """What a waiting step waits for, in the DSL's words."""
    if isinstance(step, Wait):
        return f"wait {format_duration(step.duration)}"
    if isinstance(step, WaitUntil):
        return f"wait until {format_time(step.time)}"
    if isinstance(step, WaitDay):
        return f"wait until day {step.day} at {format_time(step.time)}"
    if isinstance(step, WaitSchedule):
        return f"wait until next {schedule_text(step.schedule)}"
    if isinstance(step, WaitEvent):
        return "wait for " + ", ".join(dict.fromkeys(arm.event for arm in step.arms))
    if isinstance(step, Send):
        return "a send that quiet hours can hold back"
    return step.kind


@rule("JL214", "day-wait-late", Severity.WARNING,
      "A `wait until day N` can be reached after its moment has passed.")
def day_wait_late(ctx: LintContext):
    """``wait until day 7 at 10:00`` waits for that moment after entry (day 0 is the day of
    entry, in the customer's time zone) and goes on at once when it has passed. The moment
    is at most N days + HH:MM after entry (entry at midnight) and can be as early as N-1 days
    + HH:MM (entry just before midnight). It *will* have passed when every path takes longer
    than the latest moment to get there; it *can* have passed when some path can take longer
    than the earliest (a loop that waits, a wait for events without a timeout, or a handler's
    jump can take any time). Waits count in full, ``wait until`` up to a day, ``wait until
    next`` up to its period, waits for events up to ``within``, a send held by quiet hours up
    to the quiet window's length.

    Bad::

        wait 7d
        wait for replied within 2d -> answer timeout -> answer
        answer: wait until day 8 at 10:00    # reached after 7d-9d

    Good::

        wait until day 7 at 10:00
        wait for replied within 2d -> answer timeout -> answer
        answer: wait until day 10 at 10:00

    The times come from a path search (a step, the time of day, the time since entry); when
    it stops at its budget of 50,000 states, an info note at the first day wait says so.
    """
    graph = ctx.graph
    (states, complete), bounds = ctx.timings, ctx.elapsed
    day_waits = [n for n in graph.in_source_order(graph.graph.nodes)
                 if isinstance(graph.step(n), WaitDay)]
    if day_waits and not complete:
        yield search_cut_short(graph.step(day_waits[0]).span, "day waits", "day waits")
    for node in graph.in_source_order(states):
        step = graph.step(node)
        if not isinstance(step, WaitDay):
            continue
        late = [when.late_for(step) for when in states[node]]
        moment = f"day {step.day} at {format_time(step.time)}"
        if all(surely for surely, _ in late):
            yield Issue(f"'{step.name}' waits until {moment}, but every path reaches it later: "
                        f"{_soonest(step, states[node], bounds[node][0])}; the run goes on at "
                        "once", step.span,
                        hint="wait until a later day, or shorten the waits before it")
        elif any(can for _, can in late):
            yield Issue(f"'{step.name}' waits until {moment}, which can be "
                        f"{_earliest(step)}, but {_latest(step, states[node], bounds[node][1])}: "
                        "the moment can have passed, and the run then goes on at once",
                        step.span, hint="wait until a later day, or bound the waits before it")


def _soonest(step: WaitDay, whens, least: float) -> str:
    """How soon every path reaches a day wait whose moment has then passed."""
    moment = day_moments(step)[1]
    anchors = [when.anchor for when in whens if when.anchor is not None]
    if not anchors:   # each path is late by its own least time since entry
        least = max(least, min(when.least for when in whens))
    if least > moment or not anchors:
        return (f"at least {format_span(least)} after entry, and the moment is at most "
                f"{format_span(moment)} after entry")
    return f"{_day_text(min(anchors))} at the soonest"


def _latest(step: WaitDay, whens, greatest: float) -> str:
    """How late a path can reach a day wait."""
    anchors = [w.anchor for w in whens if w.anchor is not None and w.late_for(step)[1]]
    if anchors:
        return f"a path reaches it {_day_text(max(anchors))}"
    if greatest == INF:
        return ("a path can reach it at any time after entry (a loop that waits, a wait for "
                "events without a timeout, or a handler's jump comes first)")
    return f"a path can reach it as late as {format_span(greatest)} after entry"


def _day_text(anchor: float) -> str:
    """A time since the midnight that began the day of entry, as ``on day N at HH:MM``."""
    return f"on day {int(anchor // DAY)} at {format_time(as_time(int(anchor) % DAY))}"


def _earliest(step: WaitDay) -> str:
    earliest = day_moments(step)[0]
    if earliest <= 0:
        return f"as soon as entry (for a customer who enters just before {format_time(step.time)})"
    return (f"as soon as {format_span(earliest)} after entry (for a customer who enters just "
            "before midnight)")
