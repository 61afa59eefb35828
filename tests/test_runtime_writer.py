"""The writer process: jobs sent ahead of their commits land in order, and a job sent behind a
failed one never lands (it was built on state that is not in the file)."""
from __future__ import annotations

import sqlite3

import pytest

from journeylang.runtime import Event, Runtime, StoreError, open_store
from journeylang.runtime.writer import ProcessWriter, WriteError

from conftest import EXAMPLES
from runtime_kit import T0, compile_text, dump

INSERT = "INSERT INTO t (k, v) VALUES (?, ?)"
TABLES = ("meta", "customers", "runs", "timers", "history", "outbox", "events", "event_ids")


def _file(tmp_path):
    path = tmp_path / "w.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    db.commit()
    db.close()
    return path


def _rows(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT k, v FROM t ORDER BY k").fetchall()
    finally:
        db.close()


def test_jobs_sent_ahead_land_in_order(tmp_path):
    path = _file(tmp_path)
    writer = ProcessWriter(path, "FULL")
    try:
        writer.submit([(INSERT, [(1, "a")], ())])
        # each job builds on the one before it, which may not be in the file yet
        for n in range(2, 7):
            writer.submit([("UPDATE t SET v = v || ? WHERE k = 1", [(str(n),)], ()),
                           (INSERT, [(n, "b")], ())])
        writer.wait()
    finally:
        writer.close()
    assert _rows(path) == [(1, "a23456"), *((n, "b") for n in range(2, 7))]


def test_a_job_behind_a_failed_one_is_not_written(tmp_path):
    path = _file(tmp_path)
    writer = ProcessWriter(path, "FULL")
    try:
        writer.submit([(INSERT, [(1, "first")], ())])
        with pytest.raises(WriteError, match="UNIQUE"):
            writer.submit([(INSERT, [(1, "again")], ())])   # fails in the writer
            writer.submit([(INSERT, [(2, "behind it")], ())])
            writer.wait()
        assert _rows(path) == [(1, "first")]
        writer.submit([(INSERT, [(3, "after the rollback")], ())])  # the writer goes on
        writer.wait()
    finally:
        writer.close()
    assert _rows(path) == [(1, "first"), (3, "after the rollback")]


def _events(count: int) -> list[Event]:
    found = []
    for n in range(count):
        customer = f"c{n % 60}"
        profile = {"country": "CN", "consent": {"wecom": True}, "timezone": "Asia/Shanghai"}
        found.append(Event(f"e{n}", "cart_abandoned", customer, T0 + n * 300, profile,
                           {"cart": {"value": 50 + n, "items": "2 mugs"}}))
        if n % 4 == 0:
            found.append(Event(f"v{n}", "cart_viewed", customer, T0 + n * 300 + 120, {}, {}))
    return found


def test_a_failed_commit_with_commits_sent_behind_it_is_applied_once(tmp_path):
    """A commit fails while the next ones are already sent or built: the runtime stops with
    the error, the file holds the commits before it and none after, and running the same
    events again gives the state of a run that never failed."""
    tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                          "cart_recovery.journey")
    events, batch = _events(600), 50
    clean, failed = tmp_path / "clean.sqlite", tmp_path / "failed.sqlite"
    with Runtime(open_store(clean), seed=3) as runtime:
        runtime.load(tables)
        runtime.ingest(events, batch_size=batch)

    blocked = []

    def block_a_later_commit(report):
        if report.batches == 2 and not blocked:  # the ordinal the sixth batch's commit takes
            ordinal = runtime.ordinal + 3 * batch
            db = sqlite3.connect(failed, timeout=10)
            db.execute("INSERT INTO events (ordinal, id, customer, type, at) VALUES "
                       "(?, 'intruder', 'x', 'x', 0)", (ordinal,))
            db.commit()
            db.close()
            blocked.append(ordinal)

    with Runtime(open_store(failed), seed=3) as runtime:
        runtime.load(tables)
        with pytest.raises(StoreError, match="UNIQUE"):
            runtime.ingest(events, batch_size=batch, on_batch=block_a_later_commit)
        # rolled back to the file: the commits before the failed one, none after it
        stored = runtime.store.db.execute("SELECT max(ordinal) FROM events "
                                          "WHERE id != 'intruder'").fetchone()[0]
        assert stored == blocked[0] - 1 == runtime.ordinal - 1
    db = sqlite3.connect(failed)
    db.execute("DELETE FROM events WHERE id = 'intruder'")
    db.commit()
    db.close()
    with Runtime(open_store(failed), seed=3) as runtime:
        report = runtime.ingest(events, batch_size=batch)
    assert report.skipped == blocked[0] - 1 and report.applied == len(events) - report.skipped
    assert dump(failed, TABLES) == dump(clean, TABLES)
