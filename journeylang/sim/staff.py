"""Simulation stage: staff capacity, a FIFO queue per role that serves one handoff every P/C seconds."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .figures import hours, quantile


@dataclass
class StaffQueue:
    """One role's queue. ``interval`` is P/C (0: served at once, the role declares no capacity;
    infinite: capacity 0, never served).

    A handoff arriving at ``t`` is served at ``max(t, previous slot + interval)``."""

    interval: float = 0.0
    arrivals: list[float] = field(default_factory=list)
    served: list[float] = field(default_factory=list)

    def serve(self, at: float) -> float:
        if math.isinf(self.interval):
            slot = math.inf  # capacity 0: not even the first handoff is served
        else:
            slot = at if not self.served else max(at, self.served[-1] + self.interval)
        self.arrivals.append(at)
        self.served.append(slot)
        return slot

    def longest(self) -> int:
        """The most handoffs waiting at once (seen at arrivals; served times are in order)."""
        if not len(self.arrivals):
            return 0
        arrivals, served = _floats(self.arrivals), _floats(self.served)
        waiting = np.arange(1, len(arrivals) + 1) - np.searchsorted(served, arrivals, side="right")
        return int(waiting.max())

    def summary(self) -> dict:
        """Waits are of the handoffs ever served (none with capacity 0: no figures); computed
        on arrays (8 bytes a handoff), the mean summed in order as ``sum`` would."""
        arrivals, served = _floats(self.arrivals), _floats(self.served)
        done = served != math.inf
        waits = served[done] - arrivals[done]
        mean = float(np.cumsum(waits)[-1]) / len(waits) if len(waits) else None
        return {"handoffs": len(self.arrivals), "mean_wait_hours": hours(mean),
                "p90_wait_hours": hours(quantile(waits, 0.9)), "max_queue": self.longest()}


def _floats(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def staff_queues(roles: dict[str, tuple[int, int]]) -> dict[str, StaffQueue]:
    """A queue per declared role; ``roles`` maps a role to (capacity, per seconds)."""
    return {role: StaffQueue(per / capacity if capacity > 0 else math.inf)
            for role, (capacity, per) in roles.items()}


def served_in_turn(roles: dict[str, tuple[int, int]]) -> bool:
    """Whether some role (``roles``: role -> (capacity, per seconds)) serves its handoffs one
    after another (a capacity above 0), so that which of several at one instant comes first
    matters."""
    return any(capacity > 0 for capacity, _ in roles.values())


def merge_queues(a: StaffQueue | None, b: StaffQueue | None) -> StaffQueue:
    """One queue from the queues of two shards of a run. Exact only for queues that serve at
    once (every handoff at its arrival), the only kind a sharded run has (shard.py)."""
    if a is None or b is None:
        return a or b
    pairs = sorted(zip(a.arrivals + b.arrivals, a.served + b.served))
    return StaffQueue(a.interval, [p[0] for p in pairs], [p[1] for p in pairs])
