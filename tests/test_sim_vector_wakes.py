"""Timers of waits until a time of day, joined by sets and branches over run variables, taken
in a row by the vectorised engine: the reference engine's figures to the customer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from journeylang import api
from journeylang.sim import load_cohort, parse_cohort, simulate
from journeylang.sim.vector import VectorSimulation, block as vector_block, wakes

from equivalence import compare
from runtime_kit import compile_text, journey

# a day: a reminder at noon without a drink since 08:00, a nudge after two dry days; four days
WATER = journey('''  stage s "S" {
    morning: wait until 08:00
    set drank = false
    set days = days + 1
    wait until 12:00
    branch { when drank == true -> evening
      else -> remind }
    remind: send via wecom template a
    evening: wait until 21:00
    branch { when drank == true -> wet
      else -> dry_day }
    wet: set dry = 0
    branch { when days >= 4 -> done
      else -> morning }
    dry_day: set dry = dry + 1
    branch { when dry >= 2 -> nag
      when days >= 4 -> done
      else -> morning }
    nag: send via wecom template b -> morning
    done: exit completed
  }''', header="""  entry on joined
  reentry after 1d
  var drank = true
  var days = 0
  var dry = 0
  exit on quit as churned
  on drank { set drank = true }
  policy { quiet 22:00-07:00 }""", ident="water")

COHORT = """size: 4
start: 2026-03-06T%s:00:00Z
arrival: 0
segments:
  - name: a
    timezone: %s
    behaviour:
      responses:
        - {event: drank, after: {event: joined}, p: 1, delay: %s}
        - {event: drank, after: {event: joined}, p: 1, delay: 23h}
        - {event: drank, after: {event: joined}, p: 1, delay: 27h}
        - {event: drank, after: {template: a}, p: 1, delay: 10h}
        - {event: joined, after: {template: b}, p: 1, delay: 1h}
        - {event: drank, after: {template: b}, p: 1, delay: 0h}
        - {event: quit, after: {template: b}, p: 1, delay: %s}
"""


@pytest.mark.parametrize("days", [5.5, 2.7])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("hour, first, quit", [("01", "3h", "12h"), ("12", "47h", "3d"),
                                               ("23", "30m", "1h")])
def test_timers_of_a_day_cycle_taken_in_a_row_agree_to_the_customer(days, zone, hour, first,
                                                                    quit, monkeypatch):
    """Days of a cycle of ``wait until``s decided in a row (sets and branches over run
    variables, drinks handled without an item of their own, some at the instant of a send,
    some during the wait), left for the reminder and the nudge and taken up again after
    them, stopped by an exit rule's event ahead and by the horizon, in three zones (one across
    a change of daylight saving time): the reference engine's figures to the customer,
    handled events included."""
    taken = []
    take = wakes.take

    def counting(block, lanes_):
        taken.append(len(lanes_))
        take(block, lanes_)
    monkeypatch.setattr(wakes, "take", counting)
    tables = compile_text(WATER)
    cohort = parse_cohort(COHORT % (hour, zone, first, quit))
    fast = simulate(tables, cohort, seed=3, days=days, engine="vector")
    slow = simulate(tables, cohort, seed=3, days=days, engine="reference")
    assert fast.paths["reference"] == 0, fast.paths
    assert sum(taken) > 0
    assert sum(slow.handled.values()) > 5, slow.handled
    compare(fast, slow, exact=True)
    assert fast.handled == slow.handled
    assert fast.ended == slow.ended and fast.conversion == slow.conversion
    assert [(s["step"], s["entered"], s["sent"], s["exits"]) for s in fast.steps] == \
        [(s["step"], s["entered"], s["sent"], s["exits"]) for s in slow.steps]


def _waits(tables, cohort):
    sim = VectorSimulation(tables, cohort, 0, 1.0)
    block = vector_block.Block(sim.plan, sim.spec, 0, 1, np.random.SeedSequence(0))
    journey = sim.plan.journeys[0]
    return None if block.wakes is None else \
        [journey.ids[s] for s in np.flatnonzero(block.wakes)]


def test_what_makes_a_day_cycle():
    """checkin_streak's three waits until a time make a cycle; a wait whose way on reads the
    profile, or a journey re-entered at any time, has none."""
    root = Path(__file__).resolve().parents[1]
    cohort = load_cohort(root / "examples" / "cohorts" / "checkin_streak.cohort.yaml")
    assert _waits(api.load_tables(root / "examples" / "checkin_streak.journey"), cohort) == \
        ["midnight", "days.4", "evening"]
    assert _waits(compile_text(WATER), cohort) == ["morning", "s.4", "evening"]
    profile = WATER.replace("when drank == true -> evening",
                            "when drank == true and customer.name != \"x\" -> evening")
    assert _waits(compile_text(profile), cohort) == ["morning", "evening"]
    assert _waits(compile_text(WATER.replace("reentry after 1d", "reentry always")), cohort) \
        is None
