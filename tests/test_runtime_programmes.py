"""The constructs of long-running programmes at run time: handlers, declared attributes and
variables, event history, segments, entry-anchored waits, calendar caps, transactional sends,
milestones, fallback channels and the default locale."""
from __future__ import annotations

from journeylang import api
from journeylang.runtime import MemoryStore, SqliteStore, iso
from journeylang.runtime.policies import Zones

from runtime_kit import DAY, HOUR, T0, Kit, at, compile_text, journey, older_timers

SHANGHAI = {"name": "Ann", "timezone": "Asia/Shanghai"}


# --- always-on handlers and ignored events --------------------------------------------------

POINTS = journey('''
  stage learn {
    nudge: send via wecom template a
    wait until 08:30
    wait for lesson_done within 1d -> nudge timeout -> done
    done: exit completed
  }''', header='''  entry on joined
  attribute points: number = 0
  on lesson_done { set customer.points = customer.points + 10 }
  policy { quiet 22:00-08:00 }''')


def test_a_handler_counts_every_event_whatever_step_the_run_is_at():
    """Nine lessons: during `wait until 08:30`, while the message is held by quiet hours and
    at the wait for them. Without the handler three of them were lost (60 instead of 90)."""
    kit = Kit(POINTS)
    late = at("2026-03-02T23:00:00+08:00")
    kit.send("joined", at=late, attributes=SHANGHAI)
    assert [r[5] for r in kit.history()][-1] == "deferred"   # held until 08:00
    moments = ["2026-03-02T23:10:00+08:00", "2026-03-02T23:20:00+08:00",   # held
               "2026-03-03T08:10:00+08:00", "2026-03-03T08:20:00+08:00",   # wait until 08:30
               "2026-03-03T09:00:00+08:00", "2026-03-03T10:00:00+08:00",
               "2026-03-03T11:00:00+08:00", "2026-03-03T12:00:00+08:00",
               "2026-03-03T13:00:00+08:00"]
    for moment in moments:
        kit.send("lesson_done", at=at(moment))
    assert kit.customer().profile["points"] == 90
    handled = kit.history(what="handled")
    assert len(handled) == 9 and handled[0][4] == "nudge" and handled[0][7] == "set customer.points"


def test_an_event_nothing_takes_is_recorded_as_ignored_with_the_step():
    text = journey('''
  stage s {
    wait 1h
    wait for replied within 1d -> done timeout -> done
    done: exit completed
  }''', header="  entry on joined")
    kit = Kit(text)
    kit.send("joined")
    kit.send("replied", at=T0 + 60)          # during `wait 1h`: lost, but not silently
    kit.send("clicked", at=T0 + 120)         # an event the journey never takes: no row
    ignored = kit.history(what="ignored")
    assert [(r[4], r[6], r[7]) for r in ignored] == [
        ("s.1", "event replied", "waiting for time to pass")]


def test_a_handler_jump_leaves_a_wait_and_a_deferred_send():
    text = journey('''
  stage s {
    send via wecom template a
    wait 2d
    exit completed
    vip: tag "vip"
    exit converted
  }''', header='''  entry on joined
  on upgraded where event.tier == "gold" { -> vip }
  policy { quiet 22:00-08:00 }''')
    kit = Kit(text)
    kit.send("joined", at=at("2026-03-02T23:00:00+08:00"), attributes=SHANGHAI)
    kit.send("upgraded", at=at("2026-03-02T23:30:00+08:00"), data={"tier": "silver"})
    kit.send("upgraded", at=at("2026-03-02T23:40:00+08:00"), data={"tier": "gold"})
    run, = kit.runs()
    assert (run.outcome, kit.messages()) == ("converted", [])
    assert kit.history(what="handled")[0][7] == "-> vip"
    assert kit.steps() == ["s.1", "vip", "s.5"]


# --- declared attributes and run-local variables ---------------------------------------------

def test_arithmetic_on_a_declared_attribute_starts_from_its_default():
    text = journey('''
  stage s {
    add: set customer.points = customer.points + 10
    check: branch {
      when customer.points < 30 -> again
      else -> done
    }
    again: wait 1h -> add
    done: exit completed
  }''', header="  entry on joined\n  attribute points: number = 0")
    kit = Kit(text)
    kit.send("joined")
    kit.advance(T0 + DAY)
    assert kit.customer().profile == {"points": 30}
    assert kit.runs()[0].outcome == "completed"


