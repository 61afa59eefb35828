"""Every event the runtime receives leaves a trace: an event that left no history entry keeps
what became of it with its applied id, and `journey status --customer` shows it in the
customer's history."""
from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from journeylang.cli import main
from journeylang.runtime import Event, Runtime, SqliteStore
from journeylang.runtime.sql import SCHEMA_VERSION
from journeylang.runtime.status import customer, open_state

from runtime_kit import HOUR, T0, Kit, compile_text, journey, older_timers

CART = journey('''
  stage s {
    w: wait for replied within 1d -> done timeout -> done
    done: send via wecom template a
    exit completed
  }''', header="  entry on cart where event.value > 10\n  reentry after 1h")


def _notes(path) -> dict[str, str | None]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT id, note FROM events ORDER BY ordinal"))
    finally:
        db.close()


def _history(path, ident: str) -> list[tuple]:
    db = open_state(path)
    try:
        return [(h["what"], h["why"], h["detail"]) for h in customer(db, ident)["history"]]
    finally:
        db.close()


def test_an_event_that_left_no_history_entry_says_what_became_of_it(tmp_path):
    path = tmp_path / "state.sqlite"
    events = [Event("e1", "cart", "c1", T0, {"name": "A"}, {"value": 50}),
              Event("e2", "page_viewed", "c1", T0 + 60, {}, {}),          # a known customer
              Event("e3", "page_viewed", "c2", T0 + 60, {"tier": "gold"}, {}),  # a new one
              Event("e4", "cart", "c3", T0 + 120, {}, {"value": 5}),       # entry condition
              Event("e5", "cart", "c1", T0 + 180, {}, {"value": 80}),      # in a run already
              Event("e6", "replied", "c3", T0 + 240, {}, {}),              # no run to take it
              Event("e7", "replied", "c1", T0 + 300, {}, {})]              # moves c1's run
    with Runtime(SqliteStore(path)) as runtime:
        runtime.load(compile_text(CART))
        runtime.ingest(events, batch_size=3)
    assert _notes(path) == {
        "e1": None, "e2": "no loaded journey takes it",
        "e3": "no loaded journey takes it; profile updated",
        "e4": "not entered t: entry condition not met",
        "e5": "not entered t: already in a run", "e6": "no run took it", "e7": None}
    c1 = _history(path, "c1")
    assert ("received", "event page_viewed", "no loaded journey takes it") in c1
    assert ("received", "event cart", "not entered t: already in a run") in c1
    assert [what for what, _, _ in c1].count("received") == 2  # e1 and e7 moved the run
    assert _history(path, "c3") == [
        ("received", "event cart", "not entered t: entry condition not met"),
        ("received", "event replied", "no run took it")]
    shown = CliRunner().invoke(main, ["status", "--db", str(path), "--customer", "c2"])
    assert shown.exit_code == 0, shown.output
    assert "received no loaded journey takes it; profile updated" in shown.output
    assert "page_viewed              id e3: no loaded journey takes it" in shown.output


def test_a_customer_re_entering_too_soon_is_told_when_it_may(tmp_path):
    kit = Kit(journey('''
  stage s {
    send via wecom template a
    exit completed
  }''', header="  entry on cart\n  reentry after 2d"))
    kit.send("cart", ident="first")
    kit.send("cart", at=T0 + HOUR, ident="again")
    assert kit.runtime.store.notes == {"again": "not entered t: re-entry not before "
                                                "2026-03-04T02:00:00Z"}


def test_a_state_of_schema_5_gets_the_note_column_and_keeps_its_events(tmp_path):
    path = tmp_path / "old.sqlite"
    with Runtime(SqliteStore(path)) as runtime:
        runtime.load(compile_text(CART))
        runtime.ingest([Event("e1", "cart", "c1", T0, {}, {"value": 50}),
                        Event("e2", "page_viewed", "c1", T0 + 60, {}, {})])
    db = sqlite3.connect(path)  # back to schema 5: applied events without a note
    older_timers(db)
    db.executescript("UPDATE meta SET value = '5' WHERE key = 'schema';")
    db.close()
    assert _history(path, "c1")[0][0] != "received"  # status reads a schema 5 state as it is
    with Runtime(SqliteStore(path)) as runtime:
        assert runtime.store.meta["schema"] == SCHEMA_VERSION == "6"
        runtime.ingest([Event("e3", "page_viewed", "c1", T0 + 120, {}, {})])
    assert _notes(path) == {"e1": None, "e2": None, "e3": "no loaded journey takes it"}
    assert [h for h in _history(path, "c1") if h[0] == "received"] == [
        ("received", "event page_viewed", "no loaded journey takes it")]
