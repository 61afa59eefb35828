"""Vectorised simulation: the runs of a block's customers, one lane each.

A lane holds one run at a time: the customer it belongs to, its journey, where it is and what it
does (``phase``: free, executing steps, resting at a step, held out), its instant, its timer,
and what the run keeps (variables, milestones reached, KPIs opened, stages reached, its arms,
its context and current event, as references to events of the book, and what ``set`` wrote
into them). Lane ``j * n + c`` is customer ``c``'s lane in journey ``j``; a customer with
several runs of one journey at once (``reentry always``) gets more lanes, appended. ``order``
lists each customer's live lanes in the order their runs began (the order the runtime reacts to
an event in).
"""
from __future__ import annotations

import numpy as np

from .columns import repeated

FREE, EXEC, REST, HELD = 0, 1, 2, 3
# what a resting run waits for; a held-out run waits for its window to close
TIME, EVENT, QUIET, HOLDOUT = 1, 2, 3, 4
# the timer a lane has: a wait is over, a wait for events timed out, quiet hours are over, the
# holdout window is over
WAKE, TIMEOUT, QUIET_OVER, EXPIRY = 1, 2, 3, 4


class Lanes:
    FIELDS = {"c": np.int64, "j": np.int64, "phase": np.int64, "nxt": np.int64, "pos": np.int64,
              "why": np.int64, "resumed": bool, "hops": np.int64, "t": float, "s": float,
              "timer_t": float, "timer_q": float, "timer_kind": np.int64, "timer_maker": np.int64,
              "rest": np.int64,
              "entered": float, "run": np.int64, "ev": np.int64, "held": bool, "depth": np.int64}

    def __init__(self, plan, n: int):
        self.plan, self.n = plan, n
        size = n * len(plan.journeys)
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.zeros(size, dtype=dtype))
        self.c[:] = np.tile(np.arange(n), len(plan.journeys))
        self.j[:] = np.repeat(np.arange(len(plan.journeys)), n)
        self.timer_t[:] = np.inf
        self.pos[:] = -1
        self.ev[:] = -1
        self.size = size
        self.order = np.full((n, len(plan.journeys)), -1, dtype=np.int64)
        self.counts = np.zeros(n, dtype=np.int64)   # live lanes per customer
        self.tables: dict[tuple, np.ndarray] = {}   # per journey: variables, flags, arms
        self.contexts: dict[str, np.ndarray] = {}   # context key -> event id per lane
        for key in plan.reads["roots"]:
            self.contexts[key] = np.full(size, -1, dtype=np.int64)
        # what ``set event.x`` / ``set x`` (a context key) wrote, by lane: the run's own copy of
        # its event data; the context keys it changed and their values
        self.edited_event: dict[int, dict] = {}
        self.edited_context: dict[int, dict] = {}
        for journey in plan.journeys:
            j = journey.j
            for name, value in journey.variables.items():
                self.tables[("var", j, name)] = repeated(value, size)
            self.tables[("milestone", j)] = np.zeros((size, len(journey.milestones)), dtype=bool)
            self.tables[("kpi", j)] = np.zeros((size, len(journey.kpis)), dtype=bool)
            self.tables[("stage", j)] = np.zeros((size, len(journey.stages)), dtype=bool)
            self.tables[("arm", j)] = np.full((size, max(len(journey.splits), 1)), -1, dtype=np.int64)
        self.split_column = {(journey.j, s): k for journey in plan.journeys
                             for k, s in enumerate(sorted(journey.splits))}
        self.next_run = 1
        self._closing = np.zeros(0, dtype=bool)   # ``close``'s marks, cleared after each use

    # --- per-journey tables -------------------------------------------------------------------

    def var(self, j: int, name: str) -> np.ndarray:
        return self.tables[("var", j, name)]

    def set_var(self, j: int, name: str, lanes: np.ndarray, values) -> None:
        column = self.tables[("var", j, name)]
        if not isinstance(values, np.ndarray):
            values = repeated(values, len(lanes))
        if column.dtype != values.dtype:
            from .columns import as_objects
            column, values = as_objects(column).copy(), as_objects(values)
        column[lanes] = values
        self.tables[("var", j, name)] = column

    def flags(self, what: str, j: int) -> np.ndarray:
        return self.tables[(what, j)]

    def arms(self, j: int) -> np.ndarray:
        return self.tables[("arm", j)]

    def context(self, key: str) -> np.ndarray | None:
        return self.contexts.get(key)

    def forget_event(self, lanes: np.ndarray) -> None:
        """The runs of ``lanes`` take a new event: their copy of the old one is gone."""
        for lane in lanes.tolist() if self.edited_event else ():
            self.edited_event.pop(lane, None)

    def forget(self, lanes: np.ndarray, key: str | None = None) -> None:
        """What set wrote into the runs of ``lanes`` is gone: the value of context ``key`` (a
        new event has that key), or (None: a run begins) everything."""
        if not (self.edited_event or self.edited_context):
            return
        for lane in lanes.tolist():
            if key is None:
                self.edited_event.pop(lane, None)
                self.edited_context.pop(lane, None)
            elif lane in self.edited_context:
                self.edited_context[lane].pop(key, None)

    # --- lanes and runs -----------------------------------------------------------------------

    def grow(self, extra: int) -> None:
        """Room for ``extra`` more lanes."""
        size = self.size + extra
        for name in self.FIELDS:
            old = getattr(self, name)
            if len(old) < size:
                new = np.zeros(max(size, 2 * len(old)), dtype=old.dtype)
                new[:len(old)] = old
                if name == "timer_t":
                    new[len(old):] = np.inf
                if name in ("pos", "ev"):
                    new[len(old):] = -1
                setattr(self, name, new)
        capacity = len(self.c)
        for key, old in list(self.tables.items()):
            if len(old) < capacity:
                shape = (capacity,) + old.shape[1:]
                new = np.empty(shape, dtype=old.dtype)
                new[:len(old)] = old
                new[len(old):] = -1 if key[0] == "arm" else (False if old.dtype == bool else 0)
                if old.dtype == object or old.dtype.kind == "f":
                    new[len(old):] = None if old.dtype == object else np.nan
                self.tables[key] = new
        for key, old in list(self.contexts.items()):
            if len(old) < capacity:
                new = np.full(capacity, -1, dtype=np.int64)
                new[:len(old)] = old
                self.contexts[key] = new
        self.size = size

    def open(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Lanes for new runs of journey ``j`` for customers ``rows`` (one each): the
        customer's own lane when it is free, else a new one."""
        lanes = j * self.n + rows   # their own
        busy = self.phase[lanes] != FREE
        if busy.any():
            first = self.size
            self.grow(int(busy.sum()))
            extra = np.arange(first, first + int(busy.sum()))
            self.c[extra], self.j[extra] = rows[busy], j
            lanes[busy] = extra
        # in each customer's run order
        counts = self.counts[rows]
        need = int(counts.max()) + 1 if len(rows) else 0
        if need > self.order.shape[1]:
            grown = np.full((self.n, need), -1, dtype=np.int64)
            grown[:, :self.order.shape[1]] = self.order
            self.order = grown
        # (one flat index into the matrix's one view: a scatter by a pair of indexes is slower)
        self.order.reshape(-1)[rows * self.order.shape[1] + counts] = lanes
        self.counts[rows] = counts + 1
        self.run[lanes] = np.arange(self.next_run, self.next_run + len(lanes))
        self.next_run += len(lanes)
        return lanes

    def of(self, rows: np.ndarray, width: int | None = None) -> np.ndarray:
        """``order[rows]``: the customers' live lanes, gathered by column (a gather of rows of
        a narrow matrix is several times slower); ``width``: only the first columns. (The
        rows are gathered whole, then cut: ``np.take`` of a slice of columns would copy every
        customer's row first.)"""
        order = self.order
        if order.shape[1] == 1 or width == 1:
            return order[:, 0][rows][:, None]
        taken = np.take(order, rows, axis=0)
        return taken if width is None or width >= order.shape[1] else taken[:, :width]

    def close(self, lanes: np.ndarray, rows=None) -> None:
        """The runs of ``lanes`` (of customers ``rows``, when the caller has them) ended: their
        lanes are free, and leave their customer's order."""
        self.phase[lanes] = FREE
        self.timer_t[lanes] = np.inf
        rows = self.c[lanes] if rows is None else rows
        # their runs are in the first columns (beyond the most any of them has: none)
        counts = self.counts[rows] if self.order.shape[1] > 1 and len(rows) else None
        if counts is None or counts.max() <= 1:
            self._close_only(rows)
            return
        several = counts > 1
        if not several.all():
            self._close_only(rows[~several])
        self._close_packed(lanes, rows[several], int(counts.max()))

    def _close_only(self, rows: np.ndarray) -> None:
        """``close`` for customers whose only run is the one ending: none left."""
        self.order[:, 0][rows] = -1
        self.counts[rows] = 0

    def _close_packed(self, lanes: np.ndarray, rows: np.ndarray, width: int) -> None:
        """``close`` for customers with up to ``width`` runs: the kept lanes packed to the
        front in their order, a column at a time (a sort of each narrow row is tens of times
        slower)."""
        if len(self._closing) <= self.size:   # by lane; its last place (no lane: -1) stays clear
            self._closing = np.zeros(2 * self.size + 1, dtype=bool)
        closing = self._closing
        closing[lanes] = True
        matrix = self.of(rows, width)
        keep = (matrix >= 0) & ~closing[matrix]
        closing[lanes] = False
        packed = np.full(matrix.shape, -1, dtype=np.int64)
        flat = packed.reshape(-1)
        counts = np.zeros(len(rows), dtype=np.int64)
        starts = np.arange(len(rows)) * width
        for column in range(width):
            kept = keep[:, column]
            flat[(starts + counts)[kept]] = matrix[kept, column]
            counts += kept
        self.order[rows, :width] = packed
        self.counts[rows] = counts

    def reset(self, lanes: np.ndarray, j: int) -> None:
        """A run begins: its variables start as declared; nothing reached, opened or taken yet."""
        journey = self.plan.journeys[j]
        for name, value in journey.variables.items():
            self.set_var(j, name, lanes, value)
        for what, value in (("milestone", False), ("kpi", False), ("stage", False), ("arm", -1)):
            table = self.tables[(what, j)]
            for column in range(table.shape[1]):   # a column at a time: faster than rows
                table[:, column][lanes] = value
        for refs in self.contexts.values():
            refs[lanes] = -1
        self.forget(lanes)
        self.pos[lanes], self.hops[lanes], self.resumed[lanes] = -1, 0, False
        self.timer_t[lanes] = np.inf


__all__ = ["EVENT", "EXEC", "EXPIRY", "FREE", "HELD", "HOLDOUT", "Lanes", "QUIET", "QUIET_OVER",
           "REST", "TIME", "TIMEOUT", "WAKE"]
