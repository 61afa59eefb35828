"""A long-running runtime keeps its memory flat: the ids of applied events beyond a window live
in the store's index, and a scheduled entry's occurrence loads only the customers of its zone."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from journeylang.runtime import Event, Runtime, SqliteStore
from journeylang.runtime.applied import DEFAULT_WINDOW

from runtime_kit import DAY, T0, Kit, at, compile_text, journey, older_timers

CLICKS = journey('''
  stage s {
    send via wecom template a
    exit completed
  }''', header="  entry on click\n  reentry always")


def _clicks(start: int, count: int) -> list[Event]:
    return [Event(f"e{n}", "click", f"c{n % 7}", T0 + n * 60, {}, {})
            for n in range(start, start + count)]


def test_applied_ids_in_memory_stay_within_the_window_and_older_ones_are_still_refused(tmp_path):
    path, window, batch = tmp_path / "state.sqlite", 20, 10
    events = _clicks(0, 300)
    held = []
    with Runtime(SqliteStore(path, dedup_window=window)) as runtime:
        runtime.load(compile_text(CLICKS))
        runtime.ingest(events, batch_size=batch,
                       on_batch=lambda _: held.append(len(runtime.store.applied)))
        # the window, the batch just applied, and the ids of the commits in flight at most
        assert max(held) <= window + 2 * batch
        again = runtime.ingest(events[:5] + _clicks(300, 1), batch_size=batch)
        assert (again.applied, again.skipped) == (1, 5)  # far older than the window
    with Runtime(SqliteStore(path, dedup_window=window)) as runtime:
        assert len(runtime.store.applied) <= window  # a restart reads only the newest ids
        again = runtime.ingest(events + _clicks(300, 1), batch_size=batch)
        assert (again.applied, again.skipped) == (0, 301)
    db = sqlite3.connect(path)
    indexed = db.execute("SELECT count(*) FROM event_ids").fetchone()[0]
    runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
    db.close()
    assert runs == 301 and 301 - window - batch <= indexed < 301


@pytest.mark.parametrize("odd", ["客户-😀", 'quote " and \\ backslash', "nul \x00 inside"])
def test_applied_ids_of_any_text_reach_the_index_as_they_are(tmp_path, odd):
    """The ids moved to the index travel as one JSON array (or row by row when one holds a NUL,
    which SQLite's JSON functions cut short): every id lands exactly, and is refused again."""
    path, window = tmp_path / "state.sqlite", 4
    events = [Event(f"{odd} {n}" if n % 3 == 0 else f"e{n}", "click", f"c{n % 7}", T0 + n * 60,
                    {}, {}) for n in range(40)]
    with Runtime(SqliteStore(path, dedup_window=window)) as runtime:
        runtime.load(compile_text(CLICKS))
        runtime.ingest(events, batch_size=3)
    db = sqlite3.connect(path)
    indexed = {row[0] for row in db.execute("SELECT id FROM event_ids")}
    db.close()
    assert len(indexed) >= 30 and indexed <= {event.id for event in events}
    assert any(odd in ident for ident in indexed)
    with Runtime(SqliteStore(path, dedup_window=window)) as runtime:
        again = runtime.ingest(events, batch_size=3)
    assert (again.applied, again.skipped) == (0, 40)


def test_the_default_window_is_documented():
    from conftest import ROOT
    text = (ROOT / "docs" / "runtime.md").read_text(encoding="utf-8")
    assert f"{DEFAULT_WINDOW:,}" in text


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.integers(1, 9),
       st.lists(st.integers(0, 60), min_size=1, max_size=120))
def test_a_duplicate_is_refused_whatever_its_age(tmp_path_factory, window, batch, picks):
    """Any stream with repeats, any window and batch: each id is applied once, as without a
    window, across a restart in the middle."""
    path = tmp_path_factory.mktemp("dedup") / "state.sqlite"
    events = [Event(f"e{n}", "ping", "c1", T0 + k, {}, {}) for k, n in enumerate(picks)]
    half = len(events) // 2
    applied = 0
    for part in (events[:half], events[half:]):
        with Runtime(SqliteStore(path, dedup_window=window)) as runtime:
            applied += runtime.ingest(part, batch_size=batch).applied
    assert applied == len(set(picks))


WEEKLY = journey('''
  stage s {
    send via wecom template a
    exit completed
  }''', header='  entry every wednesday at 20:00\n  reentry always')


def test_an_occurrence_loads_only_the_customers_of_its_time_zone(tmp_path):
    path = tmp_path / "state.sqlite"
    monday = at("2026-03-02T08:00:00+00:00")
    kit = Kit(WEEKLY, store=SqliteStore(path))
    zones = {f"sh{n}": "Asia/Shanghai" for n in range(5)}
    zones.update({f"ny{n}": "America/New_York" for n in range(5)})
    zones.update({"utc": None, "odd": 8})  # no zone, and one that is not text: the default
    for n, (customer, zone) in enumerate(zones.items()):
        kit.send("profile", customer, monday + n,
                 attributes={"name": customer, **({"timezone": zone} if zone else {})})
    kit.runtime.close()
    kit = Kit(store=SqliteStore(path))  # a restart: nothing cached
    loaded = []
    load = kit.runtime.store.load_customer
    kit.runtime.store.load_customer = lambda ident: loaded.append(ident) or load(ident)
    kit.advance(at("2026-03-04T12:30:00+00:00"))  # Wednesday 20:00 in Shanghai only
    assert sorted(loaded) == sorted(c for c, z in zones.items() if z == "Asia/Shanghai")
    loaded.clear()
    kit.advance(at("2026-03-04T20:30:00+00:00"))  # then in UTC, the default zone
    assert sorted(loaded) == ["odd", "utc"]
    kit.runtime.close()
    db = sqlite3.connect(path)
    entered = dict(db.execute("SELECT customer, count(*) FROM runs GROUP BY customer"))
    db.close()
    assert entered == {c: 1 for c, z in zones.items() if z != "America/New_York"}


