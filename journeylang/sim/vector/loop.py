"""Vectorised simulation: events a wait for events takes on a cycle back to itself, taken one
after another without an item each.

A **cycle** is a wait for events ``W`` (with a timeout, or none; not an escalation ladder) and
an event type ``k`` whose first arm at ``W`` has no condition and leads, through branches
only, each left by its ``else`` edge, back to ``W``; handlers of ``k`` only set values or tag
(a condition allowed, no jump, no emit); nothing else takes ``k`` from a run (no milestone,
goal or exit rule on it, no opt-out, profile update or emit of it, no other journey's entry
or interest); no KPI opens on the way; no correlation keys and no scheduled entries in the
simulation. ``points_ladder``'s ``idle`` wait with its lessons, posts and the ``check``
branch is one: a lesson adds points, the arm goes to the level check, and below the next
threshold the run is back at ``idle`` with a new timeout.

When a customer's next item is such an event and their only run rests at ``W``, the item is
taken here as ``Block._begin`` and the steps would take it (the handlers, the arm, each branch
visited and counted, the wait again with its new timer; a branch that leads elsewhere hands the
run to the steps as usual), and, while the customer's next item is again an event of a cycle
of ``W`` (strictly later than the last, within the horizon, before the new timeout and before
any event of another type that any run or journey could take), that one too, in the same
call: each customer's own order is the engine's, with no pass, grouping or search for the
next item in between.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...semantics import zero_wait
from . import steps
from .book import after
from .columns import holds
from .lanes import EVENT, REST
from .plan import BASELINE
from .scope import Scope

MOST_BRANCHES = 16   # longer ways back are left to the steps (far below MAX_STEPS)


@dataclass(frozen=True)
class Cycle:
    """An event type's way round a wait for events: the arm's target and edge, the branches
    (each left by ``else``) back to the wait."""

    kind: int
    to: int
    why: int
    path: tuple[int, ...]


@dataclass(frozen=True)
class Wait:
    """A wait for events with cycles: its journey and step, its timeout, its cycles by type."""

    j: int
    s: int
    within: float | None
    cycles: dict
    ways: tuple = ()   # per arms' target: (target, its branches back, type -> the arm's edge)
    keys: dict = field(default_factory=dict)   # per type: its sources' data keys (a tuple each)
    shallow: frozenset = frozenset()   # types only baselines make: their events' depth is 0


def waits(block) -> dict[tuple[int, int], Wait]:
    """The waits for events of the simulation with cycles (the module's docstring)."""
    plan = block.plan
    if block.keys is not None or any(j.schedule is not None for j in plan.journeys):
        return {}
    emitted = {plan.sources[s].kind for s in plan.emit_sources.values()}
    found = {}
    for journey in plan.journeys:
        others = [o for o in plan.journeys if o.j != journey.j]
        taken = emitted | plan.opt_out_kinds | plan.update_kinds | \
            {t.kind for t in journey.milestones} | {t.kind for t in journey.endings}
        for o in others:
            taken |= set(o.interest.tolist()) | set(o.held_interest.tolist()) | {o.entry_kind}
        if journey.program.reentry == "always":
            taken.add(journey.entry_kind)
        for s, arms in journey.arms.items():
            within = journey.steps[s].params.get("within")
            if s in journey.ladders or s in journey.kpis_at or \
                    zero_wait("wait_event", within=within):
                continue
            cycles = {}
            for k in dict.fromkeys(arm.kind for arm in arms):
                arm = next(a for a in arms if a.kind == k)
                if k in taken or arm.tree is not None or not _plain(journey.handlers.get(k, ())):
                    continue
                path = _path(journey, arm.to, s)
                if path is not None:
                    cycles[k] = Cycle(k, arm.to, arm.why, path)
            if cycles:
                ways = {}
                for cycle in cycles.values():
                    ways.setdefault((cycle.to, cycle.path), {})[cycle.kind] = cycle.why
                sources = {k: [src for src in plan.sources if src.kind == k] for k in cycles}
                found[(journey.j, s)] = Wait(
                    journey.j, s, within, cycles,
                    tuple((to, path, whys) for (to, path), whys in ways.items()),
                    {k: tuple(src.keys for src in mine) for k, mine in sources.items()},
                    frozenset(k for k, mine in sources.items()
                              if all(src.role == BASELINE for src in mine)))
    return found


def _plain(handlers) -> bool:
    """Handlers that neither jump nor emit."""
    return all(h.to is None and all(kind in ("set", "tag", "untag") for kind, _, _ in h.actions)
               for h in handlers)


def _path(journey, s: int, wait: int) -> tuple[int, ...] | None:
    """The branches from ``s`` back to ``wait`` by their ``else`` edges (None: no such way)."""
    path: list[int] = []
    while s != wait:
        if s < 0 or journey.kind_of[s] != "branch" or s in path or s in journey.kpis_at or \
                len(path) == MOST_BRANCHES:
            return None
        path.append(s)
        s = int(journey.next[s])
    return tuple(path)


def others(block) -> list[int]:
    """The event types an item could be other than the cycles' (any run, entry, opt-out or
    profile update may take them): the search for the next item stops before the first."""
    plan = block.plan
    kinds = set(plan.opt_out_kinds) | set(plan.update_kinds)
    for journey in plan.journeys:
        kinds |= set(journey.interest.tolist()) | set(journey.held_interest.tolist())
        if journey.entry_kind is not None:
            kinds.add(journey.entry_kind)
    return sorted(kinds - set(cycled(block)))


def cycled(block) -> list[int]:
    """The event types some cycle takes."""
    return sorted({k for wait in block.cycles.values() for k in wait.cycles})


def cycling(block, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Which of the customers ``rows``, whose next items are the events ``ids``, take them on a
    cycle: their only run rests at a wait with a cycle of the event's type."""
    lanes = block.lanes
    ok = lanes.counts[rows] == 1
    lane = np.where(ok, lanes.order[rows, 0], 0)
    ok &= (lanes.phase[lane] == REST) & (lanes.rest[lane] == EVENT)
    kinds = block.book.kind[ids]
    found = np.zeros(len(rows), dtype=bool)
    for (j, s), wait in block.cycles.items():
        at = ok & _at(block, lane, j, s)
        if at.any():
            found |= at & np.isin(kinds, list(wait.cycles))
    return found


def _at(block, lane: np.ndarray, j: int, s: int) -> np.ndarray:
    """Which of the runs ``lane`` are at step ``s`` of journey ``j``."""
    at = block.lanes.pos[lane] == s
    if len(block.plan.journeys) > 1:
        at &= block.lanes.j[lane] == j
    return at


def take(block, rows: np.ndarray, ids: np.ndarray) -> None:
    """Customers ``rows`` (``cycling``) take the events ``ids`` on their cycles, and the
    events after them while those are the next items on a cycle of the same wait."""
    lanes, book = block.lanes, block.book
    limit_t, limit_q = _limit(block, rows)
    at, seq, kinds = book.t[ids], book.q[ids], book.kind[ids]
    only = next(iter(block.cycles.values())) if len(block.cycles) == 1 else None
    lane = lanes.order[rows, 0]   # a run back at its wait stays in its lane
    while len(rows):
        if only is not None:   # every run here rests at the one wait with cycles
            back = _round(block, only, lane, rows, ids, at, seq, kinds)
        else:
            back = np.zeros(len(rows), dtype=bool)
            for (j, s), wait in block.cycles.items():
                mine = _at(block, lane, j, s)
                if mine.any():
                    back[mine] = _round(block, wait, lane[mine], rows[mine], ids[mine], at[mine],
                                        seq[mine], kinds[mine])
        if not back.all():   # (usually all are)
            rows, lane, limit_t, limit_q = rows[back], lane[back], limit_t[back], limit_q[back]
            at, seq = at[back], seq[back]
        kept, ids, at, seq, kinds = _next(block, rows, lane, at, seq, limit_t, limit_q)
        rows, lane, limit_t, limit_q = rows[kept], lane[kept], limit_t[kept], limit_q[kept]


def _limit(block, rows: np.ndarray):
    """Each customer's first event after their instant of a type no cycle takes: a round
    of a cycle ends before it. (Events of a round add none: handlers only set and tag.)"""
    book = block.book
    now, split = block.cur_t[rows], block.cur_s[rows]
    limit_t, limit_q = np.full(len(rows), np.inf), np.full(len(rows), np.inf)
    for k in block.cycle_others:
        if not book.holds(k):
            continue
        _earliest(limit_t, limit_q, *book.first_after(k, rows, now, split)[:3])
    return limit_t, limit_q


def _earliest(best_t, best_q, having, t, q) -> None:
    """Fold ``first_after``'s answers (events at ``(t, q)`` for the places ``having``) into
    the earliest found so far."""
    better = (t < best_t[having]) | ((t == best_t[having]) & (q < best_q[having]))
    places = having[better]
    best_t[places], best_q[places] = t[better], q[better]


def _round(block, wait: Wait, chosen: np.ndarray, rows: np.ndarray, event: np.ndarray, at,
           seq, kinds) -> np.ndarray:
    """``Block._react_to`` for runs ``chosen`` (of customers ``rows``) resting at ``wait`` and
    events ``event`` of its cycles (their instants ``(at, seq)`` and types ``kinds``:
    handlers, then the arm), then the steps of the way back: which runs are back."""
    lanes, tally = block.lanes, block.tally
    journey = block.plan.journeys[wait.j]
    j = journey.j
    block.cur_t[rows], block.cur_s[rows] = at, seq
    block.took_events(rows, event)
    taken = _Taken(chosen, rows, event, at, seq, kinds, lanes.entered[chosen])
    groups = _groups(wait, kinds)
    for k, mine in groups:
        if k not in journey.handlers:
            continue
        theirs = taken.at(mine)
        runs, scope = theirs.runs, theirs.scope(block, journey)
        for h, handler in enumerate(journey.handlers[k]):
            ok = None if handler.tree is None else holds(handler.tree, scope)
            taking = runs if ok is None else runs[ok]
            if len(taking):
                steps.actions(block, journey, handler.actions, taking,
                              scope if ok is None else scope.subset(ok), (k, h))
                tally.handled(j, k, scope.rows if ok is None else scope.rows[ok])
    lanes.ev[chosen] = event   # the arm: the run takes the event and leaves the wait
    _context(block, wait, chosen, event, groups)
    lanes.t[chosen], lanes.s[chosen] = at, seq
    _depth(block, wait, chosen, event, groups)
    if len(wait.ways) == 1:   # the arms of one target take one way back
        to, path, whys = wait.ways[0]
        return _way(block, journey, wait, path, taken, groups, whys)
    back = np.zeros(len(chosen), dtype=bool)
    for to, path, whys in wait.ways:
        mine = np.flatnonzero(np.isin(kinds, list(whys)))
        if len(mine):
            back[mine] = _way(block, journey, wait, path, taken.at(mine), None, whys)
    return back


@dataclass(frozen=True)
class _Taken:
    """A round's runs, their customers, the events they take (instants and types) and their
    entries' times, place by place."""

    runs: np.ndarray
    rows: np.ndarray
    event: np.ndarray
    t: np.ndarray
    s: np.ndarray
    kinds: np.ndarray
    entered: np.ndarray

    def at(self, places) -> _Taken:
        """Those at ``places`` (None: all)."""
        if places is None:
            return self
        return _Taken(self.runs[places], self.rows[places], self.event[places], self.t[places],
                      self.s[places], self.kinds[places], self.entered[places])

    def scope(self, block, journey, own: bool = False):
        """``Block.scope`` for the runs at the events' instants, from these arrays: with the
        events taken (``own``: as the runs' own, which a branch reads; else as a handler's)."""
        scope = Scope(block, self.rows, journey, self.runs, self.event, True, True, self.t,
                      self.s, self.entered)
        scope.own = own
        return scope


def _groups(wait: Wait, kinds: np.ndarray) -> list:
    """The places of each cycle type's events among ``kinds``, as ``(type, places)`` (places
    None: all of them), for the types with some."""
    if len(wait.cycles) == 1:
        return [(next(iter(wait.cycles)), None)]
    found = []
    for k in wait.cycles:
        mine = np.flatnonzero(kinds == k)
        if len(mine) == len(kinds):
            return [(k, None)]
        if len(mine):
            found.append((k, mine))
    return found


def _context(block, wait: Wait, chosen, event, groups) -> None:
    """``Block._context`` for a round's runs and events: whether an event has a context key
    is its source's, the same for every source of a type as a rule (the book is asked only
    for a type whose sources differ)."""
    lanes = block.lanes
    lanes.forget_event(chosen)
    for key, refs in lanes.contexts.items():
        for k, mine in groups:
            having = [key in keys for keys in wait.keys[k]]
            if not any(having):
                continue
            runs = chosen if mine is None else chosen[mine]
            ids = event if mine is None else event[mine]
            if not all(having):
                has = block.book.has_key(ids, key)
                runs, ids = runs[has], ids[has]
            refs[runs] = ids
            lanes.forget(runs, key)


def _depth(block, wait: Wait, chosen, event, groups) -> None:
    """The runs take their events' depths (0 for the types only baselines make)."""
    depth = block.lanes.depth
    for k, mine in groups:
        runs = chosen if mine is None else chosen[mine]
        if k in wait.shallow:
            depth[runs] = 0
        else:
            depth[runs] = block.book.depth[event if mine is None else event[mine]]


def _way(block, journey, wait: Wait, path, taken: _Taken, groups, whys) -> np.ndarray:
    """The steps of a way back from the arms (``whys``: their edges by event type) for the
    runs ``taken`` (``groups``: ``_groups`` of their types, or None): each branch visited,
    those a condition holds for go on from it as usual (their timers cancelled); which runs
    are back. A run back at the wait was there before: its step is the wait's already."""
    lanes = block.lanes
    back = np.ones(len(taken.runs), dtype=bool)
    going, on = None, taken   # the places of the runs still on the way (None: all), and they
    prev, why, hops = wait.s, None, 0
    for s in path:
        hops += 1
        if why is None:
            _arrived(block, journey, s, on, prev, groups, whys)
        else:
            _visited(block, journey, s, on.runs, on.rows, prev, why)
        scope = _Reading(on.scope(block, journey, own=True))
        runs, open_ = on.runs, None
        for tree, target, label in journey.branches[s]:
            # on every run (conditions only read): most are open, and a subset costs more
            hit = holds(tree, scope)   # (may be a path's array the scope keeps)
            if open_ is not None:
                hit = hit & open_
            if hit.any():
                leaving = runs[hit]
                lanes.timer_t[leaving] = np.inf
                lanes.hops[leaving], lanes.pos[leaving] = hops, s
                block.go(leaving, np.full(len(leaving), target), np.full(len(leaving), label))
                back[hit if going is None else going[hit]] = False
                open_ = ~hit if open_ is None else open_ & ~hit
                if not open_.any():
                    return back
        if open_ is not None:
            going = np.flatnonzero(open_) if going is None else going[open_]
            on = taken.at(going)
        prev, why = s, journey.why("else")
    if why is None:
        _arrived(block, journey, wait.s, on, prev, groups, whys)
    else:
        _visited(block, journey, wait.s, on.runs, on.rows, prev, why)
    # ``steps.wait_event``: rests again, with a new timeout (resting for events with a
    # timeout's timer, as it did: ``cycling`` took only such runs, and the round changed none)
    lanes.hops[on.runs] = hops + 1
    if wait.within is None:
        lanes.timer_t[on.runs] = np.inf
    else:
        lanes.timer_t[on.runs] = on.t + wait.within
        lanes.timer_q[on.runs] = block.fresh()
        block.timed(on.runs)
    return back


class _Reading:
    """A scope whose paths are each resolved once: a branch's conditions only read, and
    several of them often read the same values."""

    def __init__(self, scope):
        self.scope, self.rows, self.read = scope, scope.rows, {}

    def resolve(self, parts):
        key = tuple(parts)
        if key not in self.read:
            self.read[key] = self.scope.resolve(parts)
        return self.read[key]

    def __getattr__(self, name):
        return getattr(self.scope, name)


def _arrived(block, journey, s: int, on: _Taken, prev: int, groups, whys) -> None:
    """``_visited`` for the step the arms lead to: one count per arm's edge (``groups``:
    the places of each type's runs among ``on``, when all the round's runs are here)."""
    if len(whys) == 1:
        _visited(block, journey, s, on.runs, on.rows, prev, next(iter(whys.values())))
        return
    if groups is None:
        groups = [(k, np.flatnonzero(on.kinds == k)) for k in whys]
    for k, mine in groups:
        if mine is None or len(mine):
            _visited(block, journey, s, on.runs if mine is None else on.runs[mine],
                     on.rows if mine is None else on.rows[mine], prev, whys[k])


def _visited(block, journey, s: int, runs, rows, prev: int, why: int) -> None:
    """``steps._visit`` for runs ``runs`` (of customers ``rows``) that came to step ``s`` from
    ``prev`` by edge ``why`` (none resumed): the visit counted, the stage reached (their step
    and hops are the caller's)."""
    if len(runs):
        steps.counted(block, journey, s, runs, prev, why, rows)


def _earliest_ahead(block, rows: np.ndarray, now: np.ndarray, split: np.ndarray) -> tuple:
    """Each customer's earliest event of a cycle's type after their instant ``(now, split)``
    (ties to the earlier type): its id (-1: none), time, sequence number and type.
    ``Book.first_after``'s answers, searched again (``Book.search_again``) only for the
    customers whose last answer of the type is no longer after their instant: a round moves
    a customer's instant to the earliest of them and adds no event, so the other types'
    answers still hold."""
    book, kinds = block.book, block.cycle_kinds
    best_t, best_q = np.full(len(rows), np.inf), np.full(len(rows), np.inf)
    best, kind = np.full(len(rows), -1, dtype=np.int64), np.zeros(len(rows), dtype=np.int64)
    first = True
    for k in kinds:
        if not book.holds(k):
            continue
        t, q, ident = book.found_t[k][rows], book.found_q[k][rows], book.found_id[k][rows]
        stale = np.flatnonzero(~after(t, q, now, split))
        if len(stale):
            t[stale], q[stale], ident[stale] = book.search_again(k, rows[stale], now[stale],
                                                                 split[stale])
        if first:   # the first type's answers are the earliest so far (none: inf, inf, -1)
            best_t, best_q, best, first = t, q, ident, False
            kind[:] = k
            continue
        better = np.flatnonzero((t < best_t) | ((t == best_t) & (q < best_q)))
        best_t[better], best_q[better], kind[better] = t[better], q[better], k
        best[better] = ident[better]
    return best, best_t, best_q, kind


def _next(block, rows: np.ndarray, lane: np.ndarray, now, split, limit_t, limit_q) -> tuple:
    """Of the customers ``rows`` whose runs ``lane`` rest at a wait with cycles again, at the
    instants ``(now, split)``, those whose next item is an event of one of its cycles:
    strictly after their instant, within the horizon, before the run's timeout and before
    ``(limit_t, limit_q)``: their places in ``rows``, and those events' ids, times, sequence
    numbers and types. The others are left to ``Block.schedule``."""
    if not len(rows):
        return rows, rows, now, split, rows
    lanes = block.lanes
    best, best_t, best_q, kinds = _earliest_ahead(block, rows, now, split)
    go = (best >= 0) & (best_t > now) & (best_t <= block.spec.horizon) & \
        (best_t <= lanes.timer_t[lane]) & \
        ((best_t < limit_t) | ((best_t == limit_t) & (best_q < limit_q)))
    if len(block.cycles) > 1 or len(block.cycle_kinds) > len(next(iter(block.cycles.values())).cycles):
        for (j, s), wait in block.cycles.items():   # of a cycle of the wait the run is at
            go &= ~_at(block, lane, j, s) | np.isin(kinds, list(wait.cycles))
    kept = np.flatnonzero(go)
    taken = rows[kept]
    block.unscheduled[rows] = ~go   # the others: on to their next item
    block.instant_t[taken], block.instant_n[taken] = best_t[kept], 1
    return kept, best[kept], best_t[kept], best_q[kept], kinds[kept]


__all__ = ["cycled", "cycling", "others", "take", "waits"]
