"""``fmt`` and ``convert``: print, then prove the new text reads back to the same model."""
from __future__ import annotations

from collections import defaultdict, deque

from lark import Token

from ..diagnostics import Diagnostic, has_errors
from ..frontend import Comment, Document, parse_source
from ..frontend.text import parse_tree
from ..frontend.yaml_comments import yaml_comments
from ..source import Source
from ..units import parse_duration
from .comments import CommentMap, attach
from .dsl import print_journey
from .yaml import print_yaml
from .yaml_comments import attach_yaml, with_comments


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
    """``document`` printed in the other syntax (``yaml`` or ``journey``) with every comment
    next to the item it was written beside, checked to read back to an equal model with the
    same comments."""
    _usable(document)
    comments, placed = source_comments(document)
    if to == "yaml":
        text = with_comments(print_yaml(document.journey, placed.keys()), placed)
        target = name or "converted.yaml"
    else:
        text = print_journey(document.journey, placed)
        target = name or "converted.journey"
    printed = Source(target, text)
    _same(document, printed, "converting")
    if _texts(comments) != _texts(source_comments(parse_source(printed))[0]):
        raise FormatError(f"converting {document.source.name} would lose or change a comment "
                          "(a bug in journeylang): nothing is written")
    return text


def source_comments(document: Document) -> tuple[list[Comment], CommentMap]:
    """The comments of a parsed file, and each one's anchor among its items."""
    source = document.source
    if source.is_yaml:
        comments = yaml_comments(source.text, source.name)
        return comments, attach_yaml(source.text, comments)
    return document.comments, attach(source.text, document.comments, parse_tree(source.text))


def _texts(comments: list[Comment]) -> list[str]:
    return sorted(c.text.rstrip() for c in comments)


def _same(document: Document, printed: Source, doing: str) -> None:
    again = parse_source(printed)
    if again.journey != document.journey or has_errors(again.diagnostics):
        problems = "; ".join(f"{d.code} {d.message}" for d in again.diagnostics[:3])
        raise FormatError(
            f"{doing} {document.source.name} would change what it means"
            + (f" ({problems})" if problems else "")
            + ": it uses something the other form cannot write; the file is left as it is")
