"""`journey check`: parse and check journey files, print diagnostics, exit 0/1/2."""
from __future__ import annotations

import sys

import click

from ..api import check, journey_files
from ..diagnostics import has_errors
from . import main
from .render import SourceLines, render, summary


@main.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--quiet", "-q", is_flag=True, help="Print only diagnostics, no summary line.")
def check_command(paths: tuple[str, ...], quiet: bool) -> None:
    """Check journey files (.journey, .yaml) or the folders that hold them."""
    files = journey_files(paths)
    if not files:
        raise click.UsageError("no journey files (.journey, .yaml, .yml) found in the given paths")
    results = [check(path) for path in files]
    sources = SourceLines({r.document.source.name: r.document.source.text for r in results})
    everything = [d for r in results for d in r.diagnostics]
    for diagnostic in everything:
        click.echo(render(diagnostic, sources))
    if not quiet:
        click.echo(summary(everything, len(files)), err=True)
    sys.exit(1 if has_errors(everything) else 0)
