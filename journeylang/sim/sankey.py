"""Simulation report: the flows between steps as a layered Sankey diagram (inline SVG).

The layout is Sugiyama's layered drawing (Gansner, Koutsofios, North and Vo, "A technique
for drawing directed graphs", 1993): loops are broken by a depth-first search (their back
flows are drawn apart, thin, below the diagram); each step's column is its longest path from
the start; a flow that spans columns passes through placeholder nodes, which keep room for
it; the order within columns comes from barycentric sweeps (each node placed at the
flow-weighted mean position of its neighbours), keeping the order with the fewest weighted
crossings; nodes are then moved towards their neighbours without changing the order.
Outcomes sit in the last column, coloured by kind. Columns are as wide as their labels, so
no label is clipped.
"""
from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field

from wcwidth import wcswidth

from ..views.model import OUTCOME_COLOURS, OTHER_OUTCOME

NODE_WIDTH = 10
LABEL_ROOM = 15        # px: the least height a node takes, so that labels never overlap
GAP = 6                # px between nodes in a column
FLOW_HEIGHT = 320      # px: the tallest column's flows
LINK_SPAN = 48         # px between a column's labels and the next column
CHAR_PX = 6.4          # px per display column of 11px text (a CJK character counts twice)
PAD = 12
SWEEPS = 24
RELAXATIONS = 6
STEP_COLOUR, LINK_COLOUR, LOOP_COLOUR = "#42a5f5", "#90caf9", "#78909c"


@dataclass(eq=False)
class Node:
    id: str
    size: float
    label: str = ""
    outcome: str | None = None   # set for an outcome (``end:<outcome>``)
    dummy: bool = False          # a placeholder that keeps room for a long flow
    members: list = field(default_factory=list)  # the steps of a joined chain
    layer: int = 0
    index: int = 0               # its place in its column, while the order is being found
    x: float = 0.0
    y: float = 0.0
    height: float = 0.0
    into: list = field(default_factory=list)   # Segments arriving
    out: list = field(default_factory=list)    # Segments leaving

    @property
    def room(self) -> float:
        return self.height if self.dummy else max(self.height, LABEL_ROOM)

    @property
    def centre(self) -> float:
        return self.y + self.height / 2


@dataclass(eq=False)
class Segment:
    """One column-to-column piece of a flow (a long flow is several, through placeholders)."""

    source: Node
    target: Node
    runs: int
    flow: "Flow"
    y0: float = 0.0  # where its band leaves the source and enters the target
    y1: float = 0.0


@dataclass(eq=False)
class Flow:
    origin: str
    target: str
    runs: int
    edges: list[str]
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Layout:
    layers: list[list[Node]]
    flows: list[Flow]
    loops: list[Flow]          # back flows, drawn below the diagram
    x: list[float]
    width: float
    height: float
    scale: float

    def crossings(self) -> float:
        return sum(_crossings(self.layers[i], self.layers[i + 1])
                   for i in range(len(self.layers) - 1))


def layout_flows(steps: list[dict], flows: list[dict]) -> Layout | None:
    """Lay out ``steps`` (``step``, ``entered``) and ``flows`` (``from``, ``edge``, ``to``,
    ``runs``) as Results holds them; None when nothing flowed."""
    nodes = _nodes(steps, flows)
    merged = _merge(flows, nodes)
    if not merged:
        return None
    start = next((s["step"] for s in steps if s["step"] in nodes), next(iter(nodes)))
    back = _back_flows(nodes, merged, start)
    forward = _join_chains(nodes, [f for f in merged if f not in back], back)
    _assign_layers(nodes, forward)
    layers = _layers_with_placeholders(nodes, forward)
    _reduce_crossings(layers)
    scale = _scale(layers)
    for layer in layers:
        for node in layer:
            node.height = max(2.0, node.size * scale)
    _stack(layers)
    _relax(layers)
    x, width = _columns(layers)
    _bands(layers)
    bottom = max((n.y + n.room for layer in layers for n in layer), default=0.0)
    return Layout(layers, forward, back, x, width, bottom + PAD, scale)


# --- the graph ----------------------------------------------------------------------------------

def _nodes(steps, flows) -> dict[str, Node]:
    nodes = {s["step"]: Node(s["step"], s["entered"], f"{s['step']} ({s['entered']:,})")
             for s in steps if s["entered"]}
    ends: dict[str, int] = defaultdict(int)
    for f in flows:
        if f["to"].startswith("end:"):
            ends[f["to"]] += f["runs"]
    for end, runs in sorted(ends.items()):
        outcome = end.removeprefix("end:")
        nodes[end] = Node(end, runs, f"{outcome} ({runs:,})", outcome=outcome)
    return nodes


