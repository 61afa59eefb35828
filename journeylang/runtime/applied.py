"""Runtime persistence: the ids of applied events, for exactly-once ingestion in bounded memory.

The ids of the newest ``window`` applied events are kept in memory. When there are more, the
older half moves to the state's id index (the ``event_ids`` table), written (sorted, by the
writer) in the commit that moves them, and leaves memory once that commit is in. An id not in
memory is looked up in the index, a batch at a time; while the index is empty (a state younger
than its window) nothing is looked up. Memory stays flat however long the runtime runs, and an
event applied months ago is still recognised when it comes again.
"""
from __future__ import annotations

from collections import deque

DEFAULT_WINDOW = 250_000  # ids in memory: about 25 MB


class AppliedIds:
    """The ids of the applied events whose ordinals are above ``indexed`` (the rest are in the
    store's index), oldest first."""

    def __init__(self, window: int, indexed: int, recent: list[tuple[int, str]]):
        if window < 2:
            raise ValueError("the window of applied event ids holds at least 2 ids")
        self.window, self.indexed = window, indexed
        self._order: deque[str] = deque(ident for _, ident in recent)
        self._ids = set(self._order)
        self._next = recent[-1][0] + 1 if recent else indexed + 1  # the next ordinal
        self._leaving: list[list[str]] = []  # per commit not known to be in: the ids it moves

    def __contains__(self, ident: str) -> bool:
        return ident in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def among(self, idents) -> set[str]:
        """The ids among ``idents`` held in memory (one set operation for a batch)."""
        return self._ids.intersection(idents)

    def extend(self, first: int, idents: list[str]) -> None:
        """Events applied with ordinals ``first``, ``first + 1``, ... (one after the other)."""
        if idents and first != self._next:
            raise ValueError(f"applied event ordinal {first}, expected {self._next}")
        self._next += len(idents)
        self._order.extend(idents)
        self._ids.update(idents)

    def to_index(self) -> tuple[list[str], int]:
        """When memory holds more than the window: the oldest ids down to half the window
        (for the index), and the ordinal they reach; else ``([], indexed)``."""
        moving = []
        if len(self._order) > self.window:
            moving = [self._order.popleft() for _ in range(len(self._order) - self.window // 2)]
            self.indexed += len(moving)
        self._leaving.append(moving)
        return moving, self.indexed

    def stored(self, in_flight: int = 0) -> None:
        """Every commit but the last ``in_flight`` is in the store: the ids they moved to the
        index leave memory (ids in flight stay until their commit is known to be in)."""
        while len(self._leaving) > in_flight:
            self._ids.difference_update(self._leaving.pop(0))
