"""Runtime inspection: read-only queries over a state (status, outbox, a customer's history)."""
from __future__ import annotations

import heapq
import json
import sqlite3
from collections import Counter
from pathlib import Path

from ..compile import TablesError
from ..compile.writers import loads, tables_from_dict
from ..experiments import experiments_of
from ..experiments import report as experiment_report
from ..stats import wilson
from .channels import PENDING, SENT_STATUSES as SENT
from .database import Database, StoreError, connect, database_errors, describe, is_postgres
from .events import iso
from .journal import expand
from .policies import kpi_met
from .rows import TIMER_SOURCES, RowReader
from .sql import PENDING_TIMERS, RUN_COLUMNS, TIMER_COLUMNS

RECEIVED = "received"  # a history entry for an event that left none of its own


def open_state(target) -> Database:
    """A read-only connection to a state (a file, or a PostgreSQL URL), with the checks of
    what it reads (``db.rows``); StoreError when it is missing or not ours."""
    if not is_postgres(target) and not Path(target).is_file():
        raise StoreError(f"{target}: no such state file (run `journey run` first, or pass --db)")
    db = None
    try:
        db = connect(target, readonly=True, named=True)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except database_errors() as exc:
        if db is not None:
            db.close()
        raise StoreError(f"{describe(target)}: not a journeylang state ({exc})") from None
    db.rows = RowReader(describe(target))
    db.rows.meta(meta)
    return db


def is_state_file(path: str | Path) -> bool:
    """Whether ``path`` is a journeylang state file (SQLite with ``meta`` and ``versions``)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                return False
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except (OSError, sqlite3.DatabaseError):
        return False
    return {"meta", "versions"} <= names


def stored_versions(path: str | Path) -> list:
    """Every version of every journey a state file holds, as Tables, oldest load first."""
    db = open_state(path)
    try:
        rows = db.execute("SELECT content_hash, tables FROM versions "
                          "ORDER BY loaded_seq").fetchall()
        return [tables_from_dict(_version(db, row["content_hash"], row["tables"]),
                                 f"{path} ({row['content_hash'][:19]})") for row in rows]
    except TablesError as exc:
        raise StoreError(f"{path}: a stored version is damaged: {exc}") from None
    finally:
        db.close()


def _when(value, db: Database | None = None, table: str = "", column: str = "",
          key=None) -> str | None:
    if value is None:
        return None
    if db is not None:
        value = db.rows.number(table, key, column, value)
    return iso(value)


def _in(column: str, values) -> tuple[str, list]:
    values = list(values or ())
    if not values:
        return "1 = 1", []
    return f"{column} IN ({','.join('?' * len(values))})", values


def overview(db: Database, journeys=None) -> dict:
    """Versions, runs by status and outcome, customers per stage and step, timers, outbox."""
    where, args = _in("journey_id", journeys)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    clock = float(meta.get("clock", "-inf"))
    versions = []
    for row in db.execute(f"SELECT content_hash, journey_id, version, loaded_seq, tables "
                          f"FROM versions WHERE {where} ORDER BY journey_id, loaded_seq", args):
        latest = db.execute("SELECT max(loaded_seq) FROM versions WHERE journey_id = ?",
                            (row["journey_id"],)).fetchone()[0]
        runs = dict(db.execute("SELECT status, count(*) FROM runs WHERE content_hash = ? "
                               "GROUP BY status ORDER BY status", (row["content_hash"],)).fetchall())
        outcomes = dict(db.execute(
            "SELECT outcome || CASE holdout WHEN 1 THEN ' (holdout)' ELSE '' END, count(*) "
            "FROM runs WHERE content_hash = ? AND status = 'ended' GROUP BY 1 ORDER BY 1",
            (row["content_hash"],)).fetchall())
        versions.append({"journey_id": row["journey_id"], "version": row["version"],
                         "content_hash": row["content_hash"], "active": row["loaded_seq"] == latest,
                         "runs": runs, "outcomes": outcomes,
                         **_titles(_version(db, row["content_hash"], row["tables"])),
                         "migrations": _migrations(db, row["content_hash"])})
    steps = [dict(r) for r in db.execute(
        f"SELECT journey_id, content_hash, coalesce(stage, '(holdout)') AS stage, "
        f"coalesce(step, '(holdout)') AS step, coalesce(waiting, '') AS waiting, count(*) AS customers "
        f"FROM runs WHERE status != 'ended' AND {where} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4",
        args)]
    stages = [dict(r) for r in db.execute(
        f"SELECT journey_id, coalesce(stage, '(holdout)') AS stage, count(*) AS customers FROM runs "
        f"WHERE status != 'ended' AND {where} GROUP BY 1, 2 ORDER BY 1, 2", args)]
    timers = [{"kind": r["kind"], "count": r["n"],
               "next_due": _when(r["due"], db, r["source"], TIMER_SOURCES[r["source"]][1],
                                 f"kind {r['kind']}")}
              for r in db.execute(f"SELECT kind, source, count(*) AS n, min(due) AS due FROM "
                                  f"({_pending(db, '1 = 1')}) AS pending GROUP BY kind, source "
                                  f"ORDER BY kind")]
    outbox = [dict(r) for r in db.execute(
        f"SELECT kind, coalesce(channel, '') AS channel, status, count(*) AS count FROM outbox "
        f"WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", args)]
    definitions = _definitions(db, journeys)
    milestones = [dict(r) for r in db.execute(
        f"SELECT journey_id, detail AS milestone, count(*) AS runs FROM history "
        f"WHERE what = 'milestone' AND {where} GROUP BY 1, 2 ORDER BY 1, 2", args)]
    return {"clock": None if clock == float("-inf") else iso(clock),
            "events": db.execute("SELECT count(*) FROM events").fetchone()[0],
            "customers": db.execute("SELECT count(*) FROM customers").fetchone()[0],
            "seed": meta.get("seed"), "timezone": meta.get("timezone"),
            "versions": versions, "stages": stages, "steps": steps, "timers": timers,
            "outbox": outbox, "roles": roles(db, journeys), "kpis": kpis(db, definitions, clock),
            "promo": promo(db, definitions), "milestones": milestones,
            "experiments": experiments(db, clock, journeys)}


def _owners_keep_timers(db: Database) -> bool:
    """Whether runs, SLAs and KPI observations keep their pending timers in their own rows
    (schema 6 on), or the ``timers`` table holds every timer (earlier schemas)."""
    return "timer_due" in db.columns("runs")


def _pending(db: Database, where: str) -> str:
    """A query of every pending timer as ``timers`` rows, where ``where`` (on ``customer``)."""
    if _owners_keep_timers(db):
        return PENDING_TIMERS.format(where=where)
    return f"SELECT {TIMER_COLUMNS}, 'timers' AS source FROM timers WHERE {where}"


def _pending_parts(db: Database) -> int:
    """How many times ``_pending``'s query holds its condition."""
    return PENDING_TIMERS.count("{where}") if _owners_keep_timers(db) else 1


