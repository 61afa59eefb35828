"""The vectorised simulator: the same figures as the reference engine, its invariants, shards."""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from journeylang import api
from journeylang.cli import main
from journeylang.runtime.policies import (Zones, bucket, calendar_start, choose_arm, day_after_entry,
                                          next_local_time, next_occurrence, quiet_until)
from journeylang.runtime.program import Schedule, build_program
from journeylang.sim import SimulationError, load_cohort, parse_cohort, simulate
from journeylang.sim import shard
from journeylang.sim.shard import ShardError, shard_ranges, simulate_sharded
from journeylang.sim.vector import BLOCK, VectorSimulation, vector_support
from journeylang.sim.vector.block import buckets
from journeylang.sim.vector.clock import ZoneClock
from journeylang.sim.vector.plan import Plan, may_escape

from equivalence import agree, compare
from tools import import_or_skip
from sim_scenarios import assert_sends_respect_policies, deterministic_scenarios, scenarios
from runtime_kit import compile_text, journey

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


# --- the pure policies, vectorised ---------------------------------------------------------------

def test_buckets_and_split_arms_are_the_runtimes():
    ids = [f"c{i}" for i in range(1, 2001)]
    found = buckets(7, ("split", "j", "s1"), [c.encode() for c in ids])
    assert found.tolist() == [bucket(7, "split", "j", "s1", c) for c in ids]
    tables = compile_text(journey("""  stage s "S" {
    split { a 17% -> x
      b 50% -> y
      c 33% -> y }
    x: exit completed
    y: exit completed
  }""", header="  entry on joined"))
    plan = Plan(tables, parse_cohort("size: 1\nsegments: [{name: a}]\n")).journey
    s = plan.index[plan.steps[0].id]
    arms = plan.steps[s].arms
    picked = plan.split_arm(s, buckets(3, ("split", "t", plan.steps[s].id), [c.encode() for c in ids]))
    assert [arms[i] for i in picked] == [choose_arm(3, "t", plan.steps[s].id, c, arms) for c in ids]


@pytest.mark.parametrize("names", [
    ["Europe/Berlin", "America/New_York", "Asia/Shanghai", None],
    ["Asia/Shanghai", "Asia/Kolkata", None],   # every zone at one offset: a lookup by zone
    ["Asia/Shanghai", "Asia/Singapore", None],  # two zones whose clocks agree: searched as one
])
def test_local_clock_matches_the_runtime_across_dst(names):
    start = dt.datetime(2026, 2, 20, tzinfo=dt.timezone.utc).timestamp()
    clock = ZoneClock(names, start, start + 300 * 86400, "UTC")
    rng = random.Random(4)
    moments = np.array([start + rng.random() * 300 * 86400 for _ in range(3000)])
    moments[:300] = np.round(moments[:300] / 1800) * 1800    # on the hour and half hour
    codes = np.array([rng.randrange(len(names)) for _ in moments])
    wake = clock.next_local_time(moments, 10 * 60 + 30, codes)
    quiet = clock.quiet_until(moments, (21 * 60 + 30, 9 * 60), codes)
    days = clock.calendar_start(moments, "day", codes)
    weeks = clock.calendar_start(moments, "week", codes)
    third = clock.day_after_entry(moments, 3, 2 * 60 + 30, codes)   # 02:30: skipped in spring
    schedule = Schedule("week", 19 * 60 + 30, (2, 5))
    occurs = clock.next_occurrence(moments, schedule, codes)
    alike = codes == codes[0]   # some calls see only one zone
    assert np.array_equal(clock.next_occurrence(moments[alike], schedule, codes[alike]), occurs[alike])
    assert np.array_equal(clock.next_local_time(moments[alike], 630, codes[alike]), wake[alike])
    zones = Zones("UTC")
    for i, moment in enumerate(moments.tolist()):
        zone = zones.get(names[codes[i]])
        assert wake[i] == next_local_time(moment, 630, zone)
        expected = quiet_until(moment, (21 * 60 + 30, 9 * 60), zone)
        assert (math.isnan(quiet[i]) and expected is None) or quiet[i] == expected
        assert days[i] == calendar_start(moment, "day", zone)
        assert weeks[i] == calendar_start(moment, "week", zone)
        assert third[i] == day_after_entry(moment, 3, 150, zone)
        assert occurs[i] == next_occurrence(moment, schedule, zone)


# --- the same figures as the reference engine ------------------------------------------------------

FEATURES = journey("""  stage s "S" {
    send via wecom template a
    tag "touched"
    wait until 09:30
    send via sms template b
    wait within 2d {
      on replied where event.mood == "happy" -> happy
      on replied -> plain
      timeout -> late
    }
    happy: set customer.score = customer.score + 10
    branch { when customer.score >= 60 -> big
      else -> plain }
    big: split { x 40% -> plain
      y 60% -> late }
    plain: coupon "C1" value 5 expires 3d
    handoff to agent within 1h
    late: send via wecom template c
    wait 1d
    send via wecom template d
    branch { when has tag "touched" and consent.sms -> last
      else -> done }
    last: send via sms template e
    wait for replied within 1d -> done timeout -> done
    done: exit completed
  }""", header="""  entry on joined where customer.score >= 20
  attribute score: number = 0
  audience not customer.tier == "blocked"
  reentry never
  goal won on bought where order.total > 50 within 10d
  exit on unsubscribed as opted_out
  policy {
    cap 2 messages per 1d
    cap 3 messages per 3d on wecom
    quiet 21:00-09:00
    consent sms
    holdout 15%
  }""")

FEATURES_COHORT = """
size: 4000
arrival: 3d
segments:
  - name: a
    weight: 2
    attributes:
      score: {normal: {mean: 50, sd: 15, round: 0}}
      tier: {categorical: {gold: 1, blocked: 0.1, basic: 3}}
    timezone: {America/New_York: 1, Asia/Shanghai: 1}
    consent: {sms: 0.6}
    behaviour:
      responses:
        - {event: replied, p: 0.4, delay: {exponential: {mean: 10h}}, data: {mood: happy}}
        - {event: replied, after: {channel: sms}, p: 0.3, delay: {uniform: {min: 1h, max: 30h}}}
        - {event: bought, after: {template: c}, p: 0.3, within: 2d,
           delay: {lognormal: {median: 6h, sigma: 1}}, data: {order: {total: 80}}}
      baseline: [{event: bought, per_day: 0.05, data: {order: {total: 60}}},
                 {event: bought, per_day: 0.05, data: {order: {total: 10}}}]
      opt_out: 0.05
      fatigue: 0.8
  - name: b
    attributes: {score: {uniform: {min: 0, max: 100}}}
    timezone: Europe/Berlin
    behaviour:
      responses: [{event: replied, p: 0.6, delay: 2h}]
      baseline: [{event: replied, per_day: 0.3}]
"""


PROMO_AND_HANDOFFS = journey("""  stage s "S" {
    send via wecom template a
    wait 1d
    send promo via wecom template c
    wait for bought within 2d -> done timeout -> ask
    ask: handoff to agent within 1d note "Ask why"
    handoff to stylist
    exit completed
    done: exit completed
  }""", header="""  entry on joined
  exit on unsubscribed as opted_out
  policy {
    promo 30%
  }""")

PROMO_COHORT = """
size: 3000
segments:
  - name: a
    behaviour:
      responses: [{event: bought, after: {template: c}, p: 0.3, delay: {uniform: {min: 1h, max: 3d}}}]
      opt_out: 0.02
"""


# transactional sends, fallback channels, calendar caps, day-N waits, milestones (on responses,
# baseline events and an emitted event), declared attribute defaults, a run-local variable;
# events the journey takes elsewhere are ignored at every kind of waiting step
PROGRAMME = journey("""  stage s "S" {
    send via sms, wecom template a
    send via sms, email template e
    wait for replied within 6h -> engaged timeout -> day1
    day1: wait until day 1 at 09:00
    ack: send transactional via wecom template b
    wait for browsed within 1d -> look timeout -> look
    look: wait 1d
    wait for replied within 2d -> engaged timeout -> nudge
    nudge: send via sms, email, wecom template c
    set n = n + 1
    branch { when n >= 1 and customer.points < 10 -> later
      else -> engaged }
    engaged: set customer.points = customer.points + 10
    branch { when customer.points >= 10 -> vip
      else -> later }
    vip: emit vip_reached with { level: 2 }
    later: wait until day 5 at 10:00
    send promo via wecom template d
    wait for bought within 3d -> done timeout -> done
    done: exit completed
  }""", header="""  entry on joined
  attribute points: number = 0
  attribute tier: string = "basic"
  var n = 0
  goal won on bought where order.total > 50 within 7d
  milestone replied_once on replied within 3d
  milestone clicked on clicked where customer.tier == "basic"
  milestone vip on vip_reached where event.level >= 2
  milestone browsing on browsed within 5d
  exit on unsubscribed as opted_out
  policy {
    cap 1 messages per calendar day on sms
    cap 3 messages per calendar week
    quiet 22:00-08:00
    consent sms, email
    holdout 10%
  }""")

