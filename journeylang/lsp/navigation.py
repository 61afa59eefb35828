"""Language server: go to definition, find references and rename (steps, stages, templates,
roles, events, outcomes, fragments and their parameters)."""
from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from .. import ast
from ..diagnostics import Span
from ..expand import Library
from ..frontend.yaml_shapes import WORD
from ..templates import TemplateSet
from .analysis import Analysis
from .positions import Lines
from .symbols import (EVENT, FRAGMENT, JOURNEY, OUTCOME, PARAMETER, ROLE, SEGMENT, STAGE, STEP,
                      TEMPLATE, Symbol, symbol_at)

RENAMABLE = (STEP, STAGE, TEMPLATE, ROLE, EVENT, OUTCOME, PARAMETER, JOURNEY)
_NAME = re.compile(rf"{WORD}\Z")


def definition(analysis: Analysis, lines: Lines, position) -> list[types.Location]:
    symbol = symbol_at(analysis.index, lines, position)
    if symbol is None:
        return []
    here = [_location(analysis, lines, s.span) for s in
            analysis.index.definitions(symbol.kind, symbol.name)]
    if here:
        return here
    if symbol.kind == FRAGMENT:
        return _fragment_definition(analysis, symbol.name)
    if symbol.kind == TEMPLATE:
        return _template_files(analysis, symbol.name)
    if symbol.kind == SEGMENT:
        return [_file_location(s.file, s.line, rf"(?<![\w.])({re.escape(s.name)})\s*=")
                for s in analysis.config.segments if s.name == symbol.name]
    return []


def references(analysis: Analysis, lines: Lines, position,
               include_declaration: bool = True) -> list[types.Location]:
    symbol = symbol_at(analysis.index, lines, position)
    if symbol is None:
        return []
    return [_location(analysis, lines, s.span)
            for s in analysis.index.occurrences(symbol.kind, symbol.name)
            if include_declaration or not s.defines]


def prepare_rename(analysis: Analysis, lines: Lines, position) -> types.Range | None:
    symbol = symbol_at(analysis.index, lines, position)
    if symbol is None or _refusal(analysis, symbol) is not None:
        return None
    return lines.range(symbol.span)


def rename(analysis: Analysis, lines: Lines, position, new_name: str) -> types.WorkspaceEdit:
    """Every occurrence of the name under the cursor, renamed; JsonRpcInvalidParams says why a
    rename cannot be done."""
    symbol = symbol_at(analysis.index, lines, position)
    if symbol is None:
        raise JsonRpcInvalidParams("there is no step, stage, template, role, event or outcome "
                                   "name here to rename")
    refused = _refusal(analysis, symbol)
    if refused:
        raise JsonRpcInvalidParams(refused)
    if not _NAME.match(new_name):
        raise JsonRpcInvalidParams(f"'{new_name}' is not a name: letters (Chinese too), digits "
                                   "and _, not starting with a digit")
    if new_name != symbol.name and analysis.index.definitions(symbol.kind, new_name):
        raise JsonRpcInvalidParams(f"a {symbol.kind} named '{new_name}' already exists")
    edits = [types.TextEdit(lines.range(s.span), new_name)
             for s in analysis.index.occurrences(symbol.kind, symbol.name)]
    return types.WorkspaceEdit(changes={analysis.uri: edits})


def _refusal(analysis: Analysis, symbol: Symbol) -> str | None:
    if analysis.index.partial:
        return "the text has syntax errors: fix them first, so that every use is found"
    if symbol.kind not in RENAMABLE:
        return f"a {symbol.kind} cannot be renamed here"
    if symbol.kind == OUTCOME and symbol.name in ast.STANDARD_OUTCOMES:
        return f"'{symbol.name}' is a standard outcome"
    if symbol.kind == TEMPLATE and not analysis.index.definitions(TEMPLATE, symbol.name) \
            and _template_files(analysis, symbol.name):
        return (f"template '{symbol.name}' is a file in templates/: rename the file, then "
                "its uses")
    if symbol.kind == PARAMETER and not analysis.fragment_file:
        return "a fragment's parameter is renamed in the fragment's file"
    return None


def _location(analysis: Analysis, lines: Lines, span: Span) -> types.Location:
    return types.Location(analysis.uri, lines.range(span))


def _fragment_definition(analysis: Analysis, name: str) -> list[types.Location]:
    fragment = Library.for_file(analysis.source.name).fragments.get(name)
    if fragment is None:
        return []
    return [_file_location(fragment.span.file, fragment.span.line,
                           rf"\bfragment\s*:?\s*({re.escape(name)})\b")]


def _template_files(analysis: Analysis, name: str) -> list[types.Location]:
    templates = TemplateSet.for_journey(analysis.model or ast.Journey(""), analysis.source.name)
    return [_file_location(source.span.file, 1, None)
            for source in templates.locales(name).values() if not source.inline]


def _file_location(file: str, line: int, pattern: str | None) -> types.Location:
    """A place in another file: the first match of ``pattern`` from ``line`` on (or the line)."""
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    lines = Lines(text)
    span = Span(file, line, 1, line, 1)
    if pattern:
        for number in range(line, len(lines.lines) + 1):
            found = re.search(pattern, lines.line(number - 1))
            if found:
                span = Span(file, number, found.start(1) + 1, number, found.end(1) + 1)
                break
    return types.Location(path.resolve().as_uri(), lines.range(span))