def _merge(flows, nodes) -> list[Flow]:
    """One flow per (from, to) pair, with the edges that made it."""
    merged: dict[tuple[str, str], Flow] = {}
    for f in flows:
        if f["runs"] and f["from"] in nodes and f["to"] in nodes:
            key = (f["from"], f["to"])
            if key not in merged:
                merged[key] = Flow(f["from"], f["to"], 0, [])
            merged[key].runs += f["runs"]
            merged[key].edges.append(f["edge"])
    return list(merged.values())


def _back_flows(nodes, flows: list[Flow], start: str) -> list[Flow]:
    """The flows that close a loop: a depth-first search from the start (heaviest flows first)
    meets them as edges back to a step on its path."""
    following = defaultdict(list)
    for flow in sorted(flows, key=lambda f: -f.runs):
        following[flow.origin].append(flow)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    back = []
    for root in [start, *nodes]:
        if root in state:
            continue
        stack = [(root, iter(following[root]))]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            flow = next(pending, None)
            if flow is None:
                state[node] = 2
                stack.pop()
            elif state.get(flow.target) == 1:
                back.append(flow)
            elif flow.target not in state:
                state[flow.target] = 1
                stack.append((flow.target, iter(following[flow.target])))
    return back


def _join_chains(nodes: dict[str, Node], forward: list[Flow], back: list[Flow]) -> list[Flow]:
    """Join each chain of steps that every run walks straight through (one way out of each,
    one way into the next, the same runs) into its first step's node: such a chain says
    nothing one node does not (the steps table lists every step)."""
    looped = {name for flow in back for name in (flow.origin, flow.target)}
    leaving, arriving = defaultdict(list), defaultdict(list)
    for flow in forward:
        leaving[flow.origin].append(flow)
        arriving[flow.target].append(flow)

    def straight(flow: Flow) -> bool:
        a, b = flow.origin, flow.target
        return (len(leaving[a]) == 1 and len(arriving[b]) == 1 and nodes[b].outcome is None
                and a not in looped and b not in looped
                and nodes[a].size == nodes[b].size == flow.runs)

    absorbed: set[str] = set()
    for name, node in list(nodes.items()):
        if node.outcome is not None or (len(arriving[name]) == 1 and straight(arriving[name][0])):
            continue  # not the first step of a chain
        chain = [name]
        while len(leaving[chain[-1]]) == 1 and straight(leaving[chain[-1]][0]):
            chain.append(leaving[chain[-1]][0].target)
        if len(chain) > 1:
            node.members = chain
            node.label = f"{chain[0]} … {chain[-1]} ({node.size:,})"
            for flow in leaving[chain[-1]]:
                flow.origin = name
            absorbed.update(chain[1:])
    for name in absorbed:
        del nodes[name]
    return [f for f in forward if f.origin not in absorbed and f.target not in absorbed]


def _assign_layers(nodes: dict[str, Node], forward: list[Flow]) -> None:
    """Each step's column is its longest path from a start; outcomes share the last column."""
    incoming = defaultdict(list)
    for flow in forward:
        incoming[flow.target].append(flow.origin)
    done: dict[str, int] = {}

    def depth(name: str) -> int:
        stack = [name]
        while stack:
            current = stack[-1]
            waiting = [p for p in incoming[current] if p not in done]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            done[current] = max((done[p] + 1 for p in incoming[current]), default=0)
        return done[name]

    for name, node in nodes.items():
        if node.outcome is None:
            node.layer = depth(name)
    last = max((n.layer for n in nodes.values() if n.outcome is None), default=-1) + 1
    for node in nodes.values():
        if node.outcome is not None:
            node.layer = last


def _layers_with_placeholders(nodes: dict[str, Node], forward: list[Flow]) -> list[list[Node]]:
    layers: list[list[Node]] = [[] for _ in range(max(n.layer for n in nodes.values()) + 1)]
    for node in nodes.values():
        layers[node.layer].append(node)
    for flow in forward:
        source, target = nodes[flow.origin], nodes[flow.target]
        hops = [source]
        for layer in range(source.layer + 1, target.layer):
            placeholder = Node(f"{flow.origin}->{flow.target}@{layer}", flow.runs, dummy=True,
                               layer=layer)
            layers[layer].append(placeholder)
            hops.append(placeholder)
        hops.append(target)
        for a, b in zip(hops, hops[1:]):
            segment = Segment(a, b, flow.runs, flow)
            a.out.append(segment)
            b.into.append(segment)
            flow.segments.append(segment)
    return layers


# --- crossing reduction -------------------------------------------------------------------------

