"""Runtime persistence: the history as stored, one row per run and moment.

The executor records an entry for every step a run enters and every decision about it
(HISTORY_COLUMNS: at, customer, run, journey, step, what, why, detail). When a run walks
through several steps at one moment (a send, a tag, a handoff, then a wait) the durable stores
keep one row: the first entry in the row's columns, the entries that followed it at that moment
in ``continued``, a JSON list of ``[step, what, why, detail]`` (trailing nulls left out). A
milestone always starts a row of its own, so ``what = 'milestone'`` finds every one. Reading
expands the rows into the entries, in order.
"""
from __future__ import annotations

MILESTONE = "milestone"
HISTORY_ROW = "at, customer, run_id, journey_id, step, what, why, detail, continued"
CONTINUED = 8  # the column of the folded entries


class Journal:
    """History entries buffered for one commit, folded as they come."""

    __slots__ = ("rows", "_last")

    def __init__(self):
        self.rows: list[list] = []  # HISTORY_ROW order; ``continued`` a list or None
        self._last: list | None = None

    def add(self, entry) -> None:
        last = self._last
        if last is not None and entry[2] is not None and entry[2] == last[2] \
                and entry[0] == last[0] and entry[5] != MILESTONE:
            step = list(entry[4:8])
            while step and step[-1] is None:  # trailing nulls left out
                step.pop()
            if last[CONTINUED] is None:
                last[CONTINUED] = [step]
            else:
                last[CONTINUED].append(step)
            return
        self._last = [*entry, None]
        self.rows.append(self._last)

    def __len__(self) -> int:
        return len(self.rows)


def expand(head: dict, continued: list | None) -> list[dict]:
    """The entries of a stored history row: ``head`` (at, run_id, journey_id, step, what, why,
    detail) and one dict like it per entry of ``continued`` (its decoded list)."""
    found = [head]
    for entry in continued or ():
        step, what, why, detail = (*entry, None, None, None)[:4]
        found.append({**head, "step": step, "what": what, "why": why, "detail": detail})
    return found
