"""Comments across ``journey convert``: the anchors of a YAML journey (its node tree keyed as
the DSL's anchors are, comments.py), so that a YAML file's comments reach the DSL printer, and
the writing of a journey's comments into its printed YAML form."""
from __future__ import annotations

import yaml
from yaml.nodes import CollectionNode, MappingNode, ScalarNode, SequenceNode

from ..frontend import Comment
from .comments import END, HEADER, TRAILING, CommentMap, Region, attach_to

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# a top-level key and the anchor it is in the DSL (journey, title and version: its header)
_SINGLE = {"owner": "owner", "description": "description", "locale": "locale",
           "entry": "entry", "audience": "audience", "reentry": "reentry",
           "correlate": "correlate", "outcomes": "outcomes", "expect": "volume"}
_LISTED = {"goals": "goal", "milestones": "milestone", "exits": "exit", "roles": "role"}
_NAMED = {"attributes": "attribute", "vars": "variable"}


def attach_yaml(text: str, comments: list[Comment]) -> CommentMap:
    """Give every comment of a YAML journey ``text`` an anchor key and slot."""
    root = yaml_regions(text) or Region(("journey",), 1, text.count("\n") + 1, 0)
    lines = text.split("\n")
    _close(root, lines, {c.span.line for c in comments if not lines[c.span.line - 1]
                         [:c.span.column - 1].strip()})
    return attach_to(root, text, comments)


def _close(region: Region, lines: list[str], comment_lines: set[int]) -> None:
    """Stretch each region over the comment lines after it that are indented deeper than
    its first line: YAML has no closing brace, and such a comment ends the block it is in."""
    for child in region.children:
        _close(child, lines, comment_lines)
    region.end = max([region.end, *(child.end for child in region.children)])
    deeper = _indent(lines[region.start - 1])
    line = region.end + 1
    while line <= len(lines) and (not lines[line - 1].strip() or line in comment_lines):
        if line in comment_lines:
            if _indent(lines[line - 1]) <= deeper:
                break
            region.end = line
        line += 1


def yaml_regions(text: str) -> Region | None:
    """The anchors of a YAML journey: the same keys as a DSL journey's; None when the text
    is not a YAML mapping."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    if not isinstance(root, MappingNode):
        return None
    region = Region(("journey",), _first_line(root), _last_line(root), 0)
    for key, value in root.value:
        name = key.value if isinstance(key, ScalarNode) else None
        region.children += _top_level(name, key, value)
    region.children.sort(key=lambda r: r.start)
    return region


def _top_level(name, key, value) -> list[Region]:
    if name in _SINGLE:
        return [_entry((_SINGLE[name],), key, value, 1)]
    if name == "policy":
        return [_policy(key, value)]
    if name in _LISTED:
        return [_item((_LISTED[name], i), item, 1) for i, item in enumerate(_list(value))]
    if name in _NAMED:
        return [_entry((_NAMED[name], i), k, v, 1) for i, (k, v) in enumerate(_pairs(value))]
    if name == "templates":
        return [_template(i, k, v) for i, (k, v) in enumerate(_pairs(value))]
    if name == "handlers":
        return [_handler(i, item) for i, item in enumerate(_list(value))]
    if name == "stages":
        return [_stage(i, item) for i, item in enumerate(_list(value))]
    if name == "migrations":
        return [_migration(i, item) for i, item in enumerate(_list(value))]
    return []  # journey, title, version: the journey's header line


def _policy(key, value) -> Region:
    region = _entry(("policy",), key, value, 1)
    for name, item in _pairs(value):
        if name.value == "cap" and isinstance(item, SequenceNode):
            region.children += [_item(("cap", i), cap, 2) for i, cap in enumerate(item.value)]
        elif name.value == "cap":
            region.children.append(_entry(("cap", 0), name, item, 2))
        elif name.value in ("quiet", "consent", "holdout", "promo"):
            region.children.append(_entry((name.value,), name, item, 2))
    return region


def _template(index: int, key, value) -> Region:
    region = _entry(("template", index), key, value, 1)
    region.children = [_entry(("locale", index, j), k, v, 2)
                       for j, (k, v) in enumerate(_pairs(value))]
    return region


def _handler(index: int, node) -> Region:
    region = _item(("handler", index), node, 1)
    for name, value in _pairs(node):
        if name.value == "do":
            region.children += [_item(("action", index, k), action, 2)
                                for k, action in enumerate(_list(value))]
        elif name.value == "then":
            region.children.append(_entry(("jump", index), name, value, 2))
    region.children.sort(key=lambda r: r.start)
    return region


def _migration(index: int, node) -> Region:
    """A migration, with its moves (``other`` is the last, as the DSL writes it)."""
    region = _item(("migration", index), node, 1)
    moves = [(k, v) for name, part in _pairs(node) if name.value == "steps"
             for k, v in _pairs(part)]
    moves += [(name, part) for name, part in _pairs(node) if name.value == "other"]
    region.children = [_entry(("move", index, k), key, value, 2)
                       for k, (key, value) in enumerate(moves)]
    region.children.sort(key=lambda r: r.start)
    return region


def _stage(index: int, node) -> Region:
    region = _item(("stage", index), node, 1)
    for name, value in _pairs(node):
        if name.value == "steps":
            region.children += [_step(index, j, step) for j, step in enumerate(_list(value))]
        elif name.value == "kpis":
            region.children += [_item(("kpi", index, k), kpi, 2)
                                for k, kpi in enumerate(_list(value))]
    region.children.sort(key=lambda r: r.start)
    return region


def _step(stage: int, index: int, node) -> Region:
    """A step, with its arms, timeout and else (``breach`` counts as a timeout)."""
    region = _item(("step", stage, index), node, 2)
    arms = []
    for name, value in _pairs(node):
        if name.value in ("branch", "split"):
            for entry in _list(value):
                if name.value == "branch" and "else" in _keys(entry):
                    region.children.append(_item(("default", stage, index), entry, 3))
                else:
                    arms.append(entry)
        elif name.value in ("wait", "escalate"):
            for key, part in _pairs(value):
                if key.value in ("on", "rungs"):
                    arms += _list(part)
                elif key.value in ("timeout", "breach"):
                    region.children.append(_entry(("timeout", stage, index), key, part, 3))
    region.children += [_item(("arm", stage, index, n), arm, 3) for n, arm in enumerate(arms)]
    region.children.sort(key=lambda r: r.start)
    return region


def _entry(key: tuple, name, value, depth: int) -> Region:
    """A mapping entry, from its key's line to its value's last line."""
    return Region(key, _first_line(name), max(_last_line(value), _first_line(name)), depth)


def _item(key: tuple, node, depth: int) -> Region:
    return Region(key, _first_line(node), _last_line(node), depth)


def _first_line(node) -> int:
    return node.start_mark.line + 1


def _last_line(node) -> int:
    """The last line a node's text is on (a block collection's end mark is where the next
    token starts; a block scalar's, after its last line break)."""
    while isinstance(node, CollectionNode) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
    end = node.end_mark
    return end.line + (end.column > 0 or end.line == node.start_mark.line)


