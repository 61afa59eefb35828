"""Path facts for the rules: how much time must (or may) pass along an edge, the time of day
a journey fixes, the least and greatest time since entry at each step, where a run waits."""
from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import replace

import networkx as nx

from ..ast import (QuietHours, Send, Wait, WaitDay, WaitEvent, WaitSchedule, WaitUntil,
                   WAIT_KINDS)
from ..graph import SPLIT, TIMEOUT, JourneyGraph
from ..records import record
from ..semantics import makes_time_pass
from .schedules import longest_gap, shortest_gap

DAY = 86400
INF = math.inf
MAX_STATES = 50_000  # path search budget per rule and journey


def seconds_of(moment) -> int:
    """A time of day as seconds after midnight."""
    return moment.hour * 3600 + moment.minute * 60


def quiet_length(quiet: QuietHours) -> int:
    """How long the quiet window lasts (it may wrap midnight)."""
    return (seconds_of(quiet.end) - seconds_of(quiet.start)) % DAY


def held(step, quiet: QuietHours | None, clock: int | None) -> bool:
    """Whether quiet hours can hold a send back at this time of day (None: any time).
    Transactional sends are exempt from quiet hours."""
    if not isinstance(step, Send) or step.transactional or quiet is None:
        return False
    if clock is None:
        return True
    return quiet.contains(as_time(clock))