PROGRAMME_COHORT = """
size: 4000
arrival: 3d
segments:
  - name: a
    weight: 2
    attributes: {tier: {categorical: {basic: 1, gold: 1}}}
    timezone: {America/New_York: 1, Asia/Shanghai: 1}
    consent: {sms: 0.6, email: 0.5}
    behaviour:
      responses:
        - {event: replied, p: 0.4, delay: {exponential: {mean: 10h}}}
        - {event: clicked, after: {channel: sms}, p: 0.5, delay: {exponential: {mean: 2h}}}
        - {event: bought, after: {template: d}, p: 0.3, delay: {lognormal: {median: 6h, sigma: 1}},
           data: {order: {total: 80}}}
      baseline: [{event: browsed, per_day: 0.8}, {event: bought, per_day: 0.05, data: {order: {total: 10}}}]
      opt_out: 0.05
      fatigue: 0.8
  - name: b
    timezone: Europe/Berlin
    attributes: {points: 20}
    consent: {sms: 1, email: 0}
    behaviour:
      responses: [{event: replied, p: 0.6, delay: 2h}, {event: clicked, p: 0.2, delay: 30m}]
      baseline: [{event: browsed, per_day: 0.3}, {event: bought, per_day: 0.02, data: {order: {total: 90}}}]
"""

def _bench():
    import sys
    sys.path.insert(0, str(BENCH))
    import sim_bench
    cohort = parse_cohort(sim_bench.COHORT, "bench.cohort.yaml")
    cohort.size = 3000
    return sim_bench.tables(), cohort


def _rewritten_complaints():
    """complaint_escalation as ``benchmarks/sim_constructs.py`` rewrites it: a set of the
    profile's tags, a set of the context a branch reads, a goal reading the correlation key."""
    import sys
    sys.path.insert(0, str(BENCH))
    import sim_constructs
    cohort = load_cohort(ROOT / "examples" / "cohorts" / "complaint_escalation.cohort.yaml")
    cohort.size = 3000
    return sim_constructs.rewritten_tables(), cohort


def _more_constructs(variant: str):
    """A bundled example as ``benchmarks/sim_more_constructs.py`` rewrites it (``keys``: beside
    a copy correlating by order; ``zone``: on the store's clock, keeping action ids)."""
    import sys
    sys.path.insert(0, str(BENCH))
    import sim_more_constructs
    tables, cohort = sim_more_constructs.case(variant)
    cohort.size = 3000
    return tables, cohort


def _example(journey_file: str, cohort_file: str, size: int = 3000):
    cohort = load_cohort(ROOT / "examples" / "cohorts" / cohort_file)
    cohort.size = size
    return api.load_tables(ROOT / "examples" / journey_file), cohort


LADDER = journey("""  stage s "S" {
    send via wecom template a
    ladder: escalate until resolved within 4h -> done {
      at 0m: handoff to staff within 30m
      at 30m: send via wecom template b
      at 1h: handoff to expert within 1h
      breach -> late
    }
    late: exit escalated
    done: send via wecom template c
    exit completed
  }""", header="  entry on complaint")

LADDER_COHORT = """
size: 3000
arrival: 2d
segments:
  - name: a
    behaviour:
      responses:
        - {event: resolved, after: {template: a}, p: 0.7, delay: {lognormal: {median: 50m, sigma: 0.9}}}
"""


CASES = {
    "features": lambda: (compile_text(FEATURES), parse_cohort(FEATURES_COHORT)),
    "promo_and_handoffs": lambda: (compile_text(PROMO_AND_HANDOFFS), parse_cohort(PROMO_COHORT)),
    "programme": lambda: (compile_text(PROGRAMME), parse_cohort(PROGRAMME_COHORT)),
    "ladder": lambda: (compile_text(LADDER), parse_cohort(LADDER_COHORT)),
    "bench": _bench,
    "complaint_escalation with sets and key reads": _rewritten_complaints,
    "cart_recovery on the store's clock, keeping action ids": lambda: _more_constructs("zone"),
}


def _example_pairs() -> dict:
    """Every bundled example with its cohort (examples/cohorts/X.cohort.yaml, journey examples/X.*)."""
    found = {}
    for cohort in sorted((ROOT / "examples" / "cohorts").glob("*.cohort.yaml")):
        stem = cohort.name.removesuffix(".cohort.yaml")
        journey_file, = [p.name for p in (ROOT / "examples").glob(f"{stem}.*") if p.is_file()]
        found[f"example {stem}"] = (lambda j=journey_file, c=cohort.name: _example(j, c))
    return found


CASES.update(_example_pairs())

# bundled examples also compared with a cohort that reacts to every event they take (beside
# their bundled cohort, if they have one): what their entry conditions and audiences read
# (attributes, entry event data)
WITHOUT_COHORT = {
    "birthday_member_day.yaml": ("{birthday: 05-20, member_since_days: 100}", "{}"),
    "community_onboarding.journey": ("{}", "{group_type: customer}"),
    "complaint_escalation.journey": ("{}",
                                     "{ticket: {uniform: {min: 1, max: 1000000000, round: 0}}}"),
    "live_stream_reminders.journey": ("{age_group: family}", "{starts_in_hours: 24}"),
    "post_delivery_care.yaml": ("{}", "{order: {total: 150}}"),
    "referral_fission.yaml": ("{name: Ann, country: {categorical: {CN: 3, DE: 1}}}", "{score: 10}"),
    "refill_nudge_v1.journey": ("{}", "{}"),
    "repurchase_reminder.yaml": ("{purchase_cycle_days: 30}",
                                 "{order: {category: formula, total: 100, id: o1}}"),
    "vip_care.yaml": ("{tier: gold, lifetime_value: 3000}", "{direction: up}"),
}


def _reacting_cohort(journey_file: str, size: int = 2000):
    """A cohort for an example without one: customers arrive with its entry event and answer
    any message with each event the journey takes (and make them now and then unprompted)."""
    from journeylang.runtime.program import Schedule, build_program
    tables = api.load_tables(ROOT / "examples" / journey_file)
    attributes, entry_data = WITHOUT_COHORT[journey_file]
    program = build_program(tables)
    entry = program.entry.event
    events = sorted(set(program.interest) - {entry})
    responses = "".join(f"        - {{event: {e}, p: 0.3, delay: {{exponential: {{mean: 1d}}}}}}\n"
                        for e in events)
    baseline = "".join(f"        - {{event: {e}, per_day: 0.05}}\n" for e in events)
    cohort = parse_cohort(f"""size: {size}
arrival: 3d
entry: {entry}
segments:
  - name: a
    attributes: {attributes}
    entry_data: {entry_data}
    consent: {{wecom: 0.9, sms: 0.8, email: 0.8, push: 0.8, group: 0.9, app: 0.8}}
    timezone: Asia/Shanghai
    behaviour:
      responses:
{responses or "        []"}
      baseline:
{baseline or "        []"}
      opt_out: 0.02
""")
    return tables, cohort


CASES.update({f"example {name.split('.')[0]} (reacting cohort)": (lambda n=name: _reacting_cohort(n))
              for name in WITHOUT_COHORT})


# cases whose customers take the reference path inside the vectorised run, and why
ON_REFERENCE_PATH: dict[str, str] = {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_vector_and_reference_engines_agree(case):
    """Every bundled example with its cohort, and journeys written for the engines' features:
    every customer on the vectorised path, the reference engine's figures (per step, outcome,
    flow, KPI, SLA and policy count; ``equivalence.agree``: an exact binomial test at 1e-6)."""
    tables, cohort = CASES[case]()
    reference_path = ON_REFERENCE_PATH.get(case)
    if reference_path is None:
        assert vector_support(tables, cohort) is None
    else:
        assert reference_path in vector_support(tables, cohort)
    fast = simulate(tables, cohort, seed=2, days=40, engine="vector")
    slow = simulate(tables, cohort, seed=2, days=40, engine="reference")
    assert (fast.engine, slow.engine) == ("vector", "reference")
    if reference_path is None:
        assert fast.paths["reference"] == 0, fast.paths
    assert slow.entered["runs"] > 0
    compare(fast, slow)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_runs_executing_are_the_ones_their_customers_mark(case, monkeypatch):
    """A customer has at most one run executing, the one ``Block.executing`` names: at each
    pass the lanes whose phase is executing are exactly the lanes it names, and when the
    customers settle none is executing and it names none."""
    from journeylang.sim.vector import block as vector_block
    from journeylang.sim.vector.lanes import EXEC
    passes = []
    execute, reschedule = vector_block.steps.execute, vector_block.Block.reschedule

    def marked(block):
        named = block.executing[block.executing >= 0]
        return np.sort(named), np.flatnonzero(block.lanes.phase[:block.lanes.size] == EXEC)

    def checked_execute(block, lanes_):
        named, executing = marked(block)
        assert np.array_equal(named, executing) and np.array_equal(lanes_, executing)
        passes.append(len(lanes_))
        execute(block, lanes_)

    def checked_reschedule(block, among=None):
        named, executing = marked(block)
        assert not len(named) and not len(executing)
        reschedule(block, among)
    monkeypatch.setattr(vector_block.steps, "execute", checked_execute)
    monkeypatch.setattr(vector_block.Block, "reschedule", checked_reschedule)
    tables, cohort = CASES[case]()
    simulate(tables, cohort, seed=2, days=40, engine="vector")
    assert passes


def test_an_example_beside_its_copy_correlating_by_another_key_agrees():
    """complaint_escalation (by ticket) and its copy by order, each complaint carrying both
    keys: every customer on the vectorised path, each journey with the reference engine's
    figures (``equivalence.agree``)."""
    tables, cohort = _more_constructs("keys")
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=2, days=40, engine="vector")
    slow = simulate(tables, cohort, seed=2, days=40, engine="reference")
    assert fast.paths["reference"] == 0, fast.paths
    for one, other in zip(fast.journeys, slow.journeys):
        assert other.entered["runs"] > 0
        compare(one, other)