def test_a_default_from_the_shared_schema_reaches_the_tables(tmp_path):
    (tmp_path / ".journeylang.toml").write_text(
        '[schema.attributes]\ncustomer.points = {type = "number", default = 5}\n'
        'customer.name = "string"\n', encoding="utf-8")
    path = tmp_path / "j.journey"
    path.write_text(journey('''
  stage s {
    set customer.points = customer.points + 1
    send via wecom template a
    exit completed
  }''', header="  entry on joined"), encoding="utf-8")
    tables = api.load_tables(path)
    assert [(r["name"], r["value"]) for r in tables.rows["attributes"]] == [("points", 5)]
    kit = Kit()
    kit.runtime.load(tables)
    kit.send("joined")
    assert kit.customer().profile["points"] == 6


def test_variables_belong_to_their_run():
    """Two journeys count with a variable of the same name, and an event carrying a field of
    that name changes neither."""
    def counter(ident: str) -> str:
        return journey('''
  stage s {
    again: wait for ping within 1d -> add timeout -> done
    add: set n = n + 1 -> again
    done: exit completed
  }''', header="  entry on joined\n  var n = 0", ident=ident)
    kit = Kit(counter("one"), counter("two"))
    kit.send("joined")
    for i in range(3):
        kit.send("ping", at=T0 + 60 * (i + 1), data={"n": 100})
    assert [run.vars for run in kit.runs()] == [{"n": 3}, {"n": 3}]
    assert "n" not in kit.customer().profile


# --- event history ------------------------------------------------------------------------------

def test_event_history_answers_within_a_window_and_since_entry():
    text = journey('''
  stage s {
    wait 7d
    d7: branch {
      when happened(welfare_claimed) and count(order_paid where event.total > 50 within 30d) >= 2 -> vip
      when sum(order_paid.total within 30d) > 100 -> big
      else -> plain
    }
    vip: exit converted
    big: exit completed
    plain: exit churned
  }''', header="  entry on joined")
    kit = Kit(text)
    kit.send("order_paid", at=T0 - 10 * DAY, data={"total": 80})    # before entry, in 30d
    kit.send("welfare_claimed", at=T0 - DAY)                         # before entry
    kit.send("joined")
    kit.send("order_paid", at=T0 + DAY, data={"total": 60})
    kit.advance(T0 + 8 * DAY)
    assert kit.runs()[0].outcome == "completed"   # welfare before entry; 2 orders, one > 50
    kit2 = Kit(text)
    kit2.send("joined")
    kit2.send("welfare_claimed", at=T0 + HOUR)
    kit2.send("order_paid", at=T0 + DAY, data={"total": 60})
    kit2.send("order_paid", at=T0 + 2 * DAY, data={"total": 70})
    kit2.advance(T0 + 8 * DAY)
    assert kit2.runs()[0].outcome == "converted"


def test_history_keeps_only_what_questions_need():
    text = journey('''
  stage s {
    wait 1d
    branch { when count(clicked within 2d) >= 1 -> done
      else -> done }
    done: exit completed
  }''', header="  entry on joined")
    kit = Kit(text)
    for day in range(10):
        kit.send("clicked", at=T0 + day * DAY, data={"url": "x" * 50})
        kit.send("opened", at=T0 + day * DAY + 1)
    events = kit.customer().events
    assert list(events) == ["clicked"] and len(events["clicked"]) == 3  # days 7, 8, 9
    assert events["clicked"][-1][1] == {}  # no question reads the data


def test_time_since_and_rfm_scores():
    text = journey('''
  stage s {
    branch {
      when time_since(order_paid within 30d) < 3d and rfm_score(order_paid.total within 365d) == 523 -> loyal
      else -> other
    }
    loyal: exit converted
    other: exit completed
  }''', header="  entry on checked")
    kit = Kit(text)
    kit.send("order_paid", at=T0 - 2 * DAY, data={"total": 100})
    kit.send("order_paid", at=T0 - DAY, data={"total": 500})
    kit.send("checked")
    assert kit.runs()[0].outcome == "converted"  # R 5 (1 day), F 2 (2 orders), M 3 (600)


# --- segments ---------------------------------------------------------------------------------

