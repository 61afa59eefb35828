"""Schedules at run time: next_occurrence, scheduled entries and `wait until next`, across DST."""
from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from journeylang.compile import TablesError
from journeylang.runtime import SqliteStore, iso
from journeylang.runtime.policies import next_occurrence
from journeylang.runtime.program import Schedule, build_program

from runtime_kit import DAY, HOUR, Kit, at, compile_text, journey

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe",
         "America/Santiago", "Asia/Kolkata"]
START, END = dt.datetime(2024, 1, 1).timestamp(), dt.datetime(2030, 12, 31).timestamp()


def local(moment: float, zone: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, ZoneInfo(zone))


schedules = st.one_of(
    st.builds(Schedule, st.just("day"), st.integers(0, 1439)),
    st.builds(Schedule, st.just("week"), st.integers(0, 1439),
              st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(tuple)),
    st.builds(Schedule, st.sampled_from(["month", "quarter"]), st.integers(0, 1439),
              day=st.integers(1, 31)),
    st.builds(Schedule, st.just("year"), st.integers(0, 1439), day=st.integers(1, 31),
              month=st.integers(1, 12)).filter(lambda s: dt.date(2024, s.month, 1) and not (
                  s.month in (4, 6, 9, 11) and s.day == 31) and not (s.month == 2 and s.day > 29)),
)


def _exists(day: dt.date, minutes: int, zone: str) -> bool:
    """Whether the local time exists on that day (a DST change may skip it)."""
    wanted = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), ZoneInfo(zone))
    return local(wanted.timestamp(), zone).replace(tzinfo=None) == wanted.replace(tzinfo=None)


