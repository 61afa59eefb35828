"""`journey convert`: rewrite a journey in the other syntax (YAML <-> DSL) without loss."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..api import parse
from ..printer import FormatError, convert_document
from ..source import DSL_SUFFIXES, YAML_SUFFIXES
from . import main
from .render import SourceLines, render

_SUFFIXES = {"yaml": YAML_SUFFIXES, "journey": DSL_SUFFIXES}


@main.command("convert")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "to", type=click.Choice(["yaml", "journey"]), required=True,
              help="The syntax to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT when it exists.")
def convert_command(file: str, to: str, output: str | None, force: bool) -> None:
    """Convert a journey FILE to YAML or to the DSL; the result reads back to the same model.

    Comments are not carried over (a note says so when the file has any).
    """
    if output is not None and Path(output).suffix.lower() not in _SUFFIXES[to]:
        raise click.BadParameter(f"{output} must end in {' or '.join(_SUFFIXES[to])} for --to {to} "
                                 "(the file's suffix is how journeylang tells the two forms apart)",
                                 param_hint="'-o' / '--output'")
    if output is not None and Path(output).exists() and not force:
        click.echo(f"error: {output} exists; use --force to overwrite it", err=True)
        sys.exit(1)
    document = parse(file)
    try:
        text = convert_document(document, to, output or f"converted{_SUFFIXES[to][0]}")
    except FormatError as exc:
        sources = SourceLines({document.source.name: document.source.text})
        for diagnostic in exc.diagnostics:
            click.echo(render(diagnostic, sources), err=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if document.comments:
        click.echo(f"note: the {len(document.comments)} comment(s) of {file} are not carried "
                   "over", err=True)
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_bytes(text.encode("utf-8"))
    click.echo(f"wrote {output}", err=True)
