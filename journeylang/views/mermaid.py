"""The Mermaid view: stages as subgraphs, labelled edges, exits styled by outcome."""
from __future__ import annotations

from .. import ast
from .model import DASHED_KINDS, View, build_view, outcome_colours


def mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: quotes and markup characters as entity codes."""
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                       ("|", "#124;")):
        text = text.replace(char, code)
    return text.replace("\n", "<br/>")


def write_mermaid(journey: ast.Journey) -> str:
    return "\n".join(mermaid_lines(build_view(journey))) + "\n"


def mermaid_lines(view: View):
    yield "flowchart TD"
    if view.entry is not None:
        yield f'  entry(["{mermaid_text(view.entry)}"]) --> {view.start}'
    for stage in view.stages:
        label = stage.name + (f": {stage.title}" if stage.title else "")
        yield f'  subgraph {stage.id} ["{mermaid_text(label)}"]'
        for node in stage.nodes:
            text = mermaid_text(f"{node.name}\n{node.summary}")
            shape = f'{{{{"{text}"}}}}' if node.outcome else f'["{text}"]'
            yield f"    {node.id}{shape}"
        yield "  end"
    for edge in view.edges:
        arrow = "-.->" if edge.kind in DASHED_KINDS else "-->"
        label = f'|"{mermaid_text(edge.label)}"|' if edge.label else ""
        yield f"  {edge.source} {arrow}{label} {edge.target}"
    outcomes = sorted({node.outcome for node in view.nodes() if node.outcome})
    for outcome in outcomes:
        fill, stroke = outcome_colours(outcome)
        yield f"  classDef outcome_{outcome} fill:{fill},stroke:{stroke},stroke-width:2px"
    for outcome in outcomes:
        members = ",".join(node.id for node in view.nodes() if node.outcome == outcome)
        yield f"  class {members} outcome_{outcome}"
