"""YAML frontend, reading layer: walk a composed node tree with marks, report diagnostics.

A *converter* ``(reader, node, what)`` turns one node into a value, or reports a diagnostic
(``what`` names the place, e.g. "'per' in cap") and raises Skip so the enclosing item is
dropped while the rest of the file is still checked. Every converter declares its shape
(yaml_shapes.py), from which the JSON Schema is generated. The journey's key tables are in
yaml.py.
"""
from __future__ import annotations

import difflib
import re
from contextlib import suppress
from functools import cache

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import CollectionNode, MappingNode, ScalarNode, SequenceNode

from .. import ast
from ..diagnostics import Diagnostic, Severity, Span
from ..limits import MAX_DURATION, MAX_NESTING, MAX_WHOLE, MAX_YAML_NODES
from ..source import Source, has_surrogate, join_surrogates
from ..units import check_number, shown
from . import yaml_shapes as shapes
from .yaml_shapes import WORD, Converter, accepts

BAD_VALUE = "JL002"
YAML_SYNTAX = "JL003"
STRUCTURE = "JL004"
TOO_LARGE = "JL005"

_NULL_TAG = "tag:yaml.org,2002:null"
_LITERAL_TYPES = (str, int, float, bool, type(None))


def scan(text: str, name: str, loader, kind: str = "a journey file") -> list[Diagnostic]:
    """What composing would not survive or would hide, found in PyYAML's event stream (which
    is read without recursion): tags, nesting deeper than MAX_NESTING, more than
    MAX_YAML_NODES values once aliases are expanded, an alias inside its own anchor. A syntax
    error is left to composing, which reports it at its mark."""
    if not _NEEDS_SCAN.search(text) and _depth_bound(text) <= MAX_NESTING:
        return []  # no tag, anchor or alias, and too shallow to nest too deeply: nothing to find
    found, values = [], _Values()
    try:
        for event in yaml.parse(text, Loader=loader):
            if getattr(event, "tag", None) is not None:  # a node's, not an alias's
                found.append(_at(STRUCTURE, f"YAML tags are not part of {kind}: {event.tag}",
                                 event, name, "quote the value to keep it as text; remove the tag"))
            problem = values.add(event)
            if problem is not None:
                found.append(_at(TOO_LARGE, problem, event, name))
                break
    except yaml.YAMLError:
        pass
    return found


# where a tag, an anchor or an alias could start a node (a superset: quoted text matches too)
_NEEDS_SCAN = re.compile(r"(?:^|[\s,\[{])[!&*]", re.M)
_INDENT = re.compile(r"^[ ?-]*", re.M)  # indentation, with '- ' and '? ' that open a level


def _depth_bound(text: str) -> int:
    """How deeply the text can nest at most: a block level takes a column of a line's
    indentation or its '- ' (a compact sequence under its key shares it, hence + 2), a flow
    level a bracket."""
    indent = max((len(m) for m in _INDENT.findall(text)), default=0)
    return indent + 2 + text.count("[") + text.count("{")


class _Values:
    """The values composing a YAML stream would build, counted as its events come."""

    def __init__(self):
        self.count = 0
        self.sizes: dict[str, int] = {}  # anchor -> values under it
        self.open: list[tuple[str | None, int]] = []  # collections being read: anchor, count

    def add(self, event) -> str | None:
        """Count one event; what goes past a limit, if it does."""
        if isinstance(event, AliasEvent):
            if any(anchor == event.anchor for anchor, _ in self.open):
                return (f"alias *{event.anchor} is inside its own anchor &{event.anchor}: the "
                        "value would never end")
            self.count += self.sizes.get(event.anchor, 1)
        elif isinstance(event, NodeEvent):
            self.count += 1
            if isinstance(event, CollectionStartEvent):
                self.open.append((event.anchor, self.count))
                if len(self.open) > MAX_NESTING:
                    return f"nested more than {MAX_NESTING} levels deep"
            elif event.anchor:
                self.sizes[event.anchor] = 1
        elif isinstance(event, CollectionEndEvent):
            anchor, start = self.open.pop()
            if anchor:
                self.sizes[anchor] = self.count - start + 1
        if self.count > MAX_YAML_NODES:
            return f"more than {MAX_YAML_NODES:,} values (aliases expanded)"
        return None