def _expected_day(schedule: Schedule, day: dt.date) -> int | None:
    """The day of the month the schedule falls on in ``day``'s month (clamped), if any."""
    if schedule.day is None:
        return None
    last = (dt.date(day.year + day.month // 12, day.month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return min(schedule.day, last)


@settings(max_examples=300, deadline=None)
@given(st.floats(START, END), schedules, st.sampled_from(ZONES), st.floats(0, 1))
def test_next_occurrence_properties(moment, schedule, zone, fraction):
    found = next_occurrence(moment, schedule, ZoneInfo(zone))
    assert found > moment
    when = local(found, zone)
    if _exists(when.date(), schedule.minutes, zone):
        assert (when.hour * 60 + when.minute, when.second) == (schedule.minutes, 0)
    if schedule.every == "week":
        assert when.weekday() in schedule.weekdays
    if schedule.every in ("month", "quarter", "year"):
        assert when.day == _expected_day(schedule, when.date())
    if schedule.every == "quarter":
        assert when.month in (1, 4, 7, 10)
    if schedule.every == "year":
        assert when.month == schedule.month
    # the first one: any moment before it has the same next occurrence
    between = moment + (found - moment) * fraction
    if between < found:
        assert next_occurrence(between, schedule, ZoneInfo(zone)) == found


def _next(text: str, schedule: Schedule, zone: str) -> str:
    return local(next_occurrence(at(text), schedule, ZoneInfo(zone)), zone).isoformat()


def test_month_ends_and_leap_days_are_clamped():
    end = Schedule("month", 600, day=31)
    assert _next("2026-02-01T00:00:00+00:00", end, "UTC") == "2026-02-28T10:00:00+00:00"
    assert _next("2026-04-01T00:00:00+00:00", end, "UTC") == "2026-04-30T10:00:00+00:00"
    assert _next("2026-05-31T10:00:00+00:00", end, "UTC") == "2026-06-30T10:00:00+00:00"
    leap = Schedule("year", 600, day=29, month=2)
    assert _next("2027-01-01T00:00:00+00:00", leap, "UTC") == "2027-02-28T10:00:00+00:00"
    assert _next("2028-01-01T00:00:00+00:00", leap, "UTC") == "2028-02-29T10:00:00+00:00"
    quarter = Schedule("quarter", 600, day=31)
    assert _next("2026-03-02T00:00:00+00:00", quarter, "UTC") == "2026-04-30T10:00:00+00:00"


def test_occurrences_across_a_dst_change_keep_the_local_time():
    daily = Schedule("day", 9 * 60)
    # Berlin springs forward on 2026-03-29 and falls back on 2026-10-25
    moments = [at("2026-03-27T12:00:00+01:00")]
    for _ in range(4):
        moments.append(next_occurrence(moments[-1], daily, ZoneInfo("Europe/Berlin")))
    assert [local(m, "Europe/Berlin").strftime("%m-%d %H:%M %z") for m in moments[1:]] == [
        "03-28 09:00 +0100", "03-29 09:00 +0200", "03-30 09:00 +0200", "03-31 09:00 +0200"]
    assert moments[2] - moments[1] == 23 * HOUR  # the short day
    skipped = Schedule("day", 2 * 60 + 30)  # 02:30 does not exist on 2026-03-29 in Berlin
    assert _next("2026-03-28T12:00:00+01:00", skipped, "Europe/Berlin") == "2026-03-29T03:30:00+02:00"
    twice = Schedule("day", 2 * 60 + 30)  # 02:30 happens twice on 2026-10-25: the first one
    assert _next("2026-10-25T00:00:00+02:00", twice, "Europe/Berlin") == "2026-10-25T02:30:00+02:00"
    assert _next("2026-10-25T02:30:00+02:00", twice, "Europe/Berlin") == "2026-10-26T02:30:00+01:00"


WEEKLY = journey('''
  stage s {
    send via wecom template a
    exit completed
  }''', header='  entry every wednesday at 20:00 where customer.tier == "gold"\n  reentry always')


def test_a_scheduled_entry_enters_every_known_customer_in_their_own_time_zone():
    kit = Kit(WEEKLY, timezone="UTC")
    monday = at("2026-03-02T08:00:00+00:00")
    kit.send("profile", "sh", monday, attributes={"tier": "gold", "timezone": "Asia/Shanghai"})
    kit.send("profile", "ny", monday, attributes={"tier": "gold", "timezone": "America/New_York"})
    kit.send("profile", "utc", monday, attributes={"tier": "gold"})
    kit.send("profile", "silver", monday, attributes={"tier": "silver"})
    kit.advance(monday + 10 * DAY)
    entered = {c: [iso(r.entered_at) for r in kit.runs(c)] for c in ("sh", "ny", "utc", "silver")}
    assert entered == {
        "sh": ["2026-03-04T12:00:00Z", "2026-03-11T12:00:00Z"],     # 20:00 +08:00
        "ny": ["2026-03-05T01:00:00Z", "2026-03-12T00:00:00Z"],     # 20:00 -05:00, then -04:00 (DST)
        "utc": ["2026-03-04T20:00:00Z", "2026-03-11T20:00:00Z"],
        "silver": []}
    run = kit.runs("sh")[0]
    assert run.context == {"occurrence": "2026-03-04T12:00:00Z"}
    assert kit.history("sh")[0][6] == "entry at 2026-03-04T12:00:00Z"


def test_a_scheduled_entry_follows_the_reentry_rule():
    once = WEEKLY.replace("reentry always", "reentry never")
    kit = Kit(once)
    kit.send("profile", "c1", at("2026-03-02T08:00:00+00:00"), attributes={"tier": "gold"})
    kit.advance(at("2026-03-30T00:00:00+00:00"))
    assert len(kit.runs("c1")) == 1


def test_a_restart_neither_misses_nor_doubles_an_occurrence(tmp_path):
    path = tmp_path / "state.sqlite"
    monday = at("2026-03-02T08:00:00+00:00")
    kit = Kit(WEEKLY, store=SqliteStore(path))
    kit.send("profile", "c1", monday, attributes={"tier": "gold", "timezone": "Asia/Shanghai"})
    kit.advance(monday + 3 * DAY)   # the first Wednesday is done
    kit.runtime.close()
    again = Kit(store=SqliteStore(path))  # the journey comes from the state file
    again.advance(monday + 3 * DAY)  # nothing due twice
    again.advance(monday + 15 * DAY)
    again.runtime.close()
    db = sqlite3.connect(path)
    entered = [iso(r[0]) for r in db.execute("SELECT entered_at FROM runs ORDER BY id")]
    pending = db.execute("SELECT count(*) FROM timers WHERE kind = 'schedule'").fetchone()[0]
    db.close()
    assert entered == ["2026-03-04T12:00:00Z", "2026-03-11T12:00:00Z"]
    assert pending == 1


def test_a_customer_seen_only_in_events_without_attributes_stays_known_across_a_restart(tmp_path):
    daily = journey('''
  stage s {
    send via wecom template a
    exit completed
  }''', header="  entry every day at 20:00\n  reentry always")
    monday = at("2026-03-02T08:00:00+00:00")

    def entries(path, restart: bool) -> list:
        kit = Kit(daily, store=SqliteStore(path))
        kit.send("profile", "c1", monday, attributes={"name": "Ann"})
        kit.send("click", "c2", monday + 60)  # no attributes: a customer all the same
        if restart:
            kit.runtime.close()
            kit = Kit(store=SqliteStore(path))
        kit.advance(monday + 2 * DAY)
        kit.runtime.close()
        db = sqlite3.connect(path)
        found = sorted((c, iso(e)) for c, e in db.execute("SELECT customer, entered_at FROM runs"))
        db.close()
        return found

    assert entries(tmp_path / "a.sqlite", False) == entries(tmp_path / "b.sqlite", True) == [
        ("c1", "2026-03-02T20:00:00Z"), ("c1", "2026-03-03T20:00:00Z"),
        ("c2", "2026-03-02T20:00:00Z"), ("c2", "2026-03-03T20:00:00Z")]


def test_loading_a_new_version_replaces_the_schedule():
    kit = Kit(WEEKLY)
    monday = at("2026-03-02T08:00:00+00:00")
    kit.send("profile", "c1", monday, attributes={"tier": "gold"})
    kit.runtime.load(compile_text(WEEKLY.replace("wednesday", "tuesday").replace("version 1", "version 2")))
    kit.advance(monday + 7 * DAY)
    assert [iso(r.entered_at) for r in kit.runs("c1")] == ["2026-03-03T20:00:00Z"]


def test_wait_until_next_schedule_in_the_customers_zone_across_dst():
    text = journey('''
  stage s {
    send via wecom template a
    wait until next sunday at 09:00
    send via wecom template b
    wait until next month on day 31 at 10:00
    send via wecom template c
    exit completed
  }''', header="  entry on signup")
    kit = Kit(text)
    kit.send("signup", at=at("2026-03-25T12:00:00+01:00"),
             attributes={"name": "Ann", "timezone": "Europe/Berlin"})
    kit.advance(at("2026-05-01T00:00:00+00:00"))
    sent = [local(m.at, "Europe/Berlin").isoformat() for m in kit.messages()]
    assert sent == ["2026-03-25T12:00:00+01:00", "2026-03-29T09:00:00+02:00",
                    "2026-03-31T10:00:00+02:00"]
    waits = [r[7] for r in kit.history(what="wait_schedule")]
    assert waits == ["until 2026-03-29T07:00:00Z", "until 2026-03-31T08:00:00Z"]


@pytest.mark.parametrize("change", [{"time": "25:00"}, {"time": "20:60"},
                                    {"every": "month", "day": 5.0}, {"weekdays": [True]}])
def test_tables_with_an_impossible_schedule_are_refused_at_load(change):
    tables = compile_text(WEEKLY)
    entry = tables.rows["triggers"][0]
    entry["schedule"] = {**entry["schedule"], **change}
    with pytest.raises(TablesError, match="not a schedule"):
        build_program(tables)