def test_a_customer_who_moves_zone_enters_at_the_new_zones_occurrence(tmp_path):
    path = tmp_path / "state.sqlite"
    monday = at("2026-03-02T08:00:00+00:00")
    kit = Kit(WEEKLY, store=SqliteStore(path))
    kit.send("profile", "c1", monday, attributes={"timezone": "America/New_York"})
    kit.send("profile", "c2", monday, attributes={"timezone": "Asia/Shanghai"})
    kit.runtime.close()
    kit = Kit(store=SqliteStore(path))
    kit.send("profile", "c1", monday + DAY, attributes={"timezone": "Asia/Shanghai"}, ident="moved")
    kit.advance(at("2026-03-04T12:30:00+00:00"))  # Wednesday 20:00 in Shanghai
    kit.runtime.close()
    db = sqlite3.connect(path)
    assert dict(db.execute("SELECT customer, count(*) FROM runs GROUP BY customer")) == {
        "c1": 1, "c2": 1}
    assert dict(db.execute("SELECT id, timezone FROM customers")) == {
        "c1": "Asia/Shanghai", "c2": "Asia/Shanghai"}
    db.close()


def test_a_state_of_schema_4_gets_the_zone_index_and_keeps_its_history(tmp_path):
    from journeylang.runtime.sql import SCHEMA_VERSION
    from journeylang.runtime.status import customer, open_state
    path = tmp_path / "old.sqlite"
    monday = at("2026-03-02T08:00:00+00:00")
    kit = Kit(WEEKLY, store=SqliteStore(path))
    kit.send("profile", "sh", monday, attributes={"name": "Li", "timezone": "Asia/Shanghai"})
    kit.send("profile", "utc", monday, attributes={"name": "Ann"})
    kit.runtime.close()
    db = sqlite3.connect(path)  # back to schema 4: one history row per entry, no zone column
    older_timers(db)
    db.executescript(f"""
        DROP INDEX customers_by_timezone; ALTER TABLE customers DROP COLUMN timezone;
        ALTER TABLE history DROP COLUMN continued; DROP TABLE event_ids;
        INSERT INTO history (at, customer, what, why) VALUES ({monday}, 'sh', 'note', 'old');
        UPDATE meta SET value = '4' WHERE key = 'schema';""")
    db.close()
    kit = Kit(store=SqliteStore(path))
    assert kit.runtime.store.meta["schema"] == SCHEMA_VERSION
    assert dict(kit.runtime.store.db.execute("SELECT id, timezone FROM customers")) == {
        "sh": "Asia/Shanghai", "utc": None}
    kit.advance(at("2026-03-04T20:30:00+00:00"))  # both occurrences
    kit.runtime.close()
    db = open_state(path)
    try:
        entries = {c: [(h["step"], h["what"], h["why"]) for h in customer(db, c)["history"]]
                   for c in ("sh", "utc")}
    finally:
        db.close()
    assert entries["sh"][0] == (None, "note", "old")
    assert [e[:2] for e in entries["sh"][1:]] == [e[:2] for e in entries["utc"]] == [
        ("s.1", "sent"), ("s.2", "exit"), ("s.2", "ended")]


def test_an_event_no_journey_takes_passes_a_known_customer_by_and_is_still_applied(tmp_path):
    """An event of a type nothing takes, without attributes, changes nothing of a customer the
    store holds: the customer is not handed out (nothing to compare at commit), the event is
    recorded as applied. A new customer is still recorded, and attributes still update."""
    path = tmp_path / "state.sqlite"
    with Runtime(SqliteStore(path)) as runtime:
        runtime.load(compile_text(CLICKS))
        runtime.ingest([Event("e1", "click", "c1", T0, {"name": "A"}, {})])
        handed, plain = [], runtime.store.customer
        runtime.store.customer = lambda ident: handed.append(ident) or plain(ident)
        report = runtime.ingest([Event("e2", "page_viewed", "c1", T0 + 60, {}, {}),
                                 Event("e3", "page_viewed", "c2", T0 + 60, {}, {}),
                                 Event("e4", "page_viewed", "c1", T0 + 120, {"tier": "gold"}, {})])
        assert report.applied == 3 and handed == ["c2", "c1"]
        again = runtime.ingest([Event("e2", "page_viewed", "c1", T0 + 60, {}, {})])
        assert (again.applied, again.skipped) == (0, 1)
    db = sqlite3.connect(path)
    applied = [r[0] for r in db.execute("SELECT id FROM events ORDER BY ordinal")]
    profiles = dict(db.execute("SELECT id, profile FROM customers"))
    db.close()
    assert applied == ["e1", "e2", "e3", "e4"]
    assert profiles == {"c1": '{"name":"A","tier":"gold"}', "c2": "{}"}
