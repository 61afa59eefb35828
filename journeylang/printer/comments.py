"""Attach comments to the items they precede or trail, so the formatter and the converter
can keep them.

The anchors of a DSL text come from the Lark parse tree (every item, including those the
model keeps without a span: owner, outcomes, consent...); those of a YAML text from its node
tree (yaml_comments.py). Each anchor gets a key that the printers compute the same way from
the model, e.g. ``("step", 1, 3)`` for stage 2's fourth step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lark import Token, Tree

from ..frontend import Comment

# what a comment is to its anchor: written on the lines before it, after its first line
# (a block's opening line), after its last line, or before the closing brace of a block
LEADING, HEADER, TRAILING, END = "leading", "header", "trailing", "end"


@dataclass
class Region:
    key: tuple
    start: int
    end: int
    depth: int
    children: list["Region"] = field(default_factory=list)


@dataclass(frozen=True)
class Placed:
    text: str
    line: int
    blank_after: bool = False  # a blank line followed it in the source (kept for leading ones)


class CommentMap:
    """Comments by anchor key and slot; remembers which ones the printer has written."""

    def __init__(self):
        self._slots: dict[tuple, dict[str, list[Placed]]] = {}
        self._taken: set[int] = set()
        self._all: list[Placed] = []

    def add(self, key: tuple, slot: str, comment: Placed) -> None:
        self._slots.setdefault(key, {}).setdefault(slot, []).append(comment)
        self._all.append(comment)

    def take(self, key: tuple, *slots: str) -> list[Placed]:
        found = []
        for slot in slots:
            for comment in self._slots.get(key, {}).get(slot, []):
                if id(comment) not in self._taken:
                    self._taken.add(id(comment))
                    found.append(comment)
        return found

    def take_below(self, prefix: tuple, *slots: str) -> list[Placed]:
        """The comments of every key that starts with ``prefix`` (the parts of an item)."""
        found = []
        for key in list(self._slots):
            if key[:len(prefix)] == prefix:
                found += self.take(key, *slots)
        return sorted(found, key=lambda c: c.line)

    def keys(self) -> set[tuple]:
        """The anchors that have comments."""
        return set(self._slots)

    def entries(self) -> list[tuple[tuple, str, Placed]]:
        """Every comment not written yet with its key and slot, in source order; all are
        written by the caller."""
        found = [(key, slot, comment) for key, slots in self._slots.items()
                 for slot, comments in slots.items() for comment in comments
                 if id(comment) not in self._taken]
        self._taken.update(id(comment) for _, _, comment in found)
        return sorted(found, key=lambda entry: entry[2].line)

    def rest(self) -> list[Placed]:
        """Comments not written yet, in source order."""
        left = [c for c in self._all if id(c) not in self._taken]
        self._taken.update(id(c) for c in left)
        return sorted(left, key=lambda c: c.line)


def attach(text: str, comments: list[Comment], tree: Tree) -> CommentMap:
    """Give every comment of a DSL ``text`` an anchor key and slot."""
    return attach_to(_journey_region(tree), text, comments)


def attach_to(root: Region, text: str, comments: list[Comment]) -> CommentMap:
    """Give every comment of ``text`` a key and slot among the anchors below ``root``."""
    lines = text.split("\n")
    found = CommentMap()
    for comment in comments:
        line, column = comment.span.line, comment.span.column
        source_line = lines[line - 1] if line <= len(lines) else ""
        own_line = source_line[:column - 1].strip() == ""
        blank_after = line < len(lines) and lines[line].strip() == ""
        placed = Placed(comment.text.rstrip(), line, blank_after)
        key, slot = _place(root, line, own_line)
        found.add(key, slot, placed)
    return found


def _place(root: Region, line: int, own_line: bool) -> tuple[tuple, str]:
    """A comment on its own line leads the next item (or ends the block it is in). One
    after code heads the outermost item all on its line (so that a directive there stays on
    the item's first line in any layout), else trails the innermost item ending there, else
    heads the innermost item starting there or holding it."""
    if own_line:
        if line < root.start:
            return root.key, LEADING
        if line > root.end:
            return ("after",), TRAILING
        block = _innermost(root, lambda r: r.start < line <= r.end and r.children is not None)
        following = next((c for c in block.children if c.start > line), None)
        return (following.key, LEADING) if following else (block.key, END)
    whole = [r for r in _walk(root) if r.start == line == r.end]
    if whole:
        return min(whole, key=lambda r: r.depth).key, HEADER
    ending = [r for r in _walk(root) if r.end == line]
    if ending:
        return max(ending, key=lambda r: r.depth).key, TRAILING
    starting = [r for r in _walk(root) if r.start == line]
    if starting:
        return max(starting, key=lambda r: r.depth).key, HEADER
    return _innermost(root, lambda r: r.start <= line <= r.end).key, HEADER


def _walk(region: Region):
    yield region
    for child in region.children:
        yield from _walk(child)


def _innermost(root: Region, test) -> Region:
    best = root
    for region in _walk(root):
        if test(region) and region.depth >= best.depth:
            best = region
    return best


def _region(key, tree: Tree, depth: int) -> Region:
    meta = tree.meta
    return Region(key, meta.line, meta.end_line, depth)


def _journey_region(start: Tree) -> Region:
    journey = start.children[0] if start.data == "start" else start
    root = _region(("journey",), journey, 0)
    counts: dict[str, int] = {}
    for item in journey.children:
        if not isinstance(item, Tree):
            continue
        kind = {"exit_rule": "exit", "scheduled_entry": "entry"}.get(item.data, item.data)
        if kind in ("goal", "milestone", "exit", "role", "template", "stage", "handler",
                    "attribute", "variable", "migration"):
            index = counts[kind] = counts.get(kind, -1) + 1
            region = _region((kind, index), item, 1)
        else:
            region = _region((kind,), item, 1)
        root.children.append(region)
        if kind == "policy":
            region.children = _policy_items(item)
        elif kind == "template":
            region.children = [_region(("locale", index, j), child, 2)
                               for j, child in enumerate(_trees(item, "locale_text"))]
        elif kind == "handler":
            region.children = _handler_items(index, item)
        elif kind == "migration":
            region.children = [_region(("move", index, k), child, 2)
                               for k, child in enumerate(_trees(item, "move"))]
        elif kind == "stage":
            region.children = [_step_region(index, j, child)
                               for j, child in enumerate(_trees(item, "step"))]
            region.children += [_region(("kpi", index, k), child, 2)
                                for k, child in enumerate(_trees(item, "kpi"))]
            region.children.sort(key=lambda r: r.start)
    return root


def _policy_items(policy: Tree) -> list[Region]:
    regions, caps = [], 0
    for item in _trees(policy):
        if item.data == "cap":
            regions.append(_region(("cap", caps), item, 2))
            caps += 1
        else:
            regions.append(_region((item.data,), item, 2))
    return regions


def _handler_items(index: int, handler: Tree) -> list[Region]:
    regions, actions = [], 0
    for item in _trees(handler):
        if item.data == "jump":
            regions.append(_region(("jump", index), item, 2))
        elif item.data.startswith("handler_"):
            regions.append(_region(("action", index, actions), item, 2))
            actions += 1
    return regions


def _step_region(stage: int, index: int, step: Tree) -> Region:
    region = _region(("step", stage, index), step, 2)
    body = next((t for t in _trees(step) if t.data != "label"), None)
    if body is None:
        return region
    arms = 0
    for child in _trees(body):
        if child.data in ("wait_arm", "branch_arm", "split_arm", "rung"):
            region.children.append(_region(("arm", stage, index, arms), child, 3))
            arms += 1
        elif child.data in ("timeout", "branch_default", "breach"):
            kind = "default" if child.data == "branch_default" else "timeout"  # as printed
            region.children.append(_region((kind, stage, index), child, 3))
    return region


def _trees(tree: Tree, data: str | None = None) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree) and (data is None or c.data == data)
            and not isinstance(c, Token)]
