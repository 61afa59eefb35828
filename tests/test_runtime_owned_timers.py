"""A pending timer of a run, an SLA or a KPI observation is kept in its owner's row (no row of
its own to insert and delete); the timers of scheduled entries keep the ``timers`` table. A
restart, `journey status` and a state of an earlier schema all find every pending timer."""
from __future__ import annotations

import sqlite3

from journeylang.runtime import Runtime, SqliteStore, read_events
from journeylang.runtime.state import KpiDue, Occurrence, RunTimer, SlaDue
from journeylang.runtime.status import customer, open_state, overview

from conftest import EXAMPLES
from runtime_kit import DAY, at, compile_text, dump, older_timers

JOURNEYS = ("welcome_activation", "weekly_community_activity")
STOP = at("2026-03-04T12:10:00+00:00")  # waits, SLAs, a KPI and the schedules all pending
TABLES = ("customers", "runs", "slas", "observations", "history", "outbox", "timers")


def _state(path) -> dict[int, tuple]:
    with Runtime(SqliteStore(path), seed=3) as runtime:
        for name in JOURNEYS:
            text = (EXAMPLES / f"{name}.journey").read_text(encoding="utf-8")
            runtime.load(compile_text(text, f"{name}.journey"))
        events = sorted((e for name in JOURNEYS
                         for e in read_events(EXAMPLES / "events" / f"{name}.jsonl")),
                        key=lambda e: e.at)
        runtime.ingest([e for e in events if e.at <= STOP])
        runtime.advance(STOP)
        return _pending(runtime)


def _pending(runtime) -> dict[int, tuple]:
    return {seq: (t.due, t.payload) for seq, t in runtime.executor.pending.items()}


def test_pending_timers_are_kept_by_their_owners_and_restored(tmp_path):
    path = tmp_path / "state.sqlite"
    pending = _state(path)
    kinds = {type(payload) for _, payload in pending.values()}
    assert kinds == {RunTimer, SlaDue, KpiDue, Occurrence}
    db = sqlite3.connect(path)
    assert {r[0] for r in db.execute("SELECT kind FROM timers")} == {"schedule"}
    assert db.execute("SELECT count(*) FROM runs WHERE (timer IS NULL) != (timer_due IS NULL)"
                      ).fetchone() == (0,)
    db.close()
    with Runtime(SqliteStore(path)) as runtime:
        assert _pending(runtime) == pending
    state = open_state(path)
    try:
        counted = {row["kind"]: row["count"] for row in overview(state)["timers"]}
        shown = [t for c, in state.execute("SELECT id FROM customers") for t in
                 customer(state, c)["timers"]]
    finally:
        state.close()
    assert sum(counted.values()) == len(pending) and {"sla", "kpi", "schedule"} <= set(counted)
    assert sorted(t["seq"] for t in shown) == sorted(
        seq for seq, (_, payload) in pending.items() if type(payload) is not Occurrence)


def test_a_state_of_schema_5_moves_its_timers_into_their_owners_rows(tmp_path):
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    pending = _state(old)
    _state(new)
    db = sqlite3.connect(old)  # every timer a row of its own, as schema 5 wrote them
    older_timers(db)
    db.executescript("UPDATE meta SET value = '5' WHERE key = 'schema';")
    assert db.execute("SELECT count(*) FROM timers").fetchone() == (len(pending),)
    db.close()
    for path in (old, new):
        with Runtime(SqliteStore(path)) as runtime:
            assert _pending(runtime) == pending
            runtime.advance(STOP + 10 * DAY)  # every timer fires as it would have
    assert dump(old, TABLES) == dump(new, TABLES)
