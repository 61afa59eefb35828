"""Diagnostics as data: spans, severities and the messages every stage reports."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace

from .records import record


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, end column exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> "Span":
        return cls(file, line, column, line, column + 1)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(enum.IntEnum):
    """How bad a diagnostic is; higher is worse."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()


@record
class Related:
    """Another place that explains a diagnostic (the other end of a loop, a first send)."""

    span: Span
    message: str


@record
class StepName:
    """How text for people names a step that a message quotes by its stable id
    (``'win_back.7'``): ``kind`` is the word a message may put before the id (``send``),
    ``description`` says what the step does and where it is."""

    id: str
    kind: str
    description: str


@record
class Diagnostic:
    """One problem found in a journey, with where it is and how to fix it. ``steps`` name
    the unlabelled steps the texts quote, for text output (machine formats keep the ids)."""

    code: str
    severity: Severity
    message: str
    span: Span
    hint: str | None = None
    related: tuple[Related, ...] = field(default=())
    steps: tuple[StepName, ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple:
        """Position, code and message, then the rest, so that the order never depends on the
        order the checks found them in."""
        return (self.span.file, self.span.line, self.span.column, self.code, self.message,
                self.span, self.hint or "", tuple((r.span, r.message) for r in self.related))

    def for_people(self) -> "Diagnostic":
        """The diagnostic as text output shows it: each quoted step id of ``steps`` (and
        the kind word before it, ``send 'win_back.7'``) replaced by what the step does,
        ``the send of cart_offer in stage win_back (line 41)``."""
        if not self.steps:
            return self
        return replace(self, message=_named(self.message, self.steps),
                       hint=self.hint and _named(self.hint, self.steps),
                       related=tuple(Related(r.span, _named(r.message, self.steps))
                                     for r in self.related), steps=())


def _named(text: str, steps: tuple[StepName, ...]) -> str:
    for step in steps:
        text = re.sub(rf"(?:\b(?:{re.escape(step.kind)}|step) )?'{re.escape(step.id)}'",
                      lambda _, description=step.description: description, text)
    return text


def has_errors(diagnostics) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


class JourneyError(Exception):
    """Raised when a stage cannot go on; carries the diagnostics that explain why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(f"{d.span}: {d.code} {d.message}" for d in self.diagnostics))


class TablesError(Exception):
    """Compiled tables that cannot be read; the message names the file and what is wrong."""
