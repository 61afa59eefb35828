"""Runtime persistence: the state's two queues as other processes use them, on their own
connection beside the runtime's store.

The **inbox** holds events accepted durably and not yet applied: the live service adds what it
receives, the delivery worker adds delivery results, and the runtime takes them out in the
transaction that applies them (``Runtime.ingest_inbox``). The **outbox** holds the runtime's
actions: a delivery worker leases the rows due for its channels, and records each result, with
the event reporting it, in one transaction. A lease is a token and an expiry: a worker that
dies leaves rows that are leased again once their lease runs out (at least once), and a worker
whose lease ran out cannot record a result any more (never two results for one attempt).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .channels import DEAD, QUEUED, SENDING, SENT
from .database import Database, connect, database_errors
from .events import Event
from .sql import event_json, prepare

LEASE_COLUMNS = ("id, at, customer, run_id, journey_id, step, kind, channel, template, locale, "
                 "text, payload, due, status, attempts, provider_id, sent_at")


@dataclass(slots=True)
class Leased:
    """An outbox row leased for delivery (``status`` ``sending``, or ``sent`` when only its
    result is still to be learned), with the profile of its customer for addressing it."""

    id: int
    at: float
    customer: str
    run_id: int | None
    journey_id: str | None
    step: str | None
    kind: str
    channel: str | None
    template: str | None
    locale: str | None
    text: str | None
    payload: dict
    due: float | None
    status: str
    attempts: int
    provider_id: str | None
    sent_at: float | None
    profile: dict
    lease: str = ""


@dataclass(slots=True)
class Result:
    """What to record of one delivery attempt: the row's new status, when it needs the worker
    again (``next_try``; None: never), and the events reporting it."""

    status: str
    next_try: float | None = None
    sent_at: float | None = None
    provider_id: str | None = None
    error: str | None = None
    receipts: tuple = ()


def connect_queues(target) -> Database:
    """A connection for a process that adds to the inbox or delivers the outbox (the state is
    created if it does not exist yet)."""
    db = connect(target)
    if db.kind == "sqlite":
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")  # an event acknowledged survives a power cut
        db.execute("PRAGMA busy_timeout = 10000")
    try:
        prepare(db, db.name)
    except BaseException:
        db.close()
        raise
    return db


def reconnect(db: Database, target) -> Database:
    """A new connection after an error (a server restarted, a connection dropped); StoreError
    or a database error when the state cannot be reached yet."""
    try:
        db.close()
    except database_errors():
        pass
    return connect_queues(target)


class Inbox:
    """Adding events to a state's inbox: each id once (a retry of a request adds nothing)."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, arrivals) -> int:
        """Add ``(event, received at)`` pairs in one transaction; the number that were new."""
        rows = [(e.id, e.customer, received, event_json(e)) for e, received in arrivals]
        with self.db.transaction():
            return self.db.executemany("INSERT INTO inbox (id, customer, received, event) "
                                       "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", rows)

    def backlog(self) -> int:
        return self.db.execute("SELECT count(*) FROM inbox").fetchone()[0]

    def oldest(self) -> float | None:
        """When the oldest event still waiting to be applied was accepted."""
        return self.db.execute("SELECT min(received) FROM inbox").fetchone()[0]