def test_every_bundled_example_is_compared():
    examples = {p.name for p in (ROOT / "examples").iterdir()
                if p.is_file() and p.suffix in (".journey", ".yaml")}
    with_cohort = {name.removeprefix("example ") for name in CASES if name.startswith("example ")
                   and not name.endswith("(reacting cohort)")}
    assert examples == set(WITHOUT_COHORT) | {e for e in examples if e.split(".")[0] in with_cohort}


def test_the_comparison_fails_on_a_real_difference():
    """The bound is no rubber stamp: a count of 25 against none fails, and so does a step
    whose outcome differs in one customer in five out of thousands."""
    with pytest.raises(AssertionError, match="vector 25, reference 0"):
        agree("x", 25, 0)
    with pytest.raises(AssertionError):
        agree("x", 2000, 2500)
    agree("x", 5, 0)            # five against none can be chance (p = 0.06)
    with pytest.raises(AssertionError):
        agree("x", 5, 0, exact=True)


def test_without_randomness_the_engines_agree_exactly():
    tables = compile_text(journey("""  stage s "S" {
    send via wecom template a
    wait 1d
    split { x 30% -> one
      y 70% -> two }
    one: send via wecom template b
    exit completed
    two: wait until 10:00
    send via wecom template c
    exit completed
  }""", header="""  entry on joined
  policy {
    holdout 25%
    quiet 22:00-08:00
  }"""))
    cohort = parse_cohort("size: 1500\narrival: 0\nsegments: [{name: a, timezone: Asia/Shanghai}]\n")
    fast = simulate(tables, cohort, seed=9, days=5, engine="vector")
    slow = simulate(tables, cohort, seed=9, days=5, engine="reference")
    compare(fast, slow, exact=True)


@pytest.mark.parametrize("response, skips", [
    ("{event: unsubscribed, after: {template: a}, p: 1, delay: 1m}", 12),
    ('{event: moved, after: {template: a}, p: 1, delay: 1m, attributes: {tier: "gone"}}', 0)])
def test_what_a_customer_does_between_scheduled_runs_holds_for_the_next_runs(response, skips):
    """A customer opts out (or updates the profile the entry condition reads) a minute after
    the last send of a run that then ends: no run is live, but the next scheduled occurrence
    may begin one; the runtime has the customer opted out (every later send skipped) or no
    longer entering, in both engines."""
    tables = compile_text(journey("""  stage s "S" {
    send via sms template a
    exit completed
  }""", header="""  entry every monday at 09:00 where customer.tier != "gone"
  reentry after 6d
  exit on unsubscribed as opted_out"""))
    cohort = parse_cohort(f"""size: 4
start: 2026-03-02T00:00:00Z
arrival: 0
segments:
  - name: a
    attributes: {{tier: "x"}}
    behaviour:
      responses: [{response}]
""")
    fast = simulate(tables, cohort, seed=3, days=22, engine="vector")
    slow = simulate(tables, cohort, seed=3, days=22, engine="reference")
    assert slow.steps[0]["sent"] == 4 and slow.policies["opted_out_skips"] == skips, slow.steps
    compare(fast, slow, exact=True)
    assert fast.policies == slow.policies


@pytest.mark.parametrize("delay", ["2h", "30h"])
def test_scheduled_runs_with_a_kpi_and_timeouts_agree_to_the_customer(delay):
    """A weekly journey in a zone not the run's: the entry condition reads the occurrence's
    stamp (one Wednesday is left out), each run opens a KPI on the event its wait takes (the
    answer comes in time, or after the wait timed out and is ignored), runs end between
    occurrences and the next begins; a window is still open at the horizon. Every count to
    the customer."""
    tables = compile_text(journey("""  stage s "S" {
    kpi joined_kpi "Joined" on joined within 1d baseline 10% target 20%
    send via sms template a
    wait for joined within 1d -> joined timeout -> missed
    missed: send via sms template b
    wait until next saturday at 10:00
    exit completed
    joined: tag "joined"
    wait until 10:00
    send via sms template c
    exit completed
  }""", header="""  entry every wednesday at 20:00 where event.occurrence != "2026-03-11T12:00:00Z"
  reentry after 6d
  exit on unsubscribed as opted_out"""))
    cohort = parse_cohort(f"""size: 30
start: 2026-03-02T00:00:00Z
arrival: 0
segments:
  - name: a
    timezone: Asia/Shanghai
    behaviour:
      responses: [{{event: joined, after: {{template: a}}, p: 1, delay: {delay}}}]
""")
    fast = simulate(tables, cohort, seed=4, days=31.2, engine="vector")
    slow = simulate(tables, cohort, seed=4, days=31.2, engine="reference")
    assert slow.steps[0]["entered"] == 4 * cohort.size   # five Wednesdays, one left out
    assert slow.kpis[0]["open"] == cohort.size   # the last run's window
    compare(fast, slow, exact=True)
    assert fast.kpis == slow.kpis



def test_a_kpi_event_made_at_the_windows_end_by_a_later_timer_hits_in_both_engines():
    """The stage's first wait ends when the KPI's window does, its timer set after the KPI's;
    the send it leads to draws the KPI's event at once: the window's end comes after it, so
    the observation is hit, in both engines."""
    tables = compile_text(journey("""  stage s "S" {
    kpi k "Clicked" on clicked within 1m baseline 10% target 20%
    wait 1m
    send via sms template a
    wait 1d
    exit completed
  }""", header="  entry on joined\n  reentry never\n  exit on unsubscribed as opted_out"))
    fast, slow = _together(tables, 5, "{event: clicked, after: {channel: sms}, p: 1, delay: 0h}")
    assert (slow.kpis[0]["observations"], slow.kpis[0]["hits"]) == (5, 5)
    compare(fast, slow, exact=True)
    assert fast.kpis == slow.kpis


def test_handoffs_of_different_customers_at_one_instant_queue_in_the_reference_engines_order():
    """Half the customers (a split) get a reply exactly when every customer's wait ends and
    hands them to one agent; their SLAs differ. The runtime takes every event of an instant
    before its timers, then the timers in the order they were set (the customers' order),
    whatever order the vectorised engine's passes reach the customers in."""
    tables = compile_text(journey("""  stage s "S" {
    split { x 50% -> gx
      y 50% -> by }
    gx: send via wecom template a
    wait 6h
    handoff to agent within 0m
    wait 1d
    exit completed
    by: wait 6h
    handoff to agent within 3h
    wait 1d
    exit completed
  }""", header="""  entry on joined
  reentry never
  role agent capacity 1 per 1h
  on replied { tag "r" }
  exit on unsubscribed as opted_out"""))
    fast, slow = _together(tables, 12, "{event: replied, after: {template: a}, p: 1, delay: 6h}")
    compare(fast, slow, exact=True)


def test_handoffs_at_one_occurrence_of_a_schedule_queue_in_the_order_of_customer_ids():
    """Every customer of the zone enters at one occurrence (one item of the runtime, which
    takes them in the order of their ids as text: c1, c10, c11, c12, c2 ...) and hands off to
    one agent at once; half of them with an SLA the agent can only meet first."""
    tables = compile_text(journey("""  stage s "S" {
    split { x 50% -> gx
      y 50% -> by }
    gx: handoff to agent within 0m
    wait 1d
    exit completed
    by: handoff to agent within 3h
    wait 1d
    exit completed
  }""", header="""  entry every day at 09:00
  reentry never
  role agent capacity 1 per 1h
  exit on unsubscribed as opted_out"""))
    fast, _ = _agreeing(tables, "size: 12\nstart: 2026-03-02T00:00:00Z\narrival: 3h\n"
                                "segments:\n  - name: a\n", days=2)
    assert [r["met"] for r in fast.staff] == [1]


def test_an_occurrence_during_a_run_is_refused_and_not_taken_later():
    """A daily schedule with ``reentry after``: the run entered at one occurrence is still live
    (waiting until midnight, then four hours) at the next, which the runtime tries and refuses;
    a customer who took occurrences only while they may enter would take that one once the
    run ended, hours late, and enter a run too many."""
    tables = compile_text(journey("""  stage s "S" {
    wait 1m
    wait until 00:00
    wait 4h
    exit completed
  }""", header="""  entry every day at 00:00
  reentry after 1h
  exit on unsubscribed as opted_out"""))
    fast, _ = _agreeing(tables, "size: 3\nstart: 2026-03-02T00:00:00Z\narrival: 0\n"
                                "segments:\n  - name: a\n    timezone: Asia/Shanghai\n", days=3)
    assert fast.entered["runs"] == 6


def _agreeing(tables, cohort: str, days: int) -> tuple:
    """Both engines' results for ``cohort``, which agree to the customer."""
    fast = simulate(tables, parse_cohort(cohort), seed=0, days=days, engine="vector")
    slow = simulate(tables, parse_cohort(cohort), seed=0, days=days, engine="reference")
    compare(fast, slow, exact=True)
    return fast, slow


def _together(tables, size: int, response: str) -> tuple:
    """Both engines' results for ``size`` customers arriving at once with one ``response``,
    over two days."""
    cohort = parse_cohort(f"""size: {size}
start: 2026-03-02T00:00:00Z
arrival: 0
segments:
  - name: a
    behaviour:
      responses:
        - {response}
""")
    return (simulate(tables, cohort, seed=0, days=2, engine="vector"),
            simulate(tables, cohort, seed=0, days=2, engine="reference"))


