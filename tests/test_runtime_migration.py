"""Versions in flight: a new version moves, stops or keeps the runs of an older one, all of them
or none; `journey check --against`, `journey run`, `journey status` and `journey diff`."""
from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.compile import write_json
from journeylang.printer.yaml import print_yaml
from journeylang.frontend import parse_source
from journeylang.runtime import MigrationError, SqliteStore
from journeylang.source import Source

from runtime_kit import DAY, HOUR, T0, Kit, compile_text, iso

V1 = '''journey nurture "Nurture" version 1 {
  owner "crm"
  entry on joined
  exit on unsubscribed as opted_out
  var touches = 0
  var note = "v1"
  template a "A"
  template b "B"
  stage s {
    send via wecom template a
    set touches = touches + 1
    pause: wait 2d
    listen: wait for replied within 3d -> done timeout -> remind
    remind: send via wecom template b
    done: exit completed
  }
}
'''
V2 = '''journey nurture "Nurture" version 2 {
  owner "crm"
  entry on joined
  exit on unsubscribed as opted_out
  var touches = 0
  var extra = true
  migrate from version 1 {
    pause -> pause
    listen -> ask
    other -> drain
  }
  template a "A"
  template c "C"
  stage s {
    send via wecom template a
    pause: wait 3d
    ask: send via wecom template c
    wait for replied within 1d -> done timeout -> done
    done: exit completed
  }
}
'''

INCOMPLETE = V2.replace("    pause -> pause\n", "").replace("    other -> drain\n", "")


def kit_with_runs(store=None) -> Kit:
    """c1 joins at T0 (waits at pause until T0+2d), c2 at T0-2d-1h (waits at listen)."""
    kit = Kit(V1, store=store)
    kit.send("joined", "c2", at=T0 - 2 * DAY - HOUR)
    kit.send("joined", "c1", at=T0)
    kit.advance(T0 + HOUR)
    return kit


def test_runs_move_keep_their_waited_time_and_their_variables():
    kit = kit_with_runs()
    kit.runtime.load(compile_text(V2))
    c1, = kit.runs("c1")
    assert (c1.step, c1.waiting) == ("pause", "time")
    assert c1.vars == {"touches": 1, "extra": True}  # carried, added; `note` is not declared
    moved = kit.history("c1", "migrated")[-1]
    assert (moved[4], moved[6]) == ("pause", "migrate from version 1")
    assert moved[7].startswith("from pause of sha256:") and iso(T0 + 3 * DAY) in moved[7]
    kit.advance(T0 + 3 * DAY - 1)
    assert kit.runs("c1")[0].step == "pause"   # three days from when it reached the old wait
    kit.advance(T0 + 3 * DAY)
    assert kit.runs("c1")[0].step == "s.4"     # after the new `ask` send
    assert [m.template for m in kit.messages("c1")] == ["a", "c"]
    c2, = kit.runs("c2")                       # was waiting for a reply: `ask` runs at once
    assert [m.template for m in kit.messages("c2")] == ["a", "c"]
    assert c2.content_hash == kit.runtime.active["nurture"].content_hash
    assert kit.runtime.store.migrations[0][5:] == (2, 0, 0)


def test_stop_ends_runs_and_drain_keeps_them_on_the_old_version():
    kit = kit_with_runs()
    kit.runtime.load(compile_text(V2.replace("pause -> pause", "pause -> stop")
                                  .replace("listen -> ask", "listen -> drain")))
    c1 = kit.runtime.store.runs[2]
    assert (c1.status, c1.outcome) == ("ended", "stopped")
    c2, = kit.runs("c2")[0:1]
    old = kit.runtime.store.migrations[0]
    assert c2.content_hash == old[3] and c2.step == "listen"
    assert kit.history("c2", "kept")[-1][7].startswith("stays on sha256:")
    kit.advance(T0 + 5 * DAY)                  # it finishes on version 1: the remind `b`
    assert [m.template for m in kit.messages("c2")] == ["a", "b"]
    assert old[5:] == (0, 1, 1)


def test_a_migration_that_cannot_apply_changes_nothing(tmp_path):
    db = tmp_path / "state.sqlite"
    kit = kit_with_runs(SqliteStore(db))
    before = sqlite3.connect(db).execute("SELECT id, content_hash, step FROM runs").fetchall()
    with pytest.raises(MigrationError, match="nothing was changed"):
        kit.runtime.load(compile_text(INCOMPLETE))
    assert sqlite3.connect(db).execute("SELECT id, content_hash, step FROM runs").fetchall() == before
    assert sqlite3.connect(db).execute("SELECT count(*) FROM versions").fetchone() == (1,)
    assert kit.runtime.active["nurture"].version == 1


