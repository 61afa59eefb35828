"""Vectorised simulation: what events did where a run was, counted when a block has run.

The runtime notes, for every event of a type the journey takes somewhere (a goal, exit rule,
milestone or wait arm) that reaches a live run, a milestone the first time one is reached in
the run, and, for an event some step waits for that nothing took, that it was ignored at the
run's step. A block keeps every such event (customer, time, sequence number, source), the
instants at which each run came to rest at a waiting step, the milestones emitted events
reached, and when each run stopped taking events; at the end, events are matched to where
their run was.

Instants are ordered as on the runtime's queue: by time, then by sequence number (see
``block.py``); a run at rest from instant ``r`` sees every event after ``r`` until it moves on.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np


def after(at, seq, now, split):
    """Whether events at ``(at, seq)`` come after the instants ``(now, split)``."""
    found = at > now
    same = at == now
    if same.any():   # rare: the sequence numbers decide
        found |= same & (seq > split)
    return found


class Notes:
    """The logs of one block (kept only for what the journey can note)."""

    def __init__(self, plan):
        self.plan = plan
        self.resting = bool(plan.awaited)  # an event can be ignored: where runs rest matters
        self.events: list[tuple] = []      # (rows, times, their sequence number, source)
        self.rests: list[tuple] = []       # (rows, step, times, sequence numbers)
        self.emitted: list[tuple] = []     # (milestone, rows, times, sequence numbers)

    def event(self, source: int, rows: np.ndarray, at: np.ndarray, seq) -> None:
        """Events of a source the journey takes somewhere, all with sequence number ``seq``."""
        if source in self.plan.watch and len(rows):
            self.events.append((rows, at, seq, source))

    def rest(self, step: int, rows: np.ndarray, now: np.ndarray, split: np.ndarray) -> None:
        """Runs ``rows`` come to rest at ``step`` from the instants ``(now, split)`` (arrays
        the caller no longer changes)."""
        if self.resting and len(rows):
            self.rests.append((rows, step, now, split))

    def emit(self, milestone: int, rows: np.ndarray, at: np.ndarray, seq: np.ndarray) -> None:
        if len(rows):
            self.emitted.append((milestone, rows, at.copy(), seq.copy()))

    # --- at the end -------------------------------------------------------------------------

    def count(self, block) -> tuple[Counter, dict, np.ndarray]:
        """Milestones reached (by group and name), their times from entry (treated runs), and
        events ignored per step."""
        plan = self.plan
        rows, at, seq, source = self._events(block)
        taken = np.zeros(len(rows), dtype=bool)
        reached, times = Counter(), defaultdict(list)
        for k, milestone in enumerate(plan.milestones):
            self._milestone(block, k, milestone, (rows, at, seq, source), taken, reached, times)
        ignored = np.zeros(len(plan.steps), dtype=np.int64)
        ending = (at == block.stop_at[rows]) & (seq == block.stop_seq[rows])  # it ended the run
        awaited = np.isin(source, list(plan.awaited))
        treated = awaited & ~block.held[rows] & ~taken & ~ending
        if treated.any() and self.rests:
            steps = self._where(rows[treated], at[treated], seq[treated], block.n)
            ignored += np.bincount(steps[steps >= 0], minlength=len(plan.steps))
        return reached, dict(times), ignored

    def _events(self, block):
        """The logged events of runs that entered, up to the horizon, before their run stopped."""
        if not self.events:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty, empty, empty.astype(np.int64)
        rows = np.concatenate([e[0] for e in self.events])
        at = np.concatenate([e[1] for e in self.events])
        sizes = [len(e[0]) for e in self.events]
        seq = np.repeat(np.array([e[2] for e in self.events], dtype=float), sizes)
        source = np.repeat([e[3] for e in self.events], sizes)
        live = block.joined[rows] & (at <= block.spec.horizon)
        live &= ~after(at, seq, block.stop_at[rows], block.stop_seq[rows])
        return rows[live], at[live], seq[live], source[live]

    def _milestone(self, block, k: int, milestone, events, taken, reached, times) -> None:
        """The first event of each run that reaches milestone ``k``."""
        rows, at, seq, source = events
        candidate = np.zeros(len(rows), dtype=bool)
        for s, found in enumerate(self.plan.sources):
            if found.event != milestone.event:
                continue
            mine = source == s
            if mine.any():
                test = block.test("milestone", k, milestone.tree, s)
                candidate[mine] = test[rows[mine]]
        if milestone.within is not None:
            candidate &= at - block.arrival[rows] <= milestone.within
        index = np.flatnonzero(candidate)
        emitted = [e for e in self.emitted if e[0] == k]
        who = np.concatenate([rows[index]] + [e[1] for e in emitted])
        if not len(who):
            return
        when = np.concatenate([at[index]] + [e[2] for e in emitted])
        order_of = np.concatenate([seq[index]] + [e[3] for e in emitted])
        origin = np.concatenate([index] + [np.full(len(e[1]), -1) for e in emitted])
        order = np.lexsort((order_of, when, who))
        first = order[np.unique(who[order], return_index=True)[1]]
        taken[origin[first][origin[first] >= 0]] = True
        customers = who[first]
        held = block.held[customers]
        name = milestone.name
        reached[("treated", name)] += int((~held).sum())
        reached[("holdout", name)] += int(held.sum())
        times[name] = (when[first][~held] - block.arrival[customers[~held]]).tolist()

    def _where(self, rows: np.ndarray, at: np.ndarray, seq: np.ndarray, n: int) -> np.ndarray:
        """The step each event found its run resting at (-1: the event was the one that moved
        the run on, taken by a wait)."""
        rest_rows = np.concatenate([r[0] for r in self.rests])
        # per run, in the order they rested (a block's rows fit 16 bits: a radix sort)
        order = np.argsort(rest_rows.astype(np.uint16) if n <= 1 << 16 else rest_rows, kind="stable")
        rest_step = np.repeat([r[1] for r in self.rests], [len(r[0]) for r in self.rests])[order]
        rest_at = np.concatenate([r[2] for r in self.rests])[order]
        rest_seq = np.concatenate([r[3] for r in self.rests])[order]
        starts = np.concatenate([[0], np.cumsum(np.bincount(rest_rows, minlength=n))])
        first, high = starts[rows], starts[rows + 1]
        low, pending = first.copy(), np.flatnonzero(first < high)
        while len(pending):  # binary search: the run's first rest after the event
            middle = (low[pending] + high[pending]) // 2
            later = after(rest_at[middle], rest_seq[middle], at[pending], seq[pending])
            high[pending[later]] = middle[later]
            low[pending[~later]] = middle[~later] + 1
            pending = pending[low[pending] < high[pending]]
        last = low - 1
        found = np.full(len(rows), -1)
        rested = np.flatnonzero(last >= first)
        at_rest = last[rested]
        moved = (rest_at[at_rest] == at[rested]) & (rest_seq[at_rest] == seq[rested])
        found[rested[~moved]] = rest_step[at_rest[~moved]]
        return found
