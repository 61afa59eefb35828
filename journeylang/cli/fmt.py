"""`journey fmt`: rewrite .journey files in the canonical layout, comments kept."""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..api import journey_files, parse
from ..printer import FormatError
from ..printer.format import format_document
from ..source import DSL_SUFFIXES
from . import main
from .render import SourceLines, render


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file would change.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of the changes.")
def fmt_command(paths: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Format .journey files (or the folders that hold them) in place.

    A file is rewritten only when its text changes and the new text reads back to the
    same journey; files with syntax errors are left alone (exit 1).
    """
    files = [p for p in journey_files(paths) if p.suffix.lower() in DSL_SUFFIXES]
    if not files:
        raise click.UsageError("no .journey files found in the given paths")
    changed = failed = 0
    for path in files:
        document = parse(path)
        try:
            text = format_document(document)
        except FormatError as exc:
            sources = SourceLines({document.source.name: document.source.text})
            for diagnostic in exc.diagnostics:
                click.echo(render(diagnostic, sources), err=True)
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        if text == document.source.text:
            continue
        changed += 1
        if show_diff:
            click.echo("".join(difflib.unified_diff(
                document.source.text.splitlines(keepends=True), text.splitlines(keepends=True),
                f"{path} (original)", f"{path} (formatted)")), nl=False)
        if check or show_diff:
            click.echo(f"would reformat {path}", err=True)
        else:
            Path(path).write_bytes(text.encode("utf-8"))
            click.echo(f"reformatted {path}", err=True)
    verb = "would be reformatted" if check or show_diff else "reformatted"
    click.echo(f"{changed} file(s) {verb}, {len(files) - changed - failed} unchanged"
               + (f", {failed} with errors" if failed else ""), err=True)
    sys.exit(1 if failed or (check and changed) else 0)
