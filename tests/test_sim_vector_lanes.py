"""The vectorised engine's runs per customer: ``Lanes.order`` keeps each customer's live runs
first, in the order they began, as runs open and end (``reentry always``: several at once);
the narrow matrices of runs are reduced a column at a time as numpy reduces them by row."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang import api
from journeylang.sim import load_cohort
from journeylang.sim.vector.columns import among_codes, any_column
from journeylang.sim.vector.lanes import Lanes
from journeylang.sim.vector.plan import Plan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CUSTOMERS = 6
PLAN = Plan(api.load_tables(EXAMPLES / "live_stream_reminders.journey"),
            load_cohort(EXAMPLES / "cohorts" / "live_stream_reminders.cohort.yaml"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.integers(0, 4 * CUSTOMERS), max_size=8)),
                max_size=12))
def test_runs_stay_in_the_order_they_began_as_others_end(steps):
    """Each step opens a run for some customers (one each) or ends some of the live runs
    (picked by index among them, a customer's several at once among them)."""
    lanes = Lanes(PLAN, CUSTOMERS)
    runs: list[list[int]] = [[] for _ in range(CUSTOMERS)]   # the model: lanes in order
    for opening, picks in steps:
        if opening:
            rows = np.array(sorted({p % CUSTOMERS for p in picks}), dtype=np.int64)
            if not len(rows):
                continue
            opened = lanes.open(0, rows)
            lanes.phase[opened] = 2   # resting: a live run's lane is not free
            for row, lane in zip(rows.tolist(), opened.tolist()):
                runs[row].append(lane)
        else:
            live = [lane for mine in runs for lane in mine]
            if not live:
                continue
            ending = sorted({live[p % len(live)] for p in picks})
            lanes.close(np.array(ending, dtype=np.int64))
            runs = [[lane for lane in mine if lane not in ending] for mine in runs]
        assert lanes.counts.tolist() == [len(mine) for mine in runs]
        for row, mine in enumerate(runs):
            width = lanes.order.shape[1]
            assert lanes.order[row].tolist() == mine + [-1] * (width - len(mine))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(0, 9), st.integers(0, 2 ** 32 - 1))
def test_any_column_is_numpys_any_by_row(n, width, seed):
    matrix = np.random.default_rng(seed).random((n, width)) < 0.2
    found = any_column(matrix)
    assert found.dtype == bool
    assert found.tolist() == matrix.any(axis=1).tolist()
    assert not np.shares_memory(found, matrix)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 12), max_size=40), st.lists(st.integers(-3, 12), max_size=4))
def test_among_codes_is_numpys_isin(values, codes):
    values, codes = np.array(values, dtype=np.int64), np.array(codes, dtype=np.int64)
    found = among_codes(values, codes)
    assert found.dtype == bool
    assert found.tolist() == np.isin(values, codes).tolist()
