"""Simulation stage: which item made each item, so that the runtime's order of different
customers' items at one instant can be told from each customer's own items.

The runtime's queue takes items by time, priority (events, then timers) and sequence number,
and an item's sequence number is handed out when it is queued, while another item is handled
(or before the run, for the cohort's own events: customer by customer). So two items at the
same time and priority come in the order of the items that made them, those in the order of
theirs, and so on down to the cohort's order of customers. An item made at its own instant
with a lower priority than the one being handled (an event made while a timer is handled)
is taken at once, before anything else queued: it comes where that timer comes.

Each item handled is a **node**: its time, its priority, and the node of the item that made
it; the chain of a node is its (time, priority) and then its maker's chain, down to a
**bottom** node: the customer whose cohort events began it, or the run's load. Two items of
different customers come in the order of their chains, compared level by level; chains that
are the same all the way down pass through one shared item (a scheduled entry's occurrence,
handled for every customer of its zone in the order of their ids as text).
"""
from __future__ import annotations

import math

import numpy as np

EVENT, TIMER = 0, 1   # ``runtime.engine``'s priorities
END = -2              # a bottom node's maker: none
LOAD = -1             # the customer index of the bottom made by the load (scheduled entries)


class Lineage:
    """The nodes of one part of a simulation, in growable columns."""

    def __init__(self, capacity: int = 256):
        """``capacity``: room for that many nodes before the columns grow (a copy each time;
        room never written costs no memory)."""
        self.size = 0
        self.t = np.zeros(capacity)
        # priority; a bottom node: its customer index (both under 2**31, as the node numbers)
        self.level = np.zeros(capacity, dtype=np.int32)
        self.up = np.zeros(capacity, dtype=np.int32)   # the maker's node (``END``: a bottom node)

    def add(self, t, level, up) -> np.ndarray:
        """New nodes (scalars or columns broadcast together); returns their numbers."""
        t, level, up = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(level),
                                           np.asarray(up))
        count = t.size
        if self.size + count > len(self.t):
            capacity = max(2 * (self.size + count), 2 * len(self.t))
            for name in ("t", "level", "up"):
                old = getattr(self, name)
                new = np.zeros(capacity, dtype=old.dtype)
                new[:self.size] = old[:self.size]
                setattr(self, name, new)
        new = slice(self.size, self.size + count)
        self.t[new], self.level[new], self.up[new] = t.ravel(), level.ravel(), up.ravel()
        self.size += count
        return np.arange(new.start, new.stop)

    def bottoms(self, customers) -> np.ndarray:
        """A bottom node per customer index (``LOAD``: the run's load)."""
        customers = np.asarray(customers, dtype=np.int64)
        return self.add(np.full(customers.shape, -np.inf), customers, END)

    def made(self, t, priority: int, up) -> np.ndarray:
        """The nodes of items at times ``t`` of ``priority`` made while the items ``up`` were
        handled: an event at the instant of a timer being handled (or of an event taken at
        once after one) is that timer's node, every other item a new one."""
        up = np.asarray(up, dtype=np.int64)
        if priority != EVENT:
            return self.add(t, priority, up)
        t = np.broadcast_to(np.asarray(t, dtype=float), up.shape)
        at_once = _at_once(self.t[up], self.level[up], self.up[up], t, priority)
        if not at_once.any():
            return self.add(t, priority, up)
        nodes = up.copy()
        fresh = ~at_once
        nodes[fresh] = self.add(t[fresh], priority, up[fresh])
        return nodes

    def kept(self, nodes) -> tuple["Lineage", np.ndarray]:
        """Only the nodes on the chains of ``nodes`` (-1: none), renumbered in their order;
        and the new numbers of ``nodes``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        keep = np.zeros(self.size, dtype=bool)
        current = nodes[nodes >= 0]
        while len(current):   # (level by level: a chain is a few levels long)
            keep[current] = True
            up = self.up[current]
            up = up[up != END]
            current = up[~keep[up]]
        number = np.cumsum(keep) - 1
        up = self.up[:self.size][keep]
        kept = Lineage.of(self.t[:self.size][keep], self.level[:self.size][keep],
                          np.where(up == END, END, number[np.maximum(up, 0)]))
        return kept, np.where(nodes >= 0, number[np.maximum(nodes, 0)], -1)

    @staticmethod
    def of(t: np.ndarray, level: np.ndarray, up: np.ndarray) -> "Lineage":
        """The lineage of these columns, as they are (no room for more)."""
        lineage = Lineage()
        lineage.size = len(t)
        lineage.t, lineage.level, lineage.up = (np.asarray(t, dtype=float),
                                                np.asarray(level, dtype=np.int32),
                                                np.asarray(up, dtype=np.int32))
        return lineage

    @staticmethod
    def joined(lineages: list["Lineage"]) -> tuple["Lineage", list[int]]:
        """Several lineages in one; and the number each one's nodes begin at in it."""
        sizes = [lineage.size for lineage in lineages]
        offsets = np.cumsum([0] + sizes[:-1]).tolist()
        joined = Lineage.of(
            np.concatenate([lineage.t[:lineage.size] for lineage in lineages]),
            np.concatenate([lineage.level[:lineage.size] for lineage in lineages]),
            np.concatenate([np.where(lineage.up[:lineage.size] == END, END,
                                     lineage.up[:lineage.size] + offset)
                            for lineage, offset in zip(lineages, offsets)]))
        return joined, offsets

    def chain(self, node: int) -> tuple:
        """A node's chain: its (time, priority), its maker's, ... down to its bottom's (-inf,
        customer index). Chains of different customers' items compare as tuples do."""
        found = []
        while node != END:
            found.append((float(self.t[node]), int(self.level[node])))
            node = int(self.up[node])
        return tuple(found)


class Nodes:
    """Nodes made one at a time (the reference engine's, item by item), in lists; ``lineage``
    gives them as a ``Lineage``."""

    def __init__(self):
        self.t: list[float] = []
        self.level: list[int] = []
        self.up: list[int] = []

    def add(self, t: float, level: int, up: int) -> int:
        self.t.append(t)
        self.level.append(level)
        self.up.append(up)
        return len(self.t) - 1

    def bottom(self, customer: int) -> int:
        """A customer's bottom node (``LOAD``: the run's load)."""
        return self.add(-math.inf, customer, END)

    def made(self, t: float, priority: int, up: int) -> int:
        """``Lineage.made`` for one item."""
        if _at_once(self.t[up], self.level[up], self.up[up], t, priority):
            return up
        return self.add(t, priority, up)

    def lineage(self) -> Lineage:
        return Lineage.of(np.array(self.t, dtype=float), np.array(self.level, dtype=np.int64),
                          np.array(self.up, dtype=np.int64))


def _at_once(up_t, up_level, up_up, t, priority):
    """Whether an item at ``t`` of ``priority``, made while the node (``up_t``, ``up_level``,
    ``up_up``) was handled, is taken at once after it (an event at a timer's instant, or at
    the instant of an event so taken): columns or single values."""
    return (priority == EVENT) & (up_up != END) & (up_t == t) & (up_level > EVENT)


__all__ = ["EVENT", "END", "LOAD", "Lineage", "Nodes", "TIMER"]
