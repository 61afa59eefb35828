"""Events a wait for events takes on a cycle back to itself (through branches left by their
``else`` edge), taken in a row by the vectorised engine: the reference engine's figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from journeylang import api
from journeylang.sim import load_cohort, parse_cohort, simulate
from journeylang.sim.vector import VectorSimulation, block as vector_block, loop

from equivalence import compare
from runtime_kit import compile_text, journey


def ladder(within: str) -> str:
    return journey(f'''  stage s "S" {{
    check: branch {{
      when customer.points >= 150 and customer.level < 3 -> l3
      when customer.points >= 30 and customer.level < 2 -> l2
      else -> gate
    }}
    gate: branch {{ when seen >= 6 -> many
      when order.total == 10 and seen >= 2 -> many
      when event.order.total == 99 -> many
      else -> idle }}
    l2: set customer.level = 2
    send via wecom template a -> idle
    l3: set customer.level = 3
    send via wecom template b
    emit reached_top
    exit completed
    many: tag "many"
    set seen = 0 -> idle
    idle: wait {within} {{
      on lesson -> check
      on post -> check
      on paid -> check
      on quiz -> quizzed
      {"timeout -> nudge" if within else ""}
    }}
    quizzed: wait 2h -> idle
    nudge: send via wecom template c -> idle
  }}''', header="""  entry on joined
  reentry never
  var seen = 0
  attribute points: number = 0
  attribute level: number = 1
  goal top on reached_top
  exit on left as churned
  on lesson { set customer.points = customer.points + 10
    set seen = seen + 1 }
  on post { set customer.points = customer.points + 5
    tag "poster" }
  on paid where order.total > 50 { set customer.points = customer.points + 20 }
  policy { quiet 22:00-08:00 }""", ident="ladder")


# a journey entered on posts: while a customer may enter it, posts are items of their own
POSTS = journey('''  stage s "S" {
    wait 1h
    exit completed
  }''', header="  entry on post\n  reentry never", ident="posts")

COHORT = """size: 4
start: 2026-03-02T%s:00:00Z
arrival: 0
segments:
  - name: a
    timezone: Asia/Shanghai
    behaviour:
      responses:
        - {event: lesson, after: {event: joined}, p: 1, delay: 1h}
        - {event: post, after: {event: joined}, p: 1, delay: 2h}
        - {event: post, after: {event: joined}, p: 1, delay: 2h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 150m}
        - {event: paid, after: {event: joined}, p: 1, delay: 3h, data: {order: {total: 99}}}
        - {event: paid, after: {event: joined}, p: 1, delay: 4h, data: {order: {total: 10}}}
        - {event: paid, after: {event: joined}, p: 1, delay: 250m}
        - {event: lesson, after: {event: joined}, p: 1, delay: 270m}
        - {event: quiz, after: {event: joined}, p: 1, delay: 5h}
        - {event: lesson, after: {event: quiz}, p: 1, delay: 1h}
        - {event: post, after: {event: joined}, p: 1, delay: 9h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 10h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 11h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 12h}
        - {event: post, after: {event: joined}, p: 1, delay: 36h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 61h}
        - {event: lesson, after: {event: joined}, p: 1, delay: 71h}
        - {event: post, after: {event: joined}, p: 1, delay: 73h}
        - {event: post, after: {template: a}, p: 1, delay: 10m}
        - {event: post, after: {template: a}, p: 1, delay: 20m}
        - {event: lesson, after: {template: c}, p: 1, delay: 2h}
        - {event: post, after: {template: c}, p: 1, delay: 3h}
        - {event: lesson, after: {template: c}, p: 1, delay: 26h}
        - {event: left, after: {template: c}, p: 1, delay: 28h}
"""


@pytest.mark.parametrize("together", [False, True])
@pytest.mark.parametrize("within", ["within 1d", ""])
@pytest.mark.parametrize("hour", ["01", "12"])
def test_events_round_a_cycle_of_a_wait_agree_to_the_customer(within, hour, together,
                                                               monkeypatch):
    """Lessons, posts and purchases (a handler's condition false for one; one without the
    data the others have, which leaves the run's context as it was) that a wait for events
    takes, each going through two branches back to it (on the
    profile, a run variable, the event's data and the context), several in a row: at one time
    (two posts), at the very end of the timeout, after it (the
    timeout first), between other events (a quiz leads elsewhere, a lesson comes during the
    wait after it), a level reached (a send, in quiet hours or not), a timeout and its nudge,
    an exit rule's event, the run's goal, events pending at the horizon, no timeout at all;
    alone and beside a journey entered on posts. The reference engine's figures to the
    customer, handled and ignored events included."""
    taken = []
    rounds = loop._round

    def counting(block, wait, chosen, *events):
        taken.append(len(chosen))
        return rounds(block, wait, chosen, *events)
    monkeypatch.setattr(loop, "_round", counting)
    begun = []
    begin = vector_block.Block._begin

    def beginning(self, rows, ids):
        begun.append(len(rows))
        begin(self, rows, ids)
    monkeypatch.setattr(vector_block.Block, "_begin", beginning)
    tables = compile_text(ladder(within))
    tables = [tables, compile_text(POSTS)] if together else tables
    cohort = parse_cohort(COHORT % hour)
    fast = simulate(tables, cohort, seed=2, days=3, engine="vector")
    slow = simulate(tables, cohort, seed=2, days=3, engine="reference")
    assert fast.paths["reference"] == 0, fast.paths
    # rounds (several in a row while the sends are not held for quiet hours), and items of
    # their own
    assert len(taken) > (3 if hour == "01" else 0) and sum(begun) > 0
    pairs = list(zip(*((r.journeys if together else [r]) for r in (fast, slow))))
    assert sum(pairs[0][1].handled.values()) > 10, pairs[0][1].handled
    for a, b in pairs:
        compare(a, b, exact=True)
        assert a.handled == b.handled
        assert a.ended == b.ended and a.conversion == b.conversion
        assert [(s["step"], s["entered"], s["ignored"]) for s in a.steps] == \
            [(s["step"], s["entered"], s["ignored"]) for s in b.steps]


def test_what_makes_a_cycle():
    """The points ladder's wait for lessons, posts and purchases has one cycle per type; a
    wait whose arm leads to another step, or whose type some other journey enters on, has
    none for that type."""
    root = Path(__file__).resolve().parents[1]
    cohort = load_cohort(root / "examples" / "cohorts" / "points_ladder.cohort.yaml")

    def cycles(tables):
        sim = VectorSimulation(tables, cohort, 0, 1.0)
        block = vector_block.Block(sim.plan, sim.spec, 0, 1, np.random.SeedSequence(0))
        kinds = sim.plan.kinds.names
        return {(j, sim.plan.journeys[j].ids[s]): sorted(kinds[k] for k in wait.cycles)
                for (j, s), wait in block.cycles.items()}
    assert cycles(api.load_tables(root / "examples" / "points_ladder.journey")) == {
        (0, "idle"): ["lesson_done", "order_paid", "posted"]}
    assert cycles(compile_text(ladder("within 1d"))) == {(0, "idle"): ["lesson", "paid", "post"]}
    assert cycles([compile_text(ladder("")), compile_text(POSTS)]) == {(0, "idle"): ["lesson", "paid"]}
