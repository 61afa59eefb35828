"""Vectorised simulation: what conditions read, for a group of runs or customers at once.

The same paths as the runtime's ``RunScope`` (docs/runtime.md, "The condition form"), over
columns: ``customer.x`` the profile (a declared attribute the profile lacks reads as its
default; ``tags``, ``consent``, ``timezone`` and ``opted_out`` come from the columns the engine
keeps for them), ``consent.x``, ``event.x`` the current event's data, a run-local variable, any
other root the current event's data when it has that key, else the run's context (where a
``set`` changed the run's event data or context, the run's own copy: ``Lanes.edited_event``,
``Lanes.edited_context``); and history questions, answered from the customer's events in the
book.
"""
from __future__ import annotations

import math

import numpy as np

from ...semantics import history_answer
from .columns import _true, as_objects, dig, evaluate, typed

NOW_LAST = np.inf   # a sequence number after every event at a time (history "up to now")


class RunColumn:
    """A scope's event, instant or entry given as its runs' own (a column of ``Lanes``), read
    only when a condition asks for it: most of a run's conditions read only its variables."""

    def __init__(self, column: str):
        self.column = column


RUN_EVENT, RUN_TIME, RUN_SPLIT, RUN_ENTERED = (RunColumn(c) for c in ("ev", "t", "s", "entered"))


class Scope:
    """Paths for customers ``rows`` (one element per run or customer):

    ``journey``: the journey whose defaults and variables apply (None: none); ``lanes``: the
    runs (variables, context, the run's event); ``event``: ids of the current events (None: the
    run's event, as a branch or a set reads it); ``context``: whether the runs' context is read
    (an entry reads none); ``defaults``: whether declared defaults apply (a KPI's do not);
    ``now``/``split``: the instant history questions look back from; ``since``: where a
    question without a window starts (the runs' entry; None: a window is required).
    """

    def __init__(self, block, rows, journey=None, lanes=None, event=None, context=True,
                 defaults=True, now=None, split=None, since=None):
        self.block, self.rows, self.journey, self.lanes = block, rows, journey, lanes
        self.context, self.defaults = context, defaults
        self._event = event if event is not None else (RUN_EVENT if lanes is not None else None)
        self._now, self._split, self._since = now, split, since
        self.own = event is None and lanes is not None   # the run's event, which set may change

    def subset(self, mask) -> "Scope":
        pick = lambda value: value[mask] if isinstance(value, np.ndarray) else value
        found = Scope(self.block, self.rows[mask], self.journey, pick(self.lanes),
                      pick(self._event), self.context, self.defaults, pick(self._now),
                      pick(self._split), pick(self._since))
        found.own = self.own
        return found

    def _runs(self, name: str):
        """The field ``name``, read from the runs' columns when first asked (``RunColumn``)."""
        value = getattr(self, name)
        if isinstance(value, RunColumn):
            value = getattr(self.block.lanes, value.column)[self.lanes]
            setattr(self, name, value)
        return value

    event = property(lambda self: self._runs("_event"))
    now = property(lambda self: self._runs("_now"))
    split = property(lambda self: self._runs("_split"))
    since = property(lambda self: self._runs("_since"))

    # --- paths --------------------------------------------------------------------------------

    def resolve(self, parts):
        root, rest = parts[0], tuple(parts[1:])
        if root == "customer":
            return self._customer(rest)
        if root == "consent":
            return _dig(self.block.consent_dict(self.rows), rest) if not rest else \
                _dig(self.block.consent_value(rest[0], self.rows), rest[1:])
        if root == "event":
            return self._event_data(rest)
        journey = self.journey
        if journey is not None and self.lanes is not None and root in journey.variables:
            column = self.block.lanes.var(journey.j, root)[self.lanes]
            return _dig(column, rest)
        return self._rooted(root, rest)

    def _customer(self, rest: tuple):
        block, rows = self.block, self.rows
        if not rest:
            return block.profile_dict(rows)
        special = block.special(rest[0], rows)
        if special is not None:
            return _dig(special, rest[1:])
        value = block.profile_value(rest, rows)
        defaults = self.journey.defaults if (self.journey is not None and self.defaults) else None
        if defaults:
            absent = ~block.profile_has(rest[0], rows)
            if absent.any():
                fallback = _dig(defaults.get(rest[0]), rest[1:])
                value = _where(absent, fallback, value, len(rows))
        return value

    def _event_data(self, rest: tuple):
        if self.event is None:
            return None
        book = self.block.book
        value = book.whole(self.event) if not rest else book.data(self.event, rest)
        return _overlay(value, self._copies(self.block.lanes.edited_event, self.own), rest)

    def _copies(self, edited: dict, read: bool) -> list | None:
        """What set wrote for each run (``edited``: by lane), None where it wrote nothing; None
        when ``read`` is false or it wrote nothing for any of them."""
        if not (read and edited):
            return None
        found = [edited.get(lane) for lane in self.lanes.tolist()]
        return found if any(c is not None for c in found) else None

    def _rooted(self, root: str, rest: tuple):
        """The current event's data when it has ``root``, else the run's context."""
        book, lanes = self.block.book, self.block.lanes
        path = (root, *rest)
        n = len(self.rows)
        events = self._copies(lanes.edited_event, self.own) if self.event is not None else None
        contexts = self._copies(lanes.edited_context, self.context and self.lanes is not None)
        if self.event is not None:
            own = book.has_key(self.event, root)
            if events is not None:
                own = np.array([root in c if c is not None else o
                                for c, o in zip(events, own.tolist())], dtype=bool)
        else:
            own = np.zeros(n, dtype=bool)
        context = None
        if self.context and self.lanes is not None and not own.all():
            refs = lanes.context(root)
            if refs is not None:
                refs = refs[self.lanes]
                known = refs >= 0
                if known.any():
                    context = np.empty(n, dtype=object)
                    context[:] = None
                    values = book.data(refs[known], path)
                    context[known] = as_objects(values) if isinstance(values, np.ndarray) else \
                        [values] * int(known.sum())
                    context = typed(context)
            if contexts is not None:
                contexts = [c if c is not None and root in c else None for c in contexts]
                context = _overlay(context, contexts, path, n, lambda c: c[root])
        if own.all():
            return _overlay(book.data(self.event, path), events, path)
        if not own.any():
            return context
        found = np.empty(n, dtype=object)
        found[:] = None
        values = _overlay(book.data(self.event[own], path),
                          None if events is None else [c for c, o in zip(events, own) if o], path)
        found[own] = as_objects(values) if isinstance(values, np.ndarray) else \
            [values] * int(own.sum())
        if context is not None:
            rest_of = ~own
            found[rest_of] = as_objects(context)[rest_of] if isinstance(context, np.ndarray) \
                else [context] * int(rest_of.sum())
        return typed(found)

    def has_tag(self, tag: str):
        return self.block.tag(tag, self.rows)

    # --- history ------------------------------------------------------------------------------

    def history(self, function, event, field, condition, within):
        """The answer of a history question per customer: their events of type ``event`` from
        ``now - within`` (or the run's entry) up to now, ``condition`` holding for each (read
        with the past event as ``event``). A scope without a clock (a past event's, inside a
        history question) answers null, as the runtime's does."""
        if self.now is None:
            return None
        block, n = self.block, len(self.rows)
        now = np.broadcast_to(np.asarray(self.now, dtype=float), (n,))
        kind = block.plan.kinds.codes.get(event)
        if kind is None:
            return _answers(function, n, np.zeros(0, dtype=np.int64), np.zeros(0), None, now)
        split = np.broadcast_to(np.asarray(self.split if self.split is not None else NOW_LAST,
                                           dtype=float), (n,))
        if within is not None:
            start = now - within
        elif self.since is not None:
            start = np.broadcast_to(np.asarray(self.since, dtype=float), (n,))
        else:
            start = np.full(n, -np.inf)
        query, ids = block.book.window(kind, self.rows, start, np.full(n, -np.inf), now, split)
        if condition is not None and len(ids):
            past = Scope(block, self.rows[query], self.journey,
                         None if self.lanes is None else self.lanes[query], ids, self.context,
                         self.defaults)
            ok = _true(evaluate(condition, past), len(ids))
            query, ids = query[ok], ids[ok]
        values = block.book.data(ids, (field,)) if field and len(ids) else None
        return _answers(function, n, query, block.book.t[ids], values, now)