def _pairs(node) -> list[tuple]:
    if not isinstance(node, MappingNode):
        return []
    return [(k, v) for k, v in node.value if isinstance(k, ScalarNode)]


def _keys(node) -> list[str]:
    return [k.value for k, _ in _pairs(node)]


def _list(node) -> list:
    return node.value if isinstance(node, SequenceNode) else []


# --- writing comments into printed YAML -------------------------------------------------------

def with_comments(text: str, comments: CommentMap) -> str:
    """``text`` (a printed YAML journey) with ``comments`` (a source's, keyed) written next
    to their items: leading ones on lines of their own before the item, header and trailing
    ones at the end of its first (last) line where a comment may stand there and none stands
    yet, else on a line of their own before it; those whose item the YAML form does not have,
    next to the item holding it."""
    root = yaml_regions(text)
    regions = {region.key: region for region in _walk(root)} if root else {}
    lines = text.split("\n")
    ends_open = _lines_inside_scalars(text)
    before, after, at_end = {}, {}, {}
    for key, slot, comment in comments.entries():
        region = _nearest(regions, key)
        if region is None or key == ("after",):
            after.setdefault(len(lines) - 1, []).append((0, comment))
            continue
        indent = _indent(lines[region.start - 1])
        line = region.end if slot == TRAILING else region.start
        if slot in (HEADER, TRAILING) and line not in ends_open | set(at_end) \
                and line != len(lines):
            at_end[line] = comment.text  # one comment a line: a second would join the first
        elif slot == END or (slot == TRAILING and region.key == ("journey",)):
            deeper = slot == END and region.key != ("journey",)  # see _close
            after.setdefault(region.end, []).append((indent + 2 * deeper, comment))
        else:
            before.setdefault(region.start, []).append((indent, comment))
    return _assemble(lines, before, after, at_end)


def _assemble(lines, before, after, at_end) -> str:
    out = []
    for number, line in enumerate(lines, start=1):
        out += [" " * indent + c.text for indent, c in before.get(number, [])]
        out.append(f"{line}  {at_end[number]}" if number in at_end else line)
        out += [" " * indent + c.text for indent, c in after.get(number, [])]
    if out and out[-1] != "":
        out.append("")
    return "\n".join(out)


def _nearest(regions: dict, key: tuple) -> Region | None:
    """The region of ``key``, or of the item that holds it in the DSL's anchors."""
    while key not in regions:
        key = _HOLDER.get(key[0], lambda k: None)(key)
        if key is None:
            return regions.get(("journey",))
    return regions[key]


_HOLDER = {
    "arm": lambda k: ("step", *k[1:3]), "timeout": lambda k: ("step", *k[1:3]),
    "default": lambda k: ("step", *k[1:3]), "step": lambda k: ("stage", k[1]),
    "kpi": lambda k: ("stage", k[1]), "locale": lambda k: ("template", k[1]),
    "action": lambda k: ("handler", k[1]), "jump": lambda k: ("handler", k[1]),
    "move": lambda k: ("migration", k[1]),
    **dict.fromkeys(("cap", "quiet", "consent", "holdout", "promo"), lambda k: ("policy",)),
}


def _walk(region: Region):
    yield region
    for child in region.children:
        yield from _walk(child)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _lines_inside_scalars(text: str) -> set[int]:
    """The lines whose end a scalar runs past (a block scalar's first line, a folded
    string's): a comment cannot be put at their end."""
    inside = set()
    for token in yaml.scan(text, Loader=_LOADER):
        if isinstance(token, yaml.ScalarToken):
            first, last = token.start_mark.line + 1, token.end_mark.line + 1
            inside.update(range(first, last))
    return inside

