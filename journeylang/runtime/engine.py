"""Runtime core: a simpy-like event loop (items by time, priority and sequence) and clocks.

The engine knows nothing of journeys: it orders items and hands each to a handler. Time is
virtual (``engine.now`` is the time of the item being handled), so the same loop runs live
ingestion (items at event times), a restart (timers reloaded from the store) and the simulator
(everything scheduled ahead, run to a horizon).
"""
from __future__ import annotations

import heapq
import time as _time
from bisect import insort
from collections import deque
from itertools import chain, repeat
from typing import Any, Callable

# At the same instant an event is handled before a timer: an event that arrives exactly at a
# wait's deadline still counts ("within 24h" includes the 24th hour). A window's end (a KPI
# observation's due) comes after everything else at its instant, what the instant's events and
# timers cause included: an event at the very end of the window counts whatever made it.
EVENT, TIMER, LATE = 0, 1, 2


class Engine:
    """Items ordered by (time, priority, sequence); the sequence number breaks ties, so every
    run is deterministic. Sequence numbers are handed out here and persisted by the store.

    The queue is a heap of the distinct times (plain floats: cheap to compare, where the
    heap of (time, priority, sequence, item) tuples compared tuples) and, per time, the
    (priority, sequence, item) in order, taken from the front: a list, or a deque once it
    holds ``_BUNCH`` (many timers fall at one instant: the customers of a zone waiting for the
    same local time, thousands at the end of quiet hours; they are one entry of the large
    heap, and a heap of them cost a dozen tuple comparisons per item taken). Items come in
    their order nearly always (a new sequence number is the largest; an event queued while the
    timers of its instant are handled goes before them all), so one is added at either end;
    only an item restored out of order is inserted in the middle."""

    def __init__(self, handler: Callable[[Any, int], None] | None, now: float = float("-inf"),
                 sequence: int = 0):
        self.handler = handler
        self.now = now
        self.sequence = sequence
        self._times: list[float] = []
        self._at: dict[float, list | deque] = {}

    def __len__(self) -> int:
        return sum(map(len, self._at.values()))

    def schedule(self, at: float, priority: int, item: Any, sequence: int | None = None) -> int:
        """Queue ``item`` at time ``at``; returns its sequence number (a new one by default)."""
        if sequence is None:
            sequence = self.sequence
            self.sequence += 1
        queued = self._at.get(at)
        entry = (priority, sequence, item)
        if queued is None:
            self._at[at] = [entry]
            heapq.heappush(self._times, at)
        elif priority > (last := queued[-1])[0] or priority == last[0] and sequence > last[1]:
            queued.append(entry)  # the usual order: a new sequence number is the largest
            if len(queued) == _BUNCH and type(queued) is list:
                self._at[at] = deque(queued)
        elif priority < (first := queued[0])[0] or priority == first[0] and sequence < first[1]:
            queued.insert(0, entry)  # an event queued while its instant's timers are handled
        else:  # in the middle (a timer restored out of order): rare
            insort(queued, entry, key=_order)
        return sequence

    def peek(self) -> float | None:
        """The time of the next item, or None when nothing is queued."""
        return self._times[0] if self._times else None

    def due_by(self, until: float) -> list[float]:
        """The times of the items queued for ``until`` or earlier, one per item, sorted."""
        return sorted(chain.from_iterable(repeat(at, len(queued))
                                          for at, queued in self._at.items() if at <= until))

    def _pop(self, at: float, queued: list | deque) -> tuple[int, int, Any]:
        """The first item at ``at`` (the first time), taken off the queue."""
        if len(queued) > 1:
            return queued.pop(0) if type(queued) is list else queued.popleft()
        del self._at[at]
        heapq.heappop(self._times)
        return queued[0]

    def step(self) -> None:
        at = self._times[0]
        _, sequence, item = self._pop(at, self._at[at])
        if at > self.now:
            self.now = at
        self.handler(item, sequence)

    def run(self, until: float | None = None, priority: int = LATE) -> int:
        """Handle every item up to (and including) ``until`` at ``priority``; returns the count.

        ``run(t, EVENT)`` handles what comes before an event at ``t`` and the events at ``t``,
        but leaves timers due at ``t`` for later; ``run(t)`` handles everything due by ``t``.
        """
        times = self._times
        if until is not None and (not times or times[0] > until):  # nothing due: most calls
            if until > self.now:
                self.now = until
            return 0
        handled, by_time, pop, handler = 0, self._at, heapq.heappop, self.handler
        if until is None:
            while times:
                self.step()
                handled += 1
            return handled
        while times:  # step(), inlined: one call less per item
            at = times[0]
            if at > until:
                break
            queued = by_time[at]
            if at == until and queued[0][0] > priority:
                break
            if len(queued) > 1:
                _, sequence, item = queued.pop(0) if type(queued) is list else queued.popleft()
            else:
                del by_time[at]
                pop(times)
                _, sequence, item = queued[0]
            if at > self.now:
                self.now = at
            handler(item, sequence)
            handled += 1
        if until is not None and until > self.now:
            self.now = until
        return handled

    def clear(self) -> None:
        self._times.clear()
        self._at.clear()


_BUNCH = 32  # items at one time from which they are kept in a deque (else a list)


def _order(entry: tuple[int, int, Any]) -> tuple[int, int]:
    return entry[0], entry[1]  # (priority, sequence): unique, the item is never compared


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