def test_an_entry_condition_on_data_several_sources_give_agrees_to_the_customer():
    """The entry condition reads a number that the arrival, two responses (one of them a
    float) and a response without it give: the values are joined across sources as numbers,
    a missing one as null, as the runtime reads each event's own data."""
    tables = compile_text(journey("""  stage s "S" {
    send via sms template a
    wait 2h
    send via sms template b
    exit completed
  }""", header="""  entry on registered where event.hours >= 2
  reentry always
  exit on unsubscribed as opted_out"""))
    cohort = parse_cohort("""size: 40
arrival: 0
entry: registered
segments:
  - name: a
    entry_data: {hours: 5}
    behaviour:
      responses:
        - {event: registered, after: {template: a}, p: 1, delay: 1h, data: {hours: 1.5}}
        - {event: registered, after: {template: b}, p: 1, delay: 3h, data: {hours: 2}}
        - {event: registered, after: {event: registered}, p: 1, delay: 30h}
""")
    fast = simulate(tables, cohort, seed=6, days=3, engine="vector")
    slow = simulate(tables, cohort, seed=6, days=3, engine="reference")
    assert 0 < slow.entered["runs"] < 100 * cohort.size
    compare(fast, slow, exact=True)
    assert fast.entered == slow.entered


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deterministic_scenarios())
def test_engines_agree_exactly_on_generated_journeys(scenario):
    """Journeys drawn with every step kind (sends on three channels, with fallbacks,
    transactional or promo; waits, wait until, day-N waits, waits until a schedule's next
    occurrence, waits for events, waits for several events (arms with and without a target or a
    condition), branches on attributes, event history (counts, sums, minima, maxima, time
    since, RFM scores), declared defaults, a run-local variable, tags and consent, the run's
    event data and context as sets wrote them, splits, set (of the profile's tags, opt-out and
    time zone too), tag, untag, emit (of the entry event too), handoffs to a staffed role,
    escalation ladders whose resolution meets the SLAs of their rungs' handoffs, coupons,
    webhooks, waits for delivery results, goto, exits), entry conditions and audiences,
    correlation keys (several runs of a customer at once, each taking the events of its key, an
    entry refused for a key in use, events of no run's key undelivered, staff resolutions
    meeting the SLAs of their key, branches reading the key an event carries or inherits;
    beside it a second journey correlating its runs by another key; without keys, now and then
    a second journey entered on the arrival, a reply or a schedule, handing off to the same
    role), always-on handlers (set, tag, untag, emit, jump; on delivery results too; keeping a
    delivery result's action id where nothing reads it), the cohort's responses to delivery
    results, KPIs, every re-entry rule, goals, exit rules and milestones (on what the cohort
    does and on the emitted event), rolling and calendar caps, quiet hours, consent and
    holdout, entered on an event or at a daily or weekly schedule's occurrences (every customer
    of a zone at once), and a cohort without chance: both engines must give the same figures to
    the customer (events ignored and handled at each step, milestones, KPI observations, staff
    queues and SLAs included), every customer on the vectorised path. A journey and cohort
    caught in a loop at one instant: both engines refuse it (which customer each names first
    may differ), never only one."""
    texts, cohort_text, seed, days = scenario
    cohort = parse_cohort(cohort_text)
    tables = [compile_text(text) for text in texts]
    tables = tables if len(tables) > 1 else tables[0]
    assert vector_support(tables, cohort) is None
    fast = _results_or_refusal(tables, cohort, seed, days, "vector")
    slow = _results_or_refusal(tables, cohort, seed, days, "reference")
    refused = [r for r in (fast, slow) if isinstance(r, SimulationError)]
    if refused:
        assert len(refused) == 2, f"only one engine refuses: {refused[0]}"
        return
    assert fast.paths["reference"] == 0, fast.paths
    for one, other in zip(getattr(fast, "journeys", [fast]), getattr(slow, "journeys", [slow])):
        compare(one, other, exact=True)
    if len(texts) > 1:
        assert fast.combined == slow.combined


def _results_or_refusal(tables, cohort, seed, days, engine):
    try:
        return simulate(tables, cohort, seed=seed, days=days, engine=engine)
    except SimulationError as refusal:
        return refusal


# --- properties -----------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(baseline="replied", max_size=60),
       st.sampled_from([7, 1000]))
def test_vector_simulation_properties(scenario, block):
    text, cohort_text, seed, days, (cap_messages, cap_per), quiet = scenario
    tables, cohort = compile_text(text), parse_cohort(cohort_text)
    assume(vector_support(tables, cohort) is None)
    sim = VectorSimulation(tables, cohort, seed, days, trace=True, block=block)
    results = sim.run()
    # conservation, against the customers' final states
    assert results.entered["runs"] == results.exited + results.still_inside
    assert results.still_inside == sim.inside
    assert_sends_respect_policies(sim.sends, (cap_messages, cap_per), quiet,
                                  lambda send: send.timezone)
    assert results.messages["total"] == len(sim.sends)
    again = VectorSimulation(tables, cohort, seed, days, block=block).run()
    assert again.to_dict() == results.to_dict()


# --- shards ---------------------------------------------------------------------------------------

def test_shard_ranges_cover_every_block_once():
    for blocks in (1, 2, 7, 16):
        for shards in (1, 2, 3, 5):
            ranges = shard_ranges(blocks, shards)
            assert [b for r in ranges for b in r] == list(range(blocks))


def test_sharded_runs_give_exactly_the_single_run():
    tables, cohort = compile_text(FEATURES), parse_cohort(FEATURES_COHORT)
    cohort.size = 3000
    single = VectorSimulation(tables, cohort, 4, 20, block=700).run().to_dict()
    for shards in (1, 2, 3):
        assert simulate_sharded(tables, cohort, 4, 20, shards=shards, block=700).to_dict() == single
    other = VectorSimulation(tables, cohort, 5, 20, block=700).run().to_dict()
    assert other != single


def _mark_worker(folder: str) -> None:
    """A shard worker's initializer in the test below: leaves a file named by its process."""
    (Path(folder) / str(os.getpid())).touch()


def test_shard_workers_start_by_keeping_freed_memory(monkeypatch, tmp_path):
    """Each worker process runs ``keep_freed_memory`` before its shard (seen through a stand-in
    that marks its process), and the results are still exactly the single run's."""
    tables, cohort = compile_text(FEATURES), parse_cohort(FEATURES_COHORT)
    cohort.size = 1400
    single = VectorSimulation(tables, cohort, 4, 20, block=700).run().to_dict()
    monkeypatch.setattr(shard, "keep_freed_memory", functools.partial(_mark_worker, str(tmp_path)))
    assert simulate_sharded(tables, cohort, 4, 20, shards=2, block=700).to_dict() == single
    workers = {int(p.name) for p in tmp_path.iterdir()}
    assert len(workers) == 2 and os.getpid() not in workers


def test_keeping_freed_memory_needs_a_c_library_with_mallopt(monkeypatch):
    def no_library(name):
        raise OSError("no C library")

    monkeypatch.setattr(shard.ctypes, "CDLL", no_library)
    assert shard.keep_freed_memory() is False


def test_sharding_on_dask_gives_exactly_the_single_run():
    """Dask is in the test extra: shards as Dask tasks, on the local process scheduler and on a
    dask.distributed cluster (in-process here), merge to the single run."""
    import_or_skip("dask.distributed")  # in the test extra: under CI=true, missing fails
    from dask.distributed import Client, LocalCluster
    tables, cohort = compile_text(FEATURES), parse_cohort(FEATURES_COHORT)
    cohort.size = 120
    single = VectorSimulation(tables, cohort, 0, 30, block=25).run().to_dict()
    assert simulate_sharded(tables, cohort, 0, 30, shards=3, executor="dask", block=25).to_dict() == single
    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, Client(cluster):
        on_cluster = simulate_sharded(tables, cohort, 0, 30, shards=3, executor="dask", block=25)
    assert on_cluster.to_dict() == single


def test_sharding_on_dask_without_dask_says_how_to_install(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    tables, cohort = compile_text(FEATURES), parse_cohort(FEATURES_COHORT)
    cohort.size = 50
    with pytest.raises(ShardError, match="pip install 'journeylang\\[dask\\]'"):
        simulate_sharded(tables, cohort, shards=2, executor="dask", block=25)


# --- constructs it once refused --------------------------------------------------------------------

ONCE_REFUSED = [
    ("  entry on joined\n  reentry always", "baseline: [{event: joined, per_day: 0.5}]"),
    ('  entry on joined\n  on replied { tag "talked" }', "baseline: [{event: replied, per_day: 2}]"),
    ("  entry on joined\n  goal g on bought where count(bought within 30d) >= 2",
     "baseline: [{event: bought, per_day: 0.5}]"),
    ("  entry on joined\n  reentry after 1d", "baseline: [{event: joined, per_day: 1}]"),
    ("  entry on joined\n  goal g on bought where event.x > 1", "baseline: [{event: bought, per_day: 1, "
     "data: {x: {uniform: {min: 0, max: 2}}}}]"),
]


@pytest.mark.parametrize("header, behaviour", ONCE_REFUSED)
def test_constructs_it_once_refused_run_on_the_vector_engine(header, behaviour):
    """Re-entry (always, and on behaviour events), always-on handlers, event history and event
    data drawn at random: every customer on the vectorised path, the reference engine's figures."""
    tables = compile_text(journey('  stage s "S" {\n    send via wecom template a\n    wait 1d\n'
                                  '    send via wecom template b\n    exit completed\n  }', header=header))
    cohort = parse_cohort(f"size: 1500\nsegments:\n  - name: a\n    behaviour: {{{behaviour}}}\n")
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=4, days=10, engine="vector")
    assert fast.engine == "vector" and fast.paths["reference"] == 0
    compare(fast, simulate(tables, cohort, seed=4, days=10, engine="reference"))


