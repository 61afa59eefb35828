"""A bound on what one simulated customer does at one virtual instant, the same in both engines.

A journey and a cohort can feed each other without time passing: a send draws a response at
once (``delay: 0h``) that enters the journey again, whose send draws the response again, and so
on. Virtual time never advances, so the run would never end; past ``MAX_INSTANT_ITEMS`` events
and timers taken by one customer at one instant the simulation stops with a
``SimulationError`` that names the customer, the instant and the responses that loop.
"""
from __future__ import annotations

from ..limits import MAX_INSTANT_ITEMS
from ..runtime import iso
from ..runtime.program import reacts_to
from .cohort import Cohort, Const, Response, Segment, Truncated


class SimulationError(RuntimeError):
    """A simulation that cannot go on; ``str()`` says why and what to change."""


def loop_error(cohort: Cohort, segment: Segment | None, customer: str, at: float,
               programs) -> SimulationError:
    """The error for ``customer`` (of ``segment``) who took more than ``MAX_INSTANT_ITEMS``
    items at ``at``: the zero-delay responses that can drive the loop, with their places in
    the cohort file, and the journeys' entries they start."""
    head = (f"customer {customer} took more than {MAX_INSTANT_ITEMS:,} events and timers at "
            f"{iso(at)} without time passing")
    responses = segment.responses if segment is not None else []
    involved = [r for r in responses if r.p > 0 and _at_once(r)]
    reacted = [r for r in involved if any(reacts_to(p, r.event) for p in programs)]
    involved = reacted or involved
    if not involved:
        return SimulationError(f"{head}: a loop of events at one instant (an event that "
                               "starts or moves a run, drawn again by that run at once)")
    named = ", ".join(f"`{r.event}` 0h after {r.after} ({_place(cohort, r)})" for r in involved)
    entries = sorted({f"journey {p.journey_id}'s entry on {p.entry.event}" for p in programs
                      for r in involved if p.entry is not None and p.entry.event == r.event})
    several = len(involved) > 1
    return SimulationError(
        f"{head}: a loop through the cohort's response{'s' if several else ''} {named}"
        + (f" and {' and '.join(entries)}" if entries else "")
        + f"; give {'those responses' if several else 'that response'} a delay")


def _at_once(response: Response) -> bool:
    """Whether the response's events come at the instant of what they follow."""
    delay = response.delay.delay if isinstance(response.delay, Truncated) else response.delay
    return isinstance(delay, Const) and delay.value == 0


def _place(cohort: Cohort, response: Response) -> str:
    line, column = response.marks.get("response", (1, 1))
    return f"{cohort.path}:{line}:{column}"


__all__ = ["MAX_INSTANT_ITEMS", "SimulationError", "loop_error"]
