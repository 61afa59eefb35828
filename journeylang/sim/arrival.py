"""Simulation stage: what a cohort's arrival does for the journeys simulated, checked before a run.

A cohort's ``entry`` names the events every customer arrives with. A journey entered on an
event that no customer of the cohort can have never begins a run, and an arrival event that no
journey takes and no response follows changes nothing: the simulation would run and quietly
report nothing of it. Both are warnings (``ArrivalWarning``, at the ``entry`` key), not
errors, and the second only when the event is close to one a journey takes (a misspelling): a
cohort may arrive with an event that does nothing on purpose, its customers entering through
baseline events alone.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..compile import Tables
from ..runtime.executor import BREACH, RESOLVED
from ..runtime.program import Program, build_program, reacts_to
from ..semantics import MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_SENT, OPT_OUT_EVENTS
from .cohort import Cohort
from .engine import emitted_events

# events the runtime makes for a customer whatever the cohort says (opt-outs from messages,
# staff resolutions and SLA breaches, delivery results)
RUNTIME_EVENTS = frozenset({*OPT_OUT_EVENTS, RESOLVED, BREACH, MESSAGE_SENT, MESSAGE_DELIVERED,
                            MESSAGE_FAILED})


@dataclass(frozen=True)
class ArrivalWarning:
    """A warning about the cohort file, at a line and column of it."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def arrival_warnings(cohort: Cohort, tables: Tables | list[Tables]) -> list[ArrivalWarning]:
    """What the cohort's ``entry`` does not do for the journeys ``tables``: arrival events
    that change nothing, journeys entered on an event no customer can have."""
    if not cohort.entry_events:   # customers arrive with the journeys' own entry events
        return []
    programs = [build_program(t) for t in (tables if isinstance(tables, list) else [tables])]
    line, column = cohort.marks.get("entry", (1, 1))
    taken = sorted(set().union(*(_taken(p) for p in programs)))
    found = [ArrivalWarning(cohort.path, line, column,
                            f"customers arrive with {event!r}, which no journey takes and no "
                            f"response follows: their arrival changes nothing; did you mean "
                            f"{close[0]!r}?")
             for event in cohort.entry_events if _idle(event, cohort, programs)
             for close in [difflib.get_close_matches(event, taken, 1)] if close]
    made = _made(cohort, programs)
    found += [ArrivalWarning(cohort.path, line, column,
                             f"journey {p.journey_id!r} is entered on {p.entry.event!r}, which no "
                             "customer of this cohort arrives with or gets from a response, a "
                             "baseline event or an emit: none of its runs can begin")
              for p in programs if _entered_on_event(p) and p.entry.event not in made]
    return found


def _entered_on_event(program: Program) -> bool:
    return program.entry is not None and program.entry.schedule is None


def _idle(event: str, cohort: Cohort, programs: list[Program]) -> bool:
    """Whether an event changes nothing: no journey takes it and no response follows it."""
    return not any(reacts_to(p, event) for p in programs) and not any(
        r.on_event == event for segment in cohort.segments for r in segment.responses)


def _made(cohort: Cohort, programs: list[Program]) -> set[str]:
    """Every event a customer of the cohort can have in a simulation of ``programs``."""
    made = set(cohort.entry_events) | RUNTIME_EVENTS
    for segment in cohort.segments:
        made |= {r.event for r in segment.responses} | {b.event for b in segment.baseline}
    for program in programs:
        made |= emitted_events(program)
    return made


def _taken(program: Program) -> set[str]:
    """The events the journey takes (``reacts_to``): its entry's, goals', exit rules',
    milestones', handlers', waits', KPIs' and history questions'."""
    entry = {program.entry.event} if _entered_on_event(program) else set()
    return entry | set(program.interest) | set(program.history) | {
        kpi.event for kpi in program.kpis.values()}


__all__ = ["ArrivalWarning", "RUNTIME_EVENTS", "arrival_warnings"]
