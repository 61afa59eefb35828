"""The few searches the checks make over a directed graph given by a successor function:
what a walk reaches, and the strongly connected parts (loops) in an order fit for summing
along paths. Kept here, with no graph library, because importing one costs more than
checking a journey file does."""
from __future__ import annotations

from typing import Callable, Hashable, Iterable, TypeVar

Node = TypeVar("Node", bound=Hashable)
Successors = Callable[[Node], Iterable[Node]]


def reach(successors: Successors, roots: Iterable[Node]) -> set[Node]:
    """The roots and every node that a walk from one of them leads to."""
    found = set(roots)
    pending = list(found)
    while pending:
        for target in successors(pending.pop()):
            if target not in found:
                found.add(target)
                pending.append(target)
    return found


def strongly_connected(nodes: Iterable[Node], successors: Successors) -> list[list[Node]]:
    """The strongly connected components of the graph on ``nodes`` (``successors`` must not
    lead outside them), each component before every component that leads to it: a
    component's successors are always listed earlier (Tarjan's algorithm, without
    recursion: journeys can be long)."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    found: list[list[Node]] = []
    work: list[tuple[Node, Iterable[Node]]] = []  # the nodes being visited, deepest last

    def visit(node: Node) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, iter(successors(node))))

    for root in nodes:
        if root in index:
            continue
        visit(root)
        while work:
            node, ahead = work[-1]
            for target in ahead:
                if target not in index:
                    visit(target)
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    found.append(component)
    return found


def weakly_connected(nodes: Iterable[Node], successors: Successors,
                     predecessors: Successors) -> list[set[Node]]:
    """The parts of the graph on ``nodes`` that are connected when edges are read both ways
    (edges that leave ``nodes`` are not followed)."""
    within = set(nodes)
    found: list[set[Node]] = []
    seen: set[Node] = set()
    for node in within:
        if node in seen:
            continue
        part = reach(lambda n: [m for m in (*successors(n), *predecessors(n)) if m in within],
                     [node])
        seen |= part
        found.append(part)
    return found