def test_a_segment_is_its_condition_in_every_journey(tmp_path):
    (tmp_path / ".journeylang.toml").write_text(
        '[segments]\nhigh_value = "customer.ltv >= 5000"\n', encoding="utf-8")
    path = tmp_path / "j.journey"
    path.write_text(journey('''
  stage s {
    branch { when segment(high_value) -> vip
      else -> done }
    vip: exit converted
    done: exit completed
  }''', header="  entry on joined where not segment(high_value) or customer.vip == true"),
                    encoding="utf-8")
    kit = Kit()
    kit.runtime.load(api.load_tables(path))
    kit.send("joined", "c1", attributes={"ltv": 9000, "vip": True})
    kit.send("joined", "c2", attributes={"ltv": 100})
    kit.send("joined", "c3", attributes={"ltv": 9000})
    assert [(r.customer, r.outcome) for r in kit.runtime.store.runs.values()] == [
        ("c1", "converted"), ("c2", "completed")]


# --- entry-anchored time ----------------------------------------------------------------------

def test_day_n_after_entry_does_not_drift_with_earlier_waits():
    """`wait 7d` then `wait until 10:00` sent on day 8 when the wait ended at 11:00; the
    entry-anchored wait sends on day 7 at 10:00 in the customer's zone."""
    text = journey('''
  stage s {
    wait for replied within 2d -> d7 timeout -> d7
    d7: wait until day 7 at 10:00
    send via wecom template a
    wait until day 1 at 09:00
    send via wecom template b
    exit completed
  }''', header="  entry on joined")
    kit = Kit(text)
    kit.send("joined", at=at("2026-03-02T11:00:00+08:00"), attributes=SHANGHAI)
    kit.send("replied", at=at("2026-03-03T15:00:00+08:00"))
    kit.advance(at("2026-03-20T00:00:00+08:00"))
    first, second = kit.messages()
    assert iso(first.at) == "2026-03-09T02:00:00Z"      # 10:00 in Shanghai, 7 days after entry
    assert second.at == first.at                        # day 1 at 09:00 passed long ago
    assert kit.history(what="wait_day")[1][7] == "day 1 at 09:00 was 2026-03-03T01:00:00Z"
    assert kit.history(what="sent")[1][6] == "time passed"


# --- calendar caps and transactional sends ----------------------------------------------------

def test_a_calendar_day_cap_counts_from_local_midnight():
    text = journey('''
  stage s {
    send via group template a
    wait 2h
    send via group template b
    wait 10h
    send via group template c
    exit completed
  }''', header="  entry on joined\n  policy { cap 1 messages per calendar day on group }")
    kit = Kit(text)
    kit.send("joined", at=at("2026-03-02T23:00:00+08:00"), attributes=SHANGHAI)
    kit.advance(at("2026-03-04T00:00:00+08:00"))
    # 23:00 sent; 01:00 is another day: sent; 11:00 the same day as 01:00: skipped
    assert [m.template for m in kit.messages()] == ["a", "b"]
    assert kit.history(what="skipped")[0][7] == "cap 1 per calendar day on group reached"


def test_a_transactional_send_ignores_quiet_hours_and_caps_but_not_consent():
    text = journey('''
  stage s {
    send via wecom template a
    ack: send transactional via wecom template b
    send transactional via sms template c
    send via wecom template d
    exit completed
  }''', header="  entry on joined\n  exit on unsubscribed as opted_out\n"
                "  policy { cap 1 messages per 1d; quiet 22:00-08:00; consent sms }")
    kit = Kit(text)
    kit.send("joined", at=at("2026-03-02T21:59:00+08:00"), attributes=SHANGHAI)
    kit.advance(at("2026-03-04T00:00:00+08:00"))
    sent = [(m.template, iso(m.at)) for m in kit.messages()]
    # a at 21:59, b at once (transactional, after the cap), c needs sms consent, d: cap
    assert sent == [("a", "2026-03-02T13:59:00Z"), ("b", "2026-03-02T13:59:00Z")]
    assert [r[7] for r in kit.history(what="skipped")] == [
        "no consent for sms", "cap 1 per 86400s reached"]


# --- milestones -------------------------------------------------------------------------------

def test_a_milestone_is_recorded_and_the_run_goes_on():
    text = journey('''
  stage s {
    wait 3d
    emit nurtured
    exit completed
  }''', header="  entry on joined\n  milestone first_purchase on order_paid within 7d\n"
                "  milestone nurtured on nurtured\n  goal done on nurtured")
    kit = Kit(text)
    kit.send("joined")
    kit.send("order_paid", at=T0 + DAY)
    kit.send("order_paid", at=T0 + 2 * DAY)
    kit.advance(T0 + 5 * DAY)
    run, = kit.runs()
    assert run.milestones == {"first_purchase": T0 + DAY, "nurtured": T0 + 3 * DAY}
    # the goal on the event the journey emits counts, although the next step exits
    assert run.outcome == "converted"
    assert [r[7] for r in kit.history(what="milestone")] == ["first_purchase", "nurtured"]


