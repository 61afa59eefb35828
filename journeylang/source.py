"""Source files: text, path and the line lookups diagnostics need."""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from .diagnostics import Diagnostic, JourneyError, Severity, Span
from .limits import MAX_FILE_BYTES
from .records import record

DSL_SUFFIXES = (".journey",)
YAML_SUFFIXES = (".yaml", ".yml")


@record
class Source:
    """The text of one journey file and the name diagnostics use for it."""

    name: str
    text: str

    @classmethod
    def read(cls, path: str | Path) -> "Source":
        """Read a file as UTF-8; unreadable files become a JL000 diagnostic."""
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise JourneyError([_io_error(str(path), exc.strerror or str(exc))]) from None
        return cls.decode(str(path), raw)

    @classmethod
    def decode(cls, name: str, raw: bytes) -> "Source":
        """Bytes read from a file or standard input as UTF-8 (a BOM is dropped); more than
        MAX_FILE_BYTES or invalid text becomes a diagnostic (JL005, JL000 at the first bad
        byte)."""
        if len(raw) > MAX_FILE_BYTES:
            raise JourneyError([too_large(name)])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise JourneyError([
                Diagnostic("JL000", Severity.ERROR, "file is not valid UTF-8 text",
                           Span.point(name, line, column),
                           hint="save the file as UTF-8")
            ]) from None
        return cls(name, text)

    @property
    def is_yaml(self) -> bool:
        return self.name.lower().endswith(YAML_SUFFIXES)

    @cached_property
    def lines(self) -> list[str]:
        """The lines as the parsers count them (only '\\n' ends a line), split once."""
        return self.text.split("\n")

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline ('' past the end)."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column


def too_large(name: str) -> Diagnostic:
    return Diagnostic("JL005", Severity.ERROR, f"file is larger than {MAX_FILE_BYTES:,} bytes "
                      "(1 MiB)", Span.point(name, 1, 1),
                      hint="split it: fragments (the `use` statement) share steps between files")


def oversized(text: str) -> bool:
    """Whether text takes more than MAX_FILE_BYTES as UTF-8 (encoded only when it may)."""
    return len(text) > MAX_FILE_BYTES or (len(text) * 4 > MAX_FILE_BYTES
                                           and len(text.encode("utf-8", "surrogatepass"))
                                           > MAX_FILE_BYTES)


_SURROGATE = re.compile("[\ud800-\udfff]")


def join_surrogates(text: str) -> str:
    """Text with each UTF-16 surrogate pair (as ``\\ud83d\\ude00`` escapes give) made one
    character; a lone half is left for ``has_surrogate`` to find."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


def has_surrogate(text: str) -> bool:
    """Whether text holds half a surrogate pair: not a character, and UTF-8 cannot hold it."""
    return _SURROGATE.search(text) is not None


def _io_error(name: str, reason: str) -> Diagnostic:
    return Diagnostic("JL000", Severity.ERROR, f"cannot read file: {reason}",
                      Span.point(name, 1, 1))
