"""Which values a run has surely set at each step: a forward must-analysis over the step graph
(the sets on every path from a root). A handler's sets happen at any time, so they count only
at the step the handler jumps to."""
from __future__ import annotations

from collections import deque

from ..ast import Emit, Journey, SetAttribute
from ..graph import JourneyGraph
from .flow import waits_there
from .places import assigns


def definitely_set(journey: Journey, graph: JourneyGraph) -> dict[str, frozenset[str]]:
    """For each reachable step, the set targets (``customer.points``, ``streak``) that every
    path from a root has set (and not cleared with ``set x = null``) before it."""
    seeds: dict[str, list[frozenset[str]]] = {}
    if graph.start is not None:
        seeds[graph.start] = [frozenset()]
    for handler, target in zip(_jumping(journey, graph), graph.jumps):
        sets = frozenset(a.attribute for a in handler.actions
                         if isinstance(a, SetAttribute) and assigns(a))
        seeds.setdefault(target, []).append(sets)
    before: dict[str, frozenset[str]] = {}
    after: dict[str, frozenset[str]] = {}
    queue = deque(seeds)
    while queue:
        node = queue.popleft()
        incoming = seeds.get(node, []) + [after[p] for p in graph.graph.predecessors(node)
                                          if p in after]
        now = frozenset.intersection(*incoming)
        if before.get(node) == now:
            continue
        before[node] = now
        after[node] = _through(graph.step(node), now)
        queue.extend(graph.graph.successors(node))
    return before


def _jumping(journey: Journey, graph: JourneyGraph) -> list:
    """The handlers whose jump target resolved, in the order of ``graph.jumps``."""
    unresolved = {id(owner) for owner, _ in graph.unresolved}
    return [h for h in journey.handlers if h.target is not None and id(h) not in unresolved]


def _through(step, assigned: frozenset[str]) -> frozenset[str]:
    if not isinstance(step, SetAttribute):
        return assigned
    if assigns(step):
        return assigned | {step.attribute}
    return assigned - {step.attribute}


def set_while_active(journey: Journey, graph: JourneyGraph,
                     assigned: dict[str, frozenset[str]]) -> frozenset[str]:
    """What is surely set whenever an event can reach a run: at every step where it waits (or
    a send is held back by quiet hours) and at every emit (a run receives its own events)."""
    quiet = journey.policy.quiet
    points = [assigned[n] for n in assigned
              if waits_there(graph.step(n), quiet) or isinstance(graph.step(n), Emit)]
    return frozenset.intersection(*points) if points else frozenset()
