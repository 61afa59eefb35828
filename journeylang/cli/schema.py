"""`journey schema`: print the JSON Schema of the YAML form (for editors)."""
from __future__ import annotations

from pathlib import Path

import click

from ..schema import schema_json
from . import main
from .console import examples, note, quiet_option


@main.command("schema", epilog=examples(
    "journey schema -o journey.schema.json",
    "journey schema | check-jsonschema --schemafile /dev/stdin journeys/*.yaml"))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the schema to this file instead of standard output.")
@quiet_option
def schema_command(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) that YAML journeys follow."""
    if output is None:
        click.echo(schema_json(), nl=False)
        return
    Path(output).write_text(schema_json(), encoding="utf-8")
    note(f"wrote the journey schema to {output}")
