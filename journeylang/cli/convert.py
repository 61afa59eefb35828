"""`journey convert`: rewrite a journey in the other syntax (YAML <-> DSL) without loss."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..printer import FormatError, convert_document
from ..source import DSL_SUFFIXES, YAML_SUFFIXES
from .console import error, examples, fail, note, quiet_option
from .inputs import journey_argument, parse_input, stdin_filename_option
from .render import SourceLines, render

_SUFFIXES = {"yaml": YAML_SUFFIXES, "journey": DSL_SUFFIXES}


@click.command("convert", epilog=examples(
    "journey convert examples/cart_recovery.journey --to yaml -o cart_recovery.yaml",
    "journey convert examples/vip_care.yaml --to journey           # to standard output",
    "journey convert vip.yaml --to journey -o vip.journey --force",
    "cat vip.yaml | journey convert - --stdin-filename vip.yaml --to journey"))
@journey_argument()
@click.option("--to", "to", type=click.Choice(["yaml", "journey"]), required=True,
              help="The syntax to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT when it exists.")
@stdin_filename_option
@quiet_option
def convert_command(file: str, to: str, output: str | None, force: bool,
                    stdin_filename: str | None) -> None:
    """Convert a journey FILE (- reads standard input) to YAML or to the DSL; the result reads
    back to the same model.

    Every comment (and so every `# journeylang: disable=...` directive) is carried over, next
    to the item it was written beside.
    """
    if output is not None and Path(output).suffix.lower() not in _SUFFIXES[to]:
        raise click.BadParameter(f"{output} must end in {' or '.join(_SUFFIXES[to])} for --to {to} "
                                 "(the file's suffix is how journeylang tells the two forms apart)",
                                 param_hint="'-o' / '--output'")
    if output is not None and Path(output).exists() and not force:
        fail(f"{output} exists; use --force to overwrite it")
    document = parse_input(file, stdin_filename)
    try:
        text = convert_document(document, to, output or f"converted{_SUFFIXES[to][0]}")
    except FormatError as exc:
        sources = SourceLines({document.source.name: document.source.text})
        for diagnostic in exc.diagnostics:
            click.echo(render(diagnostic, sources), err=True)
        error(str(exc))
        sys.exit(1)
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_bytes(text.encode("utf-8"))
    note(f"wrote {output}")