def _migrations(db: Database, content_hash: str) -> dict:
    """What migrations did to a version: runs moved in from older versions (``in``) and runs
    of this version moved out, stopped or kept by newer ones (``out``)."""
    if not _has_table(db, "migrations"):
        return {"in": [], "out": []}
    columns = "at, journey_id, from_version, from_hash, to_hash, moved, stopped, kept"
    found = {}
    for side, column in (("in", "to_hash"), ("out", "from_hash")):
        found[side] = [{**dict(r), "at": iso(r["at"])} for r in db.execute(
            f"SELECT {columns} FROM migrations WHERE {column} = ? ORDER BY id", (content_hash,))]
    return found


def _has_table(db: Database, name: str) -> bool:
    """State files written before SLAs and KPIs existed lack their tables until next opened."""
    return name in db.tables()


def _titles(tables: dict) -> dict:
    """The journey's title and its stages' titles, from a version's stored tables."""
    journey = (tables.get("journey") or [{}])[0]
    return {"title": journey.get("title"),
            "stage_titles": {s["stage"]: s["stage_title"] for s in tables.get("steps", ())
                             if s.get("stage_title")}}


def _definitions(db: Database, journeys=None) -> dict:
    """Per journey id, what its stored versions declare: KPIs and the promo budget of the
    active (last loaded) version, and the promo and the transactional (exempt from the budget)
    send steps of every version."""
    where, args = _in("journey_id", journeys)
    found: dict = {}
    for row in db.execute(f"SELECT content_hash, journey_id, tables FROM versions WHERE {where} "
                          f"ORDER BY loaded_seq", args):
        tables = _version(db, row["content_hash"], row["tables"])
        entry = found.setdefault(row["journey_id"], {"promo_steps": set(), "exempt_steps": set()})
        entry["kpis"], entry["content_hash"] = tables.get("kpis", []), row["content_hash"]
        entry["budget"] = next((p["params"]["percent"] for p in tables.get("policies", [])
                                if p["kind"] == "promo"), None)
        sends = [(row["content_hash"], s["step_id"], s["params"]) for s in tables["steps"]
                 if s["kind"] == "send"]
        entry["promo_steps"] |= {(h, step) for h, step, params in sends if params.get("promo")}
        entry["exempt_steps"] |= {(h, step) for h, step, params in sends
                                  if params.get("transactional")}
    return found


