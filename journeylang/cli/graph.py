"""`journey graph`: draw a journey's step graph as Mermaid, DOT, SVG or a self-contained HTML page."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..views import FORMATS, ViewError, render_view
from .console import error, examples, fail, note, quiet_option
from .inputs import journey_argument, parse_input, stdin_filename_option
from .render import SourceLines, render


@click.command("graph", epilog=examples(
    "journey graph examples/cart_recovery.journey                  # Mermaid to standard output",
    "journey graph examples/vip_care.yaml --format html -o vip_care.html",
    "journey graph j.journey --format dot | dot -Tpng > j.png",
    "journey graph - --stdin-filename j.yaml --format svg -o j.svg < j.yaml"))
@journey_argument()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True,
              help="View format (svg and html need Graphviz's dot).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the view to this file instead of standard output.")
@stdin_filename_option
@quiet_option
def graph_command(file: str, fmt: str, output: str | None, stdin_filename: str | None) -> None:
    """Draw the step graph of a journey FILE (- reads standard input): stages as clusters,
    labelled edges."""
    document = parse_input(file, stdin_filename)
    if document.journey is None:
        sources = SourceLines({document.source.name: document.source.text})
        for diagnostic in document.diagnostics:
            click.echo(render(diagnostic, sources), err=True)
        error(f"{document.source.name} cannot be read as a journey")
        sys.exit(1)
    try:
        text = render_view(document.journey, fmt)
    except ViewError as exc:
        fail(str(exc))
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    note(f"wrote {fmt} view of {document.journey.id} to {output}")
