"""The lineage of items: chains that order different customers' items as the runtime's queue
takes them, and the staff settlement that orders handoffs by them."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylang.runtime.engine import Engine
from journeylang.sim import SimulationError, parse_cohort
from journeylang.sim.engine import Simulation, customer_index
from journeylang.sim.lineage import EVENT, LOAD, TIMER, Nodes
from journeylang.sim.vector.staff import Handoffs, fifo

from runtime_kit import compile_text
from sim_scenarios import deterministic_scenarios


def test_an_event_made_at_a_timers_instant_takes_the_timers_place():
    nodes = Nodes()
    first, second = nodes.bottom(0), nodes.bottom(1)
    arrival = nodes.made(0.0, EVENT, first)
    timer = nodes.made(60.0, TIMER, arrival)
    assert nodes.made(60.0, EVENT, timer) == timer      # taken at once, after the timer
    assert nodes.made(60.0, TIMER, timer) != timer      # a timer waits its turn
    later = nodes.made(90.0, EVENT, timer)
    assert later != timer
    other = nodes.made(60.0, TIMER, nodes.made(0.0, EVENT, second))
    load = nodes.bottom(LOAD)
    lineage = nodes.lineage()
    chains = [lineage.chain(node) for node in (arrival, timer, other, later)]
    assert chains == sorted(chains)                     # customer 0's timer first
    assert chains[1] == ((60.0, TIMER), (0.0, EVENT), (-math.inf, 0))
    assert lineage.chain(load) < lineage.chain(first)
    # the columns' rule is the one at a time's
    made = lineage.made(np.array([60.0, 60.0, 90.0, 0.0]), EVENT,
                        np.array([timer, other, timer, first]))
    assert made[:2].tolist() == [timer, other] and made[2] not in (timer, later)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_chains_order_different_customers_items_as_the_engine_takes_them(data):
    """Customers' own events queued before the run, then items each item handled makes (at
    its instant or later, events and timers, an event at a timer's instant included): the
    runtime's engine takes any two items of different customers in the order of their
    chains."""
    engine, nodes = Engine(None), Nodes()
    customers = data.draw(st.integers(2, 4))
    bottoms = [nodes.bottom(customer) for customer in range(customers)]
    makers, priorities, taken = {}, {}, []
    handling = [None]
    budget = [data.draw(st.integers(5, 40))]

    def queue(at: float, priority: int, customer: int) -> None:
        number = engine.schedule(at, priority, customer)
        makers[number] = bottoms[customer] if handling[0] is None else handling[0]
        priorities[number] = priority

    def handle(customer: int, number: int) -> None:
        handling[0] = nodes.made(engine.now, priorities[number], makers.pop(number))
        taken.append((customer, handling[0]))
        for _ in range(data.draw(st.integers(0, 3))):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            queue(engine.now + data.draw(st.sampled_from((0, 0, 1, 2))),
                  data.draw(st.sampled_from((EVENT, TIMER))), customer)
    engine.handler = handle
    for customer in range(customers):
        for _ in range(data.draw(st.integers(1, 3))):
            queue(float(data.draw(st.integers(0, 2))), EVENT, customer)
    engine.run()
    lineage = nodes.lineage()
    chains = [lineage.chain(node) for _, node in taken]
    for i in range(len(taken)):
        for j in range(i + 1, len(taken)):
            if taken[i][0] != taken[j][0]:
                assert chains[i] < chains[j], (i, j)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deterministic_scenarios())
def test_the_settlement_orders_the_reference_engines_handoffs_as_it_made_them(scenario):
    """Generated journeys and cohorts (everyone arriving at once, or entering at one
    occurrence of a schedule: many handoffs at one instant): the order ``fifo`` gives the
    reference engine's handoffs from what it recorded is the order it made them in."""
    texts, cohort_text, seed, days = scenario
    tables = [compile_text(text) for text in texts]
    sim = Simulation(tables if len(tables) > 1 else tables[0], parse_cohort(cohort_text), seed,
                     days)
    try:
        sim.run()
    except SimulationError:   # a journey caught in a loop at one instant: nothing to order
        return
    records = sim.handoffs
    if not sim.nodes.t:   # no role with a capacity: the order of ties changes nothing
        return
    handoffs = Handoffs(
        sim.nodes.lineage(),
        customer=np.array([customer_index(h[0]) for h in records], dtype=float),
        at=np.array([h[1] for h in records], dtype=float),
        seq=np.array([h[7] for h in records], dtype=float),
        order=np.array([h[9] for h in records], dtype=float),
        node=np.array([h[10] for h in records], dtype=np.int64))
    assert fifo(handoffs).tolist() == list(range(len(records)))