def test_milestones_and_emits_after_a_set_run_on_the_vector_engine():
    body = '  stage s "S" {{\n    set customer.points = customer.points + 1\n    {}\n    exit completed\n  }}'
    cohort = parse_cohort("size: 400\nsegments:\n  - name: a\n    behaviour: {baseline: "
                          "[{event: bought, per_day: 1}]}\n")
    header = "  entry on joined\n  attribute points: number = 0\n"
    cases = [
        # a milestone reads what a set step changed
        journey(body.format("wait 1d"), header=header + "  milestone m on bought where customer.points > 0"),
        # the journey emits its own entry event: a run re-enters
        journey(body.format("wait 1d\n    emit joined"), header=header.replace(
            "joined", "joined\n  reentry after 1h")),
        # an emitted event's conditions are evaluated when the step runs
        journey(body.format("emit levelled"), header=header + "  milestone m on levelled where customer.points > 0"),
    ]
    for text in cases:
        tables = compile_text(text)
        assert vector_support(tables, cohort) is None
        fast = simulate(tables, cohort, seed=1, days=5, engine="vector")
        assert fast.paths["reference"] == 0
        compare(fast, simulate(tables, cohort, seed=1, days=5, engine="reference"))


def test_unknown_tables_take_the_reference_path():
    tables = compile_text(journey('  stage s "S" {\n    send via wecom template a\n    exit completed\n  }',
                                  header="  entry on joined"))
    cohort = parse_cohort("size: 5\nsegments: [{name: a}]\n")
    assert vector_support(tables, cohort) is None
    tables.rows["forecasts"] = [{"journey_id": "t"}]
    assert vector_support(tables, cohort) == "table 'forecasts'"
    build_program(tables)
    # not refused: every customer takes the reference path, and the results say why
    results = simulate(tables, cohort, engine="vector")
    assert results.paths == {"vector": 0, "reference": 5, "reasons": {"table 'forecasts'": {
        "customers": 5, "first": ["c1", "c2", "c3", "c4", "c5"]}}}
    assert results.to_dict()["ended"] == simulate(tables, cohort, engine="reference").to_dict()["ended"]
    assert simulate(tables, cohort, engine="auto").engine == "reference"


def test_cli_engine_and_shards(tmp_path):
    cohort = tmp_path / "c.yaml"
    cohort.write_text("size: 300\nsegments: [{name: a, consent: {wecom: 1}}]\n", encoding="utf-8")
    journey_file = ROOT / "examples" / "cart_recovery.journey"
    out = CliRunner().invoke(main, ["simulate", str(journey_file), "--cohort", str(cohort),
                                    "--engine", "vector", "--shards", "2", "--out", str(tmp_path / "o")])
    assert out.exit_code == 0, out.output
    assert "(vector engine" in out.output
    assert '"engine": "vector"' in (tmp_path / "o" / "summary.json").read_text(encoding="utf-8")
    always = tmp_path / "always.journey"
    always.write_text(journey_file.read_text(encoding="utf-8").replace("reentry after 7d", "reentry always"),
                      encoding="utf-8")
    out = CliRunner().invoke(main, ["simulate", str(always), "--cohort", str(cohort), "--engine", "vector",
                                    "--shards", "2"])
    assert out.exit_code == 0, out.output
    assert "(vector engine" in out.output and "Traceback" not in out.output


def test_the_summary_and_report_say_which_customers_took_the_reference_path(tmp_path):
    """Customers a vectorised run hands to the reference path are counted where the operator
    reads the results, with the reason: the summary under its header, the HTML report."""
    cohort = tmp_path / "c.yaml"
    cohort.write_text("size: 40\nsegments:\n  - {name: a, consent: {wecom: 1}}\n"
                      "  - {name: staff, consent: {wecom: 1}, attributes: {opted_out: false}}\n",
                      encoding="utf-8")
    journey_file = ROOT / "examples" / "cart_recovery.journey"
    out = CliRunner().invoke(main, ["simulate", str(journey_file), "--cohort", str(cohort),
                                    "--engine", "vector", "--out", str(tmp_path / "o")])
    assert out.exit_code == 0, out.output
    header, line = out.stdout.splitlines()[:2]
    assert "(vector engine" in header
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    moved = summary["paths"]["reference"]
    assert 0 < moved < 40
    reason = "segment 'staff' sets the profile attribute 'opted_out', which the runtime owns"
    first = summary["paths"]["reasons"][reason]["first"]
    assert line == f"{moved:,} customers on the reference path: {reason} " \
                   f"({', '.join(first[:3])}{', ...' if moved > 3 else ''})"
    report = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert f"{moved:,} customers on the reference path: segment &#x27;staff&#x27;" in report
    again = CliRunner().invoke(main, ["simulate", str(journey_file), "--cohort", str(cohort),
                                      "--engine", "vector"])
    assert again.stdout.splitlines()[1] == line   # the same draws: the same customers


def test_a_zero_wait_in_edited_tables_cannot_spin_either_engine():
    """The linter refuses zero-wait loops (JL203); tables edited by hand can still hold one: both
    engines end such a run as an error after MAX_STEPS steps instead of looping at one instant."""
    tables = compile_text(journey('''  stage s "S" {
    w: send via wecom template a
    wait 1h
    branch { when customer.x == 1 -> done
      else -> w }
    done: exit completed
  }''', header="  entry on joined\n  policy {\n    cap 1 messages per 1d\n  }"))
    for row in tables.rows["steps"]:
        if row["kind"] == "wait":
            row["params"]["duration"] = 0
    cohort = parse_cohort("size: 3\nsegments: [{name: a}]\n")
    for engine in ("vector", "reference"):
        assert simulate(tables, cohort, 0, 2, engine=engine).ended == {"treated:error": 3}


def test_quiet_hours_the_clocks_skip_defer_to_the_next_day_in_both_engines():
    tables = compile_text(journey('  stage s "S" {\n    send via wecom template a\n    exit completed\n  }',
                                  header="  entry on joined\n  policy {\n    quiet 03:00-02:00\n  }"))
    cohort = parse_cohort("size: 2\nstart: 2026-03-08T05:00:00Z\narrival: 0\n"
                          "segments: [{name: a, timezone: America/New_York}]\n")
    for engine in ("vector", "reference"):
        results = simulate(tables, cohort, 0, 3, engine=engine)
        assert results.ended == {"treated:completed": 2} and results.policies["quiet_deferrals"] == 2


CALENDAR_DAY = journey('''  stage s "S" {
    send via wecom template a
    wait 24h
    wait 40m
    send via wecom template b
    exit completed
  }''', header="  entry on joined\n  policy {\n    cap 1 messages per calendar day\n  }")
# 00:10 on the day New York leaves summer time (25 hours long), then 23:50 the same day
FALL_BACK = ("size: 3\nstart: 2026-11-01T04:10:00Z\narrival: 0\n"
             "segments: [{name: a, timezone: America/New_York}]\n")


def test_a_calendar_day_cap_counts_the_whole_of_a_25_hour_day():
    results = simulate(compile_text(CALENDAR_DAY), parse_cohort(FALL_BACK), days=3, engine="vector")
    assert (results.messages["total"], results.policies["cap_skips"]) == (3, 3)


def test_the_reference_engine_counts_the_whole_of_a_25_hour_day():
    """The runtime used to keep a customer's sends for the longest cap's nominal length (86400 s
    for a calendar day), and so forgot on a 25-hour day a send made since local midnight."""
    results = simulate(compile_text(CALENDAR_DAY), parse_cohort(FALL_BACK), days=3, engine="reference")
    assert (results.messages["total"], results.policies["cap_skips"]) == (3, 3)


@pytest.mark.parametrize("wait, delay, ignored", [
    # ``within 0m`` takes no event, not even one arriving at that very instant: the executor
    # times out at once, and so must the vectorised engine (it used to take the reply)
    ("", "0h", [0, 0, 0, 0, 0]),
    # events come before timers at one instant: a reply at the very end of `wait 2h` reaches
    # the run while it still waits there (nothing takes it: ignored), so the wait for replies
    # does not see it (the vectorised engine used to let that wait take it)
    ("wait 2h", "2h", [0, 20, 0, 0, 0]),
])
def test_events_at_one_instant_in_both_engines(wait, delay, ignored):
    within = "1h" if wait else "0m"
    tables = compile_text(journey(f'''  stage s "S" {{
    send via wecom template a
    {wait or "goto w"}
    w: wait for replied within {within} -> yes timeout -> no
    yes: exit churned
    no: exit completed
  }}''', header="  entry on joined"))
    cohort = parse_cohort("size: 20\narrival: 0\nsegments:\n  - name: a\n    behaviour:\n"
                          f"      responses: [{{event: replied, p: 1, delay: {delay}}}]\n")
    for engine in ("vector", "reference"):
        results = simulate(tables, cohort, engine=engine)
        assert results.ended == {"treated:completed": 20}
        assert [s["ignored"] for s in results.steps] == ignored


FOLDED = journey('''  stage s "S" {
    l0: send via wecom template a
    wait 2h
    branch { when seen == true -> yes
      else -> no }
    yes: set seen = false
    send via wecom template b
    wait until 09:00
    branch { when level == 2 and customer.mood == "happy" -> calm
      when level == 1 -> l0
      else -> no }
    calm: set level = 0
    set customer.mood = "calm" -> l0
    no: wait 5h
    branch { when level == 2 -> calm
      else -> done }
    done: exit completed
  }''', header="""  entry on joined
  reentry after 1d
  var seen = false
  var level = 0
  attribute mood: string = "calm"
  on pinged { set seen = true }
  on poked { set level = 2; set customer.mood = "happy" }
  on joined { set level = 1 }
  policy { quiet 22:00-08:00 }""", ident="folded")