class Outbox:
    """Leasing outbox rows and recording what became of them."""

    def __init__(self, db: Database):
        self.db = db
        self._skip = " FOR UPDATE SKIP LOCKED" if db.kind == "postgres" else ""

    def lease(self, kind: str, channel: str | None, limit: int, now: float, until: float,
              token: str) -> list[Leased]:
        """Up to ``limit`` rows of ``kind`` (and ``channel``, for messages) due by ``now``, the
        longest due first, leased with ``token`` until ``until``."""
        route, args = ("kind = ? AND channel = ?", [kind, channel]) if channel is not None \
            else ("kind = ?", [kind])
        with self.db.transaction():
            ids = [r[0] for r in self.db.execute(
                f"UPDATE outbox SET lease = ?, next_try = ?, "
                f"attempts = attempts + CASE WHEN status = '{SENT}' THEN 0 ELSE 1 END, "
                f"status = CASE WHEN status = '{QUEUED}' THEN '{SENDING}' ELSE status END "
                f"WHERE id IN (SELECT id FROM outbox WHERE {route} AND next_try IS NOT NULL "
                f"AND next_try <= ? ORDER BY next_try LIMIT ?{self._skip}) RETURNING id",
                [token, until, *args, now, limit]).fetchall()]
        return self._read(ids, token) if ids else []

    def _read(self, ids: list[int], token: str) -> list[Leased]:
        columns = ", ".join(f"o.{c}" for c in LEASE_COLUMNS.split(", "))
        rows = self.db.execute(
            f"SELECT {columns}, c.profile FROM outbox o LEFT JOIN customers c ON c.id = o.customer "
            f"WHERE o.id IN ({','.join('?' * len(ids))}) ORDER BY o.id", ids).fetchall()
        found = []
        for row in rows:
            values = list(row)
            values[11] = json.loads(values[11])
            values[-1] = json.loads(values[-1]) if values[-1] else {}
            found.append(Leased(*values, lease=token))
        return found

    def finish(self, results) -> set[int]:
        """Record results, ``[(row, Result), ...]``, and add the events reporting them to the
        inbox, in one transaction; the ids recorded (not those whose lease ran out)."""
        recorded = set()
        with self.db.transaction():
            for row, result in results:
                done = self.db.execute(
                    "UPDATE outbox SET status = ?, next_try = ?, lease = NULL, "
                    "sent_at = coalesce(?, sent_at), provider_id = coalesce(?, provider_id), "
                    "error = ? WHERE id = ? AND lease = ?",
                    (result.status, result.next_try, result.sent_at, result.provider_id,
                     result.error, row.id, row.lease))
                if done.rowcount != 1:
                    continue
                recorded.add(row.id)
                for event in result.receipts:
                    self.db.execute("INSERT INTO inbox (id, customer, received, event) VALUES "
                                    "(?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                                    (event.id, event.customer, event.at, event_json(event)))
        return recorded

    def report(self, action_id: int, status: str, at: float, make_receipt) -> str:
        """A delivery report from outside (a provider's callback): ``delivered`` or ``failed``
        for a sent message. Returns what happened: ``recorded``, ``already`` (reported before),
        ``pending`` (still being sent: report again), ``unknown``."""
        with self.db.transaction():
            row = self.db.execute(f"SELECT {LEASE_COLUMNS} FROM outbox WHERE id = ?",
                                  (action_id,)).fetchone()
            if row is None or row[6] != "message":
                return "unknown"
            if row[13] in (QUEUED, SENDING):
                return "pending"
            if row[13] != SENT:
                return "already"
            self.db.execute("UPDATE outbox SET status = ?, next_try = NULL, lease = NULL "
                            "WHERE id = ? AND status = ?", (status, action_id, SENT))
            leased = Leased(*row[:11], json.loads(row[11]), *row[12:], profile={})
            event = make_receipt(leased, at)
            self.db.execute("INSERT INTO inbox (id, customer, received, event) VALUES "
                            "(?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                            (event.id, event.customer, at, event_json(event)))
        return "recorded"

    def requeue(self, statuses=(DEAD,), channel: str | None = None, now: float = 0.0) -> int:
        """Put rows back in the queue (the dead letters, by default): delivered again from
        their first attempt."""
        marks = ",".join("?" * len(statuses))
        clause, args = (" AND channel = ?", [channel]) if channel else ("", [])
        with self.db.transaction():
            return self.db.execute(
                f"UPDATE outbox SET status = '{QUEUED}', attempts = 0, next_try = ?, lease = NULL "
                f"WHERE status IN ({marks}){clause}", [now, *statuses, *args]).rowcount

    def depth(self) -> list[tuple]:
        """Rows with work left, by kind, channel and status, with the earliest due time."""
        return [tuple(r) for r in self.db.execute(
            "SELECT kind, coalesce(channel, ''), status, count(*), min(next_try) FROM outbox "
            "WHERE next_try IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")]

    def dead(self) -> list[tuple]:
        """Dead letters by kind and channel."""
        return [tuple(r) for r in self.db.execute(
            f"SELECT kind, coalesce(channel, ''), count(*) FROM outbox WHERE status = '{DEAD}' "
            f"GROUP BY 1, 2 ORDER BY 1, 2")]


def receipt(row: Leased, kind: str, at: float, **detail) -> Event:
    """The event reporting a delivery result of a message (``semantics.DELIVERY_EVENTS``); its
    id makes it once per result and attempt."""
    data = {"action": row.id, "channel": row.channel, "template": row.template,
            "journey": row.journey_id, "step": row.step, "attempts": row.attempts}
    data.update({k: v for k, v in detail.items() if v is not None})
    return Event(f"delivery:{row.id}:{kind}:{row.attempts}", kind, row.customer, at, {}, data)


__all__ = ["Inbox", "Leased", "Outbox", "Result", "connect_queues", "receipt"]
