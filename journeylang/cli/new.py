"""`journey new`: scaffold a journey file that passes `journey lint`."""
from __future__ import annotations

import re
from pathlib import Path

import click

from ..config import CJK, DEFAULT_NAMING
from ..expand import stdlib_fragments
from .console import examples, fail, note, quiet_option

_NAME = re.compile(DEFAULT_NAMING)

_DSL = '''journey {name} "{title}" version 1 {{
  owner "{name}-team"
  description "{description}"

  entry on signed_up where consent.wecom
  reentry after 30d

  goal converted on order_paid within 14d
  exit on unsubscribed as opted_out

  policy {{
    cap 5 messages per 7d
    quiet 22:00-08:00
    consent wecom
    holdout 5%
  }}
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
description: {description}
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

# a Chinese name gets a Chinese scaffold: operators write titles and messages in Chinese
_TEXTS = {
    False: ("What this journey is for, in one sentence.", "Hi {{ customer.name }}, welcome!"),
    True: ("一句话说明这个旅程的目的。", "{{ customer.name }}，您好，欢迎加入！"),
}


def scaffold(name: str, fragment: str | None = None, as_yaml: bool = False) -> str:
    """The text of a new journey; ``fragment`` names a stdlib fragment to start from."""
    chinese = bool(re.search(f"[{CJK}]", name))
    title = name if chinese else name.replace("_", " ").capitalize()
    description, hello = _TEXTS[chinese]
    layout = _YAML if as_yaml else _DSL
    if fragment is None:
        if as_yaml:
            templates = f'templates:\n  {name}_hello: "{hello}"\n'
            steps = (f"      - {{name: hello, send: {{via: wecom, template: {name}_hello}}}}\n"
                     "      - wait: {for: replied, within: 3d}\n")
        else:
            templates = f'\n  template {name}_hello "{hello}"\n'
            steps = (f"    hello: send via wecom template {name}_hello\n"
                     "    wait for replied within 3d")
    else:
        indent = "      " if as_yaml else "    "
        listed = "".join(f"{indent}#   {line}\n" for line in _parameters(fragment))
        use = (f"{indent}- {{name: {fragment}, use: {{fragment: {fragment}, with: {{}}}}}}\n"
               if as_yaml else f"{indent}{fragment}: use {fragment}")
        templates = ""
        steps = f"{indent}# parameters (give them as `with {{ name: value }}`):\n{listed}{use}"
    return layout.format(name=name, title=title, description=description, templates=templates,
                         steps=steps)


def _parameters(fragment: str) -> list[str]:
    """One line per parameter of a stdlib fragment: name, type and default."""
    return [f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default}")
            for p in stdlib_fragments()[fragment].params]


@click.command("new", epilog=examples(
    "journey new cart_recovery                      # cart_recovery.journey here",
    "journey new 新客欢迎 -o journeys/              # a Chinese name: Chinese texts",
    "journey new winback_q3 --from stdlib:winback",
    "journey new vip_care --yaml"))
@click.argument("name")
@click.option("--from", "origin", metavar="stdlib:FRAGMENT",
              help="Start from a stdlib fragment, e.g. stdlib:winback.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Write the YAML form instead of the DSL.")
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder to write the file into.")
@quiet_option
def new_command(name: str, origin: str | None, as_yaml: bool, out_dir: str) -> None:
    """Create NAME.journey (or NAME.yaml) with owner, version, entry, goal, policy and a stage."""
    if not _NAME.match(name):
        raise click.UsageError(f"journey name {name!r} must be lower snake_case or Chinese "
                               "(a lower-case letter or a Chinese character first, then those, "
                               "digits and _), e.g. cart_recovery or 新客欢迎")
    fragment = _fragment(origin) if origin else None
    path = Path(out_dir) / f"{name}{'.yaml' if as_yaml else '.journey'}"
    if path.exists():
        fail(f"{path} already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scaffold(name, fragment, as_yaml), encoding="utf-8")
    note(f"created {path}")


def _fragment(origin: str) -> str:
    library, _, fragment = origin.partition(":")
    known = stdlib_fragments()
    if library != "stdlib" or fragment not in known:
        raise click.UsageError(f"--from {origin!r}: expected stdlib:FRAGMENT, one of "
                               + ", ".join(f"stdlib:{n}" for n in sorted(known)))
    return fragment
