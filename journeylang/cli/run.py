"""`journey run`: load compiled tables into a state file and ingest events.jsonl, exactly once."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from ..api import load_tables
from ..compile import TablesError
from ..diagnostics import JourneyError
from ..runtime import (DEFAULT_BATCH, EventError, MigrationError, Runtime, RuntimeSetupError,
                       StoreError, WallClock, iso, open_store, parse_time, read_events)
from ..runtime.database import describe, is_postgres
from .console import INTERRUPTED, examples, fail, note, quiet_option
from .render import SourceLines, render


def default_state_path(tables: str) -> Path:
    """``out.json`` -> ``out.state.sqlite``: where run and status keep the state by default."""
    path = Path(tables.rstrip("/\\"))
    return path.with_name(f"{path.stem if path.suffix else path.name}.state.sqlite")


def state_path(tables: tuple[str, ...], db: str | None) -> Path | str:
    """The state: ``--db`` (a file, or a ``postgresql://`` URL), else beside the tables."""
    if db:
        return db if is_postgres(db) else Path(db)
    if not tables:
        raise click.UsageError("give --db, or --tables to find the state file beside them")
    return default_state_path(tables[0])


def load_all(paths: tuple[str, ...]):
    """Tables from each path; a journey with errors prints its diagnostics and exits 1."""
    loaded = []
    for path in paths:
        try:
            loaded.append(load_tables(path))
        except TablesError as exc:
            fail(str(exc))
        except JourneyError as exc:
            sources = SourceLines()
            for diagnostic in exc.diagnostics:
                click.echo(render(diagnostic, sources))
            fail(f"{path} has errors: not loaded")
    return loaded


@click.command("run", epilog=examples(
    "journey run --tables examples/cart_recovery.journey --events examples/events/cart_recovery.jsonl",
    "journey run --tables cart.json --events more.jsonl --until now    # and fire due timers",
    "journey run --tables a.json --tables b.json --events e.jsonl --db state.sqlite"))
@click.option("--tables", "tables", multiple=True, required=True,
              help="Compiled tables (JSON, CSV folder, SQLite) or a journey file; repeatable.")
@click.option("--events", "events", type=click.Path(dir_okay=False),
              help="Events as JSON Lines: {id, type, customer, at, attributes, data}.")
@click.option("--db", "db",
              help="State: a SQLite file (default: beside the first --tables, "
                   "NAME.state.sqlite) or a postgresql:// URL.")
@click.option("--seed", type=int, default=None,
              help="Seed for splits and holdout (default 0; fixed per state file).")
@click.option("--timezone", default=None,
              help="Time zone of customers without customer.timezone (default UTC).")
@click.option("--until", default=None,
              help="After the events, fire timers due by this time: ISO-8601, or 'now'.")
@click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Events per transaction.")
@click.option("--progress", is_flag=True, help="Print a line after each committed batch.")
@quiet_option
def run_command(tables, events, db, seed, timezone, until, batch, progress) -> None:
    """Run compiled journeys over customer events, with durable state.

    Each event is applied exactly once: re-running over the same events (after a crash, or
    with more events appended) applies only the ones not yet recorded in the state file.
    """
    path = state_path(tables, db)
    loaded = load_all(tables)
    horizon = None
    if until is not None:
        try:
            horizon = WallClock().now() if until == "now" else parse_time(until)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--until") from None
    try:
        runtime = Runtime(open_store(path), seed=seed, timezone=timezone)
    except (StoreError, RuntimeSetupError, TablesError) as exc:
        fail(str(exc))
    except sqlite3.DatabaseError as exc:
        fail(f"{path}: damaged state file: {exc}")
    with runtime:
        try:
            for item in loaded:
                _load(runtime, item)
            report = _ingest(runtime, events, batch, progress)
            fired = runtime.advance(horizon) if horizon is not None else 0
        except (StoreError, TablesError) as exc:
            fail(f"{exc} (the state file keeps what was committed before)")
        except sqlite3.DatabaseError as exc:
            fail(f"{path}: damaged state file: {exc} (the state file keeps what was committed "
                 "before)")
        except KeyboardInterrupt:
            click.echo("interrupted: what was read is applied; run again to continue", err=True)
            sys.exit(INTERRUPTED)
        _summary(report, fired, path, runtime)


def _load(runtime, tables) -> None:
    """Load a version; say what its migration did to the runs of older versions."""
    try:
        runtime.load(tables)
    except MigrationError as exc:
        fail(str(exc))
    for at, journey, version, old, new, moved, stopped, kept in runtime.migrated:
        note(f"journey {journey}: migrated the runs of version {version} ({old[:19]}) to "
             f"{new[:19]}: {moved} moved, {stopped} stopped, {kept} kept on version {version}")


def _ingest(runtime, events, batch, progress):
    if not events:
        return None

    def show(done):
        note(f"committed {done.read} events ({done.applied} applied, "
             f"{done.skipped} already applied)")
    try:
        return runtime.ingest(read_events(events), batch, show if progress else None)
    except EventError as exc:
        fail(f"{exc} (the events before this line are applied; fix it and run again)")


def _summary(report, fired, path, runtime) -> None:
    if report is not None:
        rate = f", {report.rate:,.0f} events/s" if report.read >= 10_000 else ""
        note(f"events: {report.read} read, {report.applied} applied, {report.skipped} "
             f"already applied; {report.timers} timers fired{rate}")
    if fired:
        note(f"timers fired up to {iso(runtime.now)}: {fired}")
    note(f"state: {describe(path)} (clock {iso(runtime.now) if runtime.now > float('-inf') else 'not started'})")
