"""Runtime core: a simpy-like event loop (a heap of time, priority, sequence, item) and clocks.

The engine knows nothing of journeys: it orders items and hands each to a handler. Time is
virtual (``engine.now`` is the time of the item being handled), so the same loop runs live
ingestion (items at event times), a restart (timers reloaded from the store) and the simulator
(everything scheduled ahead, run to a horizon).
"""
from __future__ import annotations

import heapq
import time as _time
from typing import Any, Callable

# At the same instant an event is handled before a timer: an event that arrives exactly at a
# wait's deadline still counts ("within 24h" includes the 24th hour).
EVENT, TIMER = 0, 1


class Engine:
    """Items ordered by (time, priority, sequence); the sequence number breaks ties, so every
    run is deterministic. Sequence numbers are handed out here and persisted by the store."""

    def __init__(self, handler: Callable[[Any, int], None] | None, now: float = float("-inf"),
                 sequence: int = 0):
        self.handler = handler
        self.now = now
        self.sequence = sequence
        self._heap: list[tuple[float, int, int, Any]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, at: float, priority: int, item: Any, sequence: int | None = None) -> int:
        """Queue ``item`` at time ``at``; returns its sequence number (a new one by default)."""
        if sequence is None:
            sequence = self.sequence
            self.sequence += 1
        heapq.heappush(self._heap, (at, priority, sequence, item))
        return sequence

    def peek(self) -> float | None:
        """The time of the next item, or None when nothing is queued."""
        return self._heap[0][0] if self._heap else None

    def step(self) -> None:
        at, _, sequence, item = heapq.heappop(self._heap)
        if at > self.now:
            self.now = at
        self.handler(item, sequence)

    def run(self, until: float | None = None, priority: int = TIMER) -> int:
        """Handle every item up to (and including) ``until`` at ``priority``; returns the count.

        ``run(t, EVENT)`` handles what comes before an event at ``t`` and the events at ``t``,
        but leaves timers due at ``t`` for later; ``run(t)`` handles everything due by ``t``.
        """
        heap = self._heap
        if until is not None and (not heap or heap[0][0] > until):  # nothing due: most calls
            if until > self.now:
                self.now = until
            return 0
        handled, pop, handler = 0, heapq.heappop, self.handler
        if until is None:
            while heap:
                self.step()
                handled += 1
            return handled
        while heap:  # step(), inlined: one call less per item
            top = heap[0]
            at = top[0]
            if at > until or (at == until and top[1] > priority):
                break
            pop(heap)
            if at > self.now:
                self.now = at
            handler(top[3], top[2])
            handled += 1
        if until is not None and until > self.now:
            self.now = until
        return handled

    def clear(self) -> None:
        self._heap.clear()


class WallClock:
    """Real time: timers fire once the wall clock passes their due time."""

    def now(self) -> float:
        return _time.time()


class VirtualClock:
    """Time that moves only when told to: tests, replays, the simulator."""

    def __init__(self, start: float = 0.0):
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, moment: float) -> None:
        self._now = moment

    def advance(self, seconds: float) -> float:
        self._now += seconds
        return self._now