def _reduce_crossings(layers: list[list[Node]]) -> None:
    """Barycentric sweeps down and up the columns; the order with the fewest weighted
    crossings wins (ties keep the earlier one)."""
    for layer in layers:
        _number(layer)
    best = [list(layer) for layer in layers]
    fewest = _total_crossings(layers)
    for sweep in range(SWEEPS):
        downwards = sweep % 2 == 0
        indices = range(1, len(layers)) if downwards else range(len(layers) - 2, -1, -1)
        for i in indices:
            _order_by_barycentre(layers[i], downwards)
            _number(layers[i])
        found = _total_crossings(layers)
        if found < fewest:
            fewest, best = found, [list(layer) for layer in layers]
        if not fewest:
            break
    layers[:] = best


def _order_by_barycentre(layer: list[Node], downwards: bool) -> None:
    position = {}
    for node in layer:
        links = node.into if downwards else node.out
        neighbours = [(s.source if downwards else s.target, s.runs) for s in links]
        weight = sum(runs for _, runs in neighbours)
        if weight:
            position[node] = sum(n.index * runs for n, runs in neighbours) / weight
    layer.sort(key=lambda n: (position.get(n, n.index), n.index))


def _number(layer: list[Node]) -> None:
    for i, node in enumerate(layer):
        node.index = i


def _total_crossings(layers) -> float:
    return sum(_crossings(layers[i], layers[i + 1]) for i in range(len(layers) - 1))


def _crossings(upper: list[Node], lower: list[Node]) -> float:
    """Crossings between two adjacent columns, each weighted by the product of the two flows."""
    at = {node: i for i, node in enumerate(upper)}
    below = {node: i for i, node in enumerate(lower)}
    segments = [(at[s.source], below[s.target], s.runs) for node in upper for s in node.out
                if s.target in below]
    total = 0.0
    for i, (a0, b0, w0) in enumerate(segments):
        for a1, b1, w1 in segments[i + 1:]:
            if (a0 - a1) * (b0 - b1) < 0:
                total += w0 * w1
    return total


# --- placement --------------------------------------------------------------------------------

def _scale(layers) -> float:
    tallest = max(sum(n.size for n in layer) for layer in layers)
    return FLOW_HEIGHT / tallest if tallest else 1.0


def _stack(layers) -> None:
    for layer in layers:
        y = PAD
        for node in layer:
            node.y = y
            y += node.room + GAP


def _relax(layers) -> None:
    """Move nodes towards the flow-weighted centre of their neighbours, keeping the order and
    the gaps (as d3-sankey relaxes its layout)."""
    for _ in range(RELAXATIONS):
        for layer in layers[1:]:
            _towards(layer, lambda n: [(s.source, s.runs) for s in n.into])
        for layer in reversed(layers[:-1]):
            _towards(layer, lambda n: [(s.target, s.runs) for s in n.out])


def _towards(layer, neighbours) -> None:
    for node in layer:
        found = neighbours(node)
        weight = sum(runs for _, runs in found)
        if weight:
            centre = sum(n.centre * runs for n, runs in found) / weight
            node.y += (centre - node.centre) * 0.5
    y = PAD
    for node in layer:  # no overlaps, order kept, nothing above the top
        node.y = max(node.y, y)
        y = node.y + node.room + GAP


def _columns(layers) -> tuple[list[float], float]:
    """Each column's x: after the previous column's widest label and room for the flows."""
    x, at = [], PAD
    for layer in layers:
        x.append(at)
        label = max((label_width(n.label) for n in layer if not n.dummy), default=0.0)
        at += NODE_WIDTH + 4 + label + LINK_SPAN
    width = at - LINK_SPAN + PAD
    for node_x, layer in zip(x, layers):
        for node in layer:
            node.x = node_x
    return x, width


def label_width(text: str) -> float:
    """The px an 11px label takes, by display width (a CJK character is two columns)."""
    return (wcswidth(text) if wcswidth(text) >= 0 else len(text) * 2) * CHAR_PX


def _bands(layers) -> None:
    """Where each segment leaves and enters its nodes: stacked in the order of the other
    ends, so that bands do not cross at a node."""
    for layer in layers:
        for node in layer:
            y = node.y
            for segment in sorted(node.out, key=lambda s: s.target.centre):
                segment.y0 = y
                y += node.height * segment.runs / max(node.size, sum(s.runs for s in node.out))
            y = node.y
            for segment in sorted(node.into, key=lambda s: s.source.centre):
                segment.y1 = y
                y += node.height * segment.runs / max(node.size, sum(s.runs for s in node.into))


# --- drawing ----------------------------------------------------------------------------------

def _e(value) -> str:
    return html.escape(str(value), quote=True)


def outcome_colour(outcome: str) -> tuple[str, str]:
    """(link colour, node colour) of an outcome: green for good ends, red or orange for lost
    customers, amber for escalations, grey for expiries."""
    fill, stroke = OUTCOME_COLOURS.get(outcome, OTHER_OUTCOME)
    return fill, stroke


