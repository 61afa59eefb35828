"""`journey compile`: check a journey and write its step tables (JSON, CSV folder or SQLite)."""
from __future__ import annotations

import sys

import click

from ..api import ConfigError, compile_file
from ..compile import FORMATS, TablesError, write_tables
from ..diagnostics import Severity
from . import main
from .render import SourceLines, render


@main.command("compile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "output", required=True, type=click.Path(),
              help="Where to write: a .json file, a folder (csv) or a .sqlite file.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True,
              help="Table format.")
def compile_command(file: str, output: str, fmt: str) -> None:
    """Compile a checked journey FILE to executable step tables.

    A journey with check errors is not compiled: its diagnostics are printed and the exit
    code is 1. Set SOURCE_DATE_EPOCH to pin the compiled-at time (otherwise the file's mtime).
    """
    try:
        result = compile_file(file)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    diagnostics = result.check.diagnostics
    source = result.check.document.source
    sources = SourceLines({source.name: source.text})
    for diagnostic in diagnostics:
        click.echo(render(diagnostic, sources))
    if not result.ok:
        errors = sum(d.severity is Severity.ERROR for d in diagnostics)
        click.echo(f"not compiled: {file} has {errors} error(s)", err=True)
        sys.exit(1)
    try:
        written = write_tables(result.tables, output, fmt)
    except (TablesError, OSError) as exc:
        click.echo(f"error: cannot write {output}: {exc}", err=True)
        sys.exit(1)
    tables = result.tables
    click.echo(f"compiled {tables.journey_id} ({len(tables.rows['steps'])} steps, "
               f"{tables.content_hash[:19]}) to {written} [{fmt}]", err=True)
