"""Results in memory that does not grow with the customers: messages per customer as a table
of counts, staff queue figures on arrays."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang.sim.report import messages_per_customer
from journeylang.sim.staff import StaffQueue
from journeylang.sim.vector.tally import Log, Messages


@st.composite
def cohorts(draw):
    """Messages per customer and journey (journeys x customers), the customers cut into
    consecutive parts (blocks), and which of the parts the reference engine counted."""
    journeys = draw(st.integers(1, 3))
    customers = draw(st.integers(1, 40))
    counts = np.array(draw(st.lists(st.lists(st.integers(0, 4), min_size=customers,
                                             max_size=customers),
                                    min_size=journeys, max_size=journeys)), dtype=np.int64)
    cuts = sorted(draw(st.sets(st.integers(1, customers), max_size=4)) | {customers})
    reference = draw(st.lists(st.booleans(), min_size=len(cuts), max_size=len(cuts)))
    return counts, cuts, reference


def _parts(counts, cuts, reference) -> list[Messages]:
    """Each journey's ``Messages`` of the whole cohort, added up part by part."""
    total, start = None, 0
    for end, by_reference in zip(cuts, reference):
        block = counts[:, start:end]
        if by_reference:   # the reference engine's Counters by customer id
            part = Messages.of_counters([Counter({f"c{start + i + 1}": int(n)
                                                  for i, n in enumerate(row) if n})
                                         for row in block])
        else:
            part = Messages.of_matrix(block)
        total = part if total is None else [a + b for a, b in zip(total, part)]
        start = end
    return total


@settings(max_examples=200, deadline=None)
@given(cohorts())
def test_messages_per_customer_from_a_table_are_the_per_customer_counts(case):
    counts, cuts, reference = case
    customers = [f"c{i + 1}" for i in range(counts.shape[1])]
    sent_to = _parts(counts, cuts, reference)
    for j in range(len(counts)):   # one journey's results
        assert messages_per_customer([sent_to[j]], customers) == Counter(counts[j].tolist())
    together = messages_per_customer(sent_to, customers)   # several journeys' combined results
    assert together == Counter(counts.sum(axis=0).tolist())
    assert sum(together.values()) == len(customers)


def test_the_table_does_not_grow_with_the_customers():
    """A million customers with at most 5 messages each from two journeys: one row per
    combination of counts, not per customer."""
    gen = np.random.default_rng(1)
    counts = gen.integers(0, 6, size=(2, 1_000_000))
    first, second = Messages.of_matrix(counts)
    assert len(first.table) == 36 - 1   # every pair of counts but (0, 0)
    ids = range(counts.shape[1])
    assert first.distribution([0, 1], len(ids)) == Counter(counts.sum(axis=0).tolist())
    assert second.distribution([1], len(ids)) == Counter(counts[1].tolist())


@st.composite
def queues(draw):
    """A role's queue as the engines fill it: arrivals in order, each served at the later of
    its arrival and the previous slot plus the interval (capacity 0: never)."""
    interval = draw(st.sampled_from([0.0, 30.0, 600.0, math.inf]))
    gaps = draw(st.lists(st.sampled_from([0.0, 1.0, 45.0, 900.0, 0.1]), max_size=60))
    queue = StaffQueue(interval)
    at = 1_000.0
    for gap in gaps:
        at += gap
        queue.serve(at)
    return queue


@settings(max_examples=200, deadline=None)
@given(queues())
def test_a_queues_figures_on_arrays_are_those_of_each_handoff(queue):
    """Waits, their mean and 90th percentile (nearest rank) and the longest queue, as counted
    handoff by handoff; the same from the settled arrays the vectorised engine hands over."""
    waits = [s - a for a, s in zip(queue.arrivals, queue.served) if s != math.inf]
    longest = max((k + 1 - sum(1 for s in queue.served if s <= at)
                   for k, at in enumerate(queue.arrivals)), default=0)
    expected = {"handoffs": len(queue.arrivals),
                "mean_wait_hours": round(sum(waits) / len(waits) / 3600, 3) if waits else None,
                "p90_wait_hours": round(sorted(waits)[min(len(waits) - 1, int(0.9 * len(waits)))]
                                        / 3600, 3) if waits else None,
                "max_queue": longest}
    assert queue.summary() == expected
    settled = StaffQueue(queue.interval, np.array(queue.arrivals), np.array(queue.served))
    assert settled.summary() == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=12), st.integers(1, 20), st.integers(0, 2 ** 16 - 1))
def test_a_logs_stretches_hold_its_records_in_order_in_the_fewest_whole_parts(sizes, size, kept):
    """Parts of arrays or of a value each; customers kept by a mask."""
    log, start = Log(), 0
    for n in sizes:   # (an empty part is not logged)
        rows = np.arange(start, start + n) % 16
        log.add("kpi", rows, n, rows * 10.0)   # a column of one value per part
        start += n
    keep = np.array([bool(kept >> i & 1) for i in range(16)])
    stretches = list(log.stretches("kpi", keep, size))
    whole = log.take("kpi", keep)
    if whole is None:
        assert stretches == []
        return
    assert [np.concatenate(c).tolist() for c in zip(*stretches)] == [c.tolist() for c in whole]
    # a stretch ends where its parts first hold ``size`` records, or at the last part
    ends, count = 0, 0
    for n in filter(None, sizes):
        count += n
        ends += count >= size
        count = 0 if count >= size else count
    assert len(stretches) == ends + (count > 0)
