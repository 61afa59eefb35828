"""Render diagnostics like a compiler: location, code, message, source line and caret."""
from __future__ import annotations

from pathlib import Path

from wcwidth import wcwidth

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


def render(diagnostic: Diagnostic, sources: SourceLines) -> str:
    """The full text of one diagnostic."""
    out = [f"{diagnostic.span}: {diagnostic.code} {diagnostic.severity}: {diagnostic.message}"]
    out += _excerpt(diagnostic.span, sources)
    if diagnostic.hint:
        out.append(f"  = hint: {diagnostic.hint}")
    for related in diagnostic.related:
        out.append(f"  = note: {related.span}: {related.message}")
    return "\n".join(out)


def _excerpt(span: Span, sources: SourceLines) -> list[str]:
    text = sources.line(span.file, span.line)
    if text is None:
        return []
    gutter = str(span.line)
    start = min(span.column - 1, len(text))
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    marked = max(1, display_width(text[start:max(end, start)]))
    # keep tabs, and pad wide (CJK) characters by their width, so the caret lines up
    lead = "".join(c if c == "\t" else " " * display_width(c) for c in text[:start])
    return [f" {gutter} | {text}", f" {' ' * len(gutter)} | {lead}^{'~' * (marked - 1)}"]


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 for each wide (CJK) character, 0 for combining marks."""
    return sum(max(wcwidth(c), 0) if c != "\t" else 1 for c in text)


def summary(diagnostics: list[Diagnostic], files: int) -> str:
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    noun = "file" if files == 1 else "files"
    if not diagnostics:
        return f"checked {files} {noun}: no problems"
    return f"checked {files} {noun}: {errors} error(s), {warnings} warning(s)"