def roles(db: Database, journeys=None) -> list[dict]:
    """SLAs per role: open (the queue of handoffs waiting), met, breached, breach rate."""
    if not _has_table(db, "slas"):
        return []
    where, args = _in("journey_id", journeys)
    found = []
    for row in db.execute(
            f"SELECT role, count(CASE WHEN status = 'open' THEN 1 END) AS open, "
            f"count(CASE WHEN status = 'met' THEN 1 END) AS met, "
            f"count(CASE WHEN status = 'breached' THEN 1 END) AS breached, "
            f"min(CASE status WHEN 'open' THEN due END) "
            f"AS next_due FROM slas WHERE {where} GROUP BY role ORDER BY role", args):
        closed = row["met"] + row["breached"]
        found.append({"role": row["role"], "open": row["open"], "met": row["met"],
                      "breached": row["breached"],
                      "breach_rate": row["breached"] / closed if closed else None,
                      "next_due": _when(row["next_due"], db, "slas", "due", f"role {row['role']}")})
    return found


def kpis(db: Database, definitions: dict, clock: float = float("inf")) -> list[dict]:
    """Per KPI of each journey's active version, counting that version's runs only (another
    version may measure it differently): observations whose window has closed by the clock,
    hits among them, the rate with its 95% interval against the baseline and the target
    (``met``: the rate reaches the target in its direction; ``met_ci``: the bound of the
    interval does). A hit inside a window still open is not counted yet (``hits_open``): early
    hits would bias the rate. Runs held out at entry are measured in their experiment only."""
    counts = {}
    if _has_table(db, "observations"):
        counts = {(r["content_hash"], r["kpi"]): r for r in db.execute(
            "SELECT content_hash, kpi, "
            "count(CASE WHEN status = 'open' OR status = 'hit' AND due > ? THEN 1 END) AS open, "
            "count(CASE WHEN status = 'hit' AND due <= ? THEN 1 END) AS hits, "
            "count(CASE WHEN status = 'hit' AND due > ? THEN 1 END) AS hits_open, "
            "count(CASE WHEN status = 'missed' THEN 1 END) AS missed FROM observations "
            "WHERE run_id NOT IN "
            "(SELECT id FROM runs WHERE holdout = 1 AND step IS NULL) GROUP BY 1, 2",
            (clock, clock, clock))}
    found = []
    for journey_id, entry in sorted(definitions.items()):
        for kpi in entry["kpis"]:
            row = counts.get((entry["content_hash"], kpi["name"]))
            hits, missed = (row["hits"], row["missed"]) if row else (0, 0)
            closed = hits + missed
            rate = hits / closed if closed else None
            baseline, target = kpi["baseline"] / 100, kpi["target"] / 100
            interval = list(wilson(hits, closed))
            bound = interval[1] if target < baseline else interval[0]
            found.append({"journey_id": journey_id, "kpi": kpi["name"], "title": kpi["title"],
                          "open": row["open"] if row else 0, "observations": closed,
                          "hits": hits, "hits_open": row["hits_open"] if row else 0,
                          "rate": rate, "ci95": interval, "baseline": baseline,
                          "target": target,
                          "met": None if rate is None else kpi_met(rate, baseline, target),
                          "met_ci": None if rate is None else kpi_met(bound, baseline, target)})
    return found


