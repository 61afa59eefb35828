"""Runs from entry to outcome: audience, goals, exit rules, re-entry, versions, exactly once."""
from __future__ import annotations

import time

import pytest

from journeylang.runtime import (Event, Runtime, RuntimeSetupError, SqliteStore, StoreError,
                                 VirtualClock, WallClock, open_store)

from runtime_kit import DAY, HOUR, T0, Kit, compile_text, journey

NAME = {"name": "Ann"}
FLOW = '''
  stage s {
    send via wecom template a
    wait 3d
    send via wecom template b
    exit completed
  }'''


def flow(header: str, ident: str = "t", version: int = 1, body: str = FLOW) -> str:
    return journey(body, header=header, ident=ident, version=version)


def test_entry_condition_and_audience_both_hold():
    kit = Kit(flow("  entry on cart_abandoned where cart.value >= 50\n"
                   "  audience not has tag \"staff\""))
    kit.send("cart_abandoned", "small", data={"cart": {"value": 10}}, attributes=NAME)
    kit.send("cart_abandoned", "staff", data={"cart": {"value": 90}},
             attributes={"name": "S", "tags": ["staff"]})
    kit.send("cart_abandoned", "ok", data={"cart": {"value": 90}}, attributes=NAME)
    assert {m.customer for m in kit.messages()} == {"ok"}


def test_a_goal_ends_the_run_wherever_the_customer_is():
    kit = Kit(flow("  entry on signup\n  goal bought on order_paid where order.total > 0 within 7d"))
    kit.send("signup", attributes=NAME)
    kit.send("order_paid", at=T0 + DAY, data={"order": {"total": 0}})  # does not match
    assert kit.runs()[0].status == "active"
    kit.send("order_paid", at=T0 + 2 * DAY, data={"order": {"total": 30}})
    run, = kit.runs()
    assert (run.status, run.outcome, run.step, run.timer) == ("ended", "converted", "s.2", None)
    assert kit.history(what="ended")[0][6:] == ["goal bought on order_paid", "converted"]
    kit.advance(T0 + 10 * DAY)
    assert [m.template for m in kit.messages()] == ["a"]  # the wait's timer was cancelled


def test_a_goal_outside_its_window_does_not_count():
    kit = Kit(flow("  entry on signup\n  goal bought on order_paid within 1d"))
    kit.send("signup", attributes=NAME)
    kit.send("order_paid", at=T0 + 2 * DAY)
    assert kit.runs()[0].status == "active"


def test_exit_rules_end_the_run_with_their_outcome():
    kit = Kit(flow("  entry on signup\n  exit on tier_changed where customer.tier == \"regular\" as expired"))
    kit.send("signup", attributes=NAME)
    kit.send("tier_changed", at=T0 + HOUR, attributes={"tier": "gold"})
    assert kit.runs()[0].status == "active"
    kit.send("tier_changed", at=T0 + 2 * HOUR, attributes={"tier": "regular"})
    assert (kit.runs()[0].outcome, kit.runs()[0].ended_at) == ("expired", T0 + 2 * HOUR)


def test_the_trigger_of_a_new_run_is_also_the_goal_of_the_old_one():
    kit = Kit(flow("  entry on order_paid\n  reentry always\n  goal again on order_paid"))
    kit.send("order_paid", attributes=NAME)
    kit.send("order_paid", at=T0 + DAY)
    first, second = kit.runs()
    assert first.outcome == "converted" and second.status == "active"


@pytest.mark.parametrize("reentry, expected", [
    ("never", 1),
    ("always", 4),
    ("after 2d", 2),  # T0 (until its end at 3d... still active at 1d and 2.5d), then 4d
])
def test_reentry(reentry, expected):
    kit = Kit(flow(f"  entry on signup\n  reentry {reentry}"))
    for offset in (0, DAY, 2.5 * DAY, 4 * DAY):
        kit.advance(T0 + offset)
        kit.send("signup", at=T0 + offset, attributes=NAME)
    assert len(kit.runs()) == expected


def test_reentry_after_counts_from_the_last_entry_once_the_run_ended():
    quick = flow("  entry on signup\n  reentry after 2d", body='''
  stage s {
    send via wecom template a
    exit completed
  }''')
    kit = Kit(quick)
    for offset in (0, DAY, 2 * DAY, 3 * DAY, 4 * DAY):
        kit.send("signup", at=T0 + offset, attributes=NAME)
    assert [r.entered_at - T0 for r in kit.runs()] == [0, 2 * DAY, 4 * DAY]


def test_customers_stay_on_the_version_they_entered():
    one = flow("  entry on signup")
    two = flow("  entry on signup", version=2, body='''
  stage s {
    send via wecom template c
    wait 1d
    send via wecom template d
    exit completed
  }''')
    kit = Kit(one)
    kit.send("signup", "old", attributes=NAME)
    v2 = kit.runtime.load(compile_text(two))
    kit.send("signup", "new", at=T0 + HOUR, attributes=NAME)
    kit.advance(T0 + 5 * DAY)
    assert [m.template for m in kit.messages("old")] == ["a", "b"]
    assert [m.template for m in kit.messages("new")] == ["c", "d"]
    assert kit.runs("new")[0].content_hash == v2.content_hash != kit.runs("old")[0].content_hash
    assert set(kit.runtime.programs) == {kit.runs("old")[0].content_hash, v2.content_hash}


