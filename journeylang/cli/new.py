"""`journey new`: scaffold a journey file that passes `journey lint`."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ..expand import stdlib_fragments
from . import main

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_DSL = '''journey {name} "{title}" version 1 {{
  owner "{name}-team"
  description "What this journey is for, in one sentence."

  entry on signed_up where consent.wecom
  reentry after 30d
  goal converted on order_paid within 14d
  exit on unsubscribed as opted_out
  policy {{ cap 5 messages per 7d; quiet 22:00-08:00; consent wecom; holdout 5% }}
{templates}
  stage main {{
{steps}
    done: exit completed
  }}
}}
'''

_YAML = '''journey: {name}
title: "{title}"
version: 1
owner: {name}-team
description: What this journey is for, in one sentence.
entry: {{on: signed_up, where: consent.wecom}}
reentry: after 30d
goals:
  - {{name: converted, on: order_paid, within: 14d}}
exits:
  - {{on: unsubscribed, as: opted_out}}
policy:
  cap: {{messages: 5, per: 7d}}
  quiet: "22:00-08:00"
  consent: [wecom]
  holdout: 5%
{templates}stages:
  - stage: main
    steps:
{steps}      - {{name: done, exit: completed}}
'''


def scaffold(name: str, fragment: str | None = None, as_yaml: bool = False) -> str:
    """The text of a new journey; ``fragment`` names a stdlib fragment to start from."""
    title = name.replace("_", " ").capitalize()
    if fragment is None:
        if as_yaml:
            templates = (f"templates:\n  {name}_hello: \"Hi {{{{ customer.name }}}}, "
                         "welcome!\"\n")
            steps = (f"      - {{name: hello, send: {{via: wecom, template: {name}_hello}}}}\n"
                     "      - wait: {for: replied, within: 3d}\n")
            return _YAML.format(name=name, title=title, templates=templates, steps=steps)
        templates = f'  template {name}_hello "Hi {{{{ customer.name }}}}, welcome!"\n'
        steps = (f"    hello: send via wecom template {name}_hello\n"
                 "    wait for replied within 3d")
        return _DSL.format(name=name, title=title, templates=templates, steps=steps)
    params = stdlib_fragments()[fragment].params
    listed = ", ".join(f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default}")
                       for p in params)
    if as_yaml:
        steps = (f"      # parameters: {listed}\n"
                 f"      - {{name: {fragment}, use: {{fragment: {fragment}, with: {{}}}}}}\n")
        return _YAML.format(name=name, title=title, templates="", steps=steps)
    steps = (f"    # parameters: {listed}\n"
             f"    {fragment}: use {fragment} with {{ }}")
    return _DSL.format(name=name, title=title, templates="", steps=steps)


@main.command("new")
@click.argument("name")
@click.option("--from", "origin", metavar="stdlib:FRAGMENT",
              help="Start from a stdlib fragment, e.g. stdlib:winback.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Write the YAML form instead of the DSL.")
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to write the file into.")
def new_command(name: str, origin: str | None, as_yaml: bool, out_dir: str) -> None:
    """Create NAME.journey (or NAME.yaml) with owner, version, entry, goal, policy and a stage."""
    if not _NAME.match(name):
        raise click.UsageError(f"journey name {name!r} must be lower_snake_case "
                               "(a letter, then letters, digits and _)")
    fragment = _fragment(origin) if origin else None
    path = Path(out_dir) / f"{name}{'.yaml' if as_yaml else '.journey'}"
    if path.exists():
        click.echo(f"error: {path} already exists; not overwriting it", err=True)
        sys.exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scaffold(name, fragment, as_yaml), encoding="utf-8")
    click.echo(f"created {path}")


def _fragment(origin: str) -> str:
    library, _, fragment = origin.partition(":")
    known = stdlib_fragments()
    if library != "stdlib" or fragment not in known:
        raise click.UsageError(f"--from {origin!r}: expected stdlib:FRAGMENT, one of "
                               + ", ".join(f"stdlib:{n}" for n in sorted(known)))
    return fragment