def experiments(db: Database, clock: float, journeys=None) -> list[dict]:
    """Per journey's active version with experiments (an entry holdout, splits): each arm's
    runs, goal conversions, milestones and KPIs (closed windows), compared with the control
    (difference, 95% interval, two-proportion test), over the runs of that version."""
    where, args = _in("journey_id", journeys)
    found = []
    for row in db.execute(f"SELECT content_hash, journey_id, tables FROM versions v WHERE {where} "
                          f"AND loaded_seq = (SELECT max(loaded_seq) FROM versions "
                          f"WHERE journey_id = v.journey_id) ORDER BY journey_id", args):
        rows = _version(db, row["content_hash"], row["tables"])
        if not experiments_of(rows):
            continue
        figures = _arm_figures(db, row["content_hash"], clock)
        found.append({"journey_id": row["journey_id"], "content_hash": row["content_hash"],
                      "experiments": experiment_report(rows, figures)})
    return found


def _arm_figures(db: Database, content_hash: str, clock: float) -> dict:
    """(experiment, arm) -> runs, outcomes, milestones and closed KPI windows of its runs."""
    figures: dict = {}
    arms_of = {}
    for run in db.execute("SELECT * FROM runs WHERE content_hash = ?", (content_hash,)):
        local = json.loads(run["locals"] if "locals" in run.keys() else "{}")  # schema 1: none
        arms = arms_of[run["id"]] = list(local.get("arms", {}).items())
        for key in arms:
            counted = figures.setdefault(key, Counter())
            counted["runs"] += 1
            if run["status"] == "ended":
                counted[f"outcome:{run['outcome']}"] += 1
            for name in local.get("milestones", {}):
                counted[f"milestone:{name}"] += 1
    if arms_of and _has_table(db, "observations"):
        for seen in db.execute(
                "SELECT o.run_id, o.kpi, o.status FROM observations o JOIN runs r ON r.id = "
                "o.run_id WHERE r.content_hash = ? AND (o.status = 'missed' OR o.status = 'hit' "
                "AND o.due <= ?)", (content_hash, clock)):
            for key in arms_of.get(seen["run_id"], ()):
                figures[key][f"kpi:{seen['kpi']}:{seen['status']}"] += 1
    return figures


def promo(db: Database, definitions: dict) -> list[dict]:
    """Per journey: messages sent (the delivery worker handed them to the provider; not those
    still pending, failed or cancelled) that the budget counts (transactional ones are exempt),
    the promo ones among them, their share, the budget, and those still pending delivery."""
    found = []
    sent, pending = ", ".join(f"'{s}'" for s in SENT), ", ".join(f"'{s}'" for s in PENDING)
    for journey_id, entry in sorted(definitions.items()):
        total = marked = waiting = 0
        for row in db.execute(
                f"SELECT content_hash, step, count(CASE WHEN status IN ({sent}) THEN 1 END) AS n, "
                f"count(CASE WHEN status IN ({pending}) THEN 1 END) AS p FROM outbox "
                f"WHERE journey_id = ? AND kind = 'message' GROUP BY 1, 2", (journey_id,)):
            step = (row["content_hash"], row["step"])
            if step in entry["exempt_steps"]:
                continue
            total, waiting = total + row["n"], waiting + row["p"]
            marked += row["n"] if step in entry["promo_steps"] else 0
        if entry["promo_steps"] or entry["budget"] is not None:
            found.append({"journey_id": journey_id, "sends": total, "promo": marked,
                          "share": marked / total if total else None,
                          "budget": None if entry["budget"] is None else entry["budget"] / 100,
                          "pending": waiting})
    return found


def _correlate(db: Database, content_hash: str) -> str | None:
    """The correlation key's path of a stored version (``correlate by ...``)."""
    row = db.execute("SELECT tables FROM versions WHERE content_hash = ?",
                     (content_hash,)).fetchone()
    return None if row is None else _version(db, content_hash, row["tables"])["journey"][0].get(
        "correlate")


def _version(db: Database, content_hash, text) -> dict:
    """A stored version's tables, as checked as `journey run` checks them."""
    try:
        return tables_from_dict(loads(text), f"version {content_hash}").to_dict()
    except (ValueError, TypeError, RecursionError, TablesError) as exc:
        raise StoreError(f"{db.rows.path}: damaged state: table 'versions', row "
                         f"{content_hash!r}, column 'tables': {exc}") from None


def _outbox_row(db: Database, row) -> dict:
    found = dict(row)
    key = found["id"]
    found["payload"] = db.rows.json("outbox", key, "payload", found["payload"])
    found["at"] = _when(found["at"], db, "outbox", "at", key)
    found["due"] = _when(found["due"], db, "outbox", "due", key)
    return found


