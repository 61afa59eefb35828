"""The vectorised engine's searches that skip work give what the plain ones give: the first
event after an instant (bisection) against the listing of every event in a window."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang import api
from journeylang.sim.cohort import load_cohort
from journeylang.sim.vector import VectorSimulation, seed_for
from journeylang.sim.vector.block import Block
from journeylang.sim.vector.book import Book

from conftest import EXAMPLES


@pytest.mark.parametrize("example", ["weekly_community_activity.journey", "birthday_member_day.yaml"])
def test_the_first_event_after_an_instant_is_the_first_of_the_window_from_it(example):
    """After a block of an example has run (responses, occurrences, and for the birthday
    example baseline streams in its book), for every event type and many customers and
    instants (some at an event's own time, before or after its sequence number)."""
    cohort = load_cohort(EXAMPLES / "cohorts" / f"{example.split('.')[0]}.cohort.yaml")
    cohort.size = 400
    simulation = VectorSimulation(api.load_tables(EXAMPLES / example), cohort, seed=2, days=30)
    block = Block(simulation.plan, simulation.spec, 0, cohort.size, seed_for(2, 0)).run()
    book, gen = block.book, np.random.default_rng(5)
    checked = 0
    for k in range(len(simulation.plan.kinds)):
        if not book.holds(k):
            continue
        rows = gen.integers(0, cohort.size, 3000)
        at = gen.uniform(cohort.start - 86400, simulation.spec.horizon, len(rows))
        seq = np.full(len(rows), -np.inf)
        events = np.flatnonzero(book.kind[:book.size] == k)
        if len(events):   # some instants exactly at an event of the customer, either side of it
            picked = gen.choice(events, len(rows) // 3)
            rows[:len(picked)] = book.row[picked]
            at[:len(picked)] = book.t[picked]
            seq[:len(picked)] = book.q[picked] + gen.choice([-0.5, 0.0, 0.5], len(picked))
        query, ids = book.window(k, rows, at, seq, np.full(len(rows), np.inf),
                                 np.full(len(rows), np.inf))
        listed = np.full(len(rows), np.inf)
        np.minimum.at(listed, query, book.t[ids])
        assert np.array_equal(book.first_times(k)(rows, at, seq), listed)
        first_time, half = book.first_times(k), len(rows) // 2   # one for several sets of queries
        for part in (slice(None, half), slice(half, None)):
            assert np.array_equal(first_time(rows[part], at[part], seq[part]), listed[part])
        checked += np.isfinite(listed).sum()
    assert checked > 1000
    assert bool(book.static) == example.startswith("birthday")   # baseline streams searched too


def test_searching_again_from_each_answer_visits_every_event_in_order():
    """``Book.search_again`` from the instant of each answer it gave (the event just taken,
    where its stream's pointer stands) visits a customer's events of a type one by one, the
    baseline stream's and the added ones merged by instant (an event at the instant taken is
    not after it); also when events added meanwhile come before the kept answer, which is
    then no longer the one its pointer steps past."""
    cohort = load_cohort(EXAMPLES / "cohorts" / "weekly_community_activity.cohort.yaml")
    plan = VectorSimulation(api.load_tables(EXAMPLES / "weekly_community_activity.journey"),
                            cohort, seed=2, days=30).plan
    src = 0
    k = plan.sources[src].kind
    book = Book(plan, 2)
    counts = np.array([4, 3])
    book.add_stream(src, k, counts, np.repeat([0, 1], counts),
                    np.array([10.0, 20.0, 20.0, 30.0, 5.0, 15.0, 25.0]), 1.0, None, None)

    def walk(row, now, split):
        seen = []
        while True:
            t, q, ident = book.search_again(k, np.array([row]), np.array([now]),
                                            np.array([split]))
            if ident[0] < 0:
                return seen
            seen.append(float(t[0]))
            now, split = t[0], q[0]
            if row == 1 and now == 15.0 and len(seen) == 2:   # answered, not taken
                # the first added takes the id next to the stream's last: customer 1's end
                book.add(np.array([1, 1]), np.array([27.0, 12.0]), np.array([3.0, 3.0]), k, src)
                now, split = 5.0, 1.0   # still at the event taken before

    assert walk(0, -np.inf, -np.inf) == [10.0, 20.0, 30.0]
    assert walk(1, -np.inf, -np.inf) == [5.0, 15.0, 12.0, 15.0, 25.0, 27.0]
    (begins, ends, pointers), = book.static[k]
    assert pointers.tolist() == ends.tolist() == [4, 7]


@st.composite
def added_events(draw):
    """Events of a draw for a few customers: times from a small set (so that some customers
    have several at one time), sequence numbers all different, ids in any order."""
    customers = draw(st.integers(1, 12))
    count = draw(st.integers(1, 60))
    rows = draw(st.lists(st.integers(0, customers - 1), min_size=count, max_size=count))
    times = draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 3.0, 7.0]), min_size=count,
                          max_size=count))
    seqs = draw(st.permutations(range(count)))
    ids = draw(st.permutations(range(count)))
    return customers, np.array(rows), np.array(times), np.array(seqs, dtype=float), np.array(ids)


@settings(max_examples=300, deadline=None)
@given(added_events())
def test_events_ordered_by_customer_are_in_lexsorts_order(case):
    """The order a type's matrix takes new events in: by customer, time and number, as
    ``np.lexsort`` gives it, whether a customer's events come in order of time or not."""
    customers, rows, times, seqs, ids = case
    book = Book.__new__(Book)
    book.n, book.t, book.q = customers, np.empty(len(ids)), np.empty(len(ids))
    book.t[ids], book.q[ids] = times, seqs
    expected = np.lexsort((seqs, times, rows))
    assert np.array_equal(book._by_customer(ids, rows), expected)


@settings(max_examples=100, deadline=None)
@given(added_events(), st.integers(1, 4))
def test_events_searched_together_or_part_by_part_are_ordered_alike(case, parts):
    """``Book.search`` of a draw's events at once leaves each customer's events of a type
    in the order adding them part by part does: by instant."""
    customers, rows, times, seqs, _ = case
    plan = VectorSimulation(api.load_tables(EXAMPLES / "weekly_community_activity.journey"),
                            load_cohort(EXAMPLES / "cohorts" / "weekly_community_activity.cohort.yaml"),
                            seed=2, days=30).plan
    src = 0
    k = plan.sources[src].kind
    cuts = np.array_split(np.arange(len(rows)), parts)
    one_by_one, together = Book(plan, customers), Book(plan, customers)
    added = []
    for cut in cuts:
        one_by_one.add(rows[cut], times[cut], seqs[cut], k, src)
        added.append(together.add(rows[cut], times[cut], seqs[cut], k, src, searched=False))
    together.search(np.concatenate(added))
    assert np.array_equal(together.dyn_n[k], one_by_one.dyn_n[k])
    for row in range(customers):
        mine = together.dyn[k][row, :together.dyn_n[k][row]]
        assert np.array_equal(mine, one_by_one.dyn[k][row, :one_by_one.dyn_n[k][row]])
        order = np.lexsort((together.q[mine], together.t[mine]))
        assert np.array_equal(order, np.arange(len(mine)))