# --- fallback channels and the default locale -------------------------------------------------

def test_a_send_falls_back_to_the_next_channel_the_policies_let_through():
    text = journey('''
  stage s {
    send via sms, wecom template a
    send via wecom, sms template b
    send via sms, wecom template c
    exit completed
  }''', header="  entry on joined\n  exit on unsubscribed as opted_out\n"
                "  policy { consent sms; cap 1 messages per 1d on wecom }")
    kit = Kit(text)
    kit.send("joined", attributes={"name": "Ann", "consent": {"sms": False}})
    assert [(m.template, m.channel) for m in kit.messages()] == [("a", "wecom")]
    skipped = kit.history(what="skipped")
    assert [r[7] for r in skipped] == [
        "no consent for sms (tried first wecom: cap 1 per 86400s on wecom reached)",
        "cap 1 per 86400s on wecom reached (tried first sms: no consent for sms)"]
    assert kit.history(what="sent")[0][7].endswith("(after no consent for sms)")


def test_the_journey_default_locale_picks_the_text():
    text = journey('''
  stage s {
    send via wecom template hi
    exit completed
  }''', header='  entry on joined\n  locale zh\n  template hi { en: "Hi" zh: "你好" }')
    kit = Kit(text)
    kit.send("joined")
    kit.send("joined", "c2", attributes={"locale": "en"})
    assert [m.text for m in kit.messages()] == ["你好", "Hi"]


# --- state ----------------------------------------------------------------------------------

def test_variables_milestones_and_history_survive_a_restart(tmp_path):
    text = journey('''
  stage s {
    again: wait for ping within 1d -> add timeout -> done
    add: set n = n + 1 -> again
    done: branch { when count(ping) >= 2 -> yes
      else -> no }
    yes: exit converted
    no: exit completed
  }''', header="  entry on joined\n  var n = 0\n  milestone pinged on ping")
    db = tmp_path / "state.sqlite"
    kit = Kit(text, store=SqliteStore(db))
    kit.send("joined")
    kit.send("ping", at=T0 + HOUR)
    kit.runtime.close()
    kit = Kit(text, store=SqliteStore(db))
    run, = kit.customer().runs
    assert (run.vars, run.milestones) == ({"n": 1}, {"pinged": T0 + HOUR})
    kit.send("ping", at=T0 + 2 * HOUR, ident="e9")
    kit.advance(T0 + 3 * DAY)
    kit.runtime.close()
    import sqlite3
    rows = sqlite3.connect(db).execute("SELECT outcome, locals FROM runs").fetchall()
    assert rows == [("converted", '{"vars":{"n":2},"milestones":{"pinged":%r}}' % (T0 + HOUR))]


def test_the_stdlib_referral_loop_rewards_every_conversion():
    """Three friends convert, two of them while the first reward waits out its cooldown: three
    rewards (the loop used to count with an attribute that stayed null, and lost the
    conversions that came during the cooldown: one reward, then `completed`)."""
    text = journey('''
  stage main {
    ref: use referral with { cooldown: 1d, within: 14d }
    done: exit completed
  }''', header="  entry on joined")
    kit = Kit(text)
    kit.send("joined", attributes={"name": "Ann"})
    for hours in (2, 5, 9):
        kit.send("referral_converted", at=T0 + hours * HOUR)
    kit.advance(T0 + 20 * DAY)
    coupons = kit.actions("coupon")
    assert [iso(c.at) for c in coupons] == [
        "2026-03-02T04:00:00Z", "2026-03-03T04:00:00Z", "2026-03-04T04:00:00Z"]
    run, = kit.runs()
    assert run.vars == {"referrals_converted": 3, "referrals_rewarded": 3}
    assert run.outcome == "completed" and "referral_loop_done" in kit.customer().profile["tags"]


