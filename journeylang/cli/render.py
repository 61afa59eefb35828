"""Render diagnostics like a compiler: location, code, message, source line and caret (coloured
by severity; click strips the colour where the output is not a terminal)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import click

from ..diagnostics import Diagnostic, Severity, Span
from ..source import Source


class SourceLines:
    """Source lines by file name, read once; files given up front are used as they are."""

    def __init__(self, texts: dict[str, str] | None = None):
        self._sources: dict[str, Source | None] = {
            name: Source(name, text) for name, text in (texts or {}).items()}

    def line(self, file: str, number: int) -> str | None:
        if file not in self._sources:
            try:
                self._sources[file] = Source(file, Path(file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._sources[file] = None
        source = self._sources[file]
        if source is None or not 0 < number <= len(source.lines):
            return None
        return source.line_text(number).rstrip("\r")


SEVERITY_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render(diagnostic: Diagnostic, sources: SourceLines) -> str:
    """The full text of one diagnostic (unlabelled steps named by what they do)."""
    diagnostic = diagnostic.for_people()
    colour = SEVERITY_COLOURS[diagnostic.severity]
    out = [click.style(f"{diagnostic.span}:", bold=True) + " "
           + click.style(f"{diagnostic.code} {diagnostic.severity}:", fg=colour, bold=True)
           + f" {diagnostic.message}"]
    out += _excerpt(diagnostic.span, sources, colour)
    if diagnostic.hint:
        out.append(click.style("  = hint:", fg="green") + f" {diagnostic.hint}")
    for related in diagnostic.related:
        out.append(click.style("  = note:", fg="blue") + f" {related.span}: {related.message}")
    return "\n".join(out)


def _excerpt(span: Span, sources: SourceLines, colour: str | None = None) -> list[str]:
    text = sources.line(span.file, span.line)
    if text is None:
        return []
    gutter = str(span.line)
    start = min(span.column - 1, len(text))
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    marked = max(1, display_width(text[start:max(end, start)]))
    # keep tabs, and pad wide (CJK) characters by their width, so the caret lines up
    lead = "".join(c if c == "\t" else " " * display_width(c) for c in text[:start])
    bar = click.style("|", fg="blue")
    caret = click.style(f"^{'~' * (marked - 1)}", fg=colour, bold=True)
    return [f" {click.style(gutter, fg='blue')} {bar} {text}", f" {' ' * len(gutter)} {bar} {lead}{caret}"]


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 for each wide (CJK) character, 0 for combining marks."""
    if text.isascii() and text.isprintable():
        return len(text)  # one column each: no need to load the width tables
    from wcwidth import wcwidth
    return sum(max(wcwidth(c), 0) if c != "\t" else 1 for c in text)


def summary(counts: Mapping[Severity, int], files: int) -> str:
    """The last line of a check: how many files, errors and warnings (``counts``: the number
    of diagnostics of each severity)."""
    errors, warnings = counts.get(Severity.ERROR, 0), counts.get(Severity.WARNING, 0)
    noun = "file" if files == 1 else "files"
    if not any(counts.values()):
        return click.style(f"checked {files} {noun}: no problems", fg="green")
    colour = "red" if errors else "yellow" if warnings else None
    return click.style(f"checked {files} {noun}: {errors} error(s), {warnings} warning(s)",
                       fg=colour)
