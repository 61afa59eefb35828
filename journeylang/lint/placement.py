"""Where each character of a template text was written: offsets in the journey or template file.

An inline text went through unquoting (DSL escapes, the dedent of a triple-quoted string,
YAML quoting and folding), so its characters are aligned with the literal as written.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ..diagnostics import Span
from ..frontend.text import unquote
from ..source import YAML_SUFFIXES
from ..templates import TemplateSource

if TYPE_CHECKING:
    import yaml

_DSL_LITERAL = re.compile(r'"""[\s\S]*?"""|"[^"\\\n]*(?:\\.[^"\\\n]*)*"')  # as the grammar
# a backslash escape in a double-quoted string: one character (a YAML line continuation: none)
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|\n[ \t]*|.)", re.S)


def text_offsets(source: TemplateSource, file_text: str) -> list[int] | None:
    """The file offset of every character of ``source.text``; None when the literal is not
    found where its span says (the caller then points at the span)."""
    if not source.inline:
        return list(range(len(source.text)))
    start = offset_of(file_text, source.span.line, source.span.column)
    if source.span.file.lower().endswith(YAML_SUFFIXES):
        found = _yaml_literal(file_text, start, source.text)
    else:
        found = _dsl_literal(file_text, start, source.text)
    return None if found is None else _align(source.text, file_text, *found)


def span_at(file: str, text: str, start: int, end: int) -> Span:
    """The span of ``text[start:end]`` (offsets) in ``file``."""
    line, column = position(text, start)
    end_line, end_column = position(text, end)
    return Span(file, line, column, end_line, end_column)


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset (lines end at '\\n', as the parsers count)."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def offset_of(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return len(text)
    return start + column - 1


def _dsl_literal(file_text: str, start: int, decoded: str) -> tuple[int, int, bool] | None:
    """(start, end, escapes) of the string literal at or after ``start`` that holds ``decoded``."""
    match = _DSL_LITERAL.search(file_text, start)
    if not match or unquote(match.group(0)) != decoded:
        return None
    triple = match.group(0).startswith('"""')
    quote = 3 if triple else 1
    return match.start() + quote, match.end() - quote, not triple


def _yaml_literal(file_text: str, start: int, decoded: str) -> tuple[int, int, bool] | None:
    """The first scalar at or after ``start`` whose value is ``decoded``."""
    for node in _yaml_scalars(file_text):
        if node.start_mark.index >= start and node.value == decoded:
            begin = node.start_mark.index
            if node.style in ("|", ">"):  # the text starts below the block scalar's header
                begin = file_text.find("\n", begin) + 1 or node.end_mark.index
            return begin, node.end_mark.index, node.style == '"'
    return None


@lru_cache(maxsize=8)
def _yaml_scalars(file_text: str) -> list[yaml.ScalarNode]:
    import yaml  # only for texts in a YAML file: a DSL file's check imports no YAML parser
    try:
        root = yaml.compose(file_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            found.append(node)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
        elif isinstance(node, yaml.MappingNode):
            stack += [part for pair in node.value for part in pair]
    return sorted(found, key=lambda n: n.start_mark.index)


def _align(decoded: str, file_text: str, start: int, end: int, escapes: bool) -> list[int] | None:
    """Match each decoded character with the raw character (or escape) it came from; raw
    characters that unquoting dropped (quotes, indentation, folded line breaks) are skipped."""
    offsets, j = [], start
    for char in decoded:
        while j < end:
            escape = _ESCAPE.match(file_text, j) if escapes and file_text[j] == "\\" else None
            if escape:
                j = escape.end()
                if "\n" in escape.group(0):
                    continue
                offsets.append(escape.start())
                break
            j += 1
            if file_text[j - 1] == char:
                offsets.append(j - 1)
                break
        else:
            return None
    return offsets


def setting_span(file_text: str | None, within: Span, key: str, value: str = r"-?\d",
                 part: str = "key") -> Span:
    """Where ``key`` is written with a value matching ``value`` (``target 40%``, ``target:
    40%``, ``at: welcome``) inside ``within``: the span of the key, or of the value with
    ``part="value"``; ``within`` itself when not found (a value with no span of its own)."""
    if file_text is None:
        return within
    start = offset_of(file_text, within.line, within.column)
    end = offset_of(file_text, within.end_line, within.end_column)
    pattern = re.compile(rf"(?<![\w-])(?P<key>{re.escape(key)})[\"']?\s*:?\s*[\"']?"
                         rf"(?P<value>{value})")
    match = pattern.search(file_text, start, end)
    return span_at(within.file, file_text, *match.span(part)) if match else within
