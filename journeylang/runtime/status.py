"""Runtime inspection: read-only queries over a state file (status, outbox, a customer's history)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .events import iso
from .store import StoreError


def open_state(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a state file; StoreError when it is missing or not ours."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such state file (run `journey run` first, or pass --db)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a journeylang state file ({exc})") from None
    db.row_factory = sqlite3.Row
    return db


def _when(value) -> str | None:
    return None if value is None else iso(value)


def _in(column: str, values) -> tuple[str, list]:
    values = list(values or ())
    if not values:
        return "1 = 1", []
    return f"{column} IN ({','.join('?' * len(values))})", values


def overview(db: sqlite3.Connection, journeys=None) -> dict:
    """Versions, runs by status and outcome, customers per stage and step, timers, outbox."""
    where, args = _in("journey_id", journeys)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    clock = float(meta.get("clock", "-inf"))
    versions = []
    for row in db.execute(f"SELECT content_hash, journey_id, version, loaded_seq FROM versions "
                          f"WHERE {where} ORDER BY journey_id, loaded_seq", args):
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
                         "runs": runs, "outcomes": outcomes})
    steps = [dict(r) for r in db.execute(
        f"SELECT journey_id, content_hash, coalesce(stage, '(holdout)') AS stage, "
        f"coalesce(step, '(holdout)') AS step, coalesce(waiting, '') AS waiting, count(*) AS customers "
        f"FROM runs WHERE status != 'ended' AND {where} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4",
        args)]
    stages = [dict(r) for r in db.execute(
        f"SELECT journey_id, coalesce(stage, '(holdout)') AS stage, count(*) AS customers FROM runs "
        f"WHERE status != 'ended' AND {where} GROUP BY 1, 2 ORDER BY 1, 2", args)]
    timers = [{"kind": r["kind"], "count": r["n"], "next_due": _when(r["due"])} for r in db.execute(
        "SELECT kind, count(*) AS n, min(due) AS due FROM timers GROUP BY kind ORDER BY kind")]
    outbox = [dict(r) for r in db.execute(
        f"SELECT kind, coalesce(channel, '') AS channel, status, count(*) AS count FROM outbox "
        f"WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", args)]
    return {"clock": None if clock == float("-inf") else iso(clock),
            "events": db.execute("SELECT count(*) FROM events").fetchone()[0],
            "customers": db.execute("SELECT count(*) FROM customers").fetchone()[0],
            "seed": meta.get("seed"), "timezone": meta.get("timezone"),
            "versions": versions, "stages": stages, "steps": steps, "timers": timers,
            "outbox": outbox}


def _outbox_row(row) -> dict:
    found = dict(row)
    found["payload"] = json.loads(found["payload"])
    found["at"], found["due"] = _when(found["at"]), _when(found["due"])
    return found


def outbox(db: sqlite3.Connection, status=None, channel=None, customer=None, journeys=None,
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
    return [_outbox_row(r) for r in db.execute(sql, args)]


def customer(db: sqlite3.Connection, customer_id: str) -> dict | None:
    """A customer's profile, runs, history (step entered, when, why) and outbox, in order."""
    row = db.execute("SELECT profile, state FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    runs = []
    for r in db.execute("SELECT * FROM runs WHERE customer = ? ORDER BY id", (customer_id,)):
        run = dict(r)
        run["context"], run["event"] = json.loads(run["context"]), json.loads(run["event"])
        run["holdout"] = bool(run["holdout"])
        for key in ("entered_at", "step_at", "ended_at"):
            run[key] = _when(run[key])
        runs.append(run)
    # by run (indexed), plus the customer's own rows (opt-outs), which have no run
    history = [{**dict(h), "at": iso(h["at"])} for h in db.execute(
        "SELECT at, run_id, journey_id, step, what, why, detail FROM history "
        "WHERE run_id IN (SELECT id FROM runs WHERE customer = ?) "
        "OR (run_id IS NULL AND customer = ?) ORDER BY id", (customer_id, customer_id))]
    timers = [{**dict(t), "due": iso(t["due"])} for t in db.execute(
        "SELECT seq, due, run_id, kind, step FROM timers WHERE customer = ? ORDER BY due, seq",
        (customer_id,))]
    return {"id": customer_id, "profile": json.loads(row["profile"]),
            "state": json.loads(row["state"]), "runs": runs, "history": history,
            "timers": timers, "outbox": outbox(db, customer=customer_id, limit=None)[::-1]}
