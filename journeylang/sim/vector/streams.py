"""Vectorised simulation: baseline events, drawn for each customer from arrival to the horizon.

A baseline is a Poisson process, so its events in (arrival, horizon] are a Poisson count of
uniform times. Every event is drawn up front (as the reference engine queues them when it
samples a customer), so goals, waits, milestones and ignored events all see the same events.
"""
from __future__ import annotations

import numpy as np


class Stream:
    """One baseline source's events for the customers of a block, sorted by customer and time
    (``start[i]:start[i + 1]`` are customer ``i``'s); ``seq`` orders them before every event the
    journey causes, as on the reference engine's queue."""

    def __init__(self, seq: int, counts: np.ndarray, times: np.ndarray):
        self.seq = seq
        self.owner = np.repeat(np.arange(len(counts)), counts)
        order = np.lexsort((times, self.owner))
        self.times = times[order]
        self.start = np.concatenate([[0], np.cumsum(counts)])
        self.next = self.start[:-1].copy()   # per customer: the first event not yet behind them

    @classmethod
    def draw(cls, seq: int, gen: np.random.Generator, rows: np.ndarray, arrival: np.ndarray,
             horizon: float, rate: float, n: int) -> "Stream":
        """Events at ``rate`` a second for customers ``rows`` (of ``n``), after each one's
        arrival up to the horizon."""
        span = np.maximum(horizon - arrival[rows], 0.0)
        counts = np.zeros(n, dtype=np.int64)
        counts[rows] = gen.poisson(rate * span)
        mine = np.repeat(rows, counts[rows])
        times = arrival[mine] + gen.random(len(mine)) * (horizon - arrival[mine])
        return cls(seq, counts, times)

    def first(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The customers among ``rows`` with any event, and the time of their first."""
        has = rows[self.start[rows + 1] > self.start[rows]]
        return has, self.times[self.start[has]]

    def of(self, customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every event of the customers marked in ``customers`` (a mask): owners and times."""
        mine = customers[self.owner]
        return self.owner[mine], self.times[mine]

    def after(self, rows: np.ndarray, now: np.ndarray, split: np.ndarray) -> np.ndarray:
        """Each customer's first event after the instant ``(now, split)`` (+inf: none). A
        customer's instants only move forward, so the search goes on from the last one."""
        at, end = self.next[rows], self.start[rows + 1]
        if not len(self.times):
            return np.full(len(rows), np.inf)
        while True:
            times = self.times[np.minimum(at, len(self.times) - 1)]
            behind = (at < end) & ((times < now) | ((times == now) & (self.seq <= split)))
            if not behind.any():
                break
            at += behind
        self.next[rows] = at
        return np.where(at < end, self.times[np.minimum(at, len(self.times) - 1)], np.inf)
