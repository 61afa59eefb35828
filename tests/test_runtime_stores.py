"""The durable stores: a SQLite file and a PostgreSQL schema hold the same rows for the same
events, read back the same, and say clearly when they cannot be used."""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.runtime import Event, Runtime, StoreError, open_store
from journeylang.runtime.database import describe
from journeylang.runtime.sql import SCHEMA_VERSION

from conftest import EXAMPLES
from runtime_kit import DAY, T0, compile_text, dump, older_timers

TABLES = ("meta", "versions", "customers", "runs", "timers", "history", "outbox", "events",
          "slas", "observations")


def _events(count: int) -> list[Event]:
    found = []
    for n in range(count):
        customer = f"c{n % 40}"
        profile = {"name": f"客户{n}", "country": "CN", "consent": {"wecom": True, "sms": n % 3 == 0},
                   "timezone": "Asia/Shanghai" if n % 2 else "UTC"}
        found.append(Event(f"e{n}", "cart_abandoned", customer, T0 + n * 600, profile,
                           {"cart": {"value": 50 + n, "items": "2 mugs"}}))
        if n % 5 == 0:
            found.append(Event(f"o{n}", "order_paid", customer, T0 + n * 600 + 300, {},
                               {"order": {"source": "cart", "total": 10}}))
    return found


def _run(target, tables, events, batch: int) -> None:
    with Runtime(open_store(target), seed=3, timezone="Asia/Shanghai") as runtime:
        runtime.load(tables)
        runtime.ingest(events, batch_size=batch)
        runtime.advance(T0 + 5 * DAY)


def test_both_stores_hold_the_same_rows(tmp_path, postgres_url):
    tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                          "cart_recovery.journey")
    events = _events(300)
    _run(tmp_path / "s.sqlite", tables, events[:200], 37)
    _run(postgres_url, tables, events[:200], 37)
    _run(tmp_path / "s.sqlite", tables, events, 50)  # again, with more: a restart, exactly once
    _run(postgres_url, tables, events, 50)
    sqlite, postgres = dump(tmp_path / "s.sqlite", TABLES), dump(postgres_url, TABLES)
    for table in TABLES:
        assert postgres[table] == sqlite[table], f"table {table} differs"
    assert len(sqlite["events"]) == len(events) and len(sqlite["outbox"]) > 100


def test_a_row_written_in_part_holds_what_one_written_whole_holds(tmp_path, monkeypatch):
    """Small batches write a customer again with only its state or its profile, and a run
    with only the columns that move (its JSON values as written); one batch writes each row
    once, whole. The files hold the same rows."""
    from journeylang.runtime import sql
    updated = {}
    plain = sql._updates

    def counted(table, columns, key, rows, packed=()):
        updated[columns] = updated.get(columns, 0) + len(rows)
        return plain(table, columns, key, rows, packed)

    monkeypatch.setattr(sql, "_updates", counted)
    tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                          "cart_recovery.journey")
    events = _events(120)
    for name, batch in (("parts", 7), ("whole", len(events))):
        with Runtime(open_store(tmp_path / f"{name}.sqlite"), seed=3,
                     timezone="Asia/Shanghai") as runtime:
            runtime.load(tables)
            runtime.ingest(events, batch_size=batch)
            runtime.advance(events[-1].at + 3600)  # timers move the runs on, not to their end
        if name == "parts":
            assert updated["state"] and updated["profile"] and updated[sql.RUN_MOVES]
    parts, whole = dump(tmp_path / "parts.sqlite", TABLES), dump(tmp_path / "whole.sqlite", TABLES)
    for table in TABLES:
        assert parts[table] == whole[table], f"table {table} differs"


def test_status_reads_a_postgresql_state(postgres_url, tmp_path):
    tables = tmp_path / "cart.json"
    tables.write_text(compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                                   "cart_recovery.journey").canonical_json(), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(e.to_json() + "\n" for e in _events(20)), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--tables", str(tables), "--events", str(events),
                                  "--db", postgres_url])
    assert result.exit_code == 0, result.output
    assert "state: postgresql://" in result.output
    data = json.loads(runner.invoke(main, ["status", "--db", postgres_url, "--json"]).output)
    assert data["events"] == 24 and data["versions"][0]["journey_id"] == "cart_recovery"
    one = json.loads(runner.invoke(main, ["status", "--db", postgres_url, "--customer", "c1",
                                          "--json"]).output)
    assert one["profile"]["name"] == "客户1" and one["history"]
    rows = json.loads(runner.invoke(main, ["status", "--db", postgres_url, "--outbox",
                                           "--json"]).output)
    assert rows and all(r["status"] == "queued" for r in rows)


def test_a_state_without_the_delivery_columns_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    with Runtime(open_store(path)) as runtime:
        runtime.load(compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8")))
        runtime.ingest(_events(3))
        runtime.advance(T0 + DAY)
    db = sqlite3.connect(path)  # back to schema 2: no delivery columns, no inbox
    older_timers(db)
    db.executescript("""
        DROP TABLE inbox; DROP INDEX outbox_work;
        CREATE TABLE old AS SELECT id, at, customer, run_id, journey_id, content_hash, step, kind,
          channel, template, locale, text, payload, due, status FROM outbox;
        DROP TABLE outbox; ALTER TABLE old RENAME TO outbox;
        UPDATE meta SET value = '2' WHERE key = 'schema';""")
    db.close()
    with Runtime(open_store(path)) as runtime:
        assert runtime.store.meta["schema"] == SCHEMA_VERSION
        rows = runtime.store.db.execute("SELECT kind, next_try = at FROM outbox").fetchall()
        assert rows and all(due for kind, due in rows if kind != "event")  # due for delivery


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="state schema 99, this journeylang reads"):
        open_store(path)


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    url = "postgresql://ops:s3cret@127.0.0.1:1/journeys?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "cannot connect" in str(caught.value) and "s3cret" not in str(caught.value)
    assert describe(url) == "postgresql://ops:***@127.0.0.1:1/journeys?connect_timeout=2"
