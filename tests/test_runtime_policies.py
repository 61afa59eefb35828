"""Policies at run time: caps across journeys, quiet hours, consent, opt-out, holdout."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from journeylang.runtime import iso
from journeylang.runtime.policies import bucket, in_holdout, next_local_time, quiet_until, Zones

from runtime_kit import DAY, HOUR, T0, Kit, at, journey

SENDER = '''
  stage s {
    send via wecom template a
    wait 1h
    send via sms template b
    wait 1h
    send via wecom template c
    exit completed
  }'''


def sender(policy: str, ident: str = "t", entry: str = "signup") -> str:
    return journey(SENDER, header=f"  entry on {entry}\n  reentry always\n"
                                  f"  exit on unsubscribed as opted_out\n  policy {{ {policy} }}",
                   ident=ident)


NAME = {"name": "Ann"}


def test_cap_counts_every_message_of_the_customer():
    kit = Kit(sender("cap 2 messages per 1d"))
    kit.send("signup", attributes=NAME)
    kit.advance(T0 + DAY)
    assert [m.template for m in kit.messages()] == ["a", "b"]
    skipped = kit.history(what="skipped")
    assert [(r[4], r[7]) for r in skipped] == [("s.5", "cap 2 per 86400s reached")]
    # the window rolls: a day later the customer can be reached again
    kit.send("signup", at=T0 + DAY + 1)
    kit.advance(T0 + 3 * DAY)
    assert len(kit.messages()) == 4


def test_cap_on_channels_counts_only_those_channels():
    kit = Kit(sender("cap 1 messages per 1d on wecom"))
    kit.send("signup", attributes=NAME)
    kit.advance(T0 + DAY)
    assert [m.template for m in kit.messages()] == ["a", "b"]


def test_caps_count_messages_from_the_customers_other_journeys():
    other = journey('''
  stage s {
    send via wecom template d
    exit completed
  }''', header="  entry on promo", ident="other")
    kit = Kit(sender("cap 1 messages per 1d", entry="signup"), other)
    kit.send("promo", attributes=NAME)
    kit.send("signup", at=T0 + 60)
    kit.advance(T0 + DAY)
    assert [m.template for m in kit.messages()] == ["d"]
    assert len(kit.history(what="skipped")) == 3


def test_quiet_hours_defer_to_the_end_of_the_window_in_the_customers_zone():
    kit = Kit(sender("quiet 22:00-08:00"))
    late = at("2026-03-02T23:30:00+08:00")
    kit.send("signup", at=late, attributes={"name": "Ann", "timezone": "Asia/Shanghai"})
    deferred = kit.history(what="deferred")[0]
    assert deferred[7] == "quiet hours until 2026-03-03T00:00:00Z"
    kit.advance(late + DAY)
    times = [iso(m.at) for m in kit.messages()]
    assert times == ["2026-03-03T00:00:00Z", "2026-03-03T01:00:00Z", "2026-03-03T02:00:00Z"]
    assert kit.history(what="sent")[0][6] == "quiet hours over"


def test_quiet_hours_use_the_default_zone_without_a_customer_zone():
    kit = Kit(sender("quiet 22:00-08:00"), timezone="Asia/Shanghai")
    kit.send("signup", at=at("2026-03-02T23:30:00+08:00"), attributes=NAME)
    kit.send("signup", "c2", at=at("2026-03-02T23:30:00+08:00"),
             attributes={"name": "B", "timezone": "not/a_zone"})  # unknown: the default
    assert len(kit.history("c1", "deferred")) == len(kit.history("c2", "deferred")) == 1


def test_consent_is_required_for_channels_listed_in_the_policy():
    kit = Kit(sender("consent wecom"))
    kit.send("signup", attributes={"name": "Ann", "consent": {"wecom": False}})
    kit.send("signup", "c2", attributes={"name": "Bo", "consent.wecom": True})
    kit.advance(T0 + DAY)
    assert [m.template for m in kit.messages("c1")] == ["b"]  # sms is not listed
    assert [r[7] for r in kit.history("c1", "skipped")] == ["no consent for wecom"] * 2
    assert [m.template for m in kit.messages("c2")] == ["a", "b", "c"]


def test_opt_out_stops_every_pending_send_at_once():
    waiting = journey('''
  stage s {
    send via wecom template a
    wait 1h
    send via wecom template b
    wait 1d
    send via wecom template c
    exit completed
  }''', header="  entry on signup\n  policy { quiet 22:00-08:00 }", ident="waiting")
    kit = Kit(sender("quiet 22:00-08:00"), waiting)
    evening = at("2026-03-02T21:00:00+00:00")
    kit.send("signup", at=evening, attributes=NAME)
    queued = kit.messages(status="queued")
    assert len(queued) == 2 and len(kit.history(what="deferred")) == 0
    kit.advance(evening + HOUR)  # 22:00: both journeys' next sends are deferred
    assert len(kit.history(what="deferred")) == 2
    kit.send("unsubscribed", at=evening + 2 * HOUR)
    assert [m.status for m in kit.messages()] == ["cancelled", "cancelled"]
    runs = {r.journey_id: r for r in kit.runs()}
    assert (runs["t"].status, runs["t"].outcome) == ("ended", "opted_out")
    assert kit.history(what="skipped")[0][6:] == ["opted out", "the deferred send is dropped"]
    kit.advance(evening + 3 * DAY)
    assert len(kit.messages()) == 2  # nothing sent after the opt-out
    assert [r[7] for r in kit.history(what="skipped")][1:] == ["opted out"]
    assert runs["waiting"].outcome == "completed"


def test_resubscribing_clears_the_opt_out():
    kit = Kit(sender(""))
    kit.send("unsubscribed", attributes=NAME)
    kit.send("signup", at=T0 + 1, attributes={"opted_out": None})
    assert len(kit.messages()) == 1


HOLDOUT = journey('''
  stage s {
    send via wecom template a
    wait 3d
    exit completed
  }''', header="  entry on signup\n  goal bought on order_paid within 7d\n"
             "  policy { holdout 50% }")


def test_holdout_customers_get_no_steps_and_are_tracked_for_the_goal():
    kit = Kit(HOLDOUT, seed=3)
    customers = [f"c{n}" for n in range(40)]
    for customer in customers:
        kit.send("signup", customer, attributes=NAME)
    held = [c for c in customers if in_holdout("3", "t", c, 50.0)]
    assert 8 < len(held) < 32
    assert {m.customer for m in kit.messages()} == set(customers) - set(held)
    for customer in customers:
        kit.send("order_paid", customer, at=T0 + DAY)
    outcomes = {c: (kit.runs(c)[0].holdout, kit.runs(c)[0].outcome) for c in customers}
    assert all(outcomes[c] == (True, "converted") for c in held)
    assert all(outcomes[c] == (False, "converted") for c in customers if c not in held)


def test_holdout_runs_end_when_the_goal_window_passes():
    kit = Kit(HOLDOUT, seed=3)
    held = next(f"c{n}" for n in range(100) if in_holdout("3", "t", f"c{n}", 50.0))
    kit.send("signup", held)
    kit.advance(T0 + 7 * DAY)
    run, = kit.runs(held)
    assert (run.status, run.outcome, run.ended_at) == ("ended", "expired", T0 + 7 * DAY)
    assert kit.history(held)[0][5:7] == ["holdout", "entry on signup"]


def test_buckets_are_stable_and_spread():
    assert bucket(0, "x") == bucket("0", "x")
    assert bucket(0, "x") != bucket(1, "x")
    values = [bucket(7, "holdout", "t", f"c{n}") for n in range(2000)]
    assert 0 <= min(values) and max(values) < 100
    assert 45 < sum(values) / len(values) < 55


# --- properties: no send breaks a cap or lands in quiet hours ---------------------------------

PROPERTY = journey('''
  stage s {
    loop: wait for ping within 6h -> hello timeout -> hello
    hello: send via wecom template a
    branch {
      when customer.n >= 0 -> loop
      else -> done
    }
    done: exit completed
  }''', header="  entry on signup\n  policy { cap 3 messages per 1d; quiet 21:00-09:00 }")
ZONES = Zones("UTC")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5 * DAY)), max_size=40),
       st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", None]))
def test_sends_respect_caps_and_quiet_hours(pings, zone):
    kit = Kit(PROPERTY, render=False)
    attributes = {"n": 1, **({"timezone": zone} if zone else {})}
    for customer in ("c0", "c1", "c2"):
        kit.send("signup", customer, attributes=attributes)
    for who, offset in sorted(pings, key=lambda p: p[1]):
        kit.send("ping", f"c{who}", at=T0 + offset)
    kit.advance(T0 + 6 * DAY)
    for customer in ("c0", "c1", "c2"):
        times = sorted(m.at for m in kit.messages(customer))
        for index, moment in enumerate(times):
            assert sum(1 for t in times[: index + 1] if t > moment - DAY) <= 3
            # an oracle apart from the runtime's quiet_until: the hour on the customer's clock
            hour = dt.datetime.fromtimestamp(moment, ZoneInfo(zone or "UTC")).hour
            assert 9 <= hour < 21, (customer, iso(moment), zone)


def test_next_local_time_across_a_dst_change():
    berlin = ZONES.get("Europe/Berlin")
    before = at("2026-03-28T12:00:00+01:00")  # the clocks go forward on 29 March
    assert iso(next_local_time(before, 10 * 60, berlin)) == "2026-03-29T08:00:00Z"


def test_quiet_hours_whose_open_window_the_clocks_skip_wait_for_the_next_day():
    """quiet 03:00-02:00 leaves 02:00-03:00 open; on 8 March 2026 New York skips that hour, so
    a send that night waits for 02:00 on 9 March (it used to be deferred to its own instant
    again and again)."""
    new_york = ZONES.get("America/New_York")
    quiet = (3 * 60, 2 * 60)
    for moment in (at("2026-03-08T05:00:00Z"), at("2026-03-08T07:00:00Z"), at("2026-03-08T06:59:00Z")):
        assert iso(quiet_until(moment, quiet, new_york)) == "2026-03-09T06:00:00Z"
    assert iso(quiet_until(at("2026-03-07T05:00:00Z"), quiet, new_york)) == "2026-03-07T07:00:00Z"
    assert quiet_until(at("2026-03-09T06:30:00Z"), quiet, new_york) is None  # 02:30 EDT: open


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London",
                        "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"]),
       st.sampled_from([dt.datetime(2026, 3, 8, 7, tzinfo=dt.timezone.utc),    # US clocks go on
                        dt.datetime(2026, 3, 8, 5, 30, tzinfo=dt.timezone.utc),  # St John's
                        dt.datetime(2026, 3, 29, 1, tzinfo=dt.timezone.utc),   # EU
                        dt.datetime(2026, 4, 4, 15, tzinfo=dt.timezone.utc),   # Lord Howe: 30 min
                        dt.datetime(2026, 11, 1, 6, tzinfo=dt.timezone.utc)]),  # US clocks go back
       st.integers(-3 * 3600, 3 * 3600), st.sampled_from([0.0, 0.25, 0.5]))
def test_local_time_read_from_the_hours_offset_is_the_clocks(zone, change, shift, fraction):
    """The local clock of an instant (quiet hours, the next local time) as datetime reads it,
    whole seconds and fractions, through clock changes (the offset of a UTC hour is reused
    only when it holds all through that hour)."""
    from journeylang.runtime.policies import local_seconds
    zone, moment = ZoneInfo(zone), change.timestamp() + shift + fraction
    local = dt.datetime.fromtimestamp(moment, zone)
    assert local_seconds(moment, zone) == \
        local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    due = next_local_time(moment, 9 * 60 + 30, zone)
    assert due >= moment and dt.datetime.fromtimestamp(due, zone).time() >= dt.time(9, 30)
    assert due - moment <= 2 * DAY


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London",
                        "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"]),
       st.sampled_from([(22 * 60, 8 * 60), (21 * 60 + 30, 9 * 60), (3 * 60, 2 * 60),
                        (0, 7 * 60), (1 * 60 + 30, 2 * 60 + 45)]),
       st.sampled_from([dt.datetime(2026, 3, 8, 7, tzinfo=dt.timezone.utc),
                        dt.datetime(2026, 3, 29, 1, tzinfo=dt.timezone.utc),
                        dt.datetime(2026, 4, 4, 15, tzinfo=dt.timezone.utc),
                        dt.datetime(2026, 6, 1, 0, tzinfo=dt.timezone.utc),
                        dt.datetime(2026, 11, 1, 6, tzinfo=dt.timezone.utc)]),
       st.lists(st.tuples(st.integers(-2 * DAY, 2 * DAY), st.sampled_from([0.0, 0.0, 0.5])),
                min_size=1, max_size=60),
       st.booleans())
def test_quiet_ends_remembered_by_spell_are_those_of_each_instant(zone, quiet, change, offsets,
                                                                   ordered):
    """The end of quiet hours, as remembered for the sends of the same spell (in time order, or
    not), is the one computed from each send's own instant, through clock changes."""
    from journeylang.runtime.policies import _quiet_end
    tz = ZONES.get(zone)
    moments = [change.timestamp() + seconds + fraction for seconds, fraction in offsets]
    for moment in sorted(moments) if ordered else moments:
        assert quiet_until(moment, quiet, tz) == _quiet_end(moment, quiet, tz), iso(moment)