def as_time(seconds: int) -> dt.time:
    """Seconds after midnight as a time of day."""
    return dt.time(seconds // 3600, seconds % 3600 // 60)


def day_moments(step: WaitDay) -> tuple[int, int]:
    """The bounds of the time after entry that ``wait until day N at HH:MM`` means: above
    N-1 days + HH:MM (entry just before midnight; below zero on day 0, when the moment can
    come before the entry), at most N days + HH:MM (entry at midnight)."""
    latest = step.day * DAY + seconds_of(step.time)
    return latest - DAY, latest


def stay(graph: JourneyGraph, node: str, kind: str,
         quiet: QuietHours | None = None) -> tuple[float, float]:
    """The least and greatest time a run spends at ``node`` before leaving it by an edge of
    ``kind``, knowing nothing of the time of day: waits count in full, ``wait until`` up to a
    day, ``wait until next`` up to its period, waits for events 0 up to ``within`` (for ever
    without it), a send under quiet hours up to the quiet window's length. A day wait depends
    on the time since entry: see ``day_moments``."""
    step = graph.step(node)
    if isinstance(step, Wait):
        return step.duration, step.duration
    if isinstance(step, WaitUntil):
        return 0, DAY
    if isinstance(step, WaitSchedule):
        return 0, longest_gap(step.schedule)
    if isinstance(step, WaitEvent):
        if kind == TIMEOUT:
            return step.within or 0, step.within or 0
        return 0, INF if step.within is None else step.within
    if held(step, quiet, None):
        return 0, quiet_length(quiet)
    return 0, 0


@record
class When:
    """What a path search knows of the time at a step: the time of day (seconds after
    midnight) when the journey fixes it, the least and the greatest time since entry; once a
    day wait has surely waited, the exact time since the midnight that began the day of
    entry (``anchor``), from which later day waits count; and the ``wait until next`` step
    the run last left with the least time since (``occurrence``: its next occurrence is at
    least a gap of its schedule later)."""

    clock: int | None = None
    least: float = 0
    latest: float = 0
    anchor: float | None = None
    occurrence: tuple[str, float] | None = None

    def clamped(self, horizon: float) -> "When":
        """Times beyond the horizon (the last day wait's moment) are all alike: this keeps
        path searches through loops finite."""
        if self.least <= horizon and self.latest <= horizon and (self.anchor or 0) <= horizon:
            return self
        return When(self.clock, min(self.least, horizon + 1),
                    INF if self.latest > horizon else self.latest,
                    None if (self.anchor or 0) > horizon else self.anchor, self.occurrence)

    def late_for(self, step: WaitDay) -> tuple[bool, bool]:
        """Whether a day wait's moment surely has, and whether it can have, passed."""
        earliest, moment = day_moments(step)
        if self.anchor is not None:
            return self.anchor > moment, self.anchor > moment
        return self.least > moment, self.latest > max(earliest, 0)


def advance(graph: JourneyGraph, node: str, kind: str, when: When,
            quiet: QuietHours | None = None) -> tuple[float, When]:
    """Leaving ``node`` by an edge of ``kind`` at ``when``: the least time spent there, and
    what is known of the time afterwards.

    Waits count in full; an awaited event may arrive at once; ``wait until`` waits for the
    next occurrence of its time, so after a known time of day its delay is known too (for
    ``wait until next <schedule>`` that is the least delay: the day may come later); a send
    inside quiet hours is deferred to their end. A day wait waits until its moment: exactly,
    from a known anchor, else at least until its earliest moment.
    """
    step = graph.step(node)
    if isinstance(step, WaitDay):
        least, after = _day_wait(step, when)
    else:
        least, greatest, clock = _delays(graph, node, kind, when.clock, quiet)
        if isinstance(step, WaitSchedule) and when.occurrence and when.occurrence[0] == node:
            least = max(least, shortest_gap(step.schedule) - when.occurrence[1])
        exact = least == greatest and when.anchor is not None
        after = When(clock, when.least + least, when.latest + greatest,
                     when.anchor + least if exact else None)
    return least, replace(after, occurrence=_occurrence(graph, node, when.occurrence, least))


def least_from(graph: JourneyGraph, node: str, kind: str, clock: int,
               quiet: QuietHours | None = None) -> float:
    """The least time a run spends at ``node`` (not a day wait) when it may come there at
    ``clock`` or later: waits end at the next occurrence of their time, which comes no
    earlier for a later arrival, so the least stay from the earliest arrival bounds the
    time to the departure from below."""
    return _delays(graph, node, kind, clock, quiet)[0]


def most(graph: JourneyGraph, node: str, kind: str, when: When,
         quiet: QuietHours | None = None) -> float:
    """The greatest time a run spends at ``node`` at ``when`` (INF: without bound)."""
    step = graph.step(node)
    if isinstance(step, WaitDay):
        return max(0.0, day_moments(step)[1] - when.least)
    return _delays(graph, node, kind, when.clock, quiet)[1]


def _occurrence(graph, node, occurrence, delay) -> tuple[str, float] | None:
    """The ``wait until next`` step left last and the least time since, while it matters."""
    if isinstance(graph.step(node), WaitSchedule):
        return node, 0.0
    if occurrence is None:
        return None
    since = occurrence[1] + delay
    return (occurrence[0], since) if since < shortest_gap(graph.step(occurrence[0]).schedule) \
        else None


def _delays(graph, node, kind, clock, quiet) -> tuple[float, float, int | None]:
    """The least and greatest time spent at a step (not a day wait), and the time of day
    afterwards when the journey fixes it."""
    step = graph.step(node)
    least, greatest = stay(graph, node, kind, quiet)
    if isinstance(step, (WaitUntil, WaitSchedule)):
        target = seconds_of(step.time if isinstance(step, WaitUntil) else step.schedule.time)
        if clock is None:
            return least, greatest, target
        delay = (target - clock) % DAY or DAY
        daily = isinstance(step, WaitUntil) or step.schedule.every == "day"
        return delay, delay if daily else greatest, target
    if isinstance(step, Send):
        if not held(step, quiet, clock):
            return 0, 0, clock
        if clock is None:  # a send at an unknown time of day, maybe deferred
            return least, greatest, None
        delay = (seconds_of(quiet.end) - clock) % DAY
        return delay, delay, seconds_of(quiet.end)
    if least == greatest:
        return least, greatest, None if clock is None else int(clock + least) % DAY
    return least, greatest, None  # an event may come at any time


def _day_wait(step: WaitDay, when: When) -> tuple[float, When]:
    earliest, moment = day_moments(step)
    if when.anchor is not None:
        delay = max(0.0, moment - when.anchor)
        anchor = when.anchor + delay
        return delay, When(int(anchor) % DAY, max(when.least, earliest),
                           max(when.latest, moment), anchor)
    surely = when.latest <= earliest  # the moment is later than ``earliest``
    time = seconds_of(step.time)
    return max(0.0, earliest - when.latest), When(
        time if surely or when.clock == time else None, max(when.least, earliest),
        max(when.latest, moment), moment if surely else None)


def out_edges(graph: JourneyGraph, node: str):
    """(target, edge kind, edge data) for every way out of ``node``."""
    return graph.ways_out(node)


def sends(graph: JourneyGraph, node: str) -> Send | None:
    step = graph.step(node)
    return step if isinstance(step, Send) else None


def root_times(graph: JourneyGraph) -> list[tuple[str, When]]:
    """Each root with what is known of the time there: entry at the start, any time at a
    handler's jump target."""
    return [(root, When() if root == graph.start else When(latest=INF)) for root in graph.roots()]


def timings(graph: JourneyGraph, quiet: QuietHours | None = None
            ) -> tuple[dict[str, set[When]], bool]:
    """Every ``When`` at which a run can reach each step, from every root (times since
    entry beyond the last day wait are cut to INF); and whether the search saw every state."""
    found: dict[str, set[When]] = {}
    limit = horizon(graph)
    queue = deque(root_times(graph))
    seen, complete = set(), True
    while queue:
        state = queue.popleft()
        if state in seen:
            continue
        if len(seen) >= MAX_STATES:  # a state never seen, beyond the budget
            complete = False
            break
        seen.add(state)
        node, when = state
        found.setdefault(node, set()).add(when)
        for target, kind, _ in out_edges(graph, node):
            queue.append((target, advance(graph, node, kind, when, quiet)[1].clamped(limit)))
    return found, complete


def clocks(found: dict[str, set[When]]) -> dict[str, set[int | None]]:
    """The times of day (seconds after midnight; None: not fixed by the journey) at which a
    run can reach each step, from ``timings``."""
    return {node: {when.clock for when in whens} for node, whens in found.items()}


def horizon(graph: JourneyGraph) -> float:
    """Beyond this time since entry no day wait waits any more."""
    days = [day_moments(graph.step(n))[1] for n in graph.graph.nodes
            if isinstance(graph.step(n), WaitDay)]
    return max(days, default=0)


def elapsed(graph: JourneyGraph, quiet: QuietHours | None = None
            ) -> dict[str, tuple[float, float]]:
    """Bounds of the time since entry at which a run can reach each step: the least and the
    greatest over every path from the roots (a handler's jump target: any time; INF when a
    loop with waits or a wait for events without timeout comes first). See ``stay``. Sound
    but coarse: the time of day is not followed (``timings`` follows it, path by path)."""
    bounds: dict[str, tuple[float, float]] = {}
    updates: dict[str, int] = {}
    queue = deque()
    for root, when in root_times(graph):
        bounds[root] = _merge(bounds.get(root), (0.0, when.latest))
        queue.append(root)
    limit = graph.graph.number_of_nodes() + 1
    while queue:
        node = queue.popleft()
        for target, kind, _ in out_edges(graph, node):
            arrival = _leave(graph, node, kind, bounds[node], quiet)
            merged = _merge(bounds.get(target), arrival)
            if merged == bounds.get(target):
                continue
            updates[target] = updates.get(target, 0) + 1
            if updates[target] > limit:  # it grows round a loop that waits: unbounded
                merged = (merged[0], INF)
            bounds[target] = merged
            queue.append(target)
    return bounds


def _leave(graph, node, kind, arrival, quiet) -> tuple[float, float]:
    step = graph.step(node)
    least, greatest = arrival
    if isinstance(step, WaitDay):
        earliest, last = day_moments(step)
        return max(least, earliest), max(greatest, last)
    low, high = stay(graph, node, kind, quiet)
    return least + low, greatest + high


def _merge(old, new) -> tuple[float, float]:
    return new if old is None else (min(old[0], new[0]), max(old[1], new[1]))


def waits_there(step, quiet: QuietHours | None, times: set[int | None] = frozenset({None})) -> bool:
    """Whether a run can stay at a step for a while, receiving events: a wait that lets time
    pass (a day wait unless its moment has passed), or a send that quiet hours hold back at one
    of the times of day ``times``."""
    if isinstance(step, WaitDay):
        return True
    if isinstance(step, WAIT_KINDS):
        return makes_time_pass(step.kind, getattr(step, "duration", None),
                               getattr(step, "within", None))
    return any(held(step, quiet, clock) for clock in times)


def heaviest_path(graph: JourneyGraph, weight) -> float:
    """An upper bound of the total of ``weight(node)`` along one path from the start: a
    split's arms count by their percent, any other choice takes its heaviest way out, and a
    loop counts each of its steps once, wherever the path enters it."""
    if graph.start is None:
        return 0.0
    loops = nx.condensation(graph.graph)  # each loop (strongly connected steps) becomes a node
    loop_of, totals = loops.graph["mapping"], {}
    for loop in reversed(list(nx.topological_sort(loops))):  # no recursion: journeys can be long
        members = loops.nodes[loop]["members"]
        ways = [(kind, data, totals[loop_of[target]]) for node in members
                for target, kind, data in out_edges(graph, node) if loop_of[target] != loop]
        totals[loop] = sum(weight(node) for node in members) + _onward(ways, len(members) == 1)
    return totals[loop_of[graph.start]]


def _onward(ways: list, single: bool) -> float:
    """What the ways out of a step (``single``) or a loop add."""
    if single and ways and all(kind == SPLIT for kind, _, _ in ways):
        return sum((data.get("weight") or 0) / 100 * total for _, data, total in ways)
    return max((total for _, _, total in ways), default=0.0)
