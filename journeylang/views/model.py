"""What every view draws: steps grouped by stage, labelled edges, exits by outcome."""
from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..expressions import schedule_text, unparse
from ..graph import BRANCH, DEFAULT, EVENT, GOTO, SPLIT, TIMEOUT, build_graph
from ..units import format_duration, format_number, format_time

# outcome -> (fill, stroke): good outcomes green, lost customers red, the rest neutral
OUTCOME_COLOURS = {
    "converted": ("#c8e6c9", "#2e7d32"), "completed": ("#dcedc8", "#558b2f"),
    "churned": ("#ffcdd2", "#c62828"), "opted_out": ("#ffe0b2", "#ef6c00"),
    "expired": ("#eceff1", "#546e7a"), "escalated": ("#fff9c4", "#f9a825"),
}
OTHER_OUTCOME = ("#e1bee7", "#6a1b9a")
DASHED_KINDS = (GOTO, TIMEOUT)


@dataclass(frozen=True)
class ViewNode:
    id: str  # a safe identifier (n0, n1, ...) for the view languages
    name: str
    summary: str
    outcome: str | None  # set for exit steps


@dataclass(frozen=True)
class ViewEdge:
    source: str
    target: str
    kind: str
    label: str


@dataclass(frozen=True)
class ViewStage:
    id: str
    name: str
    title: str | None
    nodes: tuple[ViewNode, ...]


@dataclass(frozen=True)
class View:
    title: str
    entry: str | None  # text of the entry node, None when the journey has no steps
    start: str | None  # id of the first step
    stages: tuple[ViewStage, ...]
    edges: tuple[ViewEdge, ...]

    def nodes(self):
        for stage in self.stages:
            yield from stage.nodes


def build_view(journey: ast.Journey) -> View:
    """Lay out a journey for drawing: one node per step, edges from the step graph."""
    result = build_graph(journey)
    graph = result.graph
    ids = {name: f"n{i}" for i, name in enumerate(result.in_source_order(graph.nodes))}
    stages = []
    for index, stage in enumerate(journey.stages):
        members = [n for n in result.in_source_order(graph.nodes)
                   if graph.nodes[n]["stage"] == stage.name
                   and any(graph.nodes[n]["step"] is s for s in stage.steps)]
        nodes = tuple(_node(ids[n], n, graph.nodes[n]["step"]) for n in members)
        stages.append(ViewStage(f"s{index}", stage.name, stage.title, nodes))
    edges = []
    for source, target, data in graph.edges(data=True):
        label = _edge_label(graph.nodes[source]["step"], data)
        edges.append(ViewEdge(ids[source], ids[target], data["kind"], label))
    title = journey.title or journey.id
    entry = None
    if result.start is not None:
        entry = _entry_label(journey.entry)
        if journey.entry and journey.entry.condition is not None:
            entry += f" where {unparse(journey.entry.condition)}"
    return View(title, entry, ids.get(result.start), tuple(stages), tuple(edges))


def _node(node_id: str, name: str, step: ast.Step) -> ViewNode:
    outcome = step.outcome if isinstance(step, ast.Exit) else None
    return ViewNode(node_id, name, summarize(step), outcome)


def _edge_label(step: ast.Step, data: dict) -> str:
    kind, label = data["kind"], data["label"]
    if kind == EVENT:
        condition = data.get("condition")
        return label + (f" where {unparse(condition)}" if condition is not None else "")
    if kind == TIMEOUT and isinstance(step, ast.WaitEvent) and step.within is not None:
        return f"timeout {format_duration(step.within)}"
    if kind in (BRANCH, DEFAULT, SPLIT):
        return label
    return ""


def _entry_label(entry: ast.Entry | None) -> str:
    if entry is None:
        return "entry"
    if entry.schedule is not None:
        return f"entry: every {schedule_text(entry.schedule)}"
    return f"entry: on {entry.event}"


def summarize(step: ast.Step) -> str:
    """One short line saying what a step does."""
    match step:
        case ast.Send():
            return f"send via {step.channel}: {step.template}"
        case ast.Wait():
            return f"wait {format_duration(step.duration)}"
        case ast.WaitUntil():
            return f"wait until {format_time(step.time)}"
        case ast.WaitSchedule():
            return f"wait until next {schedule_text(step.schedule)}"
        case ast.Escalate():
            return f"escalate until {step.event} ({len(step.rungs)} rungs)"
        case ast.WaitEvent():
            events = ", ".join(arm.event for arm in step.arms)
            within = f" within {format_duration(step.within)}" if step.within is not None else ""
            return f"wait for {events}{within}"
        case ast.Branch():
            return "branch"
        case ast.Split():
            return "split"
        case ast.Tag() | ast.Untag():
            return f"{step.kind} " + ", ".join(step.tags)
        case ast.SetAttribute():
            return f"set {step.attribute} = {unparse(step.value)}"
        case ast.Coupon():
            value = f" ({format_number(step.value)})" if step.value is not None else ""
            return f"coupon {step.code}{value}"
        case ast.Handoff():
            within = f" within {format_duration(step.within)}" if step.within is not None else ""
            return f"handoff to {step.role}{within}"
        case ast.Webhook():
            return f"webhook {step.url}"
        case ast.Emit():
            return f"emit {step.event}"
        case ast.Goto():
            return f"goto {step.target}"
        case ast.Exit():
            return f"exit {step.outcome}"
    return step.kind


def outcome_colours(outcome: str) -> tuple[str, str]:
    return OUTCOME_COLOURS.get(outcome, OTHER_OUTCOME)