def render_sankey(steps: list[dict], flows: list[dict]) -> str:
    """The Sankey diagram as an ``<svg class="sankey">`` element."""
    layout = layout_flows(steps, flows)
    if layout is None:
        return '<p class="sankey-empty">No runs moved between steps.</p>'
    loop_lanes = 14 * len(layout.loops) + (10 if layout.loops else 0)
    width, height = layout.width, layout.height + loop_lanes
    for flow in layout.loops:  # a loop's label starts at its leftmost end
        start = min(n.x for layer in layout.layers for n in layer
                    if n.id in (flow.origin, flow.target))
        width = max(width, start + 4 + label_width(_loop_label(flow)) + PAD)
    # as wide as the page allows, never wider than drawn, and never below 70% (then the
    # page scrolls sideways): labels stay readable and whole
    out = [f'<svg class="sankey" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           f'style="width: min(100%, {width:.0f}px); min-width: {0.7 * width:.0f}px; '
           f'height: auto" aria-label="flows between steps">']
    for flow in sorted(layout.flows, key=lambda f: -f.runs):
        out.append(_flow_path(flow, layout.scale))
    for lane, flow in enumerate(layout.loops):
        out.append(_loop_path(flow, layout, layout.height + 6 + 14 * lane))
    for layer in layout.layers:
        for node in layer:
            if not node.dummy:
                out.append(_node(node))
    out.append("</svg>")
    return "".join(out)


def _flow_path(flow: Flow, scale: float) -> str:
    width = max(1.0, flow.runs * scale)
    outcome = flow.segments[-1].target.outcome
    colour = outcome_colour(outcome)[1] if outcome else LINK_COLOUR
    pieces = []
    for s in flow.segments:
        x0, x1 = s.source.x + NODE_WIDTH, s.target.x
        y0, y1 = s.y0 + width / 2, s.y1 + width / 2
        bend = (x1 - x0) / 2
        move = "M" if not pieces else "L"
        pieces.append(f"{move}{x0:.1f},{y0:.1f} C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} "
                      f"{x1:.1f},{y1:.1f}")
        if s.target.dummy:  # straight through the placeholder
            pieces.append(f"L{x1 + NODE_WIDTH:.1f},{y1:.1f}")
    kind = f"outcome-{outcome}" if outcome else "step"
    return (f'<path class="flow {kind}" d="{" ".join(pieces)}" stroke="{colour}" '
            f'stroke-opacity="{0.55 if outcome else 0.5}" fill="none" '
            f'stroke-width="{width:.1f}"><title>{_e(flow.origin)} -&gt; {_e(flow.target)}'
            f' ({_e(", ".join(flow.edges))}): {flow.runs:,}</title></path>')


def _loop_path(flow: Flow, layout: Layout, lane: float) -> str:
    """A back flow: a thin dashed line under the diagram, from the later step back to the
    earlier one, labelled with its runs."""
    source = next(n for layer in layout.layers for n in layer if n.id == flow.origin)
    target = next(n for layer in layout.layers for n in layer if n.id == flow.target)
    x0, y0 = source.x + NODE_WIDTH, source.centre
    x1, y1 = target.x, target.centre
    d = (f"M{x0:.1f},{y0:.1f} C{x0 + 24:.1f},{y0:.1f} {x0 + 24:.1f},{lane:.1f} {x0:.1f},{lane:.1f} "
         f"L{x1:.1f},{lane:.1f} C{x1 - 24:.1f},{lane:.1f} {x1 - 24:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
    label = _loop_label(flow)
    return (f'<g class="loop"><path d="{d}" stroke="{LOOP_COLOUR}" stroke-width="1.5" '
            f'stroke-dasharray="4 3" fill="none"><title>{_e(flow.origin)} -&gt; '
            f'{_e(flow.target)} ({_e(", ".join(flow.edges))}): {flow.runs:,}</title></path>'
            f'<text x="{min(x0, x1) + 4:.1f}" y="{lane - 3:.1f}" class="loop-label">'
            f'{_e(label)}</text></g>')


def _loop_label(flow: Flow) -> str:
    return f"back to {flow.target}: {flow.runs:,}"


def _node(node: Node) -> str:
    colour = outcome_colour(node.outcome)[1] if node.outcome else STEP_COLOUR
    kind = f"outcome outcome-{node.outcome}" if node.outcome else "step"
    text_y = node.y + min(node.room, max(node.height, 11)) / 2 + 4
    return (f'<g class="node {kind}" data-node="{_e(node.id)}">'
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{NODE_WIDTH}" '
            f'height="{node.height:.1f}" fill="{colour}"><title>{_e(" -> ".join(node.members) or node.id)}: '
            f'{node.size:,} runs</title></rect>'
            f'<text x="{node.x + NODE_WIDTH + 4:.1f}" y="{text_y:.1f}">{_e(node.label)}</text></g>')
