"""Vectorised simulation: one block of customers, each handling their own events and timers in
order, all customers at once.

Customers are independent, so there is no global clock: each customer has a cursor (the
instant of the last thing that happened to them) and takes, in each pass, the next thing that
happens to them, as the runtime's queue would give it: the earliest of their runs' timers, the
events some run or entry of theirs takes (``Book.first_after``) and the occurrences of
scheduled entries; then goes as far as they can at that instant (``_settle``: executing runs
run their steps until they wait or end, the event reaches every run and journey). An event is
handled as ``Executor.on_event`` handles it: profile updates, opt-out, then each run in the
order it began (milestones, goals and exit rules, handlers, the wait it is at, or ignored),
then each journey it enters; a run that moves executes its steps before the next run reacts.
Every pass groups the customers by what they do and applies it to the whole group with numpy
(``steps.py`` for the step kinds); every draw comes from the block's own generator, so a
customer's fate depends only on the seed and their block, which is what makes shards exact.

**Instants.** An event is at ``(time, sequence number)``; at one time, events are handled in
the order they were made, and before timers. A customer's cursor after an event is the event's
instant; after a timer, its time and a fresh number above every event made so far.
"""
from __future__ import annotations

import hashlib

import numpy as np

from . import behaviour, loop, steps
from .book import Book
from .columns import any_column, distinct_codes, distinct_rows, holds, holds_where
from .correlation import Keys
from .customers import Customers
from ..instant import MAX_INSTANT_ITEMS, loop_error
from ..lineage import EVENT as EVENT_ITEM, LOAD, TIMER as TIMER_ITEM, Lineage
from ..staff import served_in_turn
from .lanes import (EVENT, EXEC, EXPIRY, FREE, HELD, HOLDOUT, QUIET, QUIET_OVER, REST, TIME,
                    TIMEOUT, WAKE, Lanes)
from .scope import RUN_ENTERED, RUN_SPLIT, RUN_TIME, Scope
from .tally import Tally

TIMER, OCCURS, HAPPENS = 1, 2, 3   # what a customer's next item is


def buckets(seed, parts: tuple[str, ...], customers: list[bytes]) -> np.ndarray:
    """``runtime.policies.bucket`` for many customers (ids UTF-8 encoded) at once; the tests
    check that the two agree."""
    prefix = hashlib.blake2b("\x1f".join([str(seed), *parts, ""]).encode("utf-8"), digest_size=8)
    digests = []
    for customer in customers:   # the prefix hashed once, then each id on a copy
        hasher = prefix.copy()
        hasher.update(customer)
        digests.append(hasher.digest())
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(float) / 2.0 ** 64 * 100.0


def _key(seqs, later: int):
    """The order of candidates at one time: events first, then by sequence number (whole
    numbers far below 2**52); ``later``: 1 for those after events at their time."""
    return seqs + later * 2.0 ** 52 if later else seqs


class _Earliest:
    """Per customer, the earliest of the candidates offered (each a column per customer, or
    per customer of a subset, in order of offering: time, 1 when it comes after events at its
    time, sequence number, what it is, its reference): its time, what and reference. At the
    earliest time, events come first, then the lowest sequence number, then the first offered;
    (inf, 0, 0) when no time is finite, (time, 0, 0) when no candidate at the earliest time
    has a finite sequence number. Folded in as offered, so no column is widened to every
    customer."""

    def __init__(self, n: int):
        self.n = n
        self.empty = True   # nothing offered yet: the columns are made by the first offer

    def _none(self) -> None:
        """The columns with nothing found (for a first offer to some, or none)."""
        self.best, self.first = np.full(self.n, np.inf), np.full(self.n, np.inf)
        self.what, self.ref = np.zeros(self.n, dtype=np.int64), np.zeros(self.n, dtype=np.int64)
        self.empty = False

    def offer(self, at, p, q, kind, value, where=None) -> None:
        """A candidate for every customer, or (``where``: their places) for some."""
        if self.empty:
            if where is None:   # the first for everyone: it is the earliest so far
                self._first(at, _key(q, p), kind, value)
                return
            self._none()
        best = self.best if where is None else self.best[where]
        # an infinite time never decides: what was found at it is cleared in ``result``
        close = np.flatnonzero((at <= best) & (at < np.inf))
        if not len(close):
            return
        places = close if where is None else where[close]
        at = at[close]
        key = _key(q[close], p)
        lower = at < self.best[places]
        if lower.any():   # a new earliest time: what was found at the old one no longer counts
            moved = places[lower]
            self.best[moved] = at[lower]
            self.first[moved] = np.inf
            self.what[moved] = 0
            self.ref[moved] = 0
        better = key < self.first[places]
        if better.any():
            won = places[better]
            self.first[won] = key[better]
            self.what[won] = kind
            self.ref[won] = value[close[better]] if isinstance(value, np.ndarray) else value

    def _first(self, at, key, kind, value) -> None:
        """``offer`` of a candidate for every customer when none was offered before."""
        self.empty = False
        finite = at < np.inf
        won = finite & (key < np.inf)
        self.best = np.where(finite, at, np.inf)
        self.first = np.where(won, key, np.inf)
        self.what = np.where(won, kind, 0)
        self.ref = np.where(won, value, 0)

    def result(self):
        if self.empty:
            self._none()
        none = ~np.isfinite(self.best)
        self.what[none], self.ref[none] = 0, 0
        return self.best, self.what, self.ref


def _first_timer(times, seqs, lanes_):
    """Per customer (row), the timer among their runs' (columns) that ``_Earliest`` would
    take of them offered in turn: the earliest, then the lowest sequence number, then the
    first column: its time, sequence number and lane."""
    if times.shape[1] == 1:   # one run each: its timer
        return times[:, 0], seqs[:, 0], lanes_[:, 0]
    # a customer with no timer beyond the first column: the first column's (an infinite
    # time is never taken, whatever comes with it)
    first, seq, lane = times[:, 0].copy(), seqs[:, 0].copy(), lanes_[:, 0].copy()
    several = np.flatnonzero(any_column(times[:, 1:] < np.inf))
    if len(several):
        # (rows of a narrow matrix by ``np.take``: several times faster than by indexing)
        times, seqs, lanes_ = (np.take(m, several, axis=0) for m in (times, seqs, lanes_))
        earliest = times.min(axis=1)
        keys = np.where(times == earliest[:, None], _key(seqs, 1), np.inf)
        column = keys.argmin(axis=1)   # the first of the lowest
        picked = np.arange(len(times))
        first[several], seq[several], lane[several] = \
            earliest, seqs[picked, column], lanes_[picked, column]
    return first, seq, lane


def _kind_mask(plan, kinds) -> np.ndarray:
    """Per event type of the plan, whether it is one of ``kinds``."""
    mask = np.zeros(len(plan.kinds), dtype=bool)
    mask[list(kinds)] = True
    return mask


