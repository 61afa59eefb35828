"""IR: resolve step references and lower a journey to a typed networkx graph of steps."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from . import ast
from .expressions import unparse
from .records import record

# edge kinds
NEXT, GOTO, EVENT, TIMEOUT, BRANCH, DEFAULT, SPLIT = (
    "next", "goto", "event", "timeout", "branch", "default", "split")


@record
class Target:
    """A reference from a step to another step or stage, as written."""

    name: str
    span: ast.Span
    kind: str


@dataclass
class JourneyGraph:
    """The steps of a journey as a MultiDiGraph; node ids are step names.

    Node attributes: ``step`` (the model node), ``stage`` (its stage name), ``order``
    (source position). Edge attributes: ``kind``, ``label``, ``weight`` (split arms) and
    ``condition`` (branch and event arms).
    """

    journey: ast.Journey
    graph: nx.MultiDiGraph
    start: str | None
    unresolved: list[tuple[ast.Step | ast.Handler, Target]] = field(default_factory=list)
    jumps: list[str] = field(default_factory=list)  # steps event handlers move runs to

    def step(self, name: str) -> ast.Step:
        return self._steps[name]

    def ways_out(self, node: str) -> list[tuple[str, str, dict]]:
        """(target, edge kind, edge data) for every edge leaving ``node``, in insertion order.
        Path searches ask this many times per step: it is read from the graph once."""
        return self._ways_out[node]

    @cached_property
    def _steps(self) -> dict[str, ast.Step]:
        return {name: data["step"] for name, data in self.graph.nodes(data=True)}

    @cached_property
    def _order(self) -> dict[str, int]:
        return {name: data["order"] for name, data in self.graph.nodes(data=True)}

    @cached_property
    def _ways_out(self) -> dict[str, list[tuple[str, str, dict]]]:
        ways: dict[str, list] = {name: [] for name in self.graph.nodes}
        for source, target, data in self.graph.edges(data=True):
            ways[source].append((target, data["kind"], data))
        return ways

    def roots(self) -> list[str]:
        """Where runs can enter the steps: the start, and every handler's jump target (a
        handler moves a run there from wherever it waits, at any time)."""
        if self.start is None:
            return []
        return list(dict.fromkeys([self.start, *self.jumps]))

    def reachable(self) -> set[str]:
        found: set[str] = set()
        for root in self.roots():
            if root not in found:
                found |= nx.descendants(self.graph, root) | {root}
        return found

    def in_source_order(self, names) -> list[str]:
        return sorted(names, key=self._order.__getitem__)


class _Resolver:
    """Gives every step a unique node id and maps target names to node ids.

    A node id is the step's name; a repeated name (an error reported by JL101) gets
    ``name#2``, ``name#3`` ... so that duplicates never merge into false loops. A target
    names a step (its first definition) or else a stage (its first step, or the next
    non-empty stage's).
    """

    def __init__(self, journey: ast.Journey):
        self.ordered = [(stage, step) for stage, step in journey.steps()]
        self.ids: list[str] = []
        seen: dict[str, int] = {}
        for _, step in self.ordered:
            seen[step.name] = seen.get(step.name, 0) + 1
            self.ids.append(step.name if seen[step.name] == 1 else f"{step.name}#{seen[step.name]}")
        self._id_set = set(self.ids)
        self.stage_entry: dict[str, str] = {}
        pending: list[str] = []
        first_of = {}
        for node_id, (stage, _) in zip(self.ids, self.ordered):
            first_of.setdefault(id(stage), node_id)
        for stage in journey.stages:
            pending.append(stage.name)
            if stage.steps:
                for name in pending:
                    self.stage_entry.setdefault(name, first_of[id(stage)])
                pending = []

    def following(self, index: int) -> str | None:
        return self.ids[index + 1] if index + 1 < len(self.ids) else None

    def resolve(self, name: str | None) -> str | None:
        if name in self._id_set:
            return name
        return self.stage_entry.get(name)


def build_graph(journey: ast.Journey) -> JourneyGraph:
    """Lower a journey to its step graph; unresolvable references are kept for the checks."""
    graph = nx.MultiDiGraph()
    resolver = _Resolver(journey)
    for order, (node_id, (stage, step)) in enumerate(zip(resolver.ids, resolver.ordered)):
        graph.add_node(node_id, step=step, stage=stage.name, order=order)
    result = JourneyGraph(journey, graph, resolver.ids[0] if resolver.ids else None)
    for index, (node_id, (_, step)) in enumerate(zip(resolver.ids, resolver.ordered)):
        _add_edges(result, node_id, step, resolver.following(index), resolver)
    for handler in journey.handlers:
        if handler.target is not None:
            destination = resolver.resolve(handler.target)
            if destination is None:
                result.unresolved.append((handler, Target(handler.target, handler.span, "jump")))
            else:
                result.jumps.append(destination)
    return result


def _add_edges(result: JourneyGraph, node_id: str, step: ast.Step, following: str | None,
               resolver: _Resolver) -> None:
    def link(target: str | None, kind: str, label: str = "", weight: float | None = None,
             default_to_following: bool = True, span: ast.Span = step.span,
             condition: ast.Expr | None = None) -> None:
        if target is None:
            destination = following if default_to_following else None
        else:
            destination = resolver.resolve(target)
            if destination is None:
                result.unresolved.append((step, Target(target, span, kind)))
                return
        if destination is not None:
            result.graph.add_edge(node_id, destination, kind=kind, label=label, weight=weight,
                                  condition=condition)

    match step:
        case ast.WaitEvent():
            for arm in step.arms:
                link(arm.target, EVENT, arm.event, span=arm.span, condition=arm.condition)
            if step.within is not None:
                link(step.next, TIMEOUT, "timeout")
        case ast.Branch():
            for arm in step.arms:
                link(arm.target, BRANCH, unparse(arm.condition), default_to_following=False,
                     span=arm.span, condition=arm.condition)
            if step.default:
                link(step.default, DEFAULT, "else")
        case ast.Split():
            for arm in step.arms:
                if not arm.holdout:  # a control group goes nowhere: it gets no more steps
                    link(arm.target, SPLIT, f"{arm.name} {arm.percent:g}%", weight=arm.percent,
                         span=arm.span)
        case ast.Escalate():  # drawn unexpanded in views; checks see its primitive steps
            link(step.target, EVENT, step.event, condition=step.condition)
            link(step.next, TIMEOUT, "breach")
        case ast.Goto():
            link(step.target, GOTO)
        case ast.Exit():
            pass
        case ast.SequentialStep():
            link(step.next, GOTO if step.next else NEXT)
