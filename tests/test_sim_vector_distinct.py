"""The vectorised engine's distinct values without a sort (customer rows by marking them,
event types, sources and steps by counting them) are numpy's ``np.unique``, in its order."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylang.sim.vector.columns import distinct_codes, distinct_rows


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=80))))
def test_distinct_rows_are_numpys_unique(case):
    n, rows = case
    rows = np.array(rows, dtype=np.int64)
    found = distinct_rows(rows, n)
    assert found.tolist() == np.unique(rows).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=80))
def test_distinct_codes_are_numpys_unique(codes):
    codes = np.array(codes, dtype=np.int64)
    assert distinct_codes(codes) == np.unique(codes).tolist()
