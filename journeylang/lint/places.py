"""Where a journey's conditions and set values are evaluated: at a step, whenever an event
reaches a run, or outside any run."""
from __future__ import annotations

from .. import ast
from ..graph import JourneyGraph
from ..records import record

AT_STEP = "step"        # when the run reaches the step ``node``
WHILE_ACTIVE = "run"    # whenever an event reaches a run: handlers, goals, milestones, exit rules
OUTSIDE = "outside"     # before or beside any run: the entry, the audience, KPIs


@record
class Place:
    """An expression and when it is evaluated. ``what`` names its home for messages; a set
    value has the ``target`` it writes; a handler's action knows the targets its handler's
    earlier actions set (``earlier``)."""

    expr: ast.Expr
    when: str
    what: str
    node: str | None = None
    target: str | None = None
    earlier: frozenset[str] = frozenset()


def places(journey: ast.Journey, graph: JourneyGraph):
    """Every condition and set value of a journey (steps of the graph, then declarations)."""
    for node in graph.in_source_order(graph.graph.nodes):
        yield from _step_places(graph.step(node), node)
    if journey.entry and journey.entry.condition is not None:
        yield Place(journey.entry.condition, OUTSIDE, "the entry condition")
    if journey.audience is not None:
        yield Place(journey.audience, OUTSIDE, "the audience")
    for stage in journey.stages:
        for kpi in stage.kpis:
            if kpi.condition is not None:
                yield Place(kpi.condition, OUTSIDE, f"KPI '{kpi.name}'")
    for kind, rules in (("goal", journey.goals), ("milestone", journey.milestones)):
        for rule in rules:
            if rule.condition is not None:
                yield Place(rule.condition, WHILE_ACTIVE, f"{kind} '{rule.name}'")
    for rule in journey.exits:
        if rule.condition is not None:
            yield Place(rule.condition, WHILE_ACTIVE, f"the exit rule on {rule.event}")
    for handler in journey.handlers:
        yield from _handler_places(handler)


def _step_places(step: ast.Step, node: str):
    if isinstance(step, ast.SetAttribute):
        yield Place(step.value, AT_STEP, f"set '{step.name}'", node, step.attribute)
    elif isinstance(step, ast.Branch):
        for arm in step.arms:
            yield Place(arm.condition, AT_STEP, f"branch '{step.name}'", node)
    elif isinstance(step, ast.WaitEvent):
        for arm in step.arms:
            if arm.condition is not None:
                yield Place(arm.condition, AT_STEP, f"wait '{step.name}'", node)


def _handler_places(handler: ast.Handler):
    what = f"the handler on {handler.event}"
    if handler.condition is not None:
        yield Place(handler.condition, WHILE_ACTIVE, what)
    earlier: set[str] = set()
    for action in handler.actions:
        if isinstance(action, ast.SetAttribute):
            yield Place(action.value, WHILE_ACTIVE, what, target=action.attribute,
                        earlier=frozenset(earlier))
            if assigns(action):
                earlier.add(action.attribute)


def assigns(step: ast.SetAttribute) -> bool:
    """Whether a set gives its target a value (``set x = null`` clears it)."""
    return step.value != ast.Literal(None)


def set_steps(journey: ast.Journey, graph: JourneyGraph) -> list[ast.SetAttribute]:
    """Every set a journey runs: set steps and the sets of event handlers."""
    steps = [graph.step(n) for n in graph.graph.nodes]
    actions = [a for h in journey.handlers for a in h.actions]
    return [s for s in steps + actions if isinstance(s, ast.SetAttribute)]
