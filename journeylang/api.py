"""The Python API: parse and check journey files (the CLI is a thin shell over this)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .config import ConfigError, LintConfig, find_config, load_config  # noqa: F401 (re-exported)
from .diagnostics import Diagnostic, TablesError, has_errors
from .expand import FRAGMENT_DIR, expand_document
from .ast import Journey  # noqa: F401 (CheckResult.journey)
from .frontend import Document, parse_file, parse_journey_or_fragments, parse_source
from .lint import run_rules
from .lint.step_names import name_steps
from .lint.suppress import apply_suppressions
from .source import DSL_SUFFIXES, YAML_SUFFIXES, Source

if TYPE_CHECKING:
    from .compile import Tables

JOURNEY_SUFFIXES = DSL_SUFFIXES + YAML_SUFFIXES
COHORT_SUFFIXES = (".cohort.yaml", ".cohort.yml")  # simulation input, never a journey


@dataclass
class CheckResult:
    """A parsed file and every diagnostic found in it, sorted by position."""

    document: Document
    diagnostics: list[Diagnostic]
    journey: "Journey | None" = None  # the model with every `use` expanded (what rules saw)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def parse(path: str | Path) -> Document:
    """Parse one journey file (DSL or YAML, by its suffix)."""
    return parse_file(path)


def check_document(document: Document, config: LintConfig | None = None,
                   against: Iterable[str | Path] = ()) -> CheckResult:
    """Run the enabled rules over a parsed file and drop what its directives suppress.
    ``against``: earlier versions (tables, journey files, folders or state files) to check a
    migration with, besides the configuration's ``versions``."""
    config = config or LintConfig()
    found = [d for d in document.diagnostics if config.enabled(d.code)]
    expansion = expand_document(document, config.channels, config.segments)
    found += [d for d in expansion.diagnostics if config.enabled(d.code)]
    if expansion.journey is not None:
        older = ()
        if expansion.journey.migrations:
            older = older_versions((*config.versions, *against))
        found += expansion.relate(run_rules(expansion.journey, config, document.source.name,
                                            document.source.text, older))
    own = [d for d in found if d.span.file == document.source.name]  # directives: own lines only
    found = apply_suppressions(own, document.source.text, document.journey) + [
        d for d in found if d.span.file != document.source.name]
    found = name_steps(sorted(set(found), key=Diagnostic.sort_key), expansion.journey)
    return CheckResult(document, found, expansion.journey)


