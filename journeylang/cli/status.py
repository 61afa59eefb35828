"""`journey status`: customers per stage and step, pending timers, the outbox, one customer's history."""
from __future__ import annotations

import json

import click

from ..runtime import StoreError, iso
from ..runtime.database import database_errors, describe
from ..runtime import status as queries
from .console import examples, fail, quiet_option
from .run import load_all, state_path
from .simulate import experiment_lines


@click.command("status", epilog=examples(
    "journey status --tables cart.json                 # customers per stage and step, timers",
    "journey status --db state.sqlite --customer c42   # one customer's history",
    "journey status --tables cart.json --outbox --status queued --limit 50",
    "journey status --tables cart.json --json | jq .kpis"))
@click.option("--tables", "tables", multiple=True,
              help="Tables or journey files: show these journeys (the state is found beside them).")
@click.option("--db", "db", help="State: a SQLite file or a postgresql:// URL.")
@click.option("--customer", "customer", default=None,
              help="Show one customer: profile, runs, history, outbox.")
@click.option("--outbox", "show_outbox", is_flag=True, help="List outbox rows, newest first.")
@click.option("--status", "status", default=None,
              help="With --outbox: only this status (queued, sending, sent, delivered, failed, "
                   "dead, cancelled).")
@click.option("--channel", default=None, help="With --outbox: only this channel.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="With --outbox: at most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@quiet_option
def status_command(tables, db, customer, show_outbox, status, channel, limit, as_json) -> None:
    """Show what the runtime's state holds."""
    path = state_path(tables, db)
    journeys = [t.journey_id for t in load_all(tables)] if tables else None
    try:
        connection = queries.open_state(path)
    except StoreError as exc:
        fail(str(exc))
    try:
        _show(connection, customer, show_outbox, status, channel, journeys, limit, as_json, path)
    except StoreError as exc:
        fail(str(exc))
    except database_errors() as exc:
        fail(f"{describe(path)}: damaged state: {exc}")
    finally:
        connection.close()


def _show(connection, customer, show_outbox, status, channel, journeys, limit, as_json, path):
    if customer is not None:
        data = queries.customer(connection, customer)
        if data is None:
            fail(f"no customer {customer!r} in {path}")
        _print(data, as_json, _customer_text)
    elif show_outbox:
        rows = queries.outbox(connection, status=status, channel=channel, journeys=journeys,
                              limit=limit)
        _print(rows, as_json, _outbox_text)
    else:
        _print(queries.overview(connection, journeys), as_json, _overview_text)


def _print(data, as_json: bool, as_text) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for line in as_text(data):
            click.echo(line)


def _counts(mapping: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in mapping.items()) or "none"


def _overview_text(data: dict):
    yield (f"clock {data['clock'] or 'not started'}; {data['events']} events applied; "
           f"{data['customers']} customers; seed {data['seed']}; time zone {data['timezone']}")
    for version in data["versions"]:
        label = "active" if version["active"] else "older version"
        yield ""
        title = f' "{version["title"]}"' if version.get("title") else ""
        yield (f"journey {version['journey_id']}{title} v{version['version']} "
               f"{version['content_hash'][:19]} ({label}): runs {_counts(version['runs'])}")
        yield f"  outcomes: {_counts(version['outcomes'])}"
        yield from _migrations_text(version, data["versions"])
        stages = [s for s in data["steps"] if s["content_hash"] == version["content_hash"]]
        stage_titles = version.get("stage_titles") or {}
        for stage in dict.fromkeys(s["stage"] for s in stages):
            rows = [s for s in stages if s["stage"] == stage]
            named = f' "{stage_titles[stage]}"' if stage in stage_titles else ""
            yield f"  stage {stage}{named}: {sum(r['customers'] for r in rows)}"
            for row in rows:
                waiting = f"waiting {row['waiting']}" if row["waiting"] else ""
                yield f"    {row['step']:<24} {waiting:<20} {row['customers']}"
    yield ""
    total = sum(t["count"] for t in data["timers"])
    yield f"timers pending: {total}"
    for timer in data["timers"]:
        yield f"  {timer['kind']:<10} {timer['count']:>8}  next due {timer['next_due']}"
    yield "outbox:"
    for row in data["outbox"]:
        yield f"  {row['kind']:<8} {row['channel'] or '-':<17} {row['status']:<10} {row['count']:>8}"
    yield from _operations_text(data)


def _migrations_text(version: dict, versions: list[dict]):
    """Runs moved into this version from older ones, and out of it by newer ones."""
    numbers = {v["content_hash"]: v["version"] for v in versions}
    moved = version.get("migrations") or {"in": [], "out": []}
    for row in moved["in"]:
        yield (f"  migrated in {row['at']} from v{row['from_version']} {row['from_hash'][:19]}: "
               f"{row['moved']} moved, {row['stopped']} stopped, {row['kept']} kept there")
    for row in moved["out"]:
        yield (f"  migrated out {row['at']} to v{numbers.get(row['to_hash'], '?')} "
               f"{row['to_hash'][:19]}: {row['moved']} moved, {row['stopped']} stopped, "
               f"{row['kept']} kept here")


def _rate(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _operations_text(data: dict):
    """SLAs per role, KPIs and promo shares, when the journeys have any."""
    if data.get("roles"):
        yield "SLAs by role:"
        for row in data["roles"]:
            yield (f"  {row['role']:<20} open {row['open']:>6}  met {row['met']:>6}  breached "
                   f"{row['breached']:>6}  breach rate {_rate(row['breach_rate'])}")
    if data.get("kpis"):
        yield "KPIs:"
        for row in data["kpis"]:
            verdict = {None: "no window closed yet", True: "met", False: "missed"}[row["met"]]
            sure = "" if row["met"] is None else (
                ", with 95% confidence" if row["met_ci"] else ", not yet with 95% confidence"
                if row["met"] else "")
            interval = "" if row["rate"] is None else \
                f", 95% CI {_rate(row['ci95'][0])}-{_rate(row['ci95'][1])}"
            yield (f"  {row['journey_id']}/{row['kpi']:<20} {row['hits']} of {row['observations']} "
                   f"closed windows = {_rate(row['rate'])}{interval} (baseline "
                   f"{_rate(row['baseline'])}, target {_rate(row['target'])}): {verdict}{sure}"
                   + (f"; {row['open']} windows open ({row.get('hits_open', 0)} already hit, "
                      "counted when their window closes)" if row["open"] else ""))
    if data.get("milestones"):
        yield "milestones reached:"
        for row in data["milestones"]:
            yield f"  {row['journey_id']}/{row['milestone']:<24} {row['runs']} runs"
    for journey in data.get("experiments", ()):
        yield f"experiments of {journey['journey_id']}:"
        for line in experiment_lines(journey["experiments"]):
            yield f"  {line}"
    if data.get("promo"):
        yield "promo share of sent messages:"
        for row in data["promo"]:
            budget = "no budget" if row["budget"] is None else f"budget {_rate(row['budget'])}"
            over = " (over budget)" if row["budget"] is not None and (row["share"] or 0) > row["budget"] else ""
            pending = f"; {row['pending']} pending delivery" if row["pending"] else ""
            yield (f"  {row['journey_id']:<24} {row['promo']} of {row['sends']} = "
                   f"{_rate(row['share'])}, {budget}{over}{pending}")


def _outbox_text(rows: list[dict]):
    if not rows:
        yield "outbox: no rows"
    for row in rows:
        target = row["channel"] or row["kind"]
        what = row["text"] if row["text"] is not None else json.dumps(row["payload"], ensure_ascii=False)
        yield (f"#{row['id']} {row['at']} {row['customer']} {row['journey_id']}/{row['step']} "
               f"{target} {row['status']}: {what}")


def _customer_text(data: dict):
    yield f"customer {data['id']}"
    yield f"  profile: {json.dumps(data['profile'], ensure_ascii=False, sort_keys=True)}"
    yield "runs:"
    for run in data["runs"]:
        where = f"at {run['step']}" + (f" waiting {run['waiting']}" if run["waiting"] else "")
        end = f"ended {run['ended_at']} as {run['outcome']}" if run["status"] == "ended" else where
        holdout = " holdout" if run["holdout"] else ""
        yield (f"  #{run['id']} {run['journey_id']} {run['content_hash'][:19]}{holdout}: "
               f"entered {run['entered_at']}, {end}")
        if run.get("key") is not None:
            yield f"    {run.get('correlate') or 'key'} {json.dumps(run['key'], ensure_ascii=False)}"
        if run.get("vars"):
            yield f"    variables: {json.dumps(run['vars'], ensure_ascii=False, sort_keys=True)}"
        for name, at in sorted(run.get("milestones", {}).items(), key=lambda m: m[1]):
            yield f"    milestone {name} at {iso(at)}"
    yield "history:"
    for row in data["history"]:
        where = f"{row['journey_id']} #{row['run_id']}" if row["run_id"] is not None else "-"
        did = row["what"] + (f" {row['detail']}" if row["detail"] else "")
        yield f"  {row['at']}  {where:<22} {row['step'] or '-':<16} {did:<44} <- {row['why'] or ''}"
    yield "events received:"
    for event in data["events"]:
        note = f": {event['note']}" if event.get("note") else ""
        yield f"  {event['at']}  {event['type']:<24} id {event['id']}{note}"
    if data["timers"]:
        yield "timers:"
        for timer in data["timers"]:
            yield f"  {timer['due']}  run #{timer['run_id']} {timer['kind']} at {timer['step']}"
    yield "outbox:"
    for line in _outbox_text(data["outbox"]):
        yield f"  {line}"
