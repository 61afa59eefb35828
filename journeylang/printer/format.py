"""``fmt`` and ``convert``: print, then prove the new text reads back to the same model."""
from __future__ import annotations

from collections import defaultdict, deque

from lark import Token

from ..diagnostics import Diagnostic, has_errors
from ..frontend import Document, parse_source
from ..frontend.text import parse_tree
from ..source import Source
from ..units import parse_duration
from .comments import attach
from .dsl import print_journey
from .yaml import print_yaml


class FormatError(Exception):
    """The text cannot be formatted or converted safely; the message says why."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


def _usable(document: Document) -> None:
    if document.journey is None or has_errors(document.diagnostics):
        raise FormatError(f"{document.source.name} has syntax errors; fix them first",
                          [d for d in document.diagnostics])


def format_document(document: Document) -> str:
    """The canonical DSL text of a parsed ``.journey`` file, its comments kept."""
    _usable(document)
    source = document.source
    tree = parse_tree(source.text)
    comments = attach(source.text, document.comments, tree)
    text = keep_durations(tree, print_journey(document.journey, comments))
    _same(document, Source(source.name, text), "formatting")
    again = parse_source(Source(source.name, text))
    if sorted(c.text.rstrip() for c in again.comments) != sorted(
            c.text.rstrip() for c in document.comments):
        raise FormatError(f"formatting {source.name} would lose or change a comment "
                          "(a bug in journeylang): the file is left as it is")
    return text


def keep_durations(tree, printed: str) -> str:
    """``printed`` with every duration spelled as the author wrote it: the printer writes a
    duration from its seconds (``72h`` would become ``3d``, ``60m`` ``1h``); each printed
    duration takes the next unused written spelling of the same length of time."""
    written: dict[int, deque] = defaultdict(deque)
    for token in _durations(tree):
        written[parse_duration(token)].append(str(token))
    out, last = [], 0
    for token in _durations(parse_tree(printed)):
        spellings = written[parse_duration(token)]
        if spellings:
            out += [printed[last:token.start_pos], spellings.popleft()]
            last = token.end_pos
    return "".join(out) + printed[last:]


def _durations(tree) -> list[Token]:
    found = tree.scan_values(lambda value: isinstance(value, Token) and value.type == "DURATION")
    return sorted(found, key=lambda token: token.start_pos)


def format_text(text: str, name: str = "<text>.journey") -> str:
    return format_document(parse_source(Source(name, text)))


def convert_document(document: Document, to: str, name: str | None = None) -> str:
    """``document`` printed in the other syntax (``yaml`` or ``journey``), checked to read
    back to an equal model."""
    _usable(document)
    if to == "yaml":
        text = print_yaml(document.journey)
        target = name or "converted.yaml"
    else:
        text = print_journey(document.journey)
        target = name or "converted.journey"
    _same(document, Source(target, text), "converting")
    return text


def _same(document: Document, printed: Source, doing: str) -> None:
    again = parse_source(printed)
    if again.journey != document.journey or has_errors(again.diagnostics):
        problems = "; ".join(f"{d.code} {d.message}" for d in again.diagnostics[:3])
        raise FormatError(
            f"{doing} {document.source.name} would change what it means"
            + (f" ({problems})" if problems else "")
            + ": it uses something the other form cannot write; the file is left as it is")
