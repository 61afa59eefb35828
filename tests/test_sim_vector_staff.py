"""The staff settlement of the vectorised engine: a customer's handoffs to a role that settle one
by one are counted on arrays, and give what the settlement event by event gives."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang.sim.vector.staff import (FEW, Handoffs, _customer, _distinct_customers,
                                          _names, _slas, unkeyed)

HOUR = 3600.0
HORIZON = 30 * HOUR


@st.composite
def handoffs(draw):
    """Handoffs of a few customers to two roles, in hours that often overlap and often do not:
    made at ``at``, resolved by the staff at ``served`` (inf: never), with an SLA deadline
    (NaN: none), now and then met by a ladder's resolution (``closed``), and now and then of a
    correlated run (a key, and the hour its run ended, if it did)."""
    rows = draw(st.lists(st.tuples(
        st.integers(0, 3),                                    # customer
        st.sampled_from(["care", "expert"]),                  # role
        st.sampled_from(["j1", "j2"]),                        # journey
        st.integers(0, 28),                                   # made at (hours)
        st.one_of(st.none(), st.integers(0, 8)),              # served after (hours; none: never)
        st.one_of(st.none(), st.integers(0, 6)),              # SLA within (hours; none: no SLA)
        st.one_of(st.none(), st.integers(0, 8)),              # a ladder's resolution after
        st.integers(-1, 1),                                   # the run's key (-1: none)
        st.one_of(st.none(), st.integers(0, 10)),             # the run ended after (hours)
    ), min_size=1, max_size=24))
    at = np.array([r[3] * HOUR for r in rows])
    columns = dict(
        customer=np.array([r[0] for r in rows], dtype=float), at=at,
        seq=np.arange(len(rows), dtype=float), made=np.arange(len(rows), dtype=float) + 100,
        order=np.zeros(len(rows)), role=np.array([r[1] for r in rows], dtype=object),
        due=np.array([np.nan if r[5] is None else r[3] * HOUR + r[5] * HOUR for r in rows]),
        journey=np.array([r[2] for r in rows], dtype=object),
        run=np.arange(len(rows), dtype=float), step=np.zeros(len(rows)),
        key=np.array([r[7] for r in rows], dtype=np.int64),
        end_t=np.array([np.inf if r[8] is None else r[3] * HOUR + r[8] * HOUR for r in rows]),
        end_s=np.zeros(len(rows)))
    served = np.array([np.inf if r[4] is None else r[3] * HOUR + r[4] * HOUR for r in rows])
    closed = np.array([np.inf if r[6] is None else r[3] * HOUR + r[6] * HOUR + 1 for r in rows])
    return Handoffs(**columns), served, (closed, np.arange(len(rows), dtype=float) + 200)


def _one_by_one(handoffs: Handoffs, served, closed, undelivered: Counter) -> dict:
    """Every customer's handoffs to each role settled event by event."""
    found: dict = defaultdict(lambda: defaultdict(Counter))
    groups = defaultdict(list)
    for i, key in enumerate(zip(handoffs.customer.tolist(), handoffs.role.tolist())):
        groups[key].append(i)
    for mine in groups.values():
        _customer(handoffs, np.array(mine), handoffs.due, served, closed, HORIZON, found,
                  undelivered)
    return found


def _plain(found: dict) -> dict:
    return {j: {role: +counts for role, counts in roles.items()} for j, roles in found.items()}


@settings(max_examples=400, deadline=None)
@given(handoffs())
def test_handoffs_settled_on_arrays_agree_with_the_settlement_event_by_event(case):
    records, served, closed = case
    on_arrays, one_by_one = Counter(), Counter()
    assert _plain(_slas(records, served, closed, HORIZON, on_arrays)) == \
        _plain(_one_by_one(records, served, closed, one_by_one))
    assert +on_arrays == +one_by_one   # resolutions that met no SLA of their key


def test_handoffs_that_do_not_overlap_settle_one_by_one():
    """A customer's care handoffs, each resolved or breached before the next: the first met,
    the second breached (resolved after its deadline), the third still open at the horizon."""
    at = np.array([0.0, 5 * HOUR, 10 * HOUR])
    records = Handoffs(customer=np.zeros(3), at=at, seq=np.arange(3.0), made=np.arange(3.0) + 9,
                       order=np.zeros(3), role=np.array(["care"] * 3, dtype=object),
                       due=at + 2 * HOUR, journey=np.array(["j"] * 3, dtype=object),
                       run=np.arange(3.0), step=np.zeros(3), **unkeyed(3))
    served = np.array([HOUR, 8 * HOUR, np.inf])
    never = (np.full(3, np.inf), np.zeros(3))
    assert _plain(_slas(records, served, never, 11 * HOUR, Counter())) == \
        {"j": {"care": Counter(opened=3, met=1, breached=1)}}
    # the second's late resolution comes after the third is made: it meets the third's SLA
    served[1] = 10.5 * HOUR
    assert _plain(_slas(records, served, never, 11 * HOUR, Counter())) == \
        {"j": {"care": Counter(opened=3, met=2, breached=1)}}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2 * FEW), max_size=80))
def test_names_of_a_column_as_np_unique_gives_them(values):
    """Few names (found by comparison) or many (a lookup per row): np.unique's names and
    inverse, names sorted as strings."""
    column = np.array([f"role{v}" for v in values], dtype=object)
    names, codes = _names(column)
    expected, inverse = np.unique(column.astype(str), return_inverse=True)
    assert names == expected.tolist()
    assert codes.tolist() == inverse.reshape(-1).tolist()


@given(st.lists(st.integers(0, 500), max_size=60))
def test_distinct_customers_counted_as_np_unique_counts_them(values):
    for column in (np.array(values, dtype=np.int64), np.array(values, dtype=float)):
        assert _distinct_customers(column) == len(np.unique(column))
