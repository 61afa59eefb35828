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

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import CollectionNode, MappingNode, ScalarNode, SequenceNode

from .. import ast
from ..diagnostics import Diagnostic, Severity, Span
from ..source import Source
from . import yaml_shapes as shapes
from .yaml_shapes import WORD, Converter, accepts

BAD_VALUE = "JL002"
YAML_SYNTAX = "JL003"
STRUCTURE = "JL004"

_NAME = re.compile(rf"{WORD}\Z")  # the DSL's NAME, so every YAML journey can be written as text
_PATH = re.compile(rf"{WORD}(\.{WORD})*\Z")
_NULL_TAG = "tag:yaml.org,2002:null"
_LITERAL_TYPES = (str, int, float, bool, type(None))


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

    def __init__(self, source: Source):
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.constructor = SafeConstructor()

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
        return node.value

    @accepts(shapes.TEXT)
    def text(self, node, what: str) -> str:
        return self.scalar(node, what, "a string")

    @accepts(shapes.NAME)
    def name(self, node, what: str) -> str:
        value = self.scalar(node, what, "a name")
        if not _NAME.match(value):
            self.wrong(node, what, "a name (letters, digits and _, not starting with a digit)")
        return value

    @accepts(shapes.PATH)
    def path(self, node, what: str) -> str:
        if not _PATH.match(self.scalar(node, what, "an attribute path")):
            self.wrong(node, what, "an attribute path such as customer.segment")
        return node.value

    @accepts(shapes.LITERAL)
    def value(self, node, what: str):
        """A scalar resolved the YAML way: int, float, bool, null or string."""
        if not isinstance(node, ScalarNode):
            self.wrong(node, what, "a string, number, true, false or null")
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.report(STRUCTURE, f"{what} cannot be read: {str(exc).splitlines()[0]}", node)
            raise Skip from None
        if not isinstance(value, _LITERAL_TYPES):
            self.wrong(node, what, "a string, number, true, false or null",
                       hint="quote the value to keep it as text")
        return value

    @accepts(shapes.LITERAL)
    def literal(self, node, what: str) -> ast.Literal:
        return ast.Literal(self.value(node, what), span=self.span(node))

    @accepts(shapes.INTEGER)
    def integer(self, node, what: str) -> int:
        return self.number(node, what, whole=True)

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
