"""Runtime event history: the recent events each customer's journeys ask about in conditions
(``count(order_paid within 30d)``), kept per customer and bounded by what the questions need."""
from __future__ import annotations

import math

import msgspec

from ..semantics import history_answer
from .program import HistoryNeed


class History(msgspec.Struct, gc=False):
    """The history questions of one evaluation: a customer's kept events, the run's entry
    (where a question without ``within`` starts) and the time now."""

    events: dict
    since: float | None
    now: float

    def answer(self, function: str, event: str, field, test, within, scope):
        start = self.now - within if within is not None else \
            (self.since if self.since is not None else -math.inf)
        moments, values = [], []
        for at, data in self.events.get(event, ()):
            if start <= at <= self.now and test(scope.about(data)):
                moments.append(at)
                values.append(data.get(field) if field else None)
        return history_answer(function, moments, values, self.now)


def needs(programs) -> dict[str, HistoryNeed]:
    """What every loaded journey's questions need, per event type."""
    found: dict[str, HistoryNeed] = {}
    for program in programs:
        for event, need in program.history.items():
            found[event] = found[event] | need if event in found else need
    return found


def record(events: dict, event_type: str, data: dict, need: HistoryNeed, runs: list,
           now: float) -> None:
    """Keep an event applied ``now`` (the fields questions read) in a customer's ``events``,
    and forget what no question can reach any more: older than the longest window and, when a
    question looks back to entry, than the oldest of the customer's runs."""
    events.setdefault(event_type, []).append(
        [now, {k: data[k] for k in need.fields if k in data}])
    cutoff = now - need.window
    if need.since_entry:
        cutoff = min(cutoff, min((run.entered_at for run in runs), default=now))
    kept = events[event_type]
    if kept[0][0] < cutoff:
        events[event_type] = [entry for entry in kept if entry[0] >= cutoff]