# enters on the folded type: while a customer may enter, its events are items of their own
PINGED = journey('''  stage s "S" {
    wait 1h
    exit completed
  }''', header="  entry on pinged\n  reentry never", ident="pinged")


@pytest.mark.parametrize("together", [False, True])
@pytest.mark.parametrize("delay", ["2h", "3h", "0h"])
def test_handlers_that_only_set_constants_agree_to_the_customer(together, delay, monkeypatch):
    """Events whose handlers only set constants, taken by a run that waits for time or quiet
    hours, are handled just before the customer's next item instead of each as an item (the
    entry event while the run is live; at the instant of a timer, where events come first,
    or just after it; made at the instant of a send; during a send held for quiet hours;
    still pending at the horizon): the reference engine's figures to the customer, handled
    events included."""
    from journeylang.sim.vector import block as vector_block
    folded = []
    handle = vector_block.Block._handle_folded

    def counting(self, rows, until_t, until_q):
        folded.append(len(rows))
        handle(self, rows, until_t, until_q)
    monkeypatch.setattr(vector_block.Block, "_handle_folded", counting)
    tables = [compile_text(FOLDED), compile_text(PINGED)] if together else compile_text(FOLDED)
    cohort = parse_cohort("""size: 6
start: 2026-03-02T13:00:00Z
arrival: 0
segments:
  - name: a
    timezone: Asia/Shanghai
    behaviour:
      responses:
        - {event: pinged, after: {template: a}, p: 1, delay: %s}
        - {event: joined, after: {template: a}, p: 1, delay: 30m}
        - {event: poked, after: {template: a}, p: 1, delay: 4h}
        - {event: pinged, after: {template: b}, p: 1, delay: 0h}
        - {event: poked, after: {template: b}, p: 1, delay: 1h}
""" % delay)
    fast = simulate(tables, cohort, seed=4, days=5.5, engine="vector")
    slow = simulate(tables, cohort, seed=4, days=5.5, engine="reference")
    assert fast.paths["reference"] == 0, fast.paths
    assert sum(folded) > 0
    pairs = list(zip(*((r.journeys if together else [r]) for r in (fast, slow))))
    assert pairs[0][1].handled, pairs[0][1].handled
    for a, b in pairs:
        compare(a, b, exact=True)
        assert a.handled == b.handled


VALUES = st.one_of(st.sampled_from(["a", "b", "", "A", "优惠"]), st.none(), st.booleans(),
                   st.integers(-2, 2), st.floats(-2, 2, allow_nan=False), st.just(["a"]))


@settings(max_examples=80, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=30), st.sampled_from(["a", "", "优惠", "1"]),
       st.lists(st.sampled_from(["a", "b", "优惠"]), min_size=1, max_size=3))
def test_string_comparisons_run_on_whole_columns_as_the_runtime_compares(values, text, texts):
    """``==``, ``!=``, ``in`` and ``not in`` against texts are numpy operations on the column
    (no call per customer), with the runtime's semantics: a text equals only the same text,
    null makes any comparison false."""
    from journeylang.compile.conditions import compare as reference_compare, member
    from journeylang.sim.vector.columns import _compare, _member_of_texts, typed
    column = np.empty(len(values), dtype=object)
    column[:] = values
    column = typed(column)
    plain = [None if isinstance(v, float) and math.isnan(v) else v for v in column.tolist()]
    for op in ("==", "!="):
        assert _compare(op, column, text, len(values)).tolist() == \
            [reference_compare(op, v, text) for v in plain]
        assert _compare(op, text, column, len(values)).tolist() == \
            [reference_compare(op, text, v) for v in plain]
    for wanted in (True, False):
        found = [member(v, texts) for v in plain]
        assert _member_of_texts(column, texts, wanted).tolist() == \
            [False if f is None else f == wanted for f in found]


def test_shards_default_to_the_machines_cores_as_many_as_the_run_can_use(monkeypatch):
    from journeylang.sim import shard
    from journeylang.sim.engine import simulation_for
    tables, cohort = compile_text(FEATURES), parse_cohort(FEATURES_COHORT)
    cohort.size = 300
    monkeypatch.setattr(shard, "machine_cores", lambda: 4)
    assert shard.default_shards(simulation_for(tables, cohort, engine="vector")) == 1  # one block
    big = parse_cohort(FEATURES_COHORT)
    big.size = 3 * BLOCK
    assert shard.default_shards(simulation_for(tables, big, engine="vector")) == 3
    big.size = 50_000
    assert shard.default_shards(simulation_for(tables, big, engine="reference")) == 2
    single = simulate(tables, cohort, seed=1, days=10, engine="vector")
    assert simulate_sharded(tables, cohort, seed=1, days=10).to_dict() == single.to_dict()


def test_a_set_the_engine_cannot_hold_sends_every_customer_to_the_reference_path():
    """Customers who reach such a `set` (the profile's time zone to a value worked out per
    customer, or to a constant beside a scheduled entry) would be run again on the reference
    path from their start, with new draws: which of them reach it depends on draws (a drawn
    attribute, a response), so only running every customer there keeps the figures unbiased.
    Every other set runs on the vectorised path."""
    text = journey('''  stage s "S" {
    wait 1h
    branch { when customer.vip == true -> noted
      else -> plain }
    noted: set customer.timezone = customer.home
    wait until 10:00
    done: exit completed
    plain: wait 2h
    exit completed
  }''', header="  entry on joined")
    tables = compile_text(text)
    cohort = parse_cohort("size: 600\n"
                          "segments: [{name: a, attributes: {vip: {bernoulli: {p: 0.3}}}}]\n")
    assert may_escape(Plan(tables, cohort))
    assert "every customer takes it" in vector_support(tables, cohort)
    fast = simulate(tables, cohort, seed=2, days=5, engine="vector")
    assert fast.paths["reference"] == 600
    compare(fast, simulate(tables, cohort, seed=2, days=5, engine="reference"))
    for held in ('event.note = "vip"', 'event.other = 1', 'note = "vip"', "event = 1",
                 'customer.tags = ["a"]', "customer.opted_out = true", "customer.points = 1",
                 'customer.timezone = "Asia/Shanghai"', "customer.timezone = null"):
        quiet = compile_text(text.replace("set customer.timezone = customer.home", f"set {held}"))
        assert not may_escape(Plan(quiet, cohort)), held
    scheduled = compile_text(text.replace("set customer.timezone = customer.home",
                                          'set customer.timezone = "Asia/Shanghai"')
                             .replace("entry on joined", "entry every day at 09:00"))
    assert may_escape(Plan(scheduled, cohort))


def _exactly_on_the_vector_path(text: str, header: str, cohort_text: str, size: int):
    """Both engines on a cohort without chance (splits tell customers apart): the same
    figures to the customer, every customer on the vectorised path."""
    tables, cohort = compile_text(journey(text, header=header)), parse_cohort(cohort_text)
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=2, days=5, engine="vector")
    slow = simulate(tables, cohort, seed=2, days=5, engine="reference")
    assert fast.paths == {"vector": size, "reference": 0, "reasons": {}}
    compare(fast, slow, exact=True)
    assert fast.policies == slow.policies
    return slow


def test_sets_of_the_runs_event_data_and_context_run_on_the_vector_path():
    """`set event.x` changes the run's own copy of its event (a handler's too, not the event
    it handles), `set x` the run's context; a condition reads them until the run takes a new
    event (a wait for one), whose keys replace the context's."""
    slow = _exactly_on_the_vector_path('''  stage s "S" {
    split { x 50% -> one
      y 50% -> two }
    one: set event.note = "vip"
    goto both
    two: set memo = 1
    both: set event.deep.x = customer.n
    send via sms template a
    wait 1d
    branch { when event.note == "vip" and event.deep.x == 3 -> vip
      else -> other }
    vip: set memo.y = 2
    branch { when memo.y == 2 and not memo.x exists -> heard
      else -> done }
    other: branch { when memo == 1 and event.deep.x == 3 and event.note == "clicked" -> heard
      else -> done }
    heard: send via sms template b
    wait for replied within 2d -> replied timeout -> done
    replied: branch { when memo == 5 and not event.note exists and not event.deep exists -> again
      else -> done }
    again: send via sms template c
    wait for bought within 2d -> bought timeout -> done
    bought: branch { when memo == 5 -> won
      else -> done }
    won: exit converted
    done: exit completed
  }''', '  entry on joined\n  exit on unsubscribed as opted_out\n'
       '  on clicked where memo == 1 { set event.note = "clicked" }', """size: 600
arrival: 0
segments:
  - name: a
    attributes: {n: 3}
    consent: {sms: 1}
    behaviour:
      responses:
        - {event: clicked, after: {template: a}, p: 1, delay: 1h}
        - {event: replied, after: {template: b}, p: 1, delay: 1h, data: {memo: 5}}
        - {event: bought, after: {template: c}, p: 1, delay: 1h}
""", 600)
    steps = {step["step"]: step for step in slow.steps}
    assert steps["s.8"]["exits"] == {"branch 1 -> vip": 302, "else -> other": 298}
    assert steps["won"]["entered"] == 600      # every branch reading what was set held


