"""`journey graph`: draw a journey's step graph as Mermaid, DOT, SVG or a self-contained HTML page."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..api import parse
from ..views import FORMATS, ViewError, render_view
from . import main
from .render import SourceLines, render


@main.command("graph")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True,
              help="View format (svg and html need Graphviz's dot).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the view to this file instead of standard output.")
def graph_command(file: str, fmt: str, output: str | None) -> None:
    """Draw the step graph of a journey FILE: stages as clusters, labelled edges."""
    document = parse(file)
    if document.journey is None:
        sources = SourceLines({document.source.name: document.source.text})
        for diagnostic in document.diagnostics:
            click.echo(render(diagnostic, sources), err=True)
        click.echo(f"error: {file} cannot be read as a journey", err=True)
        sys.exit(1)
    try:
        text = render_view(document.journey, fmt)
    except ViewError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {fmt} view of {document.journey.id} to {output}", err=True)
