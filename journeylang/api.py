"""The Python API: parse and check journey files (the CLI is a thin shell over this)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .config import ConfigError, LintConfig, find_config, load_config  # noqa: F401 (re-exported)
from .diagnostics import Diagnostic, has_errors
from .frontend import Document, parse_file, parse_source
from .lint import run_rules
from .lint.suppress import apply_suppressions
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


def check_document(document: Document, config: LintConfig | None = None) -> CheckResult:
    """Run the enabled rules over a parsed file and drop what its directives suppress."""
    config = config or LintConfig()
    found = [d for d in document.diagnostics if config.enabled(d.code)]
    if document.journey is not None:
        found += run_rules(document.journey, config, document.source.name)
    found = apply_suppressions(found, document.source.text, document.journey)
    return CheckResult(document, sorted(set(found), key=Diagnostic.sort_key))


def check(path: str | Path, config: LintConfig | None = None) -> CheckResult:
    """Parse and check one file; without a config, the one nearest the file applies."""
    if config is None:
        config = config_for(Path(path))
    return check_document(parse_file(path), config)


def check_text(text: str, name: str = "<text>.journey",
               config: LintConfig | None = None) -> CheckResult:
    """Parse and check journey text; ``name``'s suffix picks the syntax."""
    return check_document(parse_source(Source(name, text)), config)


@lru_cache(maxsize=64)
def _config_in(folder: Path) -> LintConfig:
    return load_config(find_config(folder))


def config_for(path: Path) -> LintConfig:
    """The configuration nearest a journey file (defaults when there is none).

    Raises ConfigError for a configuration file that cannot be used.
    """
    return _config_in(path.resolve().parent)


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
