"""Path facts for policy rules: how much time must pass along an edge, what a path sends."""
from __future__ import annotations

import networkx as nx

from ..ast import Send, Wait, WaitEvent, WaitSchedule, WaitUntil
from ..graph import SPLIT, TIMEOUT, JourneyGraph

DAY = 86400


def advance(graph: JourneyGraph, node: str, kind: str, clock: int | None) -> tuple[int, int | None]:
    """Leaving ``node`` by an edge of ``kind``: the least time spent there (seconds) and the
    time of day afterwards (seconds after midnight) when the journey fixes it, else None.

    Waits count in full; an awaited event may arrive at once; ``wait until`` waits for the
    next occurrence of its time, so after a known time of day its delay is known too (for
    ``wait until next <schedule>`` that is the least delay: the day may come later).
    """
    step = graph.step(node)
    if isinstance(step, (WaitUntil, WaitSchedule)):
        moment = step.time if isinstance(step, WaitUntil) else step.schedule.time
        target = moment.hour * 3600 + moment.minute * 60
        delay = 0 if clock is None else ((target - clock) % DAY or DAY)
        return delay, target
    if isinstance(step, Wait):
        return step.duration, None if clock is None else (clock + step.duration) % DAY
    if isinstance(step, WaitEvent):
        if kind != TIMEOUT:
            return 0, None
        within = step.within or 0
        return within, None if clock is None else (clock + within) % DAY
    return 0, clock


def out_edges(graph: JourneyGraph, node: str):
    """(target, edge kind, edge data) for every way out of ``node``."""
    for _, target, data in graph.graph.out_edges(node, data=True):
        yield target, data["kind"], data


def sends(graph: JourneyGraph, node: str) -> Send | None:
    step = graph.step(node)
    return step if isinstance(step, Send) else None


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
