"""`journey compile`: check a journey and write its step tables (JSON, CSV folder or SQLite)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..api import ConfigError, compile_document, config_for
from ..compile import FORMATS, TablesError, default_compiled_at, write_tables
from ..diagnostics import Severity
from .console import error, examples, note, quiet_option
from .inputs import STDIN, journey_argument, parse_input, stdin_filename_option
from .render import SourceLines, render


@click.command("compile", epilog=examples(
    "journey compile examples/cart_recovery.journey -o cart.json",
    "journey compile vip_care.yaml -o tables/ --format csv",
    "SOURCE_DATE_EPOCH=0 journey compile j.journey -o j.sqlite --format sqlite",
    "journey compile - --stdin-filename journeys/j.journey -o j.json < j.journey"))
@journey_argument()
@click.option("-o", "--output", "output", required=True, type=click.Path(),
              help="Where to write: a .json file, a folder (csv) or a .sqlite file.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True,
              help="Table format.")
@stdin_filename_option
@quiet_option
def compile_command(file: str, output: str, fmt: str, stdin_filename: str | None) -> None:
    """Compile a checked journey FILE (- reads standard input) to executable step tables.

    A journey with check errors is not compiled: its diagnostics are printed and the exit
    code is 1. Set SOURCE_DATE_EPOCH to pin the compiled-at time (otherwise the file's mtime;
    for standard input, 1970-01-01).
    """
    document = parse_input(file, stdin_filename)
    # standard input has no mtime (and --stdin-filename may name an older file on disk)
    compiled_at = default_compiled_at(None) if file == STDIN else None
    try:
        result = compile_document(document, compiled_at, config_for(Path(document.source.name)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    diagnostics = result.check.diagnostics
    source = result.check.document.source
    sources = SourceLines({source.name: source.text})
    for diagnostic in diagnostics:
        click.echo(render(diagnostic, sources))
    if not result.ok:
        errors = sum(d.severity is Severity.ERROR for d in diagnostics)
        error(f"not compiled: {source.name} has {errors} error(s)")
        sys.exit(1)
    try:
        written = write_tables(result.tables, output, fmt)
    except (TablesError, OSError) as exc:
        error(f"cannot write {output}: {exc}")
        sys.exit(1)
    tables = result.tables
    note(f"compiled {tables.journey_id} ({len(tables.rows['steps'])} steps, "
         f"{tables.content_hash[:19]}) to {written} [{fmt}]")