def test_sets_of_the_profiles_tags_and_opt_out_run_on_the_vector_path():
    """`set customer.tags` and `set customer.opted_out` as the runtime writes the profile: a
    value other than a sorted list of tags (duplicates, a text, null, a mapping) is read back
    as written, `has tag` holds for a list's items only, a tag step makes a sorted list again;
    a send is skipped when opted_out is true, and an opt-out event makes it true."""
    slow = _exactly_on_the_vector_path('''  stage s "S" {
    split { x 25% -> one
      y 25% -> two
      z 25% -> three
      w 25% -> four }
    one: set customer.tags = ["vip", "t", "a", "vip"]
    goto both
    two: set customer.tags = "vip"
    set customer.opted_out = false
    branch { when customer.opted_out == false -> asked
      else -> done }
    asked: send via sms template c
    wait 1h
    goto both
    three: set customer.tags = null
    set customer.opted_out = true
    goto both
    four: set customer.tags.x = 1
    both: send via sms template a
    branch { when has tag "vip" and has tag "t" -> vip
      else -> other }
    vip: untag "t"
    branch { when customer.tags == ["a", "vip"] -> tagged
      else -> done }
    other: branch { when customer.opted_out == true and customer.tags == "vip" -> tagged
      else -> third }
    third: branch { when not customer.tags exists and customer.opted_out == true -> tagged
      else -> fourth }
    fourth: branch { when customer.tags.x == 1 and not has tag "t" -> tagged
      else -> done }
    tagged: tag "b"
    branch { when has tag "b" and not has tag "vip" -> plain
      else -> done }
    plain: send via sms template b
    exit converted
    done: exit completed
  }''', '  entry on joined\n  exit on unsubscribed where customer.tier == "gold" as opted_out',
       """size: 800
arrival: 0
segments:
  - name: a
    tags: {t: 1}
    consent: {sms: 1}
    behaviour:
      responses:
        - {event: unsubscribed, after: {template: c}, p: 1, delay: 1m}
""", 800)
    steps = {step["step"]: step for step in slow.steps}
    assert [steps[s]["exits"].get("branch 1 -> tagged")
            for s in ("s.17", "other", "third", "fourth")] == [192, 204, 207, 197]
    assert slow.policies["opted_out_skips"] == 822


def test_conditions_reading_the_correlation_key_run_on_the_vector_path():
    """A condition reads the correlation key an event carries, or the one it inherits (a
    reply to a message has its run's key, set in its data as the runtime sets it: over a key
    that is no single value too): the run's event, the context root, a milestone's event and a
    history question's past events."""
    slow = _exactly_on_the_vector_path('''  stage s "S" {
    branch { when event.ticket == 1 and ticket == 1 -> first
      else -> second }
    first: send via sms template a
    wait for replied within 1d -> replied timeout -> done
    replied: branch { when event.ticket == 1 and event exists and ticket == 1 -> won
      else -> done }
    second: send via sms template b
    wait for replied within 1d -> other timeout -> done
    other: branch { when event.ticket == 2 and ticket == 2.0 -> history
      else -> done }
    history: branch { when count(replied where event.ticket == 2) == 1 -> won
      else -> done }
    won: exit converted
    done: exit completed
  }''', '''  entry on joined
  correlate by ticket
  reentry always
  exit on unsubscribed as opted_out
  milestone keyed on replied where event.ticket == 1''', """size: 300
arrival: 0
segments:
  - name: a
    entry_data: {ticket: 1}
    consent: {sms: 1}
    behaviour:
      responses:
        - {event: joined, after: {template: a}, p: 1, delay: 1m, data: {ticket: 2.0}}
        - {event: replied, after: {template: a}, p: 1, delay: 1h}
        - {event: replied, after: {template: b}, p: 1, delay: 2h, data: {ticket: [1]}}
""", 300)
    steps = {step["step"]: step for step in slow.steps}
    assert steps["won"]["entered"] == 600      # two runs each, every branch reading the key held
    assert slow.milestones[0]["reached"] == 300


@pytest.mark.parametrize("name, size", [("churn_ladder", 2000), ("crisis_ladder", 3000)])
def test_ladders_meet_staffed_slas_on_both_paths_as_the_reference_engine_does(name, size):
    """The staff settlement meets the SLAs a ladder's resolution closes, for the customers of
    either path. Here a segment setting ``opted_out`` (an attribute the runtime owns) puts every
    customer on the reference path inside the vectorised run: the settlement of their handoffs
    and ladder resolutions (with queues long enough that staff reach many after the ladder was
    resolved) gives the reference engine's own figures exactly; the example with its own cohort
    runs every customer on the vectorised path."""
    tables = api.load_tables(next(p for p in (ROOT / "examples").glob(f"{name}.*") if p.is_file()))
    text = (ROOT / "examples" / "cohorts" / f"{name}.cohort.yaml").read_text(encoding="utf-8")
    assert vector_support(tables, parse_cohort(text)) is None
    cohort = parse_cohort(text.replace("    attributes:\n", "    attributes:\n      opted_out: false\n"))
    cohort.size = size
    fast = simulate(tables, cohort, seed=3, days=40, engine="vector")
    slow = simulate(tables, cohort, seed=3, days=40, engine="reference")
    assert (fast.paths["vector"], fast.paths["reference"]) == (0, size)
    assert any(0 < role["met"] < role["slas"] for role in slow.staff)
    compare(fast, slow, exact=True)
    assert fast.staff == slow.staff


# every draw certain (one segment each): only the staff queues tell customers apart
COMPLAINTS_CERTAIN = {
    "wecom": """
    entry_data: {ticket: 1}
    consent: {wecom: 1, sms: 1}
    behaviour:
      responses:
        - {event: complaint_filed, after: {template: complaint_ack}, p: 1, delay: 2h, data: {ticket: 2}}
        - {event: complaint_resolved, after: {template: complaint_ack}, p: 1, delay: 30h}
        - {event: complaint_resolved, after: {template: complaint_ack}, p: 1, delay: 1h, data: {ticket: 99}}
        - {event: csat_submitted, after: {template: csat_survey}, p: 1, delay: 3h, data: {score: 2}}
""",
    "sms": """
    entry_data: {ticket: "T-1"}
    consent: {wecom: 0, sms: 1}
    behaviour:
      responses:
        - {event: complaint_filed, after: {template: complaint_ack_sms}, p: 1, delay: 1h, data: {ticket: "T-1"}}
        - {event: complaint_filed, after: {template: complaint_ack_sms}, p: 1, delay: 3h, data: {ticket: 1}}
        - {event: complaint_resolved, after: {template: complaint_ack_sms}, p: 1, delay: 50h}
        - {event: unsubscribed, after: {event: complaint_resolved}, p: 1, delay: 200h}
""",
    "gold": """
    attributes: {tier: gold}
    entry_data: {ticket: 7}
    consent: {wecom: 1}
    behaviour:
      responses:
        - {event: complaint_filed, after: {template: complaint_ack}, p: 1, delay: 10m, data: {ticket: 8.0}}
        - {event: complaint_resolved, after: {event: complaint_filed}, p: 1, delay: 26h}
        - {event: csat_submitted, after: {template: csat_survey}, p: 1, delay: 1h, data: {score: 5}}
""",
    "public": """
    entry_data: {ticket: 3, visibility: public}
    consent: {wecom: 1}
    behaviour:
      responses:
        - {event: complaint_filed, after: {template: complaint_ack}, p: 1, delay: 20m, data: {ticket: 4, visibility: public}}
        - {event: complaint_resolved, after: {template: complaint_ack}, p: 1, delay: 70m}
""",
}


@pytest.mark.parametrize("segment", sorted(COMPLAINTS_CERTAIN))
@pytest.mark.parametrize("staffed", [False, True])
def test_correlated_runs_agree_to_the_customer_on_the_example(segment, staffed):
    """complaint_escalation (`correlate by ticket`) on the vectorised path: two complaints per
    customer at once (or a second with the ticket of a live run, refused), each run taking
    the resolutions and ratings of its own ticket, events of another ticket reaching no run,
    crisis ladders resolved per ticket; with staffed roles (queues long enough to serve a
    handoff after its run ended), each resolution meets the SLA of its own ticket's run. The
    same figures as the reference engine to the customer, undelivered events included."""
    text = (ROOT / "examples" / "complaint_escalation.journey").read_text(encoding="utf-8")
    if staffed:
        text = text.replace("  outcomes resolved_unrated\n", "  outcomes resolved_unrated\n"
                            "  role service_supervisor capacity 2 per 1h\n"
                            "  role service_agent capacity 1 per 1h\n"
                            "  role vip_manager capacity 1 per 1h\n"
                            "  role community_staff capacity 3 per 1h\n")
    tables = compile_text(text)
    cohort = parse_cohort("size: 60\narrival: 0\nentry: complaint_filed\nsegments:\n"
                          "  - name: a" + COMPLAINTS_CERTAIN[segment])
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=4, days=20, engine="vector")
    slow = simulate(tables, cohort, seed=4, days=20, engine="reference")
    assert fast.paths["reference"] == 0
    compare(fast, slow, exact=True)
    assert fast.undelivered == slow.undelivered
    assert fast.staff == slow.staff
    assert slow.entered["runs"] == 2 * cohort.size   # two tickets each (a third one refused)
    if segment == "wecom":
        assert slow.undelivered["complaint_resolved"] == 2 * cohort.size   # ticket 99's
    if staffed:
        assert any(0 < role["met"] < role["slas"] for role in slow.staff)
    if staffed and segment != "gold":   # resolutions passing over another ticket's SLA
        assert slow.undelivered["handoff_resolved"] > 0


