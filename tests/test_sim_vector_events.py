"""A block's events by the horizon and the customers each type reached, as the reference
engine counts them: the vectorised count checked against one event at a time."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from journeylang import api
from journeylang.sim import load_cohort
from journeylang.sim.vector import VectorSimulation, _events, seed_for
from journeylang.sim.vector.block import Block
from journeylang.sim.vector.plan import ARRIVAL, BASELINE, OPTOUT, RECEIPT, RESPONSE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _one_by_one(block, keep) -> tuple[Counter, Counter]:
    book, plan = block.book, block.plan
    events, customers = Counter(), {}
    for e in range(book.size):
        source = plan.sources[int(book.src[e])]
        row = int(book.row[e])
        if source.role not in (ARRIVAL, BASELINE, RESPONSE, OPTOUT, RECEIPT):
            continue
        if book.t[e] > block.spec.horizon or not keep[row]:
            continue
        name = plan.kinds.names[int(book.kind[e])]
        events[name] += 1
        customers.setdefault(name, set()).add(row)
    return events, Counter({name: len(rows) for name, rows in customers.items()})


@pytest.mark.parametrize("name", ["checkin_streak", "cart_recovery"])
def test_events_and_customers_reached_match_a_count_one_by_one(name):
    cohort = load_cohort(EXAMPLES / "cohorts" / f"{name}.cohort.yaml")
    cohort.size = 300
    sim = VectorSimulation(api.load_tables(EXAMPLES / f"{name}.journey"), cohort, 3, 20.0,
                           block=300)
    block = Block(sim.plan, sim.spec, 0, 300, seed_for(sim.seed, 0)).run()
    everyone = np.ones(block.n, dtype=bool)
    some = np.random.default_rng(1).random(block.n) < 0.6   # customers left out (escaped)
    for keep in (everyone, some):
        events, reached = _events(block, keep)
        assert (events, reached) == _one_by_one(block, keep)
    assert sum(_events(block, some)[0].values()) < sum(_events(block, everyone)[0].values())
