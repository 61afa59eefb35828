"""Vectorised simulation: staff queues and SLAs, settled once every customer has run.

When nothing reacts to ``handoff_resolved`` or ``sla_breached`` (``plan.py`` hands any other
journey to the reference engine), the queues change nothing customers do: each role serves its
handoffs first in, first out, one every P/C seconds (``sim.staff.StaffQueue``), which is a
running maximum over the handoffs in order of time; each customer's resolutions then meet their
oldest open SLA of the role, as the runtime does, and SLAs not met by their deadline breach.
The handoffs of every block and of the customers on the reference path are settled together, so
the queues are the same however the cohort was split.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from ..staff import StaffQueue

MET, BREACHED = "met", "breached"


class Handoffs:
    """Handoffs by customer index: time, order within the customer, role, SLA deadline (NaN:
    none) and journey; ``+`` adds the handoffs of another part of the cohort."""

    COLUMNS = ("customer", "at", "seq", "role", "due", "journey")

    def __init__(self, **columns):
        for name in self.COLUMNS:
            default = np.zeros(0, dtype=object if name in ("role", "journey") else float)
            setattr(self, name, np.asarray(columns.get(name, default)))

    def __add__(self, other: "Handoffs") -> "Handoffs":
        return Handoffs(**{name: np.concatenate([getattr(self, name), getattr(other, name)])
                           for name in self.COLUMNS})

    def __len__(self) -> int:
        return len(self.customer)


def settle(handoffs: Handoffs, roles: dict, horizon: float):
    """The queue of each role (declared ones, and any role handed off to) and, per journey and
    role, the SLAs opened, met and breached; and how many ``handoff_resolved`` events there were
    by the horizon and to how many customers."""
    queues, served = {}, np.full(len(handoffs), np.inf)
    order = np.lexsort((handoffs.seq, handoffs.customer, handoffs.at))
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
    slas = _slas(handoffs, served, horizon)
    resolved = served <= horizon
    return queues, slas, int(resolved.sum()), len(np.unique(handoffs.customer[resolved]))


def _slas(handoffs: Handoffs, served: np.ndarray, horizon: float) -> dict:
    """journey -> role -> opened / met / breached."""
    found: dict = defaultdict(lambda: defaultdict(Counter))
    if not len(handoffs):
        return found
    due = handoffs.due.astype(float)
    has = ~np.isnan(due)
    roles, role_codes = np.unique(handoffs.role.astype(str), return_inverse=True)
    customers = handoffs.customer.astype(np.int64)
    order = np.lexsort((role_codes, customers))          # grouped by (customer, role)
    keys = customers[order] * len(roles) + role_codes[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    single = np.zeros(len(handoffs), dtype=bool)
    single[order[starts[sizes == 1]]] = True
    for i in np.flatnonzero(single & has).tolist():
        table = found[handoffs.journey[i]][handoffs.role[i]]
        table["opened"] += 1
        status = _single(due[i], served[i], horizon)
        if status:
            table[status] += 1
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        _customer(handoffs, order[start:start + size], due, served, horizon, found)
    return found


def _single(due: float, served: float, horizon: float) -> str | None:
    if served <= horizon and served <= due:
        return MET
    return BREACHED if due <= horizon else None


def _customer(handoffs: Handoffs, mine, due, served, horizon, found) -> None:
    """One customer's handoffs to one role: resolutions meet the oldest open SLA, in time
    order; at the same instant a resolution comes before a deadline. A resolution is an event
    queued when its handoff was made: at its instant it precedes an SLA opened then (events
    come before timers), unless it was made at that very instant, no later than the SLA."""
    opened = [(handoffs.at[i], handoffs.seq[i], i) for i in mine.tolist() if not np.isnan(due[i])]
    opened.sort()
    moments = []
    for i in mine.tolist():
        if served[i] <= horizon:
            moments.append((served[i], 0, i))           # a resolution (an event)
    for _, _, i in opened:
        if due[i] <= horizon:
            moments.append((due[i], 1, i))               # a deadline (a timer)
    moments.sort()
    state = {i: None for _, _, i in opened}
    for at, what, i in moments:
        if what == 0:
            for _, _, j in opened:
                if state[j] is None and (handoffs.at[j] < at or (
                        handoffs.at[j] == at == handoffs.at[i] and handoffs.seq[i] <= handoffs.seq[j])):
                    state[j] = MET
                    break
        elif state[i] is None:
            state[i] = BREACHED
    for _, _, i in opened:
        table = found[handoffs.journey[i]][handoffs.role[i]]
        table["opened"] += 1
        if state[i]:
            table[state[i]] += 1
