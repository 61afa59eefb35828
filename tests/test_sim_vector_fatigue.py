"""The fatigue factor of a message's responses, read from a table of the fatigue's powers,
is the power itself, value for value (the draws compare against it)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from journeylang.sim.vector.behaviour import _fatigue


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0),
       st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=200))
def test_fatigue_is_the_power(fatigue, received):
    received = np.array(received, dtype=np.int64)
    assert np.array_equal(_fatigue(fatigue, received), fatigue ** received)


def test_fatigue_table_grows_for_more_messages():
    small = _fatigue(0.93, np.array([0, 1, 2], dtype=np.int64))
    large = np.arange(5000, dtype=np.int64)
    assert np.array_equal(small, 0.93 ** np.arange(3))
    assert np.array_equal(_fatigue(0.93, large), 0.93 ** large)