# two journeys correlating their runs by different keys: each customer files a complaint
# (`care`, by ticket) and places an order (`orders`, by order) with one arrival
CARE = '''  stage s "S" {
    branch { when event.ticket == 1 -> first
      else -> second }
    first: send via sms template a
    goto staff
    second: send via sms template c
    staff: handoff to agent within 90m
    wait for replied within 1d -> answered timeout -> done
    answered: branch { when event.ticket == 1 and not event.order exists -> won
      else -> done }
    won: emit escalated
    done: exit completed
  }'''
ORDERS = '''  stage s "S" {
    branch { when event.order == "A" -> first
      else -> second }
    first: send via wecom template b
    goto staff
    second: send via wecom template d
    staff: handoff to agent within 3h
    wait for bought within 1d -> paid timeout -> done
    paid: branch { when event.order == "A" and not event.ticket exists -> escalation
      else -> done }
    escalation: wait for escalated within 1d -> won timeout -> done
    won: exit converted
    done: exit completed
  }'''
KEYED_TWICE = """size: 40
arrival: 0
entry: joined
segments:
  - name: a
    entry_data: {ticket: 1, order: "A"}
    consent: {sms: 1, wecom: 1}
    behaviour:
      responses:
        - {event: joined, after: {template: a}, p: 1, delay: 1h, data: {ticket: 2}}
        - {event: joined, after: {template: b}, p: 1, delay: 2h, data: {order: B}}
        - {event: replied, after: {channel: sms}, p: 1, delay: 30m}
        - {event: bought, after: {channel: wecom}, p: 1, delay: 20m}
        - {event: clicked, after: {event: joined}, p: 1, delay: 10m}
"""


def test_journeys_correlating_by_different_keys_agree_to_the_customer():
    """`care` correlates by ticket, `orders` by order, both handing off to one staffed role:
    each reply to a message carries the key of the run that sent it at that run's path only
    (a complaint filed in reply to care's message has no order, so orders refuses it; an
    order placed in reply to orders' has no ticket), a response to an event carries every
    key the event carries, an emitted event its run's key (care's escalation reaches no
    orders run: undelivered), and a staff resolution meets only the SLAs of runs with its
    key at its path (a ticket and an order with the same code stay apart). The same figures
    as the reference engine to the customer, every customer on the vectorised path."""
    care = compile_text(journey(CARE, header="  entry on joined\n  correlate by ticket\n"
                                "  reentry always\n  role agent capacity 20 per 1h\n"
                                "  exit on unsubscribed as opted_out\n"
                                '  milestone both on clicked where event.ticket == 1 and '
                                'event.order == "A"', ident="care"))
    orders = compile_text(journey(ORDERS, header="  entry on joined\n  correlate by order\n"
                                  "  reentry always\n  exit on unsubscribed as opted_out\n"
                                  "  milestone keyed on clicked where event.order exists",
                                  ident="orders"))
    cohort = parse_cohort(KEYED_TWICE)
    assert vector_support([care, orders], cohort) is None
    fast = simulate([care, orders], cohort, seed=2, days=2, engine="vector")
    slow = simulate([care, orders], cohort, seed=2, days=2, engine="reference")
    assert fast.paths == {"vector": 40, "reference": 0, "reasons": {}}
    for a, b in zip(fast.journeys, slow.journeys):
        compare(a, b, exact=True)
        assert a.undelivered == b.undelivered
        assert a.staff == b.staff
    assert fast.combined == slow.combined
    one, two = slow.journeys
    assert (one.entered["runs"], two.entered["runs"]) == (80, 80)   # ticket 2, order B
    assert two.undelivered["escalated"] > 0
    assert two.undelivered["handoff_resolved"] > 0   # passing over care's live SLAs
    assert 0 < one.staff[0]["met"] < one.staff[0]["slas"]
    assert {s["step"]: s["entered"] for s in one.steps}["won"] > 0
    assert {s["step"]: s["entered"] for s in two.steps}["escalation"] > 0


ZONE_MOVES = '''  stage s "S" {
    split { x 50% -> east
      y 50% -> west }
    east: set customer.timezone = "Asia/Tokyo"
    goto both
    west: set customer.timezone = null
    both: branch { when customer.timezone == "Asia/Tokyo" -> tokyo
      else -> other }
    tokyo: wait until 10:00
    send via sms template a
    goto later
    other: send via sms template b
    later: wait until day 1 at 09:30
    send via sms template c
    wait for clicked within 1d -> moved timeout -> done
    moved: wait until 07:00
    send via sms template d
    send via sms template e
    done: exit completed
  }'''
ZONE_MOVES_HEADER = '''  entry on joined
  exit on unsubscribed as opted_out
  on clicked { set customer.timezone = "America/New_York" }
  policy {
    quiet 22:00-08:00
    cap 1 messages per calendar day
  }'''


def _sends(sim) -> list:
    return sorted((s.customer, s.at, s.channel) for s in sim.sends)


@pytest.mark.parametrize("start", ["2026-03-07T20:00:00Z", "2026-10-31T13:30:00Z"])
def test_sets_of_the_profiles_time_zone_agree_to_the_customer(start):
    """`set customer.timezone` to a zone name or null (a step, a handler on the cohort's
    click) moves the customer's local clock: the local times a wait waits until, the day a
    day-N wait counts from, quiet hours and the calendar day a cap counts are the new zone's,
    and a branch reads the name (null: none, the run's default zone). The same figures and
    the same sends at the same instants as the reference engine, every customer on the
    vectorised path (starts next to daylight-saving changes)."""
    tables = compile_text(journey(ZONE_MOVES, header=ZONE_MOVES_HEADER))
    cohort = parse_cohort(f"size: 60\nstart: {start}\narrival: 0\nsegments:\n  - name: a\n"
                          "    timezone: {Europe/Berlin: 1, America/Los_Angeles: 1}\n"
                          "    consent: {sms: 1}\n    behaviour:\n      responses:\n"
                          "        - {event: clicked, after: {template: c}, p: 1, delay: 2h}\n")
    assert vector_support(tables, cohort) is None
    fast = VectorSimulation(tables, cohort, seed=3, days=6, trace=True)
    fast_results = fast.run()
    from journeylang.sim.engine import Simulation
    slow = Simulation(tables, cohort, 3, 6, trace=True)
    slow_results = slow.run()
    assert fast_results.paths["reference"] == 0
    compare(fast_results, slow_results, exact=True)
    assert _sends(fast) == _sends(slow)
    steps = {s["step"]: s for s in slow_results.steps}
    assert steps["tokyo"]["entered"] and steps["other"]["entered"]
    assert steps["moved"]["entered"] > 0 and slow_results.policies["cap_skips"] > 0
    assert slow_results.policies["quiet_deferrals"] > 0


ACTION_IDS = '''  stage s "S" {
    split { x 70% -> go
      y 30% -> done }
    go: send via sms template a
    wait for message_sent within 1h -> noted timeout -> done
    noted: set memo = event.action
    set n = event.action
    send via sms template b
    wait for replied within 1d -> won timeout -> done
    won: exit converted
    done: exit completed
  }'''
ACTION_IDS_HEADER = '''  entry on joined
  attribute last_action: number = 0
  attribute n: number = 0
  var n = 0
  exit on unsubscribed as opted_out
  on message_delivered { set customer.last_action = event.action }'''
ACTION_IDS_COHORT = """size: 50
arrival: 0
segments:
  - name: a
    consent: {sms: 1}
    behaviour:
      responses:
        - {event: replied, after: {template: b}, p: 1, delay: 2h}
"""


def test_action_ids_stored_where_nothing_reads_them_run_on_the_vector_path():
    """A delivery result's action id is the runtime's count of every customer's actions
    before it, so a journey whose conditions read it takes the reference path, every customer
    of it (numbered there as the reference engine numbers them); stored where nothing reads
    it (a profile attribute no journey reads, a variable, the run's context), it changes
    nothing counted, and the journey runs on the vectorised path."""
    tables = compile_text(journey(ACTION_IDS, header=ACTION_IDS_HEADER))
    cohort = parse_cohort(ACTION_IDS_COHORT)
    assert vector_support(tables, cohort) is None
    fast = simulate(tables, cohort, seed=5, days=5, engine="vector")
    slow = simulate(tables, cohort, seed=5, days=5, engine="reference")
    assert fast.paths == {"vector": 50, "reference": 0, "reasons": {}}
    compare(fast, slow, exact=True)
    assert 0 < slow.ended["treated:converted"] < 50
    read = ("won: exit converted", "won: branch { when customer.last_action > 60 -> big\n"
            "      else -> small }\n    big: exit converted\n    small: exit completed")
    for old, new in (read, ("noted: set memo", "noted: set customer.n"),
                     ("set n = event.action\n", "set n = event.action\n    branch { when n >= 30"
                      " -> later\n      else -> later }\n    later: wait 1m\n")):
        tables = compile_text(journey(ACTION_IDS.replace(*read).replace(old, new),
                                      header=ACTION_IDS_HEADER
                                      + "\n  goal big on replied where customer.n > 0"))
        assert "reads the action id" in vector_support(tables, cohort), new
    tables = compile_text(journey(ACTION_IDS.replace(*read), header=ACTION_IDS_HEADER))
    fast = simulate(tables, cohort, seed=5, days=5, engine="vector")
    slow = simulate(tables, cohort, seed=5, days=5, engine="reference")
    assert fast.paths["reference"] == 50
    compare(fast, slow, exact=True)
    ended = slow.ended
    assert ended["treated:converted"] and ended["treated:completed"]