def test_a_failure_while_moving_rolls_every_run_back(tmp_path, monkeypatch):
    from journeylang.runtime import migrate
    db = tmp_path / "state.sqlite"
    kit = kit_with_runs(SqliteStore(db))
    before = sqlite3.connect(db).execute("SELECT id, content_hash, step FROM runs").fetchall()
    moved = []

    def failing(*args):
        if moved:
            raise OSError("disk full")
        moved.append(args)
        return real(*args)
    real = migrate._move
    monkeypatch.setattr(migrate, "_move", failing)
    with pytest.raises(OSError):
        kit.runtime.load(compile_text(V2))
    assert len(moved) == 1  # one run had moved when the second failed
    assert sqlite3.connect(db).execute("SELECT id, content_hash, step FROM runs").fetchall() == before
    assert kit.runtime.active["nurture"].version == 1
    assert [r.step for r in kit.runtime.store.customer("c1").runs] == ["pause"]


def test_the_yaml_migration_moves_runs_as_the_dsl_one():
    text = print_yaml(parse_source(Source("v2.journey", V2)).journey)
    assert "migrations:" in text and "listen: ask" in text
    moved = []
    for version in (V2, text):
        kit = kit_with_runs()
        kit.runtime.load(compile_text(version, "v2.yaml" if version is text else "v2.journey"))
        kit.advance(T0 + 4 * DAY)
        moved.append([(r[4], r[5]) for r in kit.runtime.store.history_rows])
    assert moved[0] == moved[1]


def test_holdout_runs_stay_on_their_version():
    held = V1.replace('  entry on joined\n', '  entry on joined\n  goal bought on order_paid within 30d\n'
                      '  policy { holdout 100% }\n')
    kit = Kit(held)
    kit.send("joined", "c1", at=T0)
    kit.runtime.load(compile_text(V2.replace("  entry on joined\n", "  entry on joined\n  goal bought "
                                                                    "on order_paid within 30d\n")))
    run, = kit.runs("c1")
    assert run.holdout and run.content_hash != kit.runtime.active["nurture"].content_hash
    assert kit.runtime.store.migrations[0][5:] == (0, 0, 1)
    kit.send("order_paid", "c1", at=T0 + DAY)
    assert kit.runs("c1")[0].outcome == "converted"


def test_a_held_send_moved_to_a_send_goes_when_quiet_hours_end():
    quiet = V1.replace("  var touches = 0\n", "  var touches = 0\n  policy { quiet 22:00-08:00 }\n")
    kit = Kit(quiet)
    kit.send("joined", "c2", at=T0 + 21 * HOUR)  # 23:00 UTC: the first send is held
    assert kit.runs("c2")[0].waiting == "quiet"
    v2 = V2.replace("  var touches = 0\n", "  var touches = 0\n  policy { quiet 22:00-08:00 }\n")
    kit.runtime.load(compile_text(v2.replace("other -> drain", "s.1 -> ask; other -> drain")))
    assert kit.runs("c2")[0].waiting == "quiet" and kit.runs("c2")[0].step == "ask"
    kit.advance(T0 + 30 * HOUR)                  # 08:00 UTC the next day
    assert [m.template for m in kit.messages("c2")] == ["c"]


# --- the command line --------------------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def released(tmp_path):
    (tmp_path / "v1.journey").write_text(V1, encoding="utf-8")
    (tmp_path / "v2.journey").write_text(V2, encoding="utf-8")
    events = [{"id": "e1", "type": "joined", "customer": "c1", "at": "2026-03-02T10:00:00Z"},
              {"id": "e2", "type": "joined", "customer": "c2", "at": "2026-02-28T09:00:00Z"}]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return tmp_path


def test_check_against_a_state_file_then_run_and_status(released):
    db = released / "state.sqlite"
    assert invoke("run", "--tables", released / "v1.journey", "--events",
                  released / "events.jsonl", "--db", db, "--until",
                  "2026-03-02T11:00:00Z").exit_code == 0
    bad = released / "v2_bad.journey"
    bad.write_text(INCOMPLETE, encoding="utf-8")
    result = invoke("check", bad, "--against", db)
    assert result.exit_code == 1
    assert "JL801 error: migrate from version 1: runs of version 1 can be waiting at 'pause' " \
           "(a wait), which this migration does not map" in result.output
    assert invoke("check", released / "v2.journey", "--against", db).exit_code == 0
    result = invoke("run", "--tables", released / "v2.journey", "--db", db)
    assert result.exit_code == 0
    assert "journey nurture: migrated the runs of version 1" in result.output
    assert "2 moved, 0 stopped, 0 kept on version 1" in result.output
    shown = invoke("status", "--db", db).output
    assert "migrated out 2026-03-02T11:00:00Z to v2" in shown
    assert "migrated in 2026-03-02T11:00:00Z from v1" in shown
    data = json.loads(invoke("status", "--db", db, "--json").output)
    newest = next(v for v in data["versions"] if v["active"])
    assert newest["migrations"]["in"][0]["moved"] == 2 and newest["runs"] == {"active": 2}


