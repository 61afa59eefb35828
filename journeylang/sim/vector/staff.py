"""Vectorised simulation: staff queues and SLAs, settled once every customer has run.

When nothing reacts to ``handoff_resolved`` or ``sla_breached`` (``plan.py`` hands any other
journey to the reference engine), the queues change nothing customers do: each role serves its
handoffs first in, first out, one every P/C seconds (``sim.staff.StaffQueue``), which is a
running maximum over the handoffs in order of time; each customer's resolutions then meet their
oldest open SLA of the role, as the runtime does, a ladder's resolution meets the SLAs its rungs
opened in the run that are still open, and SLAs not met by their deadline breach. The handoffs
and ladder resolutions of every block and of the customers on the reference path are settled
together, so the queues are the same however the cohort was split.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from ..lineage import END, Lineage
from ..staff import StaffQueue

MET, BREACHED = "met", "breached"
RESOLVED, LADDER, DEADLINE = 0, 1, 2   # what happens to a customer's SLAs (``_customer``)
FEW = 16   # names of a column found by comparison (``_names``); beyond, a lookup per row


class Records:
    """Columns of records by customer index; ``+`` adds the records of another part of the
    cohort."""

    COLUMNS: tuple[str, ...] = ()
    OBJECTS: tuple[str, ...] = ()   # columns of names

    def __init__(self, **columns):
        for name in self.COLUMNS:
            default = np.zeros(0, dtype=object if name in self.OBJECTS else float)
            setattr(self, name, np.asarray(columns.get(name, default)))

    def __add__(self, other):
        return type(self)(**{name: np.concatenate([getattr(self, name), getattr(other, name)])
                             for name in self.COLUMNS})

    def __len__(self) -> int:
        return len(self.customer)


class Handoffs(Records):
    """Handoffs: time and the key of the instant of the item that made them (``seq``: in the
    order of sequence numbers, in which events at one time are handled; a timer's key is a
    number above every event made before it was handled), the sequence number of the staff's
    resolution event (``made``), the order they were made in (``order``: 0 when ``(at, seq)``
    says it), role, SLA deadline (NaN: none), journey, run (an id among the customer's runs),
    step (``Plan.step_code``), and for correlated runs the run's key (-1: none) and the instant
    it ended (``end_t`` inf: not ended): its resolution meets only SLAs of runs of its key or
    ended (``correlation``); the node of the item that made it in ``lineage`` (``sim.lineage``:
    kept where some role's queue depends on the order of different customers' handoffs; -1:
    none)."""

    COLUMNS = ("customer", "at", "seq", "made", "order", "role", "due", "journey", "run", "step",
               "key", "end_t", "end_s", "node")
    OBJECTS = ("role", "journey")

    def __init__(self, lineage: Lineage | None = None, **columns):
        if "node" not in columns:
            columns["node"] = np.full(len(columns.get("customer", ())), -1, dtype=np.int64)
        super().__init__(**columns)
        self.lineage = lineage

    def __add__(self, other):
        return Handoffs.joined([self, other])

    @staticmethod
    def joined(parts: list["Handoffs"]) -> "Handoffs":
        """The handoffs of several parts in one, each column copied once, their lineages
        joined."""
        columns = {name: np.concatenate([getattr(h, name) for h in parts])
                   for name in Handoffs.COLUMNS if name != "node"}
        kept = [h for h in parts if h.lineage is not None]
        if not kept:
            return Handoffs(**columns)
        lineage, offsets = Lineage.joined([h.lineage for h in kept])
        offsets = iter(offsets)   # (one per part with a lineage, in their order)
        columns["node"] = np.concatenate([
            h.node if h.lineage is None else np.where(h.node >= 0, h.node + next(offsets), -1)
            for h in parts]).astype(np.int64)
        return Handoffs(lineage, **columns)


def unkeyed(n: int) -> dict:
    """The key columns of ``n`` handoffs of runs without a correlation key."""
    return {"key": np.full(n, -1, dtype=np.int64), "end_t": np.full(n, np.inf),
            "end_s": np.zeros(n)}


class Ladders(Records):
    """Ladder resolutions: time and the resolving event's sequence number, run, and the
    ladder's wait step (``Plan.step_code``), whose rungs reached (``Plan.rungs``) have their
    SLAs met."""

    COLUMNS = ("customer", "at", "seq", "run", "wait")


def settle(handoffs: Handoffs, roles: dict, horizon: float, ladders: Ladders | None = None,
           rungs: dict | None = None):
    """The queue of each role (declared ones, and any role handed off to) and, per journey and
    role, the SLAs opened, met and breached (``ladders`` resolved, ``rungs``: the rungs each
    ladder wait has reached, by step code); and how many ``handoff_resolved`` events there were
    by the horizon and to how many customers; per journey, the resolutions that reached none
    of its SLAs, passing over those of runs of other keys (``undelivered``)."""
    queues, served = {}, np.full(len(handoffs), np.inf)
    order = fifo(handoffs)
    names = sorted(set(roles) | set(handoffs.role.tolist()))
    for role in names:
        capacity, per = roles.get(role, (None, None))
        interval = 0.0 if capacity is None else (per / capacity if capacity > 0 else math.inf)
        mine = order[handoffs.role[order] == role]
        arrivals = handoffs.at[mine]
        if math.isinf(interval):
            times = np.full(len(mine), np.inf)
        elif interval == 0:
            times = arrivals.copy()
        else:
            steps = np.arange(len(mine)) * interval
            times = np.maximum.accumulate(arrivals - steps) + steps
        served[mine] = times
        queues[role] = StaffQueue(interval, arrivals, times)
    closed = _closed(handoffs, ladders if ladders is not None else Ladders(), rungs or {})
    undelivered: Counter = Counter()
    slas = _slas(handoffs, served, closed, horizon, undelivered)
    resolved = served <= horizon
    return queues, slas, int(resolved.sum()), _distinct_customers(handoffs.customer[resolved]), \
        undelivered


def fifo(handoffs: Handoffs) -> np.ndarray:
    """The handoffs in the order the runtime makes them: by time; at one time each customer's
    in their own order (``seq``, then ``order``), and different customers' in the order of
    the chains of the items that made them (``sim.lineage``), the same chain (one occurrence
    of a scheduled entry, taken by every customer of its zone) in the order of their ids as
    text."""
    order = np.lexsort((handoffs.order, handoffs.seq, handoffs.customer, handoffs.at))
    at, customer = handoffs.at[order], handoffs.customer[order]
    same = at[1:] == at[:-1]
    shared = same & (customer[1:] != customer[:-1])   # another customer at the same time
    if not shared.any():
        return order
    group = np.cumsum(np.r_[0, ~same])                # one per time
    tied = np.isin(group, group[1:][shared])
    places = np.flatnonzero(tied)                     # (each group's together, in order)
    order[places] = _taking_turns(handoffs, order[places], group[places])
    return order


def _taking_turns(handoffs: Handoffs, members: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Handoffs of several customers at one time (``members``, of each ``group``: by customer,
    each one's in their own order) in the order of their items across customers: each turn,
    in the order of chains and ids, goes to its customer's next handoff."""
    n = len(members)
    customer = handoffs.customer[members]
    turns = _by_chain(handoffs.lineage, handoffs.node[members], group, customer)
    # each turn's (group, customer) and how many of theirs came before it
    by_pair = np.lexsort((np.arange(n), customer[turns], group[turns]))
    new = _pairs_begin(group[turns][by_pair], customer[turns][by_pair])
    starts = np.flatnonzero(new)
    before = np.empty(n, dtype=np.int64)
    before[by_pair] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    pair = np.empty(n, dtype=np.int64)
    pair[by_pair] = np.cumsum(new) - 1
    # ``members`` holds each (group, customer)'s handoffs together, the pairs in that order
    return members[np.flatnonzero(_pairs_begin(group, customer))[pair] + before]


def _pairs_begin(group: np.ndarray, customer: np.ndarray) -> np.ndarray:
    """Where each stretch of one (group, customer) begins, in columns sorted by them."""
    return np.r_[True, (group[1:] != group[:-1]) | (customer[1:] != customer[:-1])]


def _by_chain(lineage: Lineage | None, nodes: np.ndarray, group: np.ndarray,
              customer: np.ndarray) -> np.ndarray:
    """The order of handoffs by group, then the chain of the item that made them (compared
    level by level, only as deep as two of different customers still agree), then the
    customer's id as text."""
    keys, current = [group], nodes
    live = nodes >= 0 if lineage is not None else np.zeros(len(nodes), dtype=bool)
    while True:
        order = np.lexsort(keys[::-1])
        alike = customer[order[1:]] != customer[order[:-1]]
        for key in keys:
            alike &= key[order[1:]] == key[order[:-1]]
        if not alike.any():
            return order
        if not live.any():   # the same chain: one item for several customers
            ids = np.array([b"c%d" % (c + 1) for c in customer.astype(np.int64).tolist()])
            return np.lexsort([ids] + keys[::-1])
        safe = np.where(live, current, 0)
        keys += [np.where(live, lineage.t[safe], -np.inf),
                 np.where(live, lineage.level[safe], -np.inf)]
        current = lineage.up[safe]
        live = live & (current != END)


def _distinct_customers(customers: np.ndarray) -> int:
    """How many distinct customer indexes (whole numbers from 0) a column holds."""
    if not len(customers):
        return 0
    seen = np.zeros(int(customers.max()) + 1, dtype=bool)
    seen[customers.astype(np.int64)] = True
    return int(np.count_nonzero(seen))


def _closed(handoffs: Handoffs, ladders: Ladders, rungs: dict) -> tuple[np.ndarray, np.ndarray]:
    """When a ladder's resolution meets each handoff's SLA (time inf: never) and its event's
    sequence number: the first resolution after the handoff, in its run, of a ladder wait whose
    rungs reached include its step (the runtime's ``Executor._resolve_ladder``)."""
    closed, closed_seq = np.full(len(handoffs), np.inf), np.zeros(len(handoffs))
    if not len(handoffs) or not len(ladders) or not rungs:
        return closed, closed_seq
    wait = ladders.wait.astype(np.int64)
    pairs = [(np.flatnonzero(wait == w), np.asarray(steps, dtype=np.int64))
             for w, steps in rungs.items()]
    rows = np.concatenate([np.repeat(mine, len(steps)) for mine, steps in pairs])
    steps = np.concatenate([np.tile(steps, len(mine)) for mine, steps in pairs])
    # handoffs and (ladder, rung) pairs in one order: by customer, run and step, then by
    # instant; at the very instant of a handoff, a resolution comes first (it did not follow)
    n = len(handoffs)
    customer = np.r_[handoffs.customer, ladders.customer[rows]].astype(np.int64)
    run = np.r_[handoffs.run, ladders.run[rows]].astype(np.int64)
    step = np.r_[handoffs.step, steps].astype(np.int64)
    at = np.r_[handoffs.at, ladders.at[rows]].astype(float)
    seq = np.r_[handoffs.seq, ladders.seq[rows]].astype(float)
    is_handoff = np.r_[np.ones(n, dtype=bool), np.zeros(len(rows), dtype=bool)]
    # one integer per (customer, run, step), from each column's distinct values
    customer, run, step = (np.unique(column, return_inverse=True)[1].reshape(-1)
                           for column in (customer, run, step))
    key = (customer * (int(run.max()) + 1) + run) * (int(step.max()) + 1) + step
    order = np.lexsort((is_handoff, seq, at, key))
    key = key[order]
    group = np.cumsum(np.r_[True, key[1:] != key[:-1]])
    places = np.arange(len(order))
    # the next resolution at or after each place (the end: none)
    nearest = np.where(is_handoff[order], len(order), places)
    nearest = np.minimum.accumulate(nearest[::-1])[::-1]
    mine = is_handoff[order] & (nearest < len(order))
    found = nearest[mine]
    same = group[found] == group[mine]
    closed[order[mine][same]] = at[order[found[same]]]
    closed_seq[order[mine][same]] = seq[order[found[same]]]
    return closed, closed_seq


def _slas(handoffs: Handoffs, served: np.ndarray, closed: tuple, horizon: float,
          undelivered: Counter) -> dict:
    """journey -> role -> opened / met / breached (``closed``: ``_closed``'s)."""
    found: dict = defaultdict(lambda: defaultdict(Counter))
    if not len(handoffs):
        return found
    due = handoffs.due.astype(float)
    has = ~np.isnan(due)
    roles, role_codes = _names(handoffs.role)
    customers = handoffs.customer.astype(np.int64)
    order = np.lexsort((role_codes, customers))          # grouped by (customer, role)
    keys = customers[order] * len(roles) + role_codes[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    single = np.zeros(len(handoffs), dtype=bool)
    single[order[starts[sizes == 1]]] = True
    if (sizes > 1).any():
        apart = _apart(handoffs, order, sizes, due, served, closed[0], horizon)
    else:   # every customer's only handoff to each role: nothing to tell apart
        apart = np.zeros(len(handoffs), dtype=bool)
    _singles(handoffs, np.flatnonzero((single | apart) & has), due, served, closed[0], horizon,
             found)
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        mine = order[start:start + size]
        if not apart[mine[0]]:
            _customer(handoffs, mine, due, served, closed, horizon, found, undelivered)
    return found


def _apart(handoffs: Handoffs, order, sizes, due, served, closed, horizon) -> np.ndarray:
    """Which handoffs belong to a customer's handoffs to a role (``order`` grouped in groups of
    ``sizes``) that settle one by one, as if each were the customer's only one: each has an SLA,
    no ladder's resolution closes any, and what can touch an SLA (its resolution; its deadline,
    unless the resolution met it first) comes before the next is made, so a resolution can only
    meet its own SLA."""
    group = np.repeat(np.arange(len(sizes)), sizes)
    # in the order the SLAs were opened (``_customer``'s), group by group
    places = np.lexsort((order, handoffs.order[order], handoffs.seq[order], handoffs.at[order],
                         group))
    members, group = order[places], group[places]
    at, mine_due, mine_served = handoffs.at[members].astype(float), due[members], served[members]
    resolved = mine_served <= horizon
    deadline = (mine_due <= horizon) & ~(resolved & (mine_served <= mine_due))
    last = np.maximum(np.where(resolved, mine_served, -np.inf),
                      np.where(deadline, mine_due, -np.inf))
    last[np.isneginf(last)] = np.inf          # still open at the horizon
    fine = ~np.isnan(mine_due) & (closed[members] > horizon)
    same = group[1:] == group[:-1]
    fine[1:] &= ~same | (last[:-1] < at[1:])
    every = np.bincount(group, weights=~fine, minlength=len(sizes)) == 0
    apart = np.zeros(len(handoffs), dtype=bool)
    apart[members] = every[group]
    return apart


def _names(column: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The distinct names of a column of a few names, sorted, and each row's index among them
    (``np.unique`` with ``return_inverse``, without sorting the rows' strings)."""
    rest, seen = np.arange(len(column)), []
    while len(rest) and len(seen) < FEW:   # each name found by one comparison of the column
        value = column[rest[0]]
        same = column[rest] == value
        seen.append((str(value), rest[same]))
        rest = rest[~same]
    if len(rest):   # many names: a lookup per row
        values = column.tolist()
        names = sorted(set(map(str, values)))
        index = {name: k for k, name in enumerate(names)}
        return names, np.fromiter((index[str(v)] for v in values), dtype=np.int64,
                                  count=len(values))
    names = sorted({name for name, _ in seen})
    index = {name: k for k, name in enumerate(names)}
    codes = np.empty(len(column), dtype=np.int64)
    for name, rows in seen:
        codes[rows] = index[name]
    return names, codes


def _singles(handoffs: Handoffs, mine, due, served, closed, horizon, found) -> None:
    """The SLAs of handoffs that settle on their own (a customer's only one to the role, or
    ``_apart``): met when it is served, or a ladder's resolution comes, by its deadline and the
    horizon; else breached at the deadline."""
    due, served, closed = due[mine], served[mine], closed[mine]
    met = ((served <= horizon) & (served <= due)) | ((closed <= horizon) & (closed <= due))
    status = np.where(met, 1, np.where(due <= horizon, 2, 0))
    journeys, journey_codes = _names(handoffs.journey[mine])
    roles, role_codes = _names(handoffs.role[mine])
    codes = (journey_codes * len(roles) + role_codes) * 3 + status
    counts = np.bincount(codes, minlength=len(journeys) * len(roles) * 3)
    for code in np.flatnonzero(counts).tolist():
        pair, what = divmod(code, 3)
        table = found[str(journeys[pair // len(roles)])][str(roles[pair % len(roles)])]
        table["opened"] += int(counts[code])
        if what:
            table[(None, MET, BREACHED)[what]] += int(counts[code])


def _customer(handoffs: Handoffs, mine, due, served, closed, horizon, found,
              undelivered: Counter) -> None:
    """One customer's handoffs to one role, as the runtime's queue handles them: a resolution
    (an event made with its handoff) meets the oldest SLA open when it comes (of a run of its
    key or ended, for correlated runs), a ladder's resolution the SLAs it closes, and a
    deadline (a timer: after the events at its time) breaches its SLA if still open."""
    closed, closed_seq = closed
    at, seq, made = handoffs.at, handoffs.seq, handoffs.made
    opened = sorted((at[i], seq[i], handoffs.order[i], i) for i in mine.tolist()
                    if not np.isnan(due[i]))
    moments = []
    for i in mine.tolist():
        if served[i] <= horizon:
            moments.append((served[i], 0, made[i], i, RESOLVED))
    for _, _, _, i in opened:
        if closed[i] <= horizon:
            moments.append((closed[i], 0, closed_seq[i], i, LADDER))
        if due[i] <= horizon:
            moments.append((due[i], 1, 0.0, i, DEADLINE))
    moments.sort()
    state = {i: None for _, _, _, i in opened}
    keys, end_t, end_s = handoffs.key, handoffs.end_t, handoffs.end_s
    for when, _, key, i, what in moments:
        if what == RESOLVED:
            passed = {}
            for _, _, _, j in opened:   # the oldest SLA opened before the resolution came
                if state[j] is None and (at[j], seq[j]) < (when, key):
                    if keys[j] >= 0 and keys[j] != keys[i] and (end_t[j], end_s[j]) >= (when, key):
                        passed.setdefault(handoffs.journey[j], True)   # another key's, live
                        continue
                    state[j] = MET
                    passed[handoffs.journey[j]] = False
                    break
            for journey, missed in passed.items():
                if missed:
                    undelivered[journey] += 1
        elif state[i] is None:
            state[i] = MET if what == LADDER else BREACHED
    for _, _, _, i in opened:
        table = found[handoffs.journey[i]][handoffs.role[i]]
        table["opened"] += 1
        if state[i]:
            table[state[i]] += 1