def outbox(db: Database, status=None, channel=None, customer=None, journeys=None,
           kind=None, limit: int | None = 50) -> list[dict]:
    """Outbox rows, newest first, filtered."""
    clauses, args = [], []
    for column, value in (("status", status), ("channel", channel), ("kind", kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if customer is not None:  # through the runs: the outbox is indexed by run
        clauses.append("run_id IN (SELECT id FROM runs WHERE customer = ?)")
        args.append(customer)
    where, more = _in("journey_id", journeys)
    clauses.append(where)
    args += more
    sql = f"SELECT * FROM outbox WHERE {' AND '.join(clauses)} ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_outbox_row(db, r) for r in db.execute(sql, args)]


def customer(db: Database, customer_id: str) -> dict | None:
    """A customer's profile, runs, history (step entered, when, why) and outbox, in order."""
    row = db.execute("SELECT profile, state FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    profile, *_ = db.rows.customer(customer_id, row["profile"], row["state"])
    runs = []
    columns = RUN_COLUMNS if _owners_keep_timers(db) else \
        RUN_COLUMNS.replace("timer_due", "NULL AS timer_due")  # a state of schema 5 or older
    for r in db.execute(f"SELECT {columns} FROM runs WHERE customer = ? ORDER BY id",
                        (customer_id,)):
        db.rows.run(tuple(r))  # every column what it must be
        run = dict(r)
        run["context"], run["event"] = json.loads(run["context"]), json.loads(run["event"])
        run.update(json.loads(run.pop("locals", None) or "{}"))  # variables, milestones, key
        if run.get("key") is not None:
            run["correlate"] = _correlate(db, run["content_hash"])
        run["holdout"] = bool(run["holdout"])
        for key in ("entered_at", "step_at", "ended_at", "timer_due"):
            run[key] = _when(run[key])
        runs.append(run)
    # by run (indexed), plus the customer's own rows (opt-outs), which have no run; a row holds
    # a run's entries of one moment (journal.py)
    continued = "continued" if "continued" in db.columns("history") else "NULL AS continued"
    history = []
    for h in db.execute(f"SELECT id, at, run_id, journey_id, step, what, why, detail, {continued} "
                        f"FROM history WHERE run_id IN (SELECT id FROM runs WHERE customer = ?) "
                        f"OR (run_id IS NULL AND customer = ?) ORDER BY id",
                        (customer_id, customer_id)):
        head = {key: h[key] for key in ("run_id", "journey_id", "step", "what", "why", "detail")}
        head = {"at": _when(h["at"], db, "history", "at", h["id"]), **head}
        history += [(h["at"], entry) for entry in expand(head, db.rows.continued(h["id"],
                                                                                 h["continued"]))]
    # every event the runtime received for the customer; one that left no history entry keeps
    # what became of it (``note``), shown in the history as ``received``
    note = "note" if "note" in db.columns("events") else "NULL AS note"
    events, received = [], []
    for e in db.execute(f"SELECT ordinal, id, type, at, {note} FROM events WHERE customer = ? "
                        f"ORDER BY ordinal", (customer_id,)):
        event = {**dict(e), "at": _when(e["at"], db, "events", "at", e["ordinal"])}
        events.append(event)
        if event["note"] is not None:
            received.append((e["at"], {"at": event["at"], "run_id": None, "journey_id": None,
                                       "step": None, "what": RECEIVED,
                                       "why": f"event {event['type']}", "detail": event["note"]}))
    history = [entry for _, entry in heapq.merge(history, received, key=lambda h: h[0])]
    timers = []
    for t in db.execute(f"SELECT * FROM ({_pending(db, 'customer = ?')}) AS pending "
                        f"ORDER BY due, seq", (customer_id,) * _pending_parts(db)):
        db.rows.timer(tuple(t))  # every column what it must be
        timers.append({"seq": t["seq"], "due": iso(t["due"]), "run_id": t["run_id"],
                       "kind": t["kind"], "step": t["step"]})
    return {"id": customer_id, "profile": profile,
            "state": json.loads(row["state"]), "runs": runs, "history": history,
            "events": events,
            "timers": timers, "outbox": outbox(db, customer=customer_id, limit=None)[::-1]}
