"""Vectorised simulation: correlation keys (``correlate by ticket``), as the runtime uses them.

A key is a code per distinct value (``runtime.correlation.same_key``: 42 and 42.0 one key, 42
and "42" or true and 1 two; -1: no usable key). An event's key is the one its data carries, else
the one it inherits, as the reference engine keys what it makes (``sim.engine._keyed``): a
response to a message the key of the run that sent it, a response to an event that event's
key, an emitted event its run's; a condition reads an inherited key in the event's data
(``Book.data`` sets it there as ``runtime.correlation.with_key`` does). A run's key is its
entry event's: a run starts only when the entry event has a usable key no live run of the
journey has (``Executor._entry_key``), an event reaches only the runs of its key (opt-outs
reach every run: ``Executor._for_run``), and an event some run of a journey would take but none
of its key does is counted undelivered. When a run ends is kept, so the staff settlement meets
a resolution's SLA as ``Executor._resolve_sla`` does: the oldest open SLA of its role whose run
has its key or has ended.

Journeys may correlate by different keys (``correlate by ticket`` beside ``correlate by
order``): an event then has a key at each path, as the reference engine's event data does (a
response to an event inherits every key of that event, a response to a message and an emitted
event only the key of their run, at its journey's path). Keys one inside the other (``order``
and ``order.id``) are the exception: the runtime sets them in no set order, so such journeys
take the reference path (``reason``).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ...runtime.correlation import with_key
from ...runtime.scope import copy_json
from ..cohort import Record
from .columns import as_objects, dig, typed

NONE = -1      # no usable key
UNKNOWN = -2   # an event's own key not yet read from its data


def _identity(value):
    """What a usable key compares by (``same_key``), or None (missing, not a single value)."""
    if isinstance(value, np.generic):
        value = value.item()   # a numpy scalar of a column
    kind = type(value)
    if kind is bool:
        return ("bool", value)
    if isinstance(value, str):
        return ("text", str(value))
    if kind in (int, float):
        return None if math.isnan(value) else ("number", value)   # NaN: a null of a column
    return None


class KeyCodes:
    """A code per distinct key, as ``same_key`` tells keys apart."""

    def __init__(self):
        self.codes: dict[tuple, int] = {}     # a text, a truth value or an int beyond floats
        self.numbers = np.zeros(0)                          # every number met, sorted
        self.number_codes = np.zeros(0, dtype=np.int64)     # and its code
        self.values: dict[int, object] = {}                 # code -> a value with it
        self._next = 0

    def code(self, values, n: int) -> np.ndarray:
        """The key code of each of ``n`` values (a column, or one value for all)."""
        if not isinstance(values, np.ndarray):
            return np.full(n, self._code(values), dtype=np.int64)
        if values.dtype.kind == "f":
            return self._numbers(values)
        if values.dtype.kind in "iub":
            distinct, which = np.unique(values, return_inverse=True)
            found = np.array([self._code(v) for v in distinct.tolist()], dtype=np.int64)
            return found[which.reshape(-1)] if n else np.zeros(0, dtype=np.int64)
        return np.array([self._code(v) for v in values.tolist()], dtype=np.int64)

    def _code(self, value) -> int:
        identity = _identity(value)
        if identity is None:
            return NONE
        if identity[0] == "number" and float(identity[1]) == identity[1]:
            return int(self._numbers(np.array([float(identity[1])]))[0])
        code = self.codes.get(identity)
        if code is None:
            code = self.codes[identity] = self._next
            self.values[code] = identity[1]
            self._next += 1
        return code

    def _numbers(self, values: np.ndarray) -> np.ndarray:
        """The codes of a column of numbers (NaN: null, no key), without a Python loop: known
        numbers are kept sorted beside their codes."""
        known, codes = self.numbers, self.number_codes
        usable = ~np.isnan(values)
        distinct = np.unique(values[usable])
        at = np.searchsorted(known, distinct)
        seen = at < len(known)
        seen[seen] = known[at[seen]] == distinct[seen]
        new = distinct[~seen]
        if len(new):
            self.values.update(zip(range(self._next, self._next + len(new)), new.tolist()))
            known = np.concatenate([known, new])
            codes = np.concatenate([codes, np.arange(self._next, self._next + len(new))])
            self._next += len(new)
            order = np.argsort(known, kind="stable")
            self.numbers, self.number_codes = known, codes = known[order], codes[order]
        found = np.full(len(values), NONE, dtype=np.int64)
        found[usable] = codes[np.searchsorted(known, values[usable])]
        return found


class Keys:
    """One block's keys: of events (by id, at each path some journey correlates its runs by)
    and of runs (by run number), when runs ended, and the events that reached no run of a
    journey that correlates its runs.

    Journeys may correlate by different paths (``correlate by ticket`` and ``correlate by
    order``): an event has a key at each (its data's, else the one it inherits there), a run
    the key at its journey's path. Codes are distinct across paths (a code's path is
    ``code % len(paths)``), so two runs' keys are equal only at one path, as the staff
    settlement compares them."""

    def __init__(self, block):
        self.block = block
        plan = block.plan
        self.paths = plan.correlates
        self.width = len(self.paths)
        self.path_of = np.array([-1 if j.program.correlate is None
                                 else self.paths.index(j.program.correlate)
                                 for j in plan.journeys], dtype=np.int64)   # per journey
        self.correlated = self.path_of >= 0
        self.codes = [KeyCodes() for _ in self.paths]
        width = (1024, self.width)
        self.own = np.full(width, UNKNOWN, dtype=np.int64)       # per event and path: its data's
        self.inherited = np.full(width, NONE, dtype=np.int64)    # ... the key it carries
        self.run_key = np.full(1024, NONE, dtype=np.int64)      # per run number
        self.end_t = np.full(1024, np.inf)                      # per run number: when it ended
        self.end_s = np.zeros(1024)
        self.undelivered: Counter = Counter()                   # (journey, event type) -> events

    @staticmethod
    def _grown(array: np.ndarray, size: int, fill) -> np.ndarray:
        if size <= len(array):
            return array
        grown = np.full((max(size, 2 * len(array)), *array.shape[1:]), fill, dtype=array.dtype)
        grown[:len(array)] = array
        return grown

    def _code(self, p: int, values, n: int) -> np.ndarray:
        """The codes of ``n`` keys at path ``p`` (``KeyCodes.code``), distinct across paths."""
        raw = self.codes[p].code(values, n)
        return np.where(raw >= 0, raw * self.width + p, raw) if self.width > 1 else raw

    def _value(self, code: int):
        """A value with key ``code``."""
        return self.codes[code % self.width].values[code // self.width]

    # --- events -------------------------------------------------------------------------------

    def _fit_events(self) -> None:
        size = self.block.book.size
        self.own = self._grown(self.own, size, UNKNOWN)
        self.inherited = self._grown(self.inherited, size, NONE)

    def of_events(self, ids: np.ndarray) -> np.ndarray:
        """Each event's key at each path (a row per event): its data's, else the one it
        inherited."""
        self._fit_events()
        own = self.own[ids]
        unread = own[:, 0] == UNKNOWN
        if unread.any():
            fresh, book = ids[unread], self.block.book
            found = np.empty((len(fresh), self.width), dtype=np.int64)
            sources = book.src[fresh]
            for s in np.unique(sources).tolist():   # one source's data at a time: no objects
                mine = sources == s
                for p, path in enumerate(self.paths):
                    found[mine, p] = self._code(p, book.stored(fresh[mine], path), int(mine.sum()))
            own[unread] = found
            self.own[fresh] = found
        return np.where(own >= 0, own, self.inherited[ids])

    def inheriting(self, ids: np.ndarray, p: int) -> np.ndarray:
        """Whether each event's data has no usable key at path ``p`` but the event inherits one."""
        self.of_events(ids)
        return (self.own[ids, p] == NONE) & (self.inherited[ids, p] >= 0)

    def inheriting_under(self, ids: np.ndarray, key: str) -> np.ndarray:
        """Whether each event inherits a key at a path under the top-level ``key``."""
        found = np.zeros(len(ids), dtype=bool)
        for p, path in enumerate(self.paths):
            if path[0] == key:
                found |= self.inheriting(ids, p)
        return found

    def with_keys(self, ids: np.ndarray, path: tuple, values):
        """``values`` (read at ``path`` of the events' data, a column or one value for all)
        as ``runtime.correlation.with_key`` sets the inherited keys in the data."""
        for p, keyed in enumerate(self.paths):
            if path[:len(keyed)] == keyed[:len(path)]:
                values = self._with_key(ids, path, values, p)
        return values

    def _with_key(self, ids: np.ndarray, path: tuple, values, p: int):
        inheriting = np.flatnonzero(self.inheriting(ids, p))
        if not len(inheriting):
            return values
        found = np.empty(len(ids), dtype=object)
        found[:] = as_objects(values).tolist() if isinstance(values, np.ndarray) else \
            [values] * len(ids)
        for i in inheriting.tolist():
            data = copy_json(found[i])
            for part in reversed(path):   # the data down to ``path``
                data = {part: data}
            data = data if isinstance(data, dict) else {}
            with_key(data, self.paths[p], self._value(int(self.inherited[ids[i], p])))
            found[i] = dig(data, path)
        return typed(found)

    def inherit(self, ids: np.ndarray, keys) -> None:
        """Events ``ids`` carry ``keys`` (a row per event, a column per path; None: none)
        where their data sets no key."""
        if keys is not None and len(ids):
            self._fit_events()
            self.inherited[ids] = keys

    def drawn(self, source, data: dict, n: int) -> np.ndarray:
        """The keys the data of ``n`` events of ``source`` about to be drawn (``data``: its
        drawn leaves by path) sets at each path, as ``Book.data`` would read them."""
        found = np.empty((n, self.width), dtype=np.int64)
        for p, path in enumerate(self.paths):
            found[:, p] = self._drawn(p, path, source, data, n)
        return found

    def _drawn(self, p: int, path: tuple, source, data: dict, n: int) -> np.ndarray:
        if source.fixed is not None and not source.leaves:
            return self._code(p, dig(source.fixed, path), n)
        if path in data:
            return self._code(p, data[path], n)
        for leaf, column in data.items():
            if path[:len(leaf)] == leaf:      # into a drawn mapping
                values = np.empty(n, dtype=object)
                values[:] = [dig(v, path[len(leaf):]) for v in column.tolist()]
                return self._code(p, values, n)
            if leaf[:len(path)] == path:      # the key is a mapping of drawn values
                return np.full(n, NONE, dtype=np.int64)
        sampler = source.data
        for part in path:
            parts = getattr(sampler, "parts", None)
            if not isinstance(parts, dict) or part not in parts:
                return np.full(n, NONE, dtype=np.int64)
            sampler = parts[part]
        if isinstance(sampler, Record):
            return np.full(n, NONE, dtype=np.int64)
        return self._code(p, getattr(sampler, "value", None), n)

    # --- runs ---------------------------------------------------------------------------------

    def _fit_runs(self) -> None:
        size = self.block.lanes.next_run
        self.run_key = self._grown(self.run_key, size, NONE)
        self.end_t = self._grown(self.end_t, size, np.inf)
        self.end_s = self._grown(self.end_s, size, 0.0)

    def _keys_of_runs(self, lanes_: np.ndarray) -> np.ndarray:
        """The key of each lane's run (-1: its journey does not correlate runs)."""
        self._fit_runs()
        return self.run_key[self.block.lanes.run[lanes_]]

    def of_runs(self, lanes_: np.ndarray) -> np.ndarray:
        """The keys what each lane's run makes carries (a row per lane, a column per path):
        its run's key at its journey's path, none at the others."""
        lanes = self.block.lanes
        found = np.full((len(lanes_), self.width), NONE, dtype=np.int64)
        p = self.path_of[lanes.j[lanes_]]
        mine = np.flatnonzero(p >= 0)
        found[mine, p[mine]] = self._keys_of_runs(lanes_[mine])
        return found

    def _at_journey(self, j: int, ids: np.ndarray) -> np.ndarray:
        """Each event's key at the path journey ``j`` correlates by."""
        return self.of_events(ids)[:, self.path_of[j]]

    def admits(self, j: int, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Whether entry events ``ids`` may start a run of journey ``j`` for ``rows``: they
        carry a usable key that no live run of the journey has."""
        if not self.correlated[j]:
            return np.ones(len(rows), dtype=bool)
        keys = self._at_journey(j, ids)
        lanes = self.block.lanes
        order = lanes.order[rows]
        live = order >= 0
        safe = np.where(live, order, 0)
        theirs = live & (lanes.j[safe] == j) & (lanes.phase[safe] != 0)
        self._fit_runs()
        taken = (theirs & (self.run_key[lanes.run[safe]] == keys[:, None])).any(axis=1)
        return (keys >= 0) & ~taken

    def opened(self, j: int, lanes_: np.ndarray, ids: np.ndarray) -> None:
        """New runs of journey ``j`` on entry events ``ids``: their keys."""
        if self.correlated[j] and len(lanes_):
            self._fit_runs()
            runs = self.block.lanes.run[lanes_]
            self.run_key[runs] = self._at_journey(j, ids)
            self.end_t[runs] = np.inf

    def ended(self, lanes_: np.ndarray, at, seq) -> None:
        """Runs ended at ``(at, seq)`` (None: where each lane is)."""
        lanes = self.block.lanes
        self._fit_runs()
        runs = lanes.run[lanes_]
        self.end_t[runs] = lanes.t[lanes_] if at is None else at
        self.end_s[runs] = lanes.s[lanes_] if seq is None else seq

    def of_handoffs(self, runs: np.ndarray):
        """Per handoff (its run number): its run's key and when the run ended."""
        self._fit_runs()
        return self.run_key[runs], self.end_t[runs], self.end_s[runs]

    # --- events reaching runs -----------------------------------------------------------------

    def takes(self, lanes_: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Whether each run is one event ``ids`` is for: its journey does not correlate runs,
        the event is an opt-out, or it carries the run's key."""
        keys = self._keys_of_runs(lanes_)
        opting_out = np.isin(self.block.book.kind[ids], list(self.block.plan.opt_out_kinds))
        p = np.maximum(self.path_of[self.block.lanes.j[lanes_]], 0)
        theirs = self.of_events(ids)[np.arange(len(ids)), p]
        return (keys < 0) | opting_out | (keys == theirs)

    def count_undelivered(self, rows: np.ndarray, ids: np.ndarray, snapshot: np.ndarray) -> None:
        """Events ``ids`` that customers ``rows`` begin to handle: per journey that correlates
        runs and some of whose live runs (``snapshot``: the customers' lanes) would take them,
        those none of its runs takes for their key (not opt-outs, nor its entry event)."""
        plan, lanes, book = self.block.plan, self.block.lanes, self.block.book
        kinds = book.kind[ids]
        live = snapshot >= 0
        safe = np.where(live, snapshot, 0)
        live &= lanes.phase[safe] != 0
        live &= lanes.run[safe] != book.origin[ids][:, None]
        self._fit_runs()
        for journey in plan.journeys:
            if not self.correlated[journey.j]:
                continue
            wanted = np.isin(kinds, journey.interest) & ~np.isin(kinds, list(plan.opt_out_kinds))
            if journey.entry_kind is not None:
                wanted &= kinds != journey.entry_kind
            if not wanted.any():
                continue
            mine = np.flatnonzero(wanted)
            theirs = live[mine] & (lanes.j[safe[mine]] == journey.j)
            keys = self.run_key[lanes.run[safe[mine]]]
            match = theirs & (keys == self._at_journey(journey.j, ids[mine])[:, None])
            missed = theirs.any(axis=1) & ~match.any(axis=1)
            for kind, count in Counter(kinds[mine][missed].tolist()).items():
                self.undelivered[(journey.j, kind)] += count


def reason(plan) -> str | None:
    """Why correlated journeys send every customer to the reference path, or None."""
    paths = plan.correlates
    if not paths:
        return None
    nested = sorted((a, b) for a in paths for b in paths if a != b and b[:len(a)] == a)
    if nested:   # the runtime sets one key inside the other in no set order
        outer, inner = nested[0]
        return f"journeys correlate their runs by a key inside another's " \
               f"({'.'.join(outer)}, {'.'.join(inner)})"
    if plan.segment_reasons and any(step.kind == "handoff" for j in plan.journeys
                                    for step in j.steps):
        return "correlated runs with handoffs, and customers of some segments on the " \
               "reference path: the staff settlement needs every run's key"
    return None


__all__ = ["NONE", "KeyCodes", "Keys", "reason"]
