"""``fmt`` and ``convert``: print, then prove the new text reads back to the same model."""
from __future__ import annotations

from ..diagnostics import Diagnostic, has_errors
from ..frontend import Document, parse_source
from ..frontend.text import parse_tree
from ..source import Source
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
    text = print_journey(document.journey, comments)
    _same(document, Source(source.name, text), "formatting")
    again = parse_source(Source(source.name, text))
    if sorted(c.text.rstrip() for c in again.comments) != sorted(
            c.text.rstrip() for c in document.comments):
        raise FormatError(f"formatting {source.name} would lose or change a comment "
                          "(a bug in journeylang): the file is left as it is")
    return text


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
