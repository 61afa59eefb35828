"""Path facts for policy rules: how much time must pass along an edge, what a path sends."""
from __future__ import annotations

from ..ast import Send, Wait, WaitEvent, WaitUntil
from ..graph import TIMEOUT, JourneyGraph

DAY = 86400


def advance(graph: JourneyGraph, node: str, kind: str, clock: int | None) -> tuple[int, int | None]:
    """Leaving ``node`` by an edge of ``kind``: the least time spent there (seconds) and the
    time of day afterwards (seconds after midnight) when the journey fixes it, else None.

    Waits count in full; an awaited event may arrive at once; ``wait until`` waits for the
    next occurrence of its time, so after a known time of day its delay is known too.
    """
    step = graph.step(node)
    if isinstance(step, WaitUntil):
        target = step.time.hour * 3600 + step.time.minute * 60
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