class Block:
    """Customers ``first`` .. ``first + n - 1`` of the cohort, with their own generator."""

    def __init__(self, plan, spec, first: int, n: int, seed_sequence):
        self.plan, self.spec, self.first, self.n = plan, spec, first, n
        self.gen = np.random.default_rng(seed_sequence)
        self.customers = Customers(plan, spec, n, self.gen)
        self.lanes = Lanes(plan, n)
        self.book = Book(plan, n)
        self.keys = Keys(self) if plan.correlate is not None else None   # correlation keys
        self.book.keys = self.keys
        self.escaped = np.zeros(n, dtype=bool)
        self.tally = Tally(plan, n, first, self.escaped)
        self.trace: list[tuple] = []       # sends: customer rows, times, channel, zone codes, journey
        self.matching: dict = {}           # (journey, step, channel) -> responses it draws
        self.seq = len(plan.sources) + 2   # numbers up to here: baseline streams
        journeys = len(plan.journeys)
        self.left = np.zeros(n, dtype=bool)          # the cohort's own opt-out was drawn
        self.received = np.zeros(n, dtype=np.int64)  # messages, for fatigue
        self.caps = [(np.full((n, m), -np.inf), np.zeros(n, dtype=np.int64))
                     for m, *_ in plan.caps]
        self.reasons: dict[str, np.ndarray] = {}
        self.cur_t = np.full(n, -np.inf)
        self.cur_s = np.zeros(n)
        self.executing = np.full(n, -1, dtype=np.int64)   # the lane whose steps run now
        self.item = np.full(n, -1, dtype=np.int64)        # the event being handled
        self.item_stage = np.zeros(n, dtype=np.int64)
        self.item_lanes = np.zeros((n, 0), dtype=np.int64)
        self.item_last = np.zeros(n, dtype=np.int64)
        self.entry_kinds = [j.entry_kind for j in plan.journeys if j.entry_kind is not None]
        # per event type: whether some journey is entered on it, it updates the profile, it
        # opts out (a lookup by type, not a search of each event's type in a list)
        self.entering_kind = _kind_mask(plan, self.entry_kinds)
        self.updating_kind = _kind_mask(plan, plan.update_kinds)
        self.leaving_kind = _kind_mask(plan, plan.opt_out_kinds)
        # per journey and event type: whether its runs take events of the type, whether some
        # wait of it does (else a run ignores none)
        self.interest_kind = [_kind_mask(plan, j.interest.tolist()) for j in plan.journeys]
        self.awaited_kind = [_kind_mask(plan, j.awaited) for j in plan.journeys]
        self.next_t = np.full(n, np.inf)
        self.instant_t = np.full(n, -np.inf)              # each customer's instant ...
        self.instant_n = np.zeros(n, dtype=np.int64)      # ... and the items taken at it
        self.next_what = np.zeros(n, dtype=np.int64)
        self.next_ref = np.zeros(n, dtype=np.int64)
        self.entries = np.zeros((journeys, n), dtype=np.int64)
        self.last_entry = np.full((journeys, n), -np.inf)
        self.active = np.zeros((journeys, n), dtype=np.int64)
        self.occurrences: dict[int, tuple] = {}   # scheduled journey -> per-zone times
        self.occ_index = np.zeros((journeys, n), dtype=np.int64)
        self.occ_next = np.full((journeys, n), np.inf)   # the time at ``occ_index``
        self.occ_q = np.zeros((journeys, n))
        self.occ_fresh = np.zeros((journeys, n), dtype=bool)
        self.occ_flat: dict[int, np.ndarray] = {}   # scheduled journey -> ``_occurrences``
        self.occ_base: dict[int, np.ndarray] = {}
        self.occ_stamps: dict[int, np.ndarray] = {}   # scheduled journey -> ``occ_flat``'s stamps
        self.unscheduled = np.zeros(n, dtype=bool)   # idle, their next item not yet found
        self._ids: list[bytes] | None = None
        self._arms_of_split: dict[tuple, np.ndarray] = {}
        self._holdout_of: dict[int, np.ndarray] = {}   # journey -> holdout bucket per customer
        self._fired_at: dict[int, tuple] = {}   # journey -> ``_fired``
        self.entry_only = self._entry_only()
        self.folds = self._folds()
        self.folding = np.zeros(n, dtype=bool)   # events of a folded type wait for the next item
        self.cycles = loop.waits(self)   # waits for events whose events are taken in a row
        # what made each item (``sim.lineage``), when a staffed role's queue depends on the
        # order of different customers' handoffs; ``node``: each customer's item being handled
        self.lineage = self.node = None
        if served_in_turn(plan.roles):
            self.lineage = Lineage(capacity=32 * n)   # items a customer takes, as a rule
            self.node = self.lineage.bottoms(np.arange(first, first + n))   # numbers 0 .. n-1
            self.load = int(self.lineage.bottoms([LOAD])[0])
            self.book.track(self.node)
        self.occ_node: dict[int, np.ndarray] = {}   # scheduled journey -> ``occ_flat``'s nodes
        self.cycle_kinds = loop.cycled(self)
        self.cycle_others = loop.others(self) if self.cycles else []

    # --- small helpers ------------------------------------------------------------------------

    def took(self, rows: np.ndarray, at, priority: int, makers) -> None:
        """Customers ``rows`` take items at ``at`` of ``priority`` made while the items of
        nodes ``makers`` were handled: their nodes (``sim.lineage``), when kept."""
        if self.lineage is not None:
            self.node[rows] = self.lineage.made(at, priority, makers)

    def took_events(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """``took`` for the book's events ``ids``."""
        if self.lineage is not None:
            self.node[rows] = self.lineage.made(self.book.t[ids], EVENT_ITEM, self.book.maker[ids])

    def timed(self, lanes_: np.ndarray) -> None:
        """Runs ``lanes_`` set a timer now: it is made by their customers' items."""
        if self.lineage is not None:
            self.lanes.timer_maker[lanes_] = self.node[self.lanes.c[lanes_]]

    def fresh(self) -> int:
        """A sequence number above every event made so far: the instant of a timer."""
        self.seq += 1
        return self.seq

    def journeys_among(self, lanes_: np.ndarray) -> list[int]:
        """The journeys of the runs ``lanes_``, in increasing order."""
        if len(self.plan.journeys) == 1:   # no search needed
            return [0] if len(lanes_) else []
        return np.unique(self.lanes.j[lanes_]).tolist()

    def ids(self, rows: np.ndarray) -> list[bytes]:
        """Customer ids as the reference engine names them (``c1``, ``c2``...), encoded."""
        if self._ids is None:
            self._ids = [b"c%d" % i for i in range(self.first + 1, self.first + self.n + 1)]
        ids = self._ids
        return [ids[i] for i in rows.tolist()]

    def commit(self, batch, searched: bool = True) -> np.ndarray:
        """The events of a draw into the book, numbered in the reference engine's order;
        returns their ids (``searched=False``: the caller makes them searchable,
        ``Book.search``)."""
        parts = batch.parts
        if not parts:
            return np.zeros(0, dtype=np.int64)
        width = max(p["keys"].shape[1] for p in parts)
        keys = np.concatenate([behaviour._pad(p["keys"], width) for p in parts])
        order = np.lexsort([keys[:, c] for c in reversed(range(width))])
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        seqs = self.seq + 1 + rank
        self.seq += len(order)
        self.book.reserve(len(order))   # grown once for the whole draw, not part by part
        offset, added, kinds = 0, [], []
        for part in parts:   # (searchable by type at the end, each type's events at once)
            count = len(part["rows"])
            source = self.plan.sources[part["src"]]
            ids = self.book.add(part["rows"], part["at"], seqs[offset:offset + count],
                                source.kind, part["src"], part["depth"], -1, part["data"],
                                part["updates"], searched=False)
            if self.keys is not None:
                self.keys.inherit(ids, part["inherited"])
            added.append(ids)
            kinds.append(source.kind)
            offset += count
        sizes = [len(ids) for ids in added]
        added = np.concatenate(added)
        if searched:   # (one type for all: not read per event)
            self.book.search(added, kinds[0] if len(set(kinds)) == 1 else np.repeat(kinds, sizes))
        return added

    def escape(self, rows: np.ndarray, reason: str) -> None:
        """Customers ``rows`` take the reference path: nothing of theirs is counted here."""
        rows = rows[~self.escaped[rows]]
        if not len(rows):
            return
        self.tally.escape(rows)   # (``escaped`` is the tally's array)
        self.reasons.setdefault(reason, np.zeros(self.n, dtype=bool))[rows] = True
        lanes = self.lanes
        mine = np.isin(lanes.c[:lanes.size], rows) & (lanes.phase[:lanes.size] != FREE)
        lanes.phase[np.flatnonzero(mine)] = FREE
        self.executing[rows] = -1
        self.item[rows] = -1
        self.next_t[rows] = np.inf

    def scope(self, j: int, lanes: np.ndarray, event=None, now=None, split=None) -> Scope:
        """What a run's conditions read (the run's event when ``event`` is None)."""
        rows = self.lanes.c[lanes]
        return Scope(self, rows, self.plan.journeys[j], lanes, event, True, True,
                     RUN_TIME if now is None else now, RUN_SPLIT if split is None else split,
                     RUN_ENTERED)

    # --- the scope's view of customers --------------------------------------------------------

    def profile_value(self, path, rows):
        return self.customers.value(path, rows)

    def profile_has(self, name, rows):
        return self.customers.has(name, rows)

    def special(self, name, rows):
        if name == "opted_out":
            return self.customers.special(name, rows)
        return self.customers.special(name, rows)

    def profile_dict(self, rows):
        return self.customers.profile_dict(rows)

    def consent_value(self, channel, rows):
        return self.customers.consent_value(channel, rows)

    def consent_dict(self, rows):
        return self.customers.consent_dict(rows)

    def tag(self, tag, rows):
        return self.customers.tag(tag, rows)

    # --- running ------------------------------------------------------------------------------

    def run(self):
        plan = self.plan
        for g, reason in plan.segment_reasons.items():
            self.escape(np.flatnonzero(self.customers.seg == g), reason)
        # both draws' events searchable at once: a type's all sorted together
        arrived = self.commit(behaviour.arrivals(self), searched=False)
        drawn = self.commit(behaviour.baselines(self), searched=False)
        self.book.search(np.concatenate([arrived, drawn]))
        self._occurrences()
        self.schedule(np.flatnonzero(~self.escaped))
        horizon = self.spec.horizon
        due = None   # at first, every customer settles
        while True:
            # (the last round's customers read apart only when few: else a scan of all is faster)
            self._settle(due if due is not None and 16 * len(due) <= self.n else None)
            due = np.flatnonzero((self.item < 0) & (self.executing < 0) & (self.next_t <= horizon))
            if not len(due):
                break
            self._bound_instants(due)
            self._take(due)
        late = np.flatnonzero(self.folding & ~self.escaped)   # their next item is past the horizon
        if len(late):
            self._handle_folded(late, np.full(len(late), horizon), np.full(len(late), np.inf))
        return self

    def _bound_instants(self, rows: np.ndarray) -> None:
        """Count the items (events and timers) each customer takes at one instant; past
        ``MAX_INSTANT_ITEMS`` they are caught in a loop that time never ends
        (``sim.instant``): stop with a ``SimulationError``, as the reference engine does."""
        at = self.next_t[rows]
        taken = np.where(self.instant_t[rows] == at, self.instant_n[rows] + 1, 1)
        self.instant_t[rows], self.instant_n[rows] = at, taken
        over = np.flatnonzero(taken > MAX_INSTANT_ITEMS)
        if len(over):
            row = rows[over[np.lexsort((rows[over], at[over]))[0]]]
            cohort = self.plan.cohort
            raise loop_error(cohort, cohort.segments[self.customers.seg[row]],
                             f"c{self.first + row + 1}", float(self.next_t[row]),
                             [journey.program for journey in self.plan.journeys])

    def _settle(self, rows: np.ndarray | None = None) -> None:
        """Every customer goes as far as they can at their instant: executing runs execute
        their steps and the events being handled reach their other runs and journeys, until
        every customer waits for their next item. Each customer's own order is the engine's;
        only customers at different points share fewer passes. ``rows`` (in increasing
        order): the customers who took an item since the last settling, the only ones with
        anything to do (a customer's items change no other's runs); None: any."""
        while True:
            executing = self._executing(rows)
            if len(executing):
                steps.execute(self, executing)
                continue
            going = self._handling(rows)
            if not len(going):
                break
            self._stages(going)
        self.reschedule(rows)

    def _executing(self, rows: np.ndarray | None) -> np.ndarray:
        """The lanes executing, in increasing order: among the runs of customers ``rows``
        (None: among every lane)."""
        lanes = self.lanes
        if rows is None:
            return np.flatnonzero(lanes.phase[:lanes.size] == EXEC)
        theirs = lanes.of(rows).ravel()
        theirs = np.compress(theirs >= 0, theirs)
        return np.sort(np.compress(lanes.phase[theirs] == EXEC, theirs))

    def _handling(self, rows: np.ndarray | None) -> np.ndarray:
        """The customers going on with an event, no run of theirs executing: among ``rows``
        (None: among every customer), in increasing order."""
        if rows is None:
            return np.flatnonzero((self.item >= 0) & (self.executing < 0))
        return np.compress((self.item[rows] >= 0) & (self.executing[rows] < 0), rows)

    # --- what happens next to a customer ------------------------------------------------------

    def reschedule(self, among: np.ndarray | None = None) -> None:
        """The next item of every customer who went idle since the last call (all of them
        among the customers ``among``, when given), in one batch."""
        rows = np.flatnonzero(self.unscheduled) if among is None else \
            np.compress(self.unscheduled[among], among)
        if len(rows):
            self.unscheduled[rows] = False
            self.schedule(rows)

    def schedule(self, rows: np.ndarray) -> None:
        """The next thing that happens to each of the (idle) customers ``rows``: the earliest
        of the candidates at ``(time, events before timers, sequence number)``."""
        rows = rows[~self.escaped[rows]]
        if not len(rows):
            return
        lanes = self.lanes
        earliest = _Earliest(len(rows))
        offer = earliest.offer

        # their runs (the columns beyond the most any of them has hold none: left out)
        order = lanes.of(rows, int(lanes.counts[rows].max()))
        live = order >= 0
        safe = np.where(live, order, 0)
        phase = np.where(live, lanes.phase[safe], FREE)
        # runs' timers
        timed = (phase == REST) | (phase == HELD)
        timer_t = np.where(timed, lanes.timer_t[safe], np.inf)
        if order.shape[1]:   # the earliest of each customer's (the rest cannot win)
            at, seq, lane = _first_timer(timer_t, lanes.timer_q[safe], safe)
            offer(at, 1, seq, TIMER, lane)
        # occurrences of scheduled entries (whether each may begin a run: read once, here)
        may_begin = {}
        for j in self.occurrences:
            occ_q, occ_fresh = self.occ_q[j], self.occ_fresh[j]   # rows of these (1-d: faster)
            fresh = occ_fresh[rows]
            if fresh.any():
                renewed = np.compress(fresh, rows)   # (a share, in no pattern: see ``_take``)
                occ_q[renewed] = self.fresh()
                occ_fresh[renewed] = False
            may_begin[j] = self._can_enter(j, rows)
            at = np.where(self._takes_occurrences(j, rows), self._occurrence_time(j, rows),
                          np.inf)
            offer(at, 1, occ_q[rows], OCCURS, j)
        # events some run or entry of theirs takes
        wanted, bounds = self._wanted(rows, order, live, safe, phase, may_begin)
        folded = self._folded(rows)
        now, split = self.cur_t[rows], self.cur_s[rows]
        book, shared = self.book, None
        for k in np.flatnonzero(wanted.any(axis=1)).tolist():
            if not book.holds(k):
                continue
            mine = wanted[k]
            every = mine.all()
            if every:
                places, asked, since_t, since_q = None, rows, now, split
            else:   # types wanted by the same customers (often all a run takes) share these
                if shared is None or not np.array_equal(mine, shared[0]):
                    places = np.flatnonzero(mine)
                    shared = (mine, places, rows[places], now[places], split[places])
                places, asked, since_t, since_q = shared[1:]
            bound = bounds.get(k)
            if bound is not None:   # nothing before it can matter: search from it on
                bound = bound if every else bound[places]
                ahead = bound > since_t
                since_t = np.where(ahead, bound, since_t)
                since_q = np.where(ahead, -np.inf, since_q)
            having, t, q, ident = book.first_after(k, asked, since_t, since_q)
            if not len(having):   # those with none ahead have nothing to offer
                continue
            having = having if every else places[having]
            if k in folded:   # handled just before their next item, not offered as one
                into = folded[k][having]
                self.folding[rows[having[into]]] = True
                having, t, q, ident = having[~into], t[~into], q[~into], ident[~into]
            offer(t, 0, q, HAPPENS, ident, having)
        best_t, what, ref = earliest.result()
        self.next_t[rows] = best_t
        self.next_what[rows] = what
        self.next_ref[rows] = ref

    def _wanted(self, rows, order, live, safe, phase, may_begin):
        """Per event type, which customers it matters to now (a row per type): those whose
        live runs take it (a held-out run: its goals, milestones and exit rules), those who
        may enter a journey entered on it, and while anything is live or may begin (on an
        entry event or a scheduled occurrence), opt-outs and profile updates. With them, per
        type whose only use for some customers is an entry that re-entry keeps closed for a
        while (``reentry after``), the time before which those customers need none of its
        events (-inf: any). ``may_begin``: per scheduled journey, whether each customer may
        begin a run (``_can_enter``, read by the caller)."""
        plan, lanes = self.plan, self.lanes
        n, kinds = len(rows), len(plan.kinds)
        wanted = np.zeros((kinds, n), dtype=bool)
        bounds: dict[int, np.ndarray] = {}
        one = len(plan.journeys) == 1   # every live run is the journey's
        journeys = None if one else np.where(live, lanes.j[safe], -1)
        resting = phase == REST
        runs = resting | (phase == EXEC)
        holding = phase == HELD
        for journey in plan.journeys:
            j = journey.j
            theirs = live if one else journeys == j
            if len(journey.interest):
                running = any_column(theirs & runs)
                for k in journey.interest:
                    wanted[k] |= running
            if len(journey.held_interest):
                held = any_column(theirs & holding)
                for k in journey.held_interest:
                    wanted[k] |= held
            if self.keys is not None and self.keys.correlated[j] and len(journey.interest):
                held = any_column(theirs & holding)
                for k in journey.interest:   # undelivered for its key
                    wanted[k] |= held
            if journey.entry_kind is not None:
                entering = self._can_enter(j, rows)
                wanted[journey.entry_kind] |= entering
                if j in self.entry_only:   # no live run of the journey: only the entry wants it
                    bounds[journey.entry_kind] = np.where(
                        entering, self.last_entry[j, rows] + self.entry_only[j], -np.inf)
        # (so opt-outs, which drop a send held for quiet hours, reach every live run)
        anything = any_column(live) | wanted.any(axis=0)
        for entering in may_begin.values():   # a scheduled entry may begin a run: sees the profile
            anything |= entering
        for k in plan.opt_out_kinds | plan.update_kinds:
            wanted[k] |= anything
        return wanted, bounds

    def _entry_only(self) -> dict[int, float]:
        """Journeys (-> the re-entry delay, less a second against rounding) whose entry event
        only they take, and only for their entry or their own runs: between a run's end and
        the end of the re-entry delay nothing needs the customer's events of that type. (Not
        when the type is an opt-out or profile update, or another journey's.)"""
        plan, found = self.plan, {}
        for journey in plan.journeys:
            k, program = journey.entry_kind, journey.program
            if k is None or program.reentry != "after" or not program.reentry_after:
                continue
            if k in plan.opt_out_kinds or k in plan.update_kinds:
                continue
            others = [o for o in plan.journeys if o.j != journey.j]
            if any(k == o.entry_kind or k in o.interest or k in o.held_interest for o in others):
                continue
            found[journey.j] = float(program.reentry_after) - 1.0
        return found

    def _folds(self) -> dict[int, frozenset]:
        """Per journey, the event types a run of it handles with no item of their own while it
        rests for time or quiet hours and is its customer's only run: each handler of the
        type (any) has no condition and no jump, and only sets values to constants, which no
        handler of another such type sets; nothing else takes the type from a run (no
        milestone, goal or exit rule on it; no opt-out, profile update or emit of it). Such
        events change nothing but those values until the customer's next item, so they are
        handled together just before it (``_handle_folded``): one set per type, in the order
        of the handlers, gives what one event after the other gives. (Not with correlation
        keys: an event reaches only the runs of its key.)"""
        plan = self.plan
        if self.keys is not None:
            return {}
        emitted = {plan.sources[s].kind for s in plan.emit_sources.values()}
        found = {}
        for journey in plan.journeys:
            taken = emitted | plan.opt_out_kinds | plan.update_kinds | \
                {t.kind for t in journey.milestones} | {t.kind for t in journey.endings}
            targets = {}
            for k, handlers in journey.handlers.items():
                if k in taken or any(h.tree is not None or h.to is not None for h in handlers):
                    continue
                actions = [a for h in handlers for a in h.actions]
                if all(kind == "set" and not isinstance(tree, list) for kind, _, tree in actions):
                    targets[k] = {params["attribute"] for _, params, _ in actions}
            kinds = frozenset(k for k in targets
                              if not any(targets[k] & targets[o] for o in targets if o != k))
            if kinds:
                found[journey.j] = kinds
        return found

    def _folded(self, rows) -> dict[int, np.ndarray]:
        """Per event type, which of the (idle) customers ``rows`` handle its events with no
        item of their own (``_folds``): their only run rests for time or quiet hours, and no
        journey may begin a run on it. (``schedule`` marks those with such an event ahead
        ``folding``.)"""
        if not self.folds:
            return {}
        lanes, plan = self.lanes, self.plan
        single = lanes.counts[rows] == 1
        lane = np.where(single, lanes.order[rows, 0], 0)
        resting = single & (lanes.phase[lane] == REST)
        resting &= (lanes.rest[lane] == TIME) | (lanes.rest[lane] == QUIET)
        folded: dict[int, np.ndarray] = {}
        self.folding[rows] = False   # until an event of a folded type is found ahead
        for j, kinds in self.folds.items():
            theirs = resting & (lanes.j[lane] == j) if len(plan.journeys) > 1 else resting
            if not theirs.any():
                continue
            for k in kinds:
                mine = theirs.copy()
                for journey in plan.journeys:
                    if journey.entry_kind == k:
                        mine &= ~self._can_enter(journey.j, rows)
                folded[k] = mine
        return folded

    def _handle_folded(self, rows: np.ndarray, until_t, until_q) -> None:
        """Customers ``rows`` (``folding``) handle the events of their run's folded types from
        their instant up to ``(until_t, until_q)``, as their handlers would one by one (the
        book's last answers for those types, from ``schedule``, still hold)."""
        self.folding[rows] = False
        keep = ~self.escaped[rows]
        rows, until_t, until_q = rows[keep], until_t[keep], until_q[keep]
        lanes, book = self.lanes, self.book
        lanes_ = lanes.order[rows, 0]
        for j in self.journeys_among(lanes_):
            journey = self.plan.journeys[j]
            mine = lanes.j[lanes_] == j
            chosen, theirs = lanes_[mine], rows[mine]
            upto_t, upto_q = until_t[mine], until_q[mine]
            for k in sorted(self.folds.get(j, ())):
                if not book.holds(k):
                    continue
                first_t, first_q = book.found_t[k][theirs], book.found_q[k][theirs]
                had = np.flatnonzero((first_t < upto_t) | ((first_t == upto_t) & (first_q <= upto_q)))
                if not len(had):
                    continue
                counts = np.zeros(len(theirs), dtype=np.int64)
                counts[had] = book.passed(k, theirs[had], upto_t[had], upto_q[had])
                handling = chosen[had]
                scope = self.scope(j, handling)
                handled = np.repeat(theirs, counts)
                for h, handler in enumerate(journey.handlers[k]):   # each counts every event
                    steps.actions(self, journey, handler.actions, handling, scope, (k, h))
                    self.tally.handled(j, k, handled)

    def _can_enter(self, j: int, rows) -> np.ndarray:
        """Whether a journey may still begin a run of the customers (re-entry may allow one)."""
        journey = self.plan.journeys[j]
        if journey.program.reentry == "never":
            return self.entries[j][rows] == 0
        if journey.program.reentry == "always":
            return np.ones(len(rows), dtype=bool)
        return self.active[j][rows] == 0

    def _takes_occurrences(self, j: int, rows) -> np.ndarray:
        """Whether the customers take scheduled journey ``j``'s occurrences: each one who may
        enter at one, now or later (with ``reentry after``, during a run too, as the runtime
        tries and refuses that entry: a customer takes every occurrence, none later than it
        happened)."""
        if self.plan.journeys[j].program.reentry == "never":
            return self.entries[j][rows] == 0
        return np.ones(len(rows), dtype=bool)

    def _take(self, rows: np.ndarray) -> None:
        folding = rows[self.folding[rows]]
        if len(folding):   # the events folded into the item come before it
            until_q = np.full(len(folding), np.inf)   # timers and occurrences: after events
            happens = self.next_what[folding] == HAPPENS
            # an event: those before it (sequence numbers are whole)
            until_q[happens] = self.book.q[self.next_ref[folding[happens]]] - 0.5
            self._handle_folded(folding, self.next_t[folding], until_q)
        what = self.next_what[rows]
        # (each a share of them in no pattern: ``np.compress`` is several times faster than
        # indexing by such a mask, whose branch per item goes either way)
        timers = np.compress(what == TIMER, rows)
        if len(timers):
            self._fire(self.next_ref[timers])
        occurs = np.compress(what == OCCURS, rows) if self.occurrences else None
        for j in self.occurrences:   # (with one scheduled journey, every occurrence is its)
            occurring = occurs if len(self.occurrences) == 1 else occurs[self.next_ref[occurs] == j]
            if len(occurring):
                self._occur(j, occurring)
        happening = np.compress(what == HAPPENS, rows)
        ids = self.next_ref[happening]
        if len(happening) and self.cycles:
            on = loop.cycling(self, happening, ids)
            if on.any():   # round a cycle of their wait, without the general machinery
                loop.take(self, happening[on], ids[on])
                happening, ids = happening[~on], ids[~on]
        if len(happening):
            self._begin(happening, ids)

    # --- timers -------------------------------------------------------------------------------

    def _fire(self, lanes_: np.ndarray) -> None:
        """Runs' timers are due: a wait is over, a wait for events timed out, quiet hours are
        over for a held send, a held-out run's window closed."""
        lanes, plan = self.lanes, self.plan
        at, mark = lanes.timer_t[lanes_], self.fresh()
        rows = lanes.c[lanes_]
        self.cur_t[rows], self.cur_s[rows] = at, mark
        self.took(rows, at, TIMER_ITEM, lanes.timer_maker[lanes_])
        lanes.t[lanes_], lanes.s[lanes_] = at, mark
        kind = lanes.timer_kind[lanes_]
        lanes.timer_t[lanes_] = np.inf
        lanes.depth[lanes_] = 0
        expires = kind == EXPIRY
        moving = lanes_
        if expires.any():
            expiring = lanes_[expires]
            for j in self.journeys_among(expiring):
                mine = expiring[lanes.j[expiring] == j]
                self.end(mine, plan.journeys[j].why("holdout goal window over"))
            moving, kind = lanes_[~expires], kind[~expires]
            if not len(moving):
                return
        for j in self.journeys_among(moving):
            journey = plan.journeys[j]
            if len(plan.journeys) == 1:   # every run is the journey's
                chosen, kinds = moving, kind
            else:
                mine = lanes.j[moving] == j
                chosen, kinds = moving[mine], kind[mine]
            targets, whys = self._fired(journey)
            to = np.take(targets, kinds * targets.shape[1] + lanes.pos[chosen])
            quiet = kinds == QUIET_OVER
            if quiet.any():
                lanes.resumed[chosen[quiet]] = True
            self.go(chosen, to, np.take(whys, kinds))

    def _fired(self, journey) -> tuple[np.ndarray, np.ndarray]:
        """Where a run of the journey goes when its timer fires, per kind of timer (a row) and
        step (a column): on to the next step when a wait is over, where the wait for events
        goes on a timeout, its own step again when quiet hours are over (to send); and the
        edge of each kind of timer."""
        found = self._fired_at.get(journey.j)
        if found is None:
            width = max(len(journey.steps), 1)
            targets = np.tile(np.arange(width), (max(WAKE, TIMEOUT, QUIET_OVER) + 1, 1))
            targets[WAKE] = journey.next[:width]
            for s, to in journey.timeout.items():
                targets[TIMEOUT, s] = to
            whys = np.full(len(targets), journey.why("waited"))
            whys[TIMEOUT], whys[QUIET_OVER] = journey.why("timeout"), journey.why("quiet hours over")
            found = self._fired_at[journey.j] = (targets, whys)
        return found

    # --- events -------------------------------------------------------------------------------

    def _begin(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Customers ``rows`` handle events ``ids``: profile updates and opt-outs first, then
        each of their runs reacts, then the journeys the event enters."""
        plan, book = self.plan, self.book
        self.cur_t[rows], self.cur_s[rows] = book.t[ids], book.q[ids]
        self.took_events(rows, ids)
        kinds = book.kind[ids]
        if plan.update_kinds:
            updating = self.updating_kind[kinds]
            if updating.any():
                self._update(rows[updating], ids[updating])
        self.customers.opt_out(rows[self.leaving_kind[kinds]])
        self.item[rows] = ids
        self.item_stage[rows] = 0
        width = self.lanes.order.shape[1]   # it only grows: so does ``item_lanes``, to it
        if self.item_lanes.shape[1] < width:
            grown = np.full((self.n, width), -1, dtype=np.int64)
            grown[:, :self.item_lanes.shape[1]] = self.item_lanes
            self.item_lanes = grown
        self.item_lanes[rows] = self.lanes.of(rows)   # (as wide as the order: grown to it)
        # the place after each one's last run: a customer's order holds their runs first
        self.item_last[rows] = self.lanes.counts[rows]
        if self.keys is not None:
            self.keys.count_undelivered(rows, ids, self.item_lanes[rows])
        self._stages(rows)

    def _update(self, rows, ids) -> None:
        """The profile updates events carry (``attributes``: null deletes)."""
        book = self.book
        paths = {p for s in np.unique(book.src[ids]).tolist()
                 for p in self.plan.sources[s].updates}
        for path in sorted(paths):
            values = book.update_values(ids, path)
            has = np.array([path in self.plan.sources[s].updates
                            for s in book.src[ids].tolist()], dtype=bool)
            if has.any():
                self.customers.set(path, rows[has], values[has] if isinstance(values, np.ndarray) else values)

    def _stages(self, rows: np.ndarray) -> None:
        """Go on with the events customers are handling: the next run reacts, or the next
        journey is entered; a run that moves executes its steps before anything else."""
        plan, lanes, book = self.plan, self.lanes, self.book
        journeys = len(plan.journeys)
        width = self.item_lanes.shape[1]
        # each one's stage, event and its type, kept here while they go on (their events
        # stay theirs: only ``_begin`` gives new ones)
        stage, ids = self.item_stage[rows], self.item[rows]
        kinds = book.kind[ids]
        # past their last run, an event no journey enters on has nothing left to reach
        last = self.item_last[rows]
        entering = self.entering_kind[kinds]
        end = np.where(entering, width + journeys, last)
        entering = entering.any()   # (else no stage reaches the entries)
        emitted = bool(plan.emit_sources)   # (else no event is a run's own)
        while len(rows):
            # a customer's slots past their last run are empty: only the others read theirs
            # (and their first ``last`` slots hold runs)
            reacting = stage < last
            if not reacting.any():   # no run left to reach: the passes over the empty
                stage = np.maximum(stage, width)   # slots before the entries do nothing
            else:
                mine, event = rows[reacting], ids[reacting]
                chosen = np.take(self.item_lanes, mine * width + stage[reacting])   # one flat gather
                ok = (lanes.phase[chosen] != FREE) & (lanes.c[chosen] == mine)
                if emitted:
                    ok &= book.origin[event] != lanes.run[chosen]
                if self.keys is not None:   # an event reaches the runs of its key
                    ok &= self.keys.takes(chosen, event)
                self._react(chosen[ok], event[ok])
            if entering:
                self._stage_entries(rows, stage - width, ids, kinds)
            stage = stage + 1
            done = stage >= end
            free = self.executing[rows] < 0
            if not free.all():   # they go on after their run executes: from this stage
                paused = ~free
                self.item_stage[rows[paused]] = stage[paused]
                done &= free
            finished = rows[done]
            if len(finished):
                self.item[finished] = -1
                self.unscheduled[finished] = True
            # (escaped customers take no items: they leave before the block runs)
            going = ~done & free
            rows, stage, ids, kinds = rows[going], stage[going], ids[going], kinds[going]
            end, last = end[going], last[going]

    def _stage_entries(self, rows, entry, ids, kinds) -> None:
        """Customers ``rows`` at their ``entry``-th journey (counted from 0; before it: a
        negative number) try to enter it if their event's type ``kinds`` is its entry's."""
        for j, journey in enumerate(self.plan.journeys):
            if journey.entry_kind is None:
                continue
            takes = (entry == j) & (kinds == journey.entry_kind)
            if takes.any():
                self._enter(j, rows[takes], ids[takes], "event")

    def _react(self, lanes_: np.ndarray, ids: np.ndarray) -> None:
        """Runs take an event: milestones, then goals and exit rules, then (not held out)
        handlers, a held send dropped by an opt-out, the arm of the wait they are at; an event
        some wait of the journey takes that nothing took here is ignored. (Each run is of
        another customer: the runs of a journey take their events of every type together.)"""
        if not len(lanes_):
            return
        lanes, plan, book = self.lanes, self.plan, self.book
        kinds = book.kind[ids]
        one = len(plan.journeys) == 1   # every live run is the journey's
        for j in self.journeys_among(lanes_):
            journey = plan.journeys[j]
            if one:
                chosen, event, types = lanes_, ids, kinds
            else:
                mine = lanes.j[lanes_] == j
                chosen, event, types = lanes_[mine], ids[mine], kinds[mine]
            # a type the journey takes no other way: only a send held for quiet hours, which
            # an opt-out drops, takes it
            other = ~self.interest_kind[j][types]
            if other.any():
                other &= ~self.leaving_kind[types] | (lanes.phase[chosen] != REST) | \
                    (lanes.rest[chosen] != QUIET)
                if other.any():
                    keep = ~other
                    chosen, event, types = chosen[keep], event[keep], types[keep]
            if len(chosen):
                self._react_to(journey, types, chosen, event)

    def _react_to(self, journey, kinds, chosen, event) -> None:
        """``_react`` for the runs ``chosen`` of one journey, taking events ``event`` of
        types ``kinds`` (one per run)."""
        lanes, j = self.lanes, journey.j
        at, seq = self.book.t[event], self.book.q[event]
        scope = self.scope(j, chosen, event, at, seq)
        age = at - lanes.entered[chosen]
        taken = self.milestones(journey, kinds, chosen, scope, at)
        ending = journey.ending(kinds, age, scope)
        ends = ending >= 0
        if ends.any():
            self.end(chosen[ends], ending[ends], at=at[ends], seq=seq[ends])
        going = ~ends & (lanes.phase[chosen] != HELD)
        moved = np.zeros(len(chosen), dtype=bool)
        for k in distinct_codes(kinds) if journey.handlers else ():
            for h, handler in enumerate(journey.handlers.get(k, ())):
                open_ = going & (kinds == k)
                if not open_.any():
                    break
                ok = holds_where(handler.tree, scope, open_)
                if not ok.any():
                    continue
                steps.actions(self, journey, handler.actions, chosen[ok], scope.subset(ok), (k, h))
                self.tally.handled(j, k, lanes.c[chosen[ok]])
                taken |= ok
                if handler.to is not None:
                    jumping = chosen[ok]
                    self._leave(jumping)
                    self.go(jumping, np.full(len(jumping), handler.to),
                            np.full(len(jumping), handler.why), at[ok], seq[ok],
                            self.book.depth[event[ok]])
                    moved |= ok
                    going &= ~ok
        resting = going & (lanes.phase[chosen] == REST)
        leaving = self.leaving_kind[kinds]
        if leaving.any():
            dropped = resting & leaving & (lanes.rest[chosen] == QUIET)
            if dropped.any():
                held = chosen[dropped]
                pos = lanes.pos[held]
                for s in distinct_codes(pos):
                    self.tally.result(j, s, "skipped", lanes.c[held[pos == s]], "opted out")
                self._leave(held)
                self.go(held, journey.next[pos], np.full(len(held), journey.why("next")),
                        at[dropped], seq[dropped], self.book.depth[event[dropped]])
                moved |= dropped
                resting &= ~dropped
        waiting = resting & (lanes.rest[chosen] == EVENT)
        self._take_arms(journey, kinds, chosen, event, scope, waiting, at, seq, moved)
        awaited = self.awaited_kind[j][kinds]
        if awaited.any():
            ignored = awaited & ~ends & ~taken & ~moved & (lanes.phase[chosen] != HELD) & \
                (lanes.phase[chosen] != FREE)
            if ignored.any():
                held = chosen[ignored]
                self.tally.ignored(j, lanes.pos[held], lanes.c[held])

    def _take_arms(self, journey, kinds, chosen, event, scope, waiting, at, seq, moved) -> None:
        """Runs ``waiting`` (a mask of ``chosen``) at a wait for events take the first arm of
        their step whose type is their event's and whose condition holds (``moved``: marked)."""
        if not waiting.any():
            return
        lanes, j = self.lanes, journey.j
        pos = lanes.pos[chosen]
        for s in distinct_codes(pos[waiting]):
            open_ = waiting & (pos == s)
            for arm in journey.arms[s]:
                mine = open_ & (kinds == arm.kind)
                if not mine.any():
                    continue
                ok = holds_where(arm.tree, scope, mine)
                if ok.any():
                    taking = chosen[ok]
                    if s in journey.ladders:
                        self.tally.ladder(lanes.c[taking], at[ok], seq[ok], lanes.run[taking],
                                          self.plan.step_code(j, s))
                    self._leave(taking)
                    lanes.ev[taking] = event[ok]
                    self._context(taking, event[ok])
                    self.go(taking, np.full(len(taking), arm.to), np.full(len(taking), arm.why),
                            at[ok], seq[ok], self.book.depth[event[ok]])
                    moved |= ok
                    open_ &= ~ok

    def milestones(self, journey, kinds, chosen, scope, at) -> np.ndarray:
        """Each milestone of events of type ``kinds`` (one for all runs, or one each) reached
        for the first time in the runs."""
        lanes = self.lanes
        taken = np.zeros(len(chosen), dtype=bool)
        if not journey.milestones:
            return taken
        reached = lanes.flags("milestone", journey.j)
        age = at - lanes.entered[chosen]
        for milestone in journey.milestones:
            of_kind = kinds == milestone.kind
            if not np.any(of_kind):
                continue
            ok = ~reached[chosen, milestone.index] & of_kind
            if milestone.within is not None:
                ok &= age <= milestone.within
            if ok.any():
                ok = holds_where(milestone.tree, scope, ok)
            if ok.any():
                got = chosen[ok]
                reached[got, milestone.index] = True
                self.tally.milestone(journey.j, milestone.index, lanes.c[got], lanes.held[got],
                                     (at[ok] if np.ndim(at) else at) - lanes.entered[got])
                taken |= ok
        return taken

    def _context(self, lanes_: np.ndarray, ids: np.ndarray) -> None:
        """``run.event = event``, ``run.context.update(run.event)``: the event's top-level keys
        replace the context's (and what set wrote there)."""
        lanes = self.lanes
        lanes.forget_event(lanes_)
        for key, refs in lanes.contexts.items():
            has = self.book.has_key(ids, key)
            refs[lanes_[has]] = ids[has]
            lanes.forget(lanes_[has], key)

    def _leave(self, lanes_: np.ndarray) -> None:
        """Runs leave the step they rest at (their timer is cancelled)."""
        self.lanes.timer_t[lanes_] = np.inf

    # --- entering -----------------------------------------------------------------------------

    def _enter(self, j: int, rows: np.ndarray, ids: np.ndarray, how: str) -> None:
        """Customers try to enter journey ``j`` on events ``ids`` (the entry condition, the
        audience and the re-entry rule decide), as ``Executor._try_enter``."""
        plan = self.plan
        journey = plan.journeys[j]
        program = journey.program
        book = self.book
        at, seq = book.t[ids], book.q[ids]
        scope = Scope(self, rows, journey, None, ids, False, True, at, seq, None)
        ok = holds(journey.entry_tree, scope) & holds(journey.audience_tree, scope)
        # a journey's row, then the customers: a faster gather than by a pair of indexes
        entries, active = self.entries[j][rows], self.active[j][rows]   # (counted on from them)
        entered = entries > 0
        if program.reentry == "never":
            ok &= ~entered
        elif program.reentry != "always":
            ok &= (active == 0) & (~entered | (at - self.last_entry[j][rows] >= (program.reentry_after or 0)))
        if self.keys is not None:   # a usable key no live run of the journey has
            ok[ok] = self.keys.admits(j, rows[ok], ids[ok])
        rows, ids, at, seq = rows[ok], ids[ok], at[ok], seq[ok]
        if not len(rows):
            return
        entries, active = entries[ok], active[ok]
        lanes = self.lanes
        chosen = lanes.open(j, rows)
        lanes.reset(chosen, j)
        if self.keys is not None:
            self.keys.opened(j, chosen, ids)
        self.entries[j][rows] = entries + 1   # (a customer twice: once, as ``+=`` would)
        self.last_entry[j][rows] = at
        self.active[j][rows] = active + 1
        lanes.entered[chosen], lanes.t[chosen], lanes.s[chosen] = at, at, seq
        lanes.ev[chosen] = ids
        self._context(chosen, ids)
        lanes.depth[chosen] = book.depth[ids]
        held = np.zeros(len(rows), dtype=bool)
        if journey.holdout:
            held = self._holdout_buckets(journey, rows) < journey.holdout
        lanes.held[chosen] = held
        self.tally.entered(j, rows, held, self.customers.seg[rows])
        if held.any():
            holding = chosen[held]
            self.open_kpis(journey, holding, journey.start, at[held], seq[held])
            self.hold(holding, journey, journey.start)
        treated = chosen[~held] if journey.holdout else chosen
        if len(treated):   # (one step and edge for all: ``go`` writes them to every run)
            self.go(treated, journey.start, journey.entry_why if how == "event" else journey.why(how))

    def _holdout_buckets(self, journey, rows: np.ndarray) -> np.ndarray:
        """The customers' buckets of the journey's entry holdout: a customer's is the same at
        every entry, so each is hashed once (at their first)."""
        known = self._holdout_of.get(journey.j)
        if known is None:
            known = self._holdout_of[journey.j] = np.full(self.n, np.nan)
        new = rows[np.isnan(known[rows])]
        if len(new):
            new = distinct_rows(new, self.n)
            known[new] = buckets(self.spec.seed, ("holdout", journey.journey_id), self.ids(new))
        return known[rows]

    def hold(self, lanes_: np.ndarray, journey, at_step: int) -> None:
        """Runs are held out (the entry holdout, or a split's control arm): only their goals,
        milestones and exit rules reach them, until the longest goal or milestone window
        after their entry closes."""
        lanes = self.lanes
        window = journey.window
        if window == 0:
            self.end(lanes_, journey.why("holdout without goals"))
            return
        lanes.phase[lanes_] = HELD
        lanes.rest[lanes_] = HOLDOUT
        if window is None:
            lanes.timer_t[lanes_] = np.inf
        else:
            deadline = lanes.entered[lanes_] + window
            over = deadline <= lanes.t[lanes_]
            if over.any():
                self.end(lanes_[over], journey.why("holdout goal window over"))
            waiting = lanes_[~over]
            lanes.timer_t[waiting] = deadline[~over]
            lanes.timer_q[waiting] = self.fresh()
            self.timed(waiting)
            lanes.timer_kind[waiting] = EXPIRY
        self.idle(lanes_)

    def open_kpis(self, journey, lanes_, s: int, at, seq) -> None:
        """The KPIs entering step ``s`` opens, once per run."""
        kpis = journey.kpis_at.get(s) if s >= 0 else None
        if not kpis:
            return
        lanes = self.lanes
        opened = lanes.flags("kpi", journey.j)
        for k in kpis:
            new = ~opened[:, k][lanes_]   # the column, then the runs: a faster gather
            if new.any():
                mine = lanes_[new]
                opened[:, k][mine] = True
                at_ = np.broadcast_to(at, lanes_.shape)[new]
                self.tally.observation(journey.j, k, lanes.c[mine], lanes.run[mine], lanes.held[mine],
                                       at_, np.broadcast_to(seq, lanes_.shape)[new],
                                       at_ + journey.kpis[k].within)

    def _occurrences(self) -> None:
        """Each scheduled journey's occurrences per zone, from the first arrival of the zone on
        (its timer is armed by the zone's first event) up to the horizon."""
        plan, customers = self.plan, self.customers
        for journey in plan.journeys:
            if journey.schedule is None:
                continue
            times = self.spec.clock.occurrences(journey.schedule)
            keys = self.spec.clock.zone_keys
            first_arrival = {}
            for code in np.unique(customers.zone).tolist():
                key = keys[code]
                arrivals = customers.arrival[np.isin(customers.zone, [c for c, k in enumerate(keys) if k == key])]
                first_arrival[key] = arrivals.min() if len(arrivals) else np.inf
            per_zone = []
            for code in range(len(keys)):
                table = times[code]
                start = first_arrival.get(keys[code], np.inf)
                per_zone.append(table[table > start])
            self.occurrences[journey.j] = per_zone
            for code, table in enumerate(per_zone):
                mine = np.flatnonzero(customers.zone == code)
                self.occ_index[journey.j, mine] = np.searchsorted(table, customers.arrival[mine], side="left")
            self.occ_q[journey.j] = self.fresh()
            # the zones' tables end to end, each closed by inf (a customer's index stops at
            # their table's end), and where each customer's zone's table begins in it
            starts = np.cumsum([0] + [len(table) + 1 for table in per_zone])
            self.occ_flat[journey.j] = np.concatenate([np.append(table, np.inf) for table in per_zone])
            from ...runtime.events import iso
            self.occ_stamps[journey.j] = np.array(   # each occurrence's ISO stamp, made once
                [iso(t) if t < np.inf else None for t in self.occ_flat[journey.j].tolist()], dtype=object)
            self.occ_base[journey.j] = starts[customers.zone]
            self.occ_next[journey.j] = self.occ_flat[journey.j][self.occ_base[journey.j] +
                                                                self.occ_index[journey.j]]
            if self.lineage is not None:
                self.occ_node[journey.j] = self._occurrence_nodes(times, per_zone)

    def _occurrence_nodes(self, times: list, per_zone: list) -> np.ndarray:
        """The nodes of a schedule's occurrences, laid out as ``occ_flat``: per zone, every
        occurrence after the cohort's start, each made by the one before and the first by the
        load (as the reference engine's, ``Simulation._occurrence_node``)."""
        found = []
        for table, taken in zip(times, per_zone):
            table = table[table > self.plan.cohort.start]
            makers = self.lineage.size + np.arange(-1, len(table) - 1)   # each the one before
            makers[:1] = self.load
            nodes = self.lineage.add(table, TIMER_ITEM, makers)
            found.append(np.append(nodes[len(table) - len(taken):], -1))
        return np.concatenate(found)

    def _occurrence_time(self, j: int, rows) -> np.ndarray:
        """The customers' next occurrence of scheduled journey ``j`` (inf: none left), kept
        per customer as their index moves on (one gather per ``schedule``, not three)."""
        return self.occ_next[j][rows]

    def _occur(self, j: int, rows: np.ndarray) -> None:
        """A scheduled entry's occurrence: every known customer of the zone tries to enter,
        with the event data ``{"occurrence": <ISO time>}``; the next occurrence follows."""
        index = self.occ_index[j][rows]
        place = self.occ_base[j][rows] + index   # in the zones' tables end to end
        at = self.occ_flat[j][place]
        mark = self.fresh()
        self.cur_t[rows], self.cur_s[rows] = at, mark
        if self.lineage is not None:
            self.node[rows] = self.occ_node[j][place]
        self.occ_index[j][rows] = index + 1
        self.occ_next[j][rows] = self.occ_flat[j][place + 1]
        self.occ_fresh[j][rows] = True
        ids = self._occurrence_events(j, place, mark)
        self._enter(j, rows, ids, "entry at")
        self.unscheduled[np.compress(self.executing[rows] < 0, rows)] = True   # (see ``_take``)

    def _occurrence_events(self, j: int, place: np.ndarray, mark: int) -> np.ndarray:
        """The event of each customer's occurrence (``place`` in ``occ_flat``), one per
        occurrence taken, shared by the customers taking it together: its instant and data
        are the same for each of them, and no question by customer or type finds it."""
        flat = self.occ_flat[j]
        taken = np.zeros(len(flat), dtype=bool)
        taken[place] = True
        distinct = np.flatnonzero(taken)
        s = self.plan.occurrence_sources[j]
        ids = self.book.add(np.full(len(distinct), -1), flat[distinct], mark,
                            self.plan.sources[s].kind, s, 0, -1,
                            {("occurrence",): self.occ_stamps[j][distinct]}, None, searched=False)
        event_of = np.zeros(len(flat), dtype=np.int64)
        event_of[distinct] = ids
        return event_of[place]

    # --- moving, resting, ending --------------------------------------------------------------

    def go(self, lanes_: np.ndarray, to, why, at=None, seq=None, depth=None) -> None:
        """Runs go on to ``to`` (by the edge ``why``) and execute its steps now (at the event
        ``(at, seq)`` that moved them, or where they are)."""
        lanes = self.lanes
        lanes.phase[lanes_] = EXEC
        lanes.nxt[lanes_], lanes.why[lanes_] = to, why
        if at is not None:
            lanes.t[lanes_], lanes.s[lanes_] = at, seq
            lanes.hops[lanes_] = 0
        if depth is not None:
            lanes.depth[lanes_] = depth
        self.executing[lanes.c[lanes_]] = lanes_

    def go_on(self, lanes_: np.ndarray, to, why) -> None:
        """``go`` for runs executing a step now, which go on from it at once: they are
        executing already (their phase, their customers' ``executing``), at their instant."""
        self.lanes.nxt[lanes_], self.lanes.why[lanes_] = to, why

    def rest(self, lanes_: np.ndarray, kind: int, due=None, timer=WAKE) -> None:
        """Runs rest at their step (waiting for time, events or quiet hours to end), with a
        timer at ``due`` (None: no timer)."""
        lanes = self.lanes
        lanes.phase[lanes_] = REST
        lanes.rest[lanes_] = kind
        if due is None:
            lanes.timer_t[lanes_] = np.inf
        else:
            lanes.timer_t[lanes_] = due
            lanes.timer_q[lanes_] = self.fresh()
            self.timed(lanes_)
            lanes.timer_kind[lanes_] = timer
        self.idle(lanes_)

    def idle(self, lanes_: np.ndarray, rows=None) -> None:
        """The customers (``rows``, when the caller has them) of runs that stopped executing:
        on with their event, or on to the next thing that happens to them."""
        rows = self.lanes.c[lanes_] if rows is None else rows
        self.executing[rows] = -1
        free = rows[self.item[rows] < 0]
        self.unscheduled[free] = True

    def end(self, lanes_: np.ndarray, why, at=None, seq=None) -> None:
        """Runs end (``why``: the reason's code, which gives the outcome)."""
        if not len(lanes_):
            return
        lanes = self.lanes
        if self.keys is not None:
            self.keys.ended(lanes_, at, seq)
        every = None   # the customers of all the runs, when one journey's are all of them
        for j in self.journeys_among(lanes_):
            # every run is the journey's when it is the only one
            mine = slice(None) if len(self.plan.journeys) == 1 else lanes.j[lanes_] == j
            chosen = lanes_[mine]
            codes = why if np.ndim(why) == 0 else why[mine]   # (one for all: kept so)
            rows = lanes.c[chosen]
            every = rows if isinstance(mine, slice) else None
            held = lanes.held[chosen]
            won = self.tally.ended(j, rows, lanes.pos[chosen], codes, held)
            if won is not None:   # their time from entry to the end, and their segments
                when = lanes.t[chosen] if at is None else np.broadcast_to(at, lanes_.shape)[mine]
                self.tally.converted(j, rows[won], when[won] - lanes.entered[chosen[won]],
                                     self.customers.seg[rows[won]])
            if self.tally.experimenting[j]:   # (the codes are logged: a copy)
                self.tally.run(j, rows, lanes.run[chosen], held, lanes.arms(j)[chosen],
                               lanes.flags("milestone", j)[chosen],
                               np.array(np.broadcast_to(codes, rows.shape)))
            self.active[j][rows] -= 1
        lanes.close(lanes_, every)
        self.idle(lanes_, every)

    # --- at the end ---------------------------------------------------------------------------

    def finish(self):
        """The runs still inside at the horizon credit their arms too; ``counts`` per journey."""
        lanes = self.lanes
        size = lanes.size
        live = np.flatnonzero((lanes.phase[:size] != FREE) & ~self.escaped[lanes.c[:size]])
        for j in self.journeys_among(live):
            if not self.tally.experimenting[j]:
                continue
            chosen = live[lanes.j[live] == j]
            self.tally.run(j, lanes.c[chosen], lanes.run[chosen], lanes.held[chosen],
                           lanes.arms(j)[chosen], lanes.flags("milestone", j)[chosen],
                           np.full(len(chosen), -1))
        return self


__all__ = ["Block", "buckets"]