def _answers(function, n, query, moments, values, now):
    """``semantics.history_answer`` per customer, vectorised for the common functions."""
    counts = np.bincount(query, minlength=n).astype(float)
    if function == "happened":
        return counts > 0
    if function == "count":
        return counts
    if function == "time_since":
        last = np.full(n, -np.inf)
        if len(query):
            np.maximum.at(last, query, moments)
        return np.where(np.isfinite(last), now - last, np.nan)
    # sums, extremes and scores: per customer, as the runtime computes them
    moments_of = [[] for _ in range(n)]
    values_of = [[] for _ in range(n)]
    listed = as_objects(values).tolist() if isinstance(values, np.ndarray) else \
        [values] * len(query)
    for q, at, value in zip(query.tolist(), np.asarray(moments).tolist(), listed):
        moments_of[q].append(at)
        values_of[q].append(value)
    nows = now.tolist()
    found = np.empty(n, dtype=object)
    found[:] = [history_answer(function, moments_of[i], values_of[i], nows[i]) for i in range(n)]
    return typed(found)


def _overlay(value, copies: list | None, path: tuple, n: int | None = None, at=None):
    """``value`` (a column or one value for all, read at ``path``), with the value at ``path``
    of each run's copy where ``copies`` has one (``at``: how a copy holds ``path``'s root)."""
    if copies is None or all(c is None for c in copies):
        return value
    n = len(copies) if n is None else n
    found = np.empty(n, dtype=object)
    found[:] = as_objects(value).tolist() if isinstance(value, np.ndarray) else [value] * n
    for i, copy in enumerate(copies):
        if copy is not None:
            found[i] = dig(at(copy), path[1:]) if at is not None else dig(copy, path)
    return typed(found)


def _dig(value, path: tuple):
    if not path:
        return value
    if isinstance(value, np.ndarray):
        found = np.empty(len(value), dtype=object)
        found[:] = [_dig(v, path) for v in as_objects(value).tolist()]
        return typed(found)
    return dig(value, path)


def _where(mask, fallback, value, n: int):
    """``fallback`` where ``mask``, else ``value`` (either may be a column or a Python value)."""
    if value is None and not isinstance(fallback, np.ndarray):
        if mask.all():
            return fallback
    if isinstance(value, np.ndarray) and value.dtype == float and _number(fallback):
        return np.where(mask, float(fallback), value)
    if isinstance(value, np.ndarray) and value.dtype == bool and type(fallback) is bool:
        return np.where(mask, fallback, value)
    found = np.empty(n, dtype=object)
    found[:] = as_objects(value).tolist() if isinstance(value, np.ndarray) else [value] * n
    found[mask] = [fallback] * int(mask.sum()) if not isinstance(fallback, np.ndarray) else \
        as_objects(fallback)[mask]
    return typed(found)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["Scope"]
