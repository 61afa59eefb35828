"""Inline suppressions: ``# journeylang: disable=JL101`` on a line or step, ``disable-file`` for a file."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..ast import Journey
from ..diagnostics import Diagnostic

DIRECTIVE = re.compile(r"#\s*journeylang:\s*(disable-file|disable)\s*=\s*([A-Za-z0-9_,\s]+)")


@dataclass
class Suppressions:
    """Codes switched off for the whole file and for ranges of lines (``all`` matches any)."""

    file_codes: set[str] = field(default_factory=set)
    ranges: list[tuple[int, int, set[str]]] = field(default_factory=list)

    def covers(self, diagnostic: Diagnostic) -> bool:
        if _matches(self.file_codes, diagnostic.code):
            return True
        line = diagnostic.span.line
        return any(first <= line <= last and _matches(codes, diagnostic.code)
                   for first, last, codes in self.ranges)


def _matches(codes: set[str], code: str) -> bool:
    return "all" in codes or code in codes


def find_suppressions(text: str, journey: Journey | None) -> Suppressions:
    """Read the directives in a file. A directive on a line of its own applies to the next
    line of code; a directive on the first line of a step (or stage, goal...) covers all of
    that step's lines."""
    found = Suppressions()
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = DIRECTIVE.search(line)
        if not match:
            continue
        codes = {c.strip() for c in match.group(2).replace(",", " ").split() if c.strip()}
        if match.group(1) == "disable-file":
            found.file_codes |= codes
            continue
        target = index + 1
        if not line[: match.start()].strip():
            target = _next_code_line(lines, index)
        found.ranges.append((target, _extent(journey, target), codes))
    return found


def _next_code_line(lines: list[str], index: int) -> int:
    for later in range(index + 1, len(lines)):
        stripped = lines[later].strip()
        if stripped and not stripped.startswith("#"):
            return later + 1
    return index + 1


def _extent(journey: Journey | None, line: int) -> int:
    """The last line of the step that starts on ``line`` (the line itself otherwise)."""
    if journey is None:
        return line
    ends = [step.span.end_line for _, step in journey.steps() if step.span.line == line]
    return max(ends, default=line)


def apply_suppressions(diagnostics: list[Diagnostic], text: str,
                       journey: Journey | None) -> list[Diagnostic]:
    suppressions = find_suppressions(text, journey)
    return [d for d in diagnostics if not suppressions.covers(d)]
