"""Path facts for the promo budget: the share of promo messages a customer receives along the
ways through a journey (a send is one message, whatever its fallback channels; transactional
sends are exempt; a walk may go round a loop any number of times)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import networkx as nx

from ..ast import Send
from ..graph import JourneyGraph
from ..records import record


@record
class Walk:
    """A way through the journey: its sends in order, or those of a loop round (``loop``)."""

    sends: tuple[str, ...]          # the templates it sends
    promos: int
    messages: int
    loop: bool = False
    promo_steps: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        return self.promos / self.messages


def over_budget(graph: JourneyGraph, budget: float) -> tuple[bool, Walk] | None:
    """None when no customer can receive more than ``budget`` percent of promo messages;
    else (always, walk): ``always`` when every walk with a message is over it (``walk`` is
    then the one with the least share over it), else ``walk`` is one over it (the most promos
    over the budget; a loop round when going round it again and again is)."""
    ways = _Ways(graph)
    if not ways.ends:
        return None
    rate = Fraction(str(budget)) / 100
    rate = (rate.numerator, rate.denominator)  # weights stay whole numbers: exact and quick
    best = ways.least_over(rate)
    if best is not None:
        return True, best
    worst = ways.most_over(rate)
    return None if worst is None else (False, worst)


class _Ways:
    """The steps on some walk from the start to an end (a step without a way on), with each
    step's message and promo count."""

    def __init__(self, graph: JourneyGraph):
        self.graph = graph
        self.start = graph.start
        g = graph.graph
        if self.start is None:
            self.ends: set[str] = set()
            return
        reached = nx.descendants(g, self.start) | {self.start}
        self.ends = {n for n in reached if g.out_degree(n) == 0}
        ending = set().union(*(nx.ancestors(g, e) | {e} for e in self.ends)) if self.ends else set()
        self.steps = reached & ending
        order = {n: g.nodes[n]["order"] for n in self.steps}
        # in source order, most walks are found in the first pass
        self.edges = sorted({(u, v) for u, v in g.edges() if u in self.steps and v in self.steps},
                            key=lambda e: (order[e[0]], order[e[1]]))
        self.message = {n: _counts(graph.step(n)) for n in self.steps}

    def most_over(self, rate: tuple[int, int]) -> Walk | None:
        """The walk with the most promos over ``rate`` (a fraction: numerator, denominator)
        times its messages, if any is over."""
        num, den = rate
        weight = {n: p * den - m * num for n, (m, p) in self.message.items()}
        found = _longest(self.steps, self.edges, weight, self.start)
        if found.loop is not None:
            return self._walk(found.loop, loop=True)
        end = max(self.ends, key=lambda e: found.total.get(e, -math.inf))
        if found.total.get(end, -math.inf) <= 0:
            return None
        return self._walk(_path(found.previous, self.start, end))

    def least_over(self, rate: tuple[int, int]) -> Walk | None:
        """When every walk with a message is over ``rate``: the one closest to it."""
        num, den = rate
        # a state is (step, whether a message was received on the way there)
        weight = {(n, s): m * num - p * den for n, (m, p) in self.message.items()
                  for s in (False, True)}
        edges = [((u, s), (v, s or bool(self.message[v][0]))) for u, v in self.edges
                 for s in (False, True)]
        start = (self.start, bool(self.message[self.start][0]))
        states = nx.DiGraph(edges)
        states.add_node(start)
        ends = {(e, True) for e in self.ends} & set(states)
        reached = nx.descendants(states, start) | {start}
        ends &= reached
        if not ends:
            return None  # nobody receives a message
        live = reached & set().union(*(nx.ancestors(states, e) | {e} for e in ends))
        found = _longest(live, [e for e in edges if e[0] in live and e[1] in live], weight, start)
        if found.loop is not None:
            return None  # a loop under the budget: going round it brings any walk under
        end = max(ends, key=lambda e: found.total.get(e, -math.inf))
        if found.total[end] >= 0:
            return None
        return self._walk([n for n, _ in _path(found.previous, start, end)])

    def _walk(self, steps: list[str], loop: bool = False) -> Walk:
        counted = [(n, *self.message[n]) for n in steps]
        sends = tuple(self.graph.step(n).template for n, m, _ in counted if m)
        promo_steps = tuple(dict.fromkeys(n for n, _, p in counted if p))
        return Walk(sends, sum(p for _, _, p in counted), sum(m for _, m, _ in counted), loop,
                    promo_steps)


def _counts(step) -> tuple[int, int]:
    """(messages, promo messages) a customer receives at a step."""
    if isinstance(step, Send) and not step.transactional:
        return 1, int(step.promo)
    return 0, 0


@dataclass
class _Longest:
    total: dict        # node -> the greatest weight of a walk from the start to it
    previous: dict     # node -> the node before it on that walk
    loop: list | None  # the nodes of a loop that adds weight each time round, if any


def _longest(nodes, edges, weight: dict, start) -> _Longest:
    """Greatest walk weights from ``start`` (Bellman-Ford, node weights, the start's included)."""
    total, previous = {start: weight[start]}, {}
    for _ in range(len(nodes)):
        changed = None
        for u, v in edges:
            if u in total and total[u] + weight[v] > total.get(v, -math.inf):
                total[v], previous[v], changed = total[u] + weight[v], u, v
        if changed is None:
            return _Longest(total, previous, None)
    return _Longest(total, previous, _loop(previous, changed, len(nodes)))


def _loop(previous: dict, node, size: int) -> list:
    """The loop behind a node still gaining weight after every walk length was tried."""
    for _ in range(size):
        node = previous[node]
    loop, at = [node], previous[node]
    while at != node:
        loop.append(at)
        at = previous[at]
    return loop[::-1]


def _path(previous: dict, start, end) -> list:
    path = [end]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]
