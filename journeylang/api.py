"""The Python API: parse and check journey files (the CLI is a thin shell over this)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .diagnostics import Diagnostic, has_errors
from .frontend import Document, parse_file, parse_source
from .lint import run_rules
from .source import DSL_SUFFIXES, YAML_SUFFIXES, Source

JOURNEY_SUFFIXES = DSL_SUFFIXES + YAML_SUFFIXES


@dataclass
class CheckResult:
    """A parsed file and every diagnostic found in it, sorted by position."""

    document: Document
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def parse(path: str | Path) -> Document:
    """Parse one journey file (DSL or YAML, by its suffix)."""
    return parse_file(path)


def check_document(document: Document) -> CheckResult:
    found = list(document.diagnostics)
    if document.journey is not None:
        found += run_rules(document.journey)
    return CheckResult(document, sorted(set(found), key=Diagnostic.sort_key))


def check(path: str | Path) -> CheckResult:
    """Parse and check one file."""
    return check_document(parse_file(path))


def check_text(text: str, name: str = "<text>.journey") -> CheckResult:
    """Parse and check journey text; ``name``'s suffix picks the syntax."""
    return check_document(parse_source(Source(name, text)))


def journey_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to the journey files below them; files are kept as given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in JOURNEY_SUFFIXES)
        else:
            found.append(path)
    return found
