"""Frontends: turn source text (DSL or YAML) into the typed model, collecting diagnostics."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ast import Fragment, Journey
from ..diagnostics import Diagnostic, JourneyError, Span
from ..records import record
from ..source import Source, oversized, too_large


@record
class Comment:
    """A ``#`` comment, kept for suppressions and the formatter."""

    text: str
    span: Span


@dataclass
class Document:
    """The result of parsing one file: the model (None when unusable) and what went wrong."""

    source: Source
    journey: Journey | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


def parse_source(source: Source) -> Document:
    """Parse DSL or YAML text, chosen by the file name."""
    if oversized(source.text):
        return Document(source, None, [too_large(source.name)])
    if source.is_yaml:
        from .yaml import parse_yaml
        return parse_yaml(source)
    from .text import parse_text
    return parse_text(source)


def parse_journey_or_fragments(source: Source) -> Document:
    """A journey file as ``parse_source`` reads it; a fragment file (stdlib/, fragments/) as a
    document without a journey that holds the fragments' own problems (their definitions are
    checked where a journey uses them)."""
    if not oversized(source.text) and is_fragment_source(source):
        return Document(source, None, parse_fragment_file(source)[1])
    return parse_source(source)


def parse_file(path, parse=parse_source) -> Document:
    """Read and ``parse`` a file; an unreadable file gives a document with one diagnostic."""
    try:
        source = Source.read(path)
    except JourneyError as exc:
        return Document(Source(str(path), ""), None, exc.diagnostics)
    return parse(source)


def parse_fragment_file(source: Source) -> tuple[list[Fragment], list[Diagnostic]]:
    """Parse a fragment file (stdlib/, fragments/), DSL or YAML, chosen by the file name."""
    if source.is_yaml:
        from .yaml import parse_yaml_fragments
        return parse_yaml_fragments(source)
    from .text import parse_fragments
    return parse_fragments(source)


def is_fragment_source(source: Source) -> bool:
    """Whether a file declares fragments rather than a journey."""
    if source.is_yaml:
        from .yaml import is_yaml_fragment_file
        return is_yaml_fragment_file(source.text)
    from .text import is_fragment_file
    return is_fragment_file(source.text)