def test_run_refuses_a_migration_that_does_not_apply(released):
    db = released / "state.sqlite"
    invoke("run", "--tables", released / "v1.journey", "--events", released / "events.jsonl",
           "--db", db, "--until", "2026-03-02T11:00:00Z")
    tables = released / "v2.json"  # compiled without the state: its check cannot see the runs
    write_json(compile_text(INCOMPLETE), tables)
    result = invoke("run", "--tables", tables, "--db", db)
    assert result.exit_code == 1
    assert "the migration cannot be applied, nothing was changed" in result.output
    assert "does not map" in result.output


def test_diff_shows_steps_templates_and_how_runs_move(released):
    result = invoke("diff", released / "v1.journey", released / "v2.journey")
    assert result.exit_code == 1
    out = result.output
    assert "journey nurture: v1 sha256:" in out and "-> v2 sha256:" in out
    assert "  + ask: stage s, kind send, channel wecom, template c" in out
    assert "  - remind: stage s, kind send" in out
    assert "  ~ pause: duration: 2d -> 3d" in out
    assert "  + c: text C" in out
    assert "  + from version 1: moves pause -> pause; listen -> ask; other -> drain" in out
    assert "runs of version 1 waiting at 'listen' (a wait for events) -> ask" in out
    data = json.loads(invoke("diff", released / "v1.journey", released / "v2.journey",
                             "--json").output)
    assert {"section": "steps", "kind": "~", "item": "pause: duration", "old": "2d",
            "new": "3d"} in data["changes"]
    same = invoke("diff", released / "v2.journey", released / "v2.journey")
    assert same.exit_code == 0 and "no changes" in same.output


def test_the_example_pair_migrates_as_the_docs_say(tmp_path):
    """docs/runtime.md, "6. Versions": the walk through examples/refill_nudge*.journey."""
    from conftest import EXAMPLES
    db = tmp_path / "refill.sqlite"
    assert invoke("run", "--tables", EXAMPLES / "refill_nudge_v1.journey", "--events",
                  EXAMPLES / "events" / "refill_nudge_v1.jsonl", "--db", db, "--until",
                  "2026-03-26T12:00:00+08:00").exit_code == 0
    assert invoke("check", EXAMPLES / "refill_nudge.journey", "--against", db).exit_code == 0
    assert invoke("check", EXAMPLES / "refill_nudge.journey").exit_code == 0  # config `versions`
    loaded = invoke("run", "--tables", EXAMPLES / "refill_nudge.journey", "--db", db, "--until",
                    "2026-04-30T00:00:00+08:00")
    assert "3 moved, 0 stopped, 1 kept on version 1" in loaded.output
    zhou = json.loads(invoke("status", "--db", db, "--customer", "c-zhouli", "--json").output)
    moved = [row for row in zhou["history"] if row["what"] == "migrated"]
    # 24 days into version 1's 25-day wait: past version 2's day 22, so reminded at once
    assert moved[0]["step"] == "supply" and moved[0]["at"] == "2026-03-26T04:00:00Z"
    assert [row["step"] for row in zhou["history"]][2:4] == ["remind", "cycle.3"]
    he = json.loads(invoke("status", "--db", db, "--customer", "c-hemei", "--json").output)
    assert he["runs"][0]["outcome"] == "expired" and any(
        row["what"] == "kept" for row in he["history"])  # the last call stayed on version 1


def test_earlier_versions_come_from_tables_folders_and_journeys(tmp_path):
    from journeylang.api import older_versions
    write_json(compile_text(V1), tmp_path / "v1.json")
    (tmp_path / "v1.journey").write_text(V1, encoding="utf-8")
    shapes = older_versions([tmp_path])
    assert [(s.journey_id, s.version) for s in shapes] == [("nurture", 1), ("nurture", 1)]
    assert [s.described for s in shapes[0].waiting()] == ["'pause' (a wait)",
                                                          "'listen' (a wait for events)"]
    with pytest.raises(Exception, match="no such file or folder"):
        older_versions([tmp_path / "missing.json"])
