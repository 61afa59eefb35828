"""`journey schema`: print the JSON Schema of the YAML form (for editors), with the channels the
configuration declares."""
from __future__ import annotations

from pathlib import Path

import click

from ..api import ConfigError, find_config, load_config
from ..schema import schema_json
from .console import examples, note, quiet_option


@click.command("schema", epilog=examples(
    "journey schema -o journey.schema.json",
    "journey schema --config crm/.journeylang.toml -o journey.schema.json",
    "journey schema -o s.json && check-jsonschema --schemafile s.json journeys/*.yaml"))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the schema to this file instead of standard output.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Take the channels from this configuration file instead of the one nearest "
                   "the current folder.")
@quiet_option
def schema_command(output: str | None, config_path: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) that YAML journeys follow.

    It is generated from the YAML reader's own key tables, so it accepts what `journey check`
    reads; channels are the ones the configuration declares (`channels`).
    """
    try:
        config = load_config(Path(config_path) if config_path else find_config(Path.cwd()))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    text = schema_json(config.channels)
    if output is None:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    note(f"wrote the journey schema to {output}"
         + (f" (channels from {config.path})" if config.path else ""))