def test_loading_an_older_version_again_makes_it_the_active_one():
    one, two = flow("  entry on signup"), flow("  entry on signup", version=2)
    kit = Kit(one, two)
    v1 = kit.runtime.load(compile_text(one))
    assert kit.runtime.active["t"] is v1
    assert len(kit.runtime.programs) == 2


def test_an_event_is_applied_once_even_when_ingested_twice():
    kit = Kit(flow("  entry on signup\n  reentry always"))
    kit.send("signup", ident="same", attributes=NAME)
    kit.send("signup", ident="same", attributes=NAME)
    report = kit.runtime.ingest([Event("x", "signup", "c1", T0), Event("x", "signup", "c1", T0)])
    assert (report.applied, report.skipped) == (1, 1)
    assert len(kit.runs()) == 2


def test_late_events_are_applied_at_the_current_time():
    kit = Kit(flow("  entry on signup\n  goal bought on order_paid"))
    kit.send("signup", attributes=NAME)
    kit.advance(T0 + DAY)
    kit.send("order_paid", at=T0)  # arrives late
    assert kit.runs()[0].ended_at == T0 + DAY


def test_state_survives_a_restart_and_timers_fire_after_it(state_target):
    tables = compile_text(flow("  entry on signup\n  policy { cap 5 messages per 7d }"))
    with Runtime(open_store(state_target), seed=5) as runtime:
        runtime.load(tables)
        runtime.ingest([Event("e1", "signup", "c1", T0, NAME)])
    with Runtime(open_store(state_target)) as runtime:
        assert runtime.seed == "5"
        runtime.load(tables)  # already there: no new version
        report = runtime.ingest([Event("e1", "signup", "c1", T0, NAME),
                                 Event("e2", "ping", "c1", T0 + HOUR)])
        assert (report.applied, report.skipped) == (1, 1)
        assert runtime.advance(T0 + 4 * DAY) == 1
        rows = runtime.store.db.execute("SELECT template, status FROM outbox ORDER BY id").fetchall()
        assert rows == [("a", "queued"), ("b", "queued")]
        customer = runtime.store.customer("c1")
        assert [s[2] for s in customer.sends] == ["t", "t"] and customer.runs == []
        assert runtime.store.db.execute("SELECT count(*) FROM versions").fetchone() == (1,)


def test_a_state_file_keeps_its_seed_and_time_zone(state_target, tmp_path):
    Runtime(open_store(state_target), seed=1, timezone="Asia/Shanghai").close()
    with pytest.raises(RuntimeSetupError, match="seed 1, not 2"):
        Runtime(open_store(state_target), seed=2)
    with pytest.raises(RuntimeSetupError, match="time zone"):
        Runtime(SqliteStore(tmp_path / "other.sqlite"), timezone="Mars/Olympus")


def test_one_writer_per_state(state_target):
    first = open_store(state_target)
    with pytest.raises(StoreError, match="in use by another journey"):
        open_store(state_target, lock_wait=0.2)
    first.close()
    open_store(state_target).close()


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a journeylang state file"):
        SqliteStore(junk)


def test_a_failing_batch_leaves_the_committed_state(state_target):
    tables = compile_text(flow("  entry on signup"))
    with Runtime(open_store(state_target)) as runtime:
        runtime.load(tables)
        runtime.ingest([Event("e1", "signup", "c1", T0, NAME)])

        def broken():
            yield Event("e2", "signup", "c2", T0, NAME)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            runtime.ingest(broken())  # the batch read so far is applied and committed first
        assert {r[0] for r in runtime.store.db.execute("SELECT id FROM events")} == {"e1", "e2"}

        def bad_batch():
            yield Event("e3", "signup", "c3", T0, NAME)
            yield Event("e4", "signup", "c4", T0, {"name": "x"})

        def explode(*args):
            raise RuntimeError("adapter down")

        runtime.executor.adapters.default.deliver = explode
        with pytest.raises(RuntimeError):
            runtime.ingest(bad_batch())
        assert runtime.store.db.execute("SELECT count(*) FROM events").fetchone() == (2,)
        assert "c3" not in runtime.store.customers


def test_a_clock_decides_how_far_timers_fire():
    clock = VirtualClock(T0)
    kit = Kit(flow("  entry on signup"))
    kit.runtime.clock = clock
    kit.send("signup", attributes=NAME)
    clock.advance(3 * DAY - 1)
    assert kit.runtime.tick() == 0
    clock.advance(1)
    assert kit.runtime.tick() == 1 and kit.runtime.now == T0 + 3 * DAY
    assert abs(WallClock().now() - time.time()) < 5


def test_scheduled_events_wait_for_their_time():
    kit = Kit(flow("  entry on signup\n  goal bought on order_paid"))
    kit.send("signup", attributes=NAME)
    kit.runtime.schedule_event(Event("later", "order_paid", "c1", T0 + 2 * DAY))
    kit.advance(T0 + DAY)
    assert kit.runs()[0].status == "active"
    kit.advance(T0 + 2 * DAY)
    assert (kit.runs()[0].outcome, kit.runs()[0].ended_at) == ("converted", T0 + 2 * DAY)