def _at(code: str, message: str, event, name: str, hint: str | None = None) -> Diagnostic:
    mark = event.start_mark
    return Diagnostic(code, Severity.ERROR, message, Span.point(name, mark.line + 1,
                                                                mark.column + 1), hint=hint)


class Skip(Exception):
    """A required part was missing or unusable (already reported): drop the item it is in."""


def keys_of(node) -> list[str]:
    """The key names of a mapping node (empty for anything else)."""
    if not isinstance(node, MappingNode):
        return []
    return [key.value for key, _ in node.value if isinstance(key, ScalarNode)]


def describe(node) -> str:
    """How a node reads in a '..., got X' message."""
    if isinstance(node, (MappingNode, SequenceNode)):
        return "a mapping" if isinstance(node, MappingNode) else "a list"
    if node.tag == _NULL_TAG:
        return "nothing" if node.value in ("", "~") else "null"
    return repr(node.value) if node.tag.endswith(":str") else node.value


def is_numeric(node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith((":int", ":float"))


class Fields:
    """The keys of one mapping that passed the checks: key -> key node / value node."""

    def __init__(self):
        self.keys, self.values, self.unknown, self.missing = {}, {}, False, False


class NodeReader:
    """Walks the composed node tree, collecting diagnostics."""

    def __init__(self, source: Source, scanned: list[Diagnostic] = ()):
        self.source = source
        self.diagnostics: list[Diagnostic] = list(scanned)  # what ``scan`` found: tags
        self.constructor = SafeConstructor()
        self.tagged = {(d.span.line, d.span.column) for d in scanned}

    # --- reporting ------------------------------------------------------------------------

    def span(self, node, end_node=None) -> Span:
        """The span of a node (or from ``node`` to the end of ``end_node``)."""
        end, seen = end_node or node, set()
        # a block collection's end mark is where the next token starts: end at its last child
        while isinstance(end, CollectionNode) and not end.flow_style and end.value \
                and id(end) not in seen:
            seen.add(id(end))
            end = end.value[-1][1] if isinstance(end, MappingNode) else end.value[-1]
        start, stop = node.start_mark, end.end_mark
        end_line, end_column = stop.line + 1, stop.column + 1
        while end_column == 1 and end_line > start.line + 1:  # a block scalar's last newline
            end_line -= 1
            end_column = len(self.source.line_text(end_line)) + 1
        return Span(self.source.name, start.line + 1, start.column + 1, end_line, end_column)

    def report(self, code: str, message: str, node, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, message, self.span(node),
                                           hint=hint))

    def wrong(self, node, what: str, expected: str, hint: str | None = None):
        self.report(STRUCTURE, f"{what} must be {expected}, got {describe(node)}", node, hint)
        raise Skip

    # --- mappings and lists -----------------------------------------------------------------

    def fields(self, node, what: str, context: str, allowed, required=()) -> Fields:
        """Check a mapping's keys: duplicates, unknown keys (with did-you-mean), missing ones.
        ``allowed`` None accepts any key (template and parameter names)."""
        if not isinstance(node, MappingNode):
            self.wrong(node, what, "a mapping")
        found = Fields()
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.report(STRUCTURE, f"keys in {context} must be names, got {describe(key)}",
                            key)
            elif key.value in found.keys:
                first = found.keys[key.value].start_mark.line + 1
                self.report(STRUCTURE, f"duplicate key '{key.value}' in {context}", key,
                            hint=f"'{key.value}' is already given on line {first}")
            elif allowed is not None and key.value not in allowed:
                self.unknown_key(key, context, allowed)
                found.unknown = True
            else:
                found.keys[key.value], found.values[key.value] = key, value
        for key in required:
            if key not in found.values:
                self.report(STRUCTURE, f"missing required key '{key}' in {context}", node)
                found.missing = True
        return found

    def unknown_key(self, key, context: str, allowed) -> None:
        close = difflib.get_close_matches(key.value, allowed, n=1)
        message = f"unknown key '{key.value}' in {context}"
        message += f"; did you mean '{close[0]}'?" if close else ""
        self.report(STRUCTURE, message, key, hint="expected one of: " + ", ".join(allowed))

    def record(self, node, what: str, context: str, make, spec: dict, fixed: dict):
        """``make(**fields)`` from a mapping read by a key table (see ``_record``)."""
        required = [key for key, (_, _, needed) in spec.items() if needed]
        found = self.fields(node, what, context, tuple(spec), required)
        values, failed = dict(fixed), found.missing
        for key, (field, convert, needed) in spec.items():
            if key in found.values:
                try:
                    values[field] = convert(self, found.values[key], f"'{key}' in {context}")
                except Skip:  # an unusable optional value falls back to the model's default
                    failed = failed or needed
        if failed:
            raise Skip
        return make(**values, span=self.span(node))

    def items(self, node, what: str, convert) -> tuple:
        """Convert each entry of a list, dropping the entries that fail."""
        if not isinstance(node, SequenceNode):
            self.wrong(node, what, "a list")
        built = []
        for i, child in enumerate(node.value):
            with suppress(Skip):
                built.append(convert(self, child, f"entry {i + 1} of {what}"))
        return tuple(built)

    def optional(self, convert, node, what: str, default=None):
        """``convert``'s value, or ``default`` when ``node`` is None (absent) or unusable."""
        if node is None:
            return default
        try:
            return convert(self, node, what)
        except Skip:
            return default

    # --- scalars --------------------------------------------------------------------------

    def scalar(self, node, what: str, expected: str) -> str:
        """The text of a non-null scalar (keeps ``on``, ``no`` and ``10:00`` as written)."""
        if not isinstance(node, ScalarNode) or node.tag == _NULL_TAG:
            self.wrong(node, what, expected)
        return self.proper(node, node.value, what)

    def proper(self, node, value: str, what: str) -> str:
        """Text with escaped surrogate pairs joined; a lone half is JL002."""
        if not has_surrogate(value):
            return value
        value = join_surrogates(value)
        if has_surrogate(value):
            self.report(BAD_VALUE, f"{what}: a \\u escape of half a surrogate pair is not a "
                                   "character", node,
                        hint="write the character itself (files are UTF-8), or both halves")
            raise Skip
        return value

    @accepts(shapes.TEXT)
    def text(self, node, what: str) -> str:
        return self.scalar(node, what, "a string")

    @accepts(shapes.NAME)
    def name(self, node, what: str) -> str:
        value = self.scalar(node, what, "a name")
        if not is_name(value):
            self.wrong(node, what, "a name (letters, digits and _, not starting with a digit)")
        return value

    @accepts(shapes.PATH)
    def path(self, node, what: str) -> str:
        if not all(map(is_name, self.scalar(node, what, "an attribute path").split("."))):
            self.wrong(node, what, "an attribute path such as customer.segment")
        return node.value

    @accepts(shapes.LITERAL)
    def value(self, node, what: str):
        """A scalar resolved the YAML way: int, float, bool, null or string; a number must be
        finite and within +-MAX_NUMBER."""
        if not isinstance(node, ScalarNode):
            self.wrong(node, what, "a string, number, true, false or null")
        if (node.start_mark.line + 1, node.start_mark.column + 1) in self.tagged:
            raise Skip  # a tagged value: reported already
        if node.tag.endswith(":int") and len(node.value.replace("_", "").lstrip("+-0")) > 20:
            value = float("inf")  # too long to convert: it is out of range anyway
        else:
            try:
                value = self.constructor.construct_object(node)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError, LookupError) as exc:
                self.report(STRUCTURE, f"{what} cannot be read: {str(exc).splitlines()[0]}",
                            node)
                raise Skip from None
        if not isinstance(value, _LITERAL_TYPES):
            self.wrong(node, what, "a string, number, true, false or null",
                       hint="quote the value to keep it as text")
        if isinstance(value, str):
            return self.proper(node, value, what)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                check_number(value, node.value)
            except ValueError as exc:
                self.report(BAD_VALUE, f"{what}: {exc}", node)
                raise Skip from None
        return value

    @accepts(shapes.LITERAL)
    def literal(self, node, what: str) -> ast.Literal:
        return ast.Literal(self.value(node, what), span=self.span(node))

    @accepts(shapes.INTEGER)
    def integer(self, node, what: str) -> int:
        return self.number(node, what, whole=True)

    @accepts(shapes.COUNT)
    def count(self, node, what: str, low: int = 1, high: int = MAX_WHOLE) -> int:
        """A whole number from ``low`` to ``high``: a version, a cap (from 1), a capacity,
        expected entries (from 0); out of range, JL002 and ``low``, as in the DSL."""
        value = self.integer(node, what)
        if not low <= value <= high:
            self.report(BAD_VALUE, f"{what} must be a whole number between {low} and "
                                   f"{high:,}, got {shown(node.value)}", node)
            return low
        return value

    @accepts(shapes.AMOUNT)
    def amount(self, node, what: str) -> int:
        """A whole number from 0 to MAX_WHOLE (a capacity, expected entries)."""
        return self.count(node, what, 0)

    @accepts(shapes.DAY)
    def day(self, node, what: str) -> int:
        """A day after entry (``until_day``), from 0 to 3650 like every duration."""
        return self.count(node, what, 0, MAX_DURATION // 86400)

    @accepts(shapes.NUMBER)
    def number(self, node, what: str, whole: bool = False) -> float:
        value = self.value(node, what)
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            self.wrong(node, what, "a whole number" if whole else "a number")
        return value if whole else float(value)

    def unit(self, parse, expected: str, node, what: str, hint=None, fallback=Skip):
        """Parse a duration, time or percentage; a bad value is JL002 and, as in the DSL,
        gives ``fallback`` (or drops the optional value it was)."""
        text = self.scalar(node, what, expected)
        try:
            return parse(text)
        except ValueError as exc:
            self.report(BAD_VALUE, str(exc), node, hint)
        if fallback is Skip:
            raise Skip
        return fallback


# --- converters built from key tables ------------------------------------------------------

def is_name(value: str) -> bool:
    """Whether ``value`` is the DSL's NAME, so that every YAML journey can be written as text.
    An ASCII name is told by ``str.isidentifier``: the expression, whose ranges of CJK
    characters take a millisecond or two to compile, is compiled only for other text."""
    return (value.isascii() and value.isidentifier()) or _name().match(value) is not None


@cache
def _name() -> re.Pattern:
    return re.compile(rf"{WORD}\Z")


_PARAM_REF = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*\Z")


def parameter_or(convert) -> Converter:
    """A converter for a fragment's ``$name`` (unquoted, where the DSL takes one too) or what
    ``convert`` reads; a ``$name`` outside a fragment is reported on expansion, as in the DSL."""
    def read(builder, node, what):
        if isinstance(node, ScalarNode) and not node.style and _PARAM_REF.match(node.value):
            return ast.ParamRef(node.value[1:], span=builder.span(node))
        return convert(builder, node, what)
    return Converter(read, lambda: shapes.AnyOf((shapes.PARAM_REF, convert)))


def record(context: str, make, spec: dict, **fixed) -> Converter:
    """A converter reading a mapping by a key table: key -> (model field, converter, required)."""
    return Converter(lambda builder, node, what: builder.record(node, what, context, make, spec,
                                                                fixed),
                     shapes.Record(context, spec))


def each(convert) -> Converter:
    """A converter for a list of entries read by ``convert``."""
    return Converter(lambda builder, node, what: builder.items(node, what, convert),
                     shapes.ListOf(convert))


def one_or_many(convert) -> Converter:
    """A converter for one value or a list of them, giving a tuple."""
    def read(builder, node, what):
        if isinstance(node, SequenceNode):
            return builder.items(node, what, convert)
        return (convert(builder, node, what),)
    return Converter(read, shapes.OneOrMany(convert))


def either(short, full) -> Converter:
    """A converter for a scalar shorthand (``short``) or a mapping (``full``)."""
    return Converter(lambda builder, node, what: (full if isinstance(node, MappingNode) else short)(
        builder, node, what), shapes.AnyOf((short, full)))


def short(make, field: str, convert) -> Converter:
    """A step written as its one value, e.g. ``goto: done``."""
    return Converter(lambda builder, node, what: make("", **{field: convert(builder, node, what)}),
                     lambda: shapes.shape_of(convert))


def exactly_one(convert, keys: tuple[str, ...], expected: str) -> Converter:
    """A converter for a mapping that must hold exactly one of ``keys``."""
    def read(builder, node, what):
        reported = len(builder.diagnostics)
        value = convert(builder, node, what)
        # an unknown key is already reported, with its did-you-mean: say no more
        if sum(key in keys_of(node) for key in keys) != 1 and len(builder.diagnostics) == reported:
            builder.report(STRUCTURE, f"{what} needs exactly one of " + " or ".join(
                f"'{key}'" for key in keys) + f": {expected}", node)
            raise Skip
        return value
    return Converter(read, lambda: _with_one_of(shapes.shape_of(convert), keys))


def _with_one_of(shape, keys):
    return shapes.Record(shape.context, shape.keys, tuple(keys))
