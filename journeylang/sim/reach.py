"""Simulation stage: whether what a cohort says can reach the journeys simulated, checked
before a run.

A simulation that runs and quietly reports nothing of part of its cohort is a silent mistake,
most often a misspelt name. Each of these is a warning (``CohortWarning``, at the cohort key
that says it), not an error, since one cohort file can serve several journeys:

- a journey entered on an event that no customer of the cohort can have (arrival, response,
  baseline event, emit, or one the runtime makes) never begins a run;
- an arrival event (``entry``) that no journey takes and no response follows changes nothing;
- a journey's entry condition or audience reading what no segment gives (a profile attribute
  without the journey's default, a consent, a key of the entry event's data) reads null for
  every customer;
- a response after an event no customer can have, or after messages on a channel no journey
  sends on, never happens.

The second and the last only when the name is close to one the journeys use (a misspelling):
a cohort may arrive with an event that does nothing on purpose, its customers entering through
baseline events alone, or describe channels another journey uses.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..compile import Tables
from ..compile.conditions import paths_read
from ..runtime.executor import BREACH, RESOLVED
from ..runtime.program import Program, build_program, events_taken, reacts_to
from ..semantics import MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_SENT, OPT_OUT_EVENTS
from .cohort import Cohort, Record
from .engine import arrival_events, emitted_events

# events the runtime makes for a customer whatever the cohort says (opt-outs from messages,
# staff resolutions and SLA breaches, delivery results)
RUNTIME_EVENTS = frozenset({*OPT_OUT_EVENTS, RESOLVED, BREACH, MESSAGE_SENT, MESSAGE_DELIVERED,
                            MESSAGE_FAILED})


@dataclass(frozen=True)
class CohortWarning:
    """A warning about the cohort file, at a line and column of it."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


def cohort_warnings(cohort: Cohort, tables: Tables | list[Tables]) -> list[CohortWarning]:
    """What of the cohort cannot reach the journeys ``tables``, in the file's order of keys:
    the arrival first, then what the journeys' entries read of the segments, then each
    segment's responses."""
    listed = tables if isinstance(tables, list) else [tables]
    programs = [build_program(t) for t in listed]
    arrivals = set(arrival_events(cohort, programs))
    emitted = set().union(*(emitted_events(p) for p in programs)) | RUNTIME_EVENTS
    made = _made(cohort, arrivals | emitted)
    return [*_arrival(cohort, programs, made),
            *(w for t, p in zip(listed, programs)
              for w in _entry_reads(cohort, t, p, arrivals, emitted)),
            *_responses(cohort, programs, made)]


def _arrival(cohort: Cohort, programs: list[Program], made: set[str]):
    if not cohort.entry_events:   # customers arrive with the journeys' own entry events
        return
    line, column = cohort.marks.get("entry", (1, 1))
    taken = sorted(set().union(*(events_taken(p) for p in programs)))
    for event in cohort.entry_events:
        close = _close(event, taken)
        if close and _idle(event, cohort, programs):
            yield CohortWarning(cohort.path, line, column,
                                f"customers arrive with {event!r}, which no journey takes and "
                                f"no response follows: their arrival changes nothing; did you "
                                f"mean {close!r}?")
    for p in programs:
        if _entered_on_event(p) and p.entry.event not in made:
            yield CohortWarning(cohort.path, line, column,
                                f"journey {p.journey_id!r} is entered on {p.entry.event!r}, "
                                "which no customer of this cohort arrives with or gets from a "
                                "response, a baseline event or an emit: none of its runs can begin")


def _entry_reads(cohort: Cohort, tables: Tables, program: Program, arrivals: set[str],
                 emitted: set[str]):
    """The profile attributes, consents and entry event data the journey's entry condition
    and audience read that no segment gives (nor, for an attribute, the journey's default):
    null for every customer, which usually keeps every one of them out. ``arrivals``: the
    events customers arrive with; ``emitted``: those journeys and the runtime make."""
    if not _entered_on_event(program):
        return
    event = program.entry.event
    given = _given(cohort, event, event in arrivals, event in emitted)
    trigger = next((row for row in tables.rows["triggers"] if row["kind"] == "entry"), {})
    line, column = cohort.marks.get("segments", (1, 1))
    for where, tree in (("entry condition", trigger.get("condition")),
                        ("audience", tables.journey["audience"])):
        for kind, name in sorted(_read(tree)):
            known = given.get(kind)
            if known is None or name in known or (kind == "customer" and name in program.defaults):
                continue
            close = _close(name, sorted(known), cutoff=0.5)
            hint = f"; the cohort gives {kind} {close!r}" if close else ""
            unset = " and the journey declares no default for" if kind == "customer" else ""
            yield CohortWarning(cohort.path, line, column,
                                f"journey {program.journey_id!r} reads {_READS[kind]} {name!r} "
                                f"in its {where}, which no segment of the cohort gives{unset}: "
                                f"it is null for every customer{hint}")