def check(path: str | Path, config: LintConfig | None = None,
          against: Iterable[str | Path] = ()) -> CheckResult:
    """Parse and check one file; without a config, the one nearest the file applies."""
    if config is None:
        config = config_for(Path(path))
    return check_document(parse_file(path, parse_journey_or_fragments), config, against)


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
    """Expand directories to the journey files below them (not fragments, not cohort files);
    files are kept as given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in JOURNEY_SUFFIXES
                            and not p.name.lower().endswith(COHORT_SUFFIXES)
                            and FRAGMENT_DIR not in p.relative_to(path).parts[:-1])
        else:
            found.append(path)
    return found


# --- compile and run: thin wrappers over compile/ and runtime/ ----------------------
# imported when first used, so that checking a file does not load the compiler

def __getattr__(name: str):
    """``Tables``, ``read_tables`` and ``write_tables`` from the compiler (re-exported)."""
    if name in ("Tables", "read_tables", "write_tables"):
        from . import compile
        return getattr(compile, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class CompileResult:
    """The check of one file and, when it has no errors, its compiled tables."""

    check: CheckResult
    tables: Tables | None

    @property
    def ok(self) -> bool:
        return self.tables is not None


def compile_document(document: Document, compiled_at: str | None = None,
                     config: LintConfig | None = None) -> CompileResult:
    """Check a parsed file and compile it; a file with check errors gives no tables."""
    from .compile import compile_journey, default_compiled_at
    result = check_document(document, config)
    if not result.ok or result.journey is None:
        return CompileResult(result, None)
    source = document.source
    config = config or LintConfig()
    tables = compile_journey(result.journey, source.text, source.name,
                             compiled_at or default_compiled_at(source.name), config.declared,
                             config.default_locale)
    return CompileResult(result, tables)


def compile_file(path: str | Path, compiled_at: str | None = None,
                 config: LintConfig | None = None) -> CompileResult:
    """Parse, check and compile one journey file (the nearest configuration applies)."""
    if config is None:
        config = config_for(Path(path))
    return compile_document(parse_file(path), compiled_at, config)


def older_versions(paths: Iterable[str | Path]) -> tuple:
    """The shapes (``migration.VersionShape``) of the earlier versions stored at ``paths``:
    compiled tables, journey files (compiled on the way, without their own migration checks),
    folders of either, or state files (every version they hold). TablesError when a path
    cannot be read."""
    found = []
    for path in map(Path, paths):
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            raise TablesError(f"{path}: no such file or folder (an earlier version to check "
                              "migrations against)") from None
        found += _versions_at(path.resolve(), stamp)
    return tuple(found)


@lru_cache(maxsize=64)
def _versions_at(path: Path, stamp: int) -> list:
    from .migration import shape_of_rows
    return [shape_of_rows(tables.rows) for tables in _tables_at(path)]


def _tables_at(path: Path) -> list[Tables]:
    from .compile import read_tables
    from .runtime import StoreError
    from .runtime.status import is_state_file, stored_versions
    if path.is_dir() and not (path / "journey.csv").is_file():  # a folder, not CSV tables
        inside = [p for p in journey_files([path])]
        inside += sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".sqlite"))
        return [tables for item in inside for tables in _tables_at(item)]
    if is_state_file(path):
        try:
            return stored_versions(path)
        except StoreError as exc:
            raise TablesError(str(exc)) from None
    if path.suffix.lower() in JOURNEY_SUFFIXES:
        result = compile_file(path, config=replace(config_for(path), versions=()))
        if not result.ok:
            raise TablesError(f"{path}: an earlier version with errors cannot be checked "
                              "against (run journey check on it)")
        return [result.tables]
    return [read_tables(path)]


def load_tables(path: str | Path) -> Tables:
    """Compiled tables from a tables file or folder, or compile a journey file on the way.

    Raises TablesError for unreadable tables and JourneyError when a journey has errors.
    """
    from .compile import read_tables
    path = Path(path)
    if path.suffix.lower() in JOURNEY_SUFFIXES:
        from .diagnostics import JourneyError
        result = compile_file(path)
        if not result.ok:
            raise JourneyError([d for d in result.check.diagnostics])
        return result.tables
    return read_tables(path)


def open_runtime(db: str | Path, tables: Iterable[str | Path | Tables] = (), **options):
    """A runtime over the state ``db`` (a SQLite file, or a ``postgresql://`` URL) with the
    given journeys loaded.

    ``options`` go to ``runtime.Runtime`` (seed, timezone, clock, adapters, render).
    """
    from .compile import Tables
    from .runtime import Runtime, open_store
    runtime = Runtime(open_store(db), **options)
    for item in tables:
        runtime.load(item if isinstance(item, Tables) else load_tables(item))
    return runtime


# --- simulate: a thin wrapper over sim/ ---------------------------------------------

def simulate(journey, cohort, seed: int = 0, days: float = 90.0, **options):
    """Run a cohort (a cohort file, or a ``sim.Cohort``) through a journey (a journey file,
    tables file, or ``Tables``), or a list of them run together; returns ``sim.Results``
    (``sim.report.MultiResults`` for several). ``options`` go to ``sim.simulate``."""
    from .compile import Tables
    from .sim import load_cohort, simulate as run
    if isinstance(journey, (list, tuple)):
        tables = [j if isinstance(j, Tables) else load_tables(j) for j in journey]
    else:
        tables = journey if isinstance(journey, Tables) else load_tables(journey)
    if isinstance(cohort, (str, Path)):
        cohort = load_cohort(cohort)
    return run(tables, cohort, seed, days, **options)
