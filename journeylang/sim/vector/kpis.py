"""Vectorised simulation: KPI observations, settled when a block has run.

An observation opens when a run first enters the KPI's stage or step; the KPI's event (with its
condition) at or before the window's end hits it, else it is missed when the window closes; a
window still open at the horizon is open (``hit_open`` when its event has come). The condition
reads only the event (``plan.py`` hands any other KPI to the reference engine), so each
observation is matched with the customer's events after the block has run.
"""
from __future__ import annotations

import numpy as np

from .columns import _true, evaluate
from .scope import Scope


FIGURES = ("hit", "hit_open", "missed")   # a status's code is its place here; -1: still open


class Statuses:
    """A journey's KPI observations' statuses at the horizon, a part of them at a time (the
    first events after them searched with ``Book.first_times``, made once per KPI)."""

    def __init__(self, block, journey):
        self.block, self.journey = block, journey
        self.first_times = {}   # KPI index -> ``Book.first_times`` of its type

    def __call__(self, rows, k, opened_t, opened_q, due) -> np.ndarray:
        """Per observation, the code of its status (``FIGURES``): ``hit``, ``hit_open``,
        ``missed``, or -1 (still open)."""
        block, journey = self.block, self.journey
        horizon = block.spec.horizon
        hit = np.zeros(len(rows), dtype=bool)   # whether its event came within its window
        for index, kpi in enumerate(journey.kpis):
            if len(journey.kpis) == 1:   # every observation is this KPI's: nothing to pick
                mine = slice(None)
            else:
                mine = np.flatnonzero(k == index)
                if not len(mine):
                    continue
            limit = np.minimum(due[mine], horizon)
            if kpi.tree is None:   # any event of the type: the first after the opening decides
                first_time = self.first_times.get(index)
                if first_time is None:
                    first_time = self.first_times[index] = block.book.first_times(kpi.kind)
                first = first_time(rows[mine], opened_t[mine], opened_q[mine])
                hit[mine] = (first <= limit) & (first < np.inf)
                continue
            query, ids = block.book.window(kpi.kind, rows[mine], opened_t[mine], opened_q[mine],
                                           limit, np.full(len(limit), np.inf))
            if len(ids):
                scope = Scope(block, rows[mine][query], None, None, ids, False, False)
                ok = _true(evaluate(kpi.tree, scope), len(ids))
                query, ids = query[ok], ids[ok]
            found = np.zeros(len(limit), dtype=bool)
            found[query] = True   # an event of the window met the condition
            hit[mine] = found
        open_ = due > horizon
        return np.where(hit, np.where(open_, FIGURES.index("hit_open"), FIGURES.index("hit")),
                        np.where(open_, -1, FIGURES.index("missed"))).astype(np.int64, copy=False)