# how a warning names what a condition reads, by its kind
_READS = {"customer": "the profile attribute", "consent": "consent",
          "data": "the entry event's data"}
# profile attributes the runtime keeps whatever the cohort says
_KEPT = frozenset({"tags", "consent", "timezone", "opted_out", "id"})


def _read(tree) -> set[tuple[str, str]]:
    """(kind, name) of what an entry condition or audience reads: profile attributes
    (``customer``), consents and the entry event's data (``data``), by their first key."""
    found = set()
    for path in paths_read(tree, past_events=False):
        if path[0] in ("customer", "consent", "event"):
            if len(path) > 1:
                found.add(("data" if path[0] == "event" else path[0], path[1]))
        else:   # another root reads the entry event's data
            found.add(("data", path[0]))
    return {(kind, name) for kind, name in found if kind != "customer" or name not in _KEPT}


def _given(cohort: Cohort, entry_event: str, arrives: bool,
           made_elsewhere: bool) -> dict[str, set[str] | None]:
    """What the segments give, by kind: profile attributes (with those events update),
    consents, and the top keys of the entry event's data (None: not known, for an event a
    journey emits or the runtime makes, or data not a mapping)."""
    customer, consent, data = set(), set(), None if made_elsewhere else set()
    for segment in cohort.segments:
        customer |= set(segment.attributes)
        consent |= set(segment.consent)
        sources = [segment.entry_data] * arrives
        for event in [*segment.responses, *segment.baseline]:
            customer |= _keys(event.attributes) or set()
            if event.event == entry_event:
                sources.append(event.data)
        for source in sources:
            keys = _keys(source)
            data = None if keys is None or data is None else data | keys
    return {"customer": customer, "consent": consent, "data": data}


def _keys(sampler) -> set[str] | None:
    """The top keys of a drawn mapping (none when nothing is drawn); None when not a mapping
    known before drawing."""
    if sampler is None:
        return set()
    return set(sampler.parts) if isinstance(sampler, Record) else None


def _responses(cohort: Cohort, programs: list[Program], made: set[str]):
    channels = sorted({channel for p in programs for s in p.steps.values() if s.kind == "send"
                       for channel in (s.params["channel"], *s.params.get("fallback", ()))})
    for segment in cohort.segments:
        for response in segment.responses:
            for key, name, known in (("event", response.on_event, sorted(made)),
                                     ("channel", response.channel, channels)):
                close = None if name is None or name in known else _close(name, known)
                if close:
                    line, column = response.marks.get(key, (1, 1))
                    what = "no customer of this cohort can have" if key == "event" else \
                        "no journey sends on"
                    yield CohortWarning(cohort.path, line, column,
                                        f"a response of segment {segment.name!r} follows "
                                        f"{key} {name!r}, which {what}: it never happens; did "
                                        f"you mean {close!r}?")


def _close(name: str, known: list[str], cutoff: float = 0.6) -> str | None:
    """The name of ``known`` closest to ``name`` (difflib's ratio at least ``cutoff``)."""
    found = difflib.get_close_matches(name, known, 1, cutoff)
    return found[0] if found else None


def _entered_on_event(program: Program) -> bool:
    return program.entry is not None and program.entry.schedule is None


def _idle(event: str, cohort: Cohort, programs: list[Program]) -> bool:
    """Whether an event changes nothing: no journey takes it and no response follows it."""
    return not any(reacts_to(p, event) for p in programs) and not any(
        r.on_event == event for segment in cohort.segments for r in segment.responses)


def _made(cohort: Cohort, elsewhere: set[str]) -> set[str]:
    """Every event a customer of the cohort can have: ``elsewhere`` (the arrival's, those
    journeys emit and the runtime makes) and its segments' responses and baseline events."""
    made = set(elsewhere)
    for segment in cohort.segments:
        made |= {r.event for r in segment.responses} | {b.event for b in segment.baseline}
    return made


__all__ = ["CohortWarning", "RUNTIME_EVENTS", "cohort_warnings"]
