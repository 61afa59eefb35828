"""`journey diff OLD NEW`: what changed between two versions of a journey, for code review."""
from __future__ import annotations

import json
import sys

import click

from ..api import TablesError
from ..compile.diff import diff_tables, migration_between
from ..runtime import StoreError
from ..runtime.status import is_state_file, stored_versions
from .console import examples, fail, quiet_option
from .run import load_all

_SECTIONS = ("journey", "steps", "templates", "triggers", "policies", "roles", "kpis", "handlers",
             "attributes", "migrations")


@click.command("diff", epilog=examples(
    "journey diff cart_v2.journey cart_v3.journey",
    "journey diff released/cart.json cart.journey          # tables against a journey file",
    "journey diff cart.state.sqlite cart.journey           # the active version against the file",
    "journey diff old.json new.json --json | jq '.changes[] | select(.section == \"steps\")'"))
@click.argument("old", type=click.Path(exists=True))
@click.argument("new", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@quiet_option
def diff_command(old: str, new: str, as_json: bool) -> None:
    """Show what changed from OLD to NEW (journey files, compiled tables, or for OLD a state
    file: the version of NEW's journey loaded last): steps, templates, triggers, policies,
    roles, KPIs, handlers, attributes and the migration, and how NEW's migration moves the
    runs of OLD. Exits 0 when nothing changed, 1 when something did, 2 on trouble (as diff)."""
    (after,) = load_all((new,))
    before = _old(old, after.journey_id)
    changes = diff_tables(before, after)
    moves = migration_between(before, after)
    if as_json:
        click.echo(json.dumps({"old": _version(before), "new": _version(after),
                               "changes": [c.to_dict() for c in changes], "migration": moves},
                              ensure_ascii=False, indent=2))
    else:
        for line in _text(before, after, changes, moves):
            click.echo(line)
    sys.exit(1 if changes else 0)


def _old(path: str, journey_id: str):
    if not is_state_file(path):
        return load_all((path,))[0]
    try:
        versions = [t for t in stored_versions(path) if t.journey_id == journey_id]
    except (StoreError, TablesError) as exc:
        fail(str(exc))
    if not versions:
        fail(f"{path} holds no version of journey {journey_id!r}")
    return versions[-1]


def _version(tables) -> dict:
    return {"journey_id": tables.journey_id, "version": tables.journey["version"],
            "content_hash": tables.content_hash}


def _text(before, after, changes, moves):
    yield (f"journey {after.journey_id}: v{before.journey['version']} "
           f"{before.content_hash[:19]} -> v{after.journey['version']} {after.content_hash[:19]}")
    if before.journey_id != after.journey_id:
        yield f"  (the old version is journey {before.journey_id})"
    if not changes:
        yield "no changes"
    for section in _SECTIONS:
        rows = [c for c in changes if c.section == section]
        if rows:
            yield f"{section}:"
        for change in rows:
            if change.kind == "~":
                yield f"  ~ {change.item}: {change.old} -> {change.new}"
            else:
                yield f"  {change.kind} {change.item}: {change.new or change.old}"
    if moves:
        yield "migration of the old version's runs:"
        yield from (f"  {line}" for line in moves)
