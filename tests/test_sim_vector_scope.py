"""The vectorised scope's run columns: each run's event, instant and entry, read when asked."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from journeylang.sim.vector.scope import RUN_ENTERED, RUN_SPLIT, RUN_TIME, Scope


def _block():
    lanes = SimpleNamespace(ev=np.array([10, 11, 12, 13]), t=np.array([1.0, 2.0, 3.0, 4.0]),
                            s=np.array([5.0, 6.0, 7.0, 8.0]),
                            entered=np.array([0.5, 1.5, 2.5, 3.5]))
    return SimpleNamespace(lanes=lanes)


def _scope(block, runs):
    return Scope(block, runs, None, runs, None, True, True, RUN_TIME, RUN_SPLIT, RUN_ENTERED)


def test_a_scope_reads_its_runs_columns():
    block, runs = _block(), np.array([3, 1, 2])
    scope = _scope(block, runs)
    assert scope.event.tolist() == [13, 11, 12]
    assert scope.now.tolist() == [4.0, 2.0, 3.0]
    assert scope.split.tolist() == [8.0, 6.0, 7.0]
    assert scope.since.tolist() == [3.5, 1.5, 2.5]
    assert scope.own   # the run's own event, which a set may change


def test_a_subset_reads_the_same_before_and_after_its_parent_read():
    block, runs = _block(), np.array([0, 2, 3])
    mask = np.array([True, False, True])
    early = _scope(block, runs).subset(mask)
    read = _scope(block, runs)
    assert read.now.tolist() == [1.0, 3.0, 4.0]
    late = read.subset(mask)
    for scope in (early, late):
        assert scope.event.tolist() == [10, 13]
        assert scope.now.tolist() == [1.0, 4.0]
        assert scope.split.tolist() == [5.0, 8.0]
        assert scope.since.tolist() == [0.5, 3.5]
        assert scope.own


def test_given_values_are_kept_and_a_scope_without_runs_has_no_event():
    block = _block()
    runs = np.array([1, 2])
    scope = Scope(block, runs, None, runs, np.array([7, 8]), True, True, np.array([9.0, 9.0]),
                  None, None)
    assert scope.event.tolist() == [7, 8] and scope.now.tolist() == [9.0, 9.0]
    assert scope.split is None and scope.since is None and not scope.own
    assert Scope(block, runs).event is None