def test_status_explains_a_customers_path_event_by_event(tmp_path):
    """Every event the runtime received for a customer is listed, and what became of it is in
    the history: taken by a handler, ignored where the run was, a milestone reached."""
    import json
    from click.testing import CliRunner
    from journeylang.cli import main
    from journeylang.compile import write_json
    tables = tmp_path / "points.json"
    write_json(compile_text(journey('''
  stage learn {
    wait 1d
    wait for quiz_done within 1d -> done timeout -> done
    done: exit completed
  }''', header="  entry on joined\n  attribute points: number = 0\n"
                "  milestone first_lesson on lesson_done\n"
                "  on lesson_done { set customer.points = customer.points + 10 }")), tables)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in [
        {"id": "e1", "type": "joined", "customer": "c1", "at": "2026-03-02T10:00:00Z"},
        {"id": "e2", "type": "lesson_done", "customer": "c1", "at": "2026-03-02T11:00:00Z"},
        {"id": "e3", "type": "quiz_done", "customer": "c1", "at": "2026-03-02T12:00:00Z"},
        {"id": "e4", "type": "app_open", "customer": "c1", "at": "2026-03-02T13:00:00Z"}]))
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--tables", str(tables), "--events", str(events)]).exit_code == 0
    shown = runner.invoke(main, ["status", "--tables", str(tables), "--customer", "c1"]).stdout
    assert "milestone first_lesson at 2026-03-02T11:00:00Z" in shown
    assert "handled set customer.points" in shown and "<- on lesson_done" in shown
    assert "ignored waiting for time to pass" in shown and "<- event quiz_done" in shown
    assert "2026-03-02T13:00:00Z  app_open" in shown          # received, taken by nothing
    data = json.loads(runner.invoke(main, ["status", "--tables", str(tables), "--customer", "c1",
                                           "--json"]).stdout)
    assert [e["type"] for e in data["events"]] == ["joined", "lesson_done", "quiz_done", "app_open"]
    overview = json.loads(runner.invoke(main, ["status", "--tables", str(tables), "--json"]).stdout)
    assert overview["milestones"] == [{"journey_id": "t", "milestone": "first_lesson", "runs": 1}]


def test_a_state_file_of_schema_1_is_migrated(tmp_path):
    import sqlite3

    from journeylang.runtime.sql import SCHEMA_VERSION
    db = tmp_path / "old.sqlite"
    kit = Kit(journey('''
  stage s {
    wait 2d
    exit completed
  }''', header="  entry on joined"), store=SqliteStore(db))
    kit.send("joined")
    kit.runtime.close()
    with sqlite3.connect(db) as connection:  # as the previous release wrote it
        older_timers(connection)
        connection.execute("ALTER TABLE runs DROP COLUMN locals")
        connection.execute("DROP TABLE migrations")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    kit = Kit(store=SqliteStore(db))
    run, = kit.customer().runs
    assert (run.vars, run.milestones, run.step) == ({}, {}, "s.1")
    kit.advance(T0 + 3 * DAY)
    assert kit.runtime.store.meta["schema"] == SCHEMA_VERSION
    assert sqlite3.connect(db).execute("SELECT outcome, locals FROM runs").fetchall() == [
        ("completed", "{}")]
    assert sqlite3.connect(db).execute("SELECT count(*) FROM migrations").fetchone() == (0,)


POINTS_YAML = """
journey: t
title: Test
version: 1
owner: qa
entry: {on: joined}
attributes:
  points: {type: number, default: 0}
handlers:
  - on: lesson_done
    do:
      - set: {attribute: customer.points, expr: customer.points + 10}
policy: {quiet: "22:00-08:00"}
templates:
  a: "A {{ customer.name }}"
stages:
  - stage: learn
    steps:
      - {name: nudge, send: {via: wecom, template: a}}
      - wait: {until: "08:30"}
      - wait: {for: lesson_done, within: 1d, then: nudge, timeout: done}
      - {name: done, exit: completed}
"""


def test_the_yaml_form_counts_every_event_as_the_dsl_does():
    yaml_tables = compile_text(POINTS_YAML, "t.yaml")
    dsl_tables = compile_text(POINTS, "t.journey")
    assert yaml_tables.rows["handlers"] == dsl_tables.rows["handlers"]
    assert yaml_tables.rows["attributes"] == dsl_tables.rows["attributes"]
    kit = Kit()
    kit.runtime.load(yaml_tables)
    kit.send("joined", at=at("2026-03-02T23:00:00+08:00"), attributes=SHANGHAI)
    for minute in (10, 20, 30):   # all while the message is held by quiet hours
        kit.send("lesson_done", at=at("2026-03-02T23:00:00+08:00") + minute * 60)
    assert kit.customer().profile["points"] == 30
