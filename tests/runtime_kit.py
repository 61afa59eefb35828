"""Helpers for compile and runtime tests: compile DSL text, build events, run a small runtime."""
from __future__ import annotations

import datetime as dt

from journeylang import api
from journeylang.frontend import parse_source
from journeylang.runtime import Event, MemoryAdapter, Adapters, MemoryStore, Runtime, iso
from journeylang.source import Source

COMPILED_AT = "2026-01-01T00:00:00Z"
# Monday 2026-03-02 10:00 in Shanghai (02:00 UTC)
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc).timestamp()
HOUR, DAY = 3600, 86400


def compile_text(text: str, name: str = "t.journey"):
    """Compiled tables of journey text; fails the test with the diagnostics when it has errors."""
    result = api.compile_document(parse_source(Source(name, text)), compiled_at=COMPILED_AT)
    errors = [f"{d.span}: {d.code} {d.message}" for d in result.check.diagnostics
              if str(d.severity) == "error"]
    assert result.ok, "\n".join(errors)
    return result.tables


def journey(body: str, header: str = "", ident: str = "t", version: int = 1) -> str:
    """A journey with an owner, an opt-out exit and templates a..e, around ``body`` (stages)."""
    templates = "\n".join(f'  template {n} "{n.upper()} {{{{ customer.name }}}}"' for n in "abcde")
    return (f'journey {ident} "Test" version {version} {{\n  owner "qa"\n{header}\n'
            f'{templates}\n{body}\n}}\n')


class Kit:
    """A runtime over an in-memory store and a memory adapter, with event helpers."""

    def __init__(self, *texts: str, seed: int = 0, timezone: str = "UTC", store=None, render=True):
        self.adapter = MemoryAdapter()
        self.runtime = Runtime(store if store is not None else MemoryStore(), seed=seed,
                               timezone=timezone, adapters=Adapters(self.adapter), render=render)
        for text in texts:
            self.runtime.load(compile_text(text))
        self.count = 0

    def send(self, kind: str, customer: str = "c1", at: float = T0, data=None, attributes=None,
             ident: str | None = None):
        self.count += 1
        event = Event(ident or f"e{self.count}", kind, customer, at, attributes or {}, data or {})
        self.runtime.ingest([event])
        return event

    def advance(self, until: float) -> int:
        return self.runtime.advance(until)

    # what happened
    def messages(self, customer: str | None = None, status: str | None = None):
        return [a for a in self.adapter.actions if a.kind == "message"
                and (customer is None or a.customer == customer)
                and (status is None or a.status == status)]

    def actions(self, kind: str):
        return [a for a in self.adapter.actions if a.kind == kind]

    def history(self, customer: str = "c1", what: str | None = None):
        rows = [r for r in self.runtime.store.history_rows if r[1] == customer]
        return [r for r in rows if what is None or r[5] == what]

    def steps(self, customer: str = "c1") -> list[str]:
        """The steps a customer entered, in order."""
        return [r[4] for r in self.history(customer) if r[4] is not None
                and r[5] not in ("ended", "handled", "ignored", "milestone")]

    def runs(self, customer: str = "c1"):
        return sorted((r for r in self.runtime.store.runs.values() if r.customer == customer),
                      key=lambda r: r.id)

    def customer(self, customer: str = "c1"):
        return self.runtime.store.customer(customer)


def dump(target, tables) -> dict[str, list]:
    """Every row of ``tables`` of a state (a file or a PostgreSQL URL), in key order."""
    from journeylang.runtime.database import connect
    db = connect(target)
    try:
        return {table: [tuple(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1")]
                for table in tables}
    finally:
        db.close()


def at(text: str) -> float:
    """An ISO-8601 time as epoch seconds."""
    return dt.datetime.fromisoformat(text).timestamp()


def older_timers(db) -> None:
    """Lay a state's pending timers out as schema 5 and earlier did (a sqlite3 connection):
    every timer a row of ``timers``, none in its owner's row; no notes with applied events."""
    db.executescript("""
        INSERT INTO timers (seq, due, run_id, customer, kind, step)
          SELECT timer, timer_due, id, customer,
                 CASE waiting WHEN 'time' THEN 'wake' WHEN 'event' THEN 'timeout' ELSE waiting END,
                 step FROM runs WHERE timer IS NOT NULL;
        INSERT INTO timers (seq, due, run_id, customer, kind, step)
          SELECT timer, due, id, customer, 'sla', step FROM slas WHERE timer IS NOT NULL;
        INSERT INTO timers (seq, due, run_id, customer, kind, step)
          SELECT timer, due, id, customer, 'kpi', kpi FROM observations WHERE timer IS NOT NULL;
        ALTER TABLE runs DROP COLUMN timer_due; ALTER TABLE events DROP COLUMN note;""")


__all__ = ["COMPILED_AT", "DAY", "HOUR", "Kit", "T0", "at", "compile_text", "dump", "iso", "journey",
           "older_timers"]
