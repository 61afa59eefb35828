"""The DOT view (Graphviz): stages as clusters, labelled edges, exits coloured by outcome."""
from __future__ import annotations

from .. import ast
from ..graph import BRANCH, DEFAULT, EVENT, SPLIT
from .model import DASHED_KINDS, View, ViewNode, build_view, outcome_colours

_EDGE_COLOURS = {EVENT: "#1565c0", BRANCH: "#6a1b9a", DEFAULT: "#6a1b9a", SPLIT: "#00838f"}


def dot_string(text: str) -> str:
    """A double-quoted DOT string; newlines become DOT's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_dot(journey: ast.Journey) -> str:
    return "\n".join(dot_lines(build_view(journey))) + "\n"


def dot_lines(view: View):
    yield f"digraph {dot_string(view.title)} {{"
    yield f"  graph [rankdir=TB, fontname=\"Helvetica\", label={dot_string(view.title)}, labelloc=t];"
    yield '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=11];'
    yield '  edge [fontname="Helvetica", fontsize=10];'
    if view.entry is not None:
        yield f'  entry [label={dot_string(view.entry)}, shape=cds, fillcolor="#e3f2fd"];'
        yield f"  entry -> {view.start};"
    for stage in view.stages:
        label = stage.name + (f": {stage.title}" if stage.title else "")
        yield f"  subgraph cluster_{stage.id} {{"
        yield f'    label={dot_string(label)}; style="rounded,dashed"; color="#90a4ae";'
        for node in stage.nodes:
            yield f"    {_node(node)}"
        yield "  }"
    for edge in view.edges:
        attributes = []
        if edge.label:
            attributes.append(f"label={dot_string(edge.label)}")
        if edge.kind in DASHED_KINDS:
            attributes.append("style=dashed")
        if edge.kind in _EDGE_COLOURS:
            attributes.append(f'color="{_EDGE_COLOURS[edge.kind]}"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        yield f"  {edge.source} -> {edge.target}{suffix};"
    yield "}"


def _node(node: ViewNode) -> str:
    label = dot_string(f"{node.name}\n{node.summary}")
    if node.outcome is None:
        return f"{node.id} [label={label}, tooltip={dot_string(node.name)}];"
    fill, stroke = outcome_colours(node.outcome)
    return (f'{node.id} [label={label}, tooltip={dot_string(node.name)}, shape=doubleoctagon, '
            f'fillcolor="{fill}", color="{stroke}", class="exit outcome-{node.outcome}"];')
