"""Simulation stage: a cohort through a compiled journey on the runtime's own executor and clock.

Nothing here decides what a step does: customers' entry events, their reactions to messages,
their baseline events and opt-outs are events queued on the runtime's engine
(``schedule_event``), and the runtime applies them with the same semantics as a live run. What
this module adds is the customers (sampled, seeded per customer) and the counting.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ..compile import Tables
from ..runtime import Adapters, Event, Runtime
from ..runtime.channels import SENT
from ..runtime.correlation import key_of, with_key
from ..runtime.program import build_program, reacts_to
from ..runtime.policies import next_occurrence
from ..runtime.state import Occurrence, Timer
from ..semantics import MESSAGE_DELIVERED, MESSAGE_SENT
from .cohort import OPT_OUT_DELAY, OPT_OUT_EVENT, Cohort, Segment, check_cohort
from .counting import CountingStore, JourneyCounts
from .instant import MAX_INSTANT_ITEMS, loop_error
from .lineage import EVENT, LOAD, TIMER, Nodes
from .staff import StaffQueue, merge_queues, served_in_turn, staff_queues

DAY = 86400.0


MAX_CHAIN = 32  # responses to responses to ... events: a chain deeper than this stops


@dataclass(slots=True)
class SimCustomer:
    segment: Segment
    rng: random.Random
    received: int = 0   # messages delivered: fatigue lowers each response by a factor per message
    opted_out: bool = False
    seen: set = field(default_factory=set)  # the kinds of event that happened to the customer


@dataclass
class SendRecord:
    """One message sent (trace mode); ``timezone`` None: the run's default zone."""

    customer: str
    at: float
    channel: str
    journey_id: str
    step: str | None = None
    timezone: str | None = None


class CohortAdapter:
    """Takes every action of the simulated journey; a message is sent and delivered at once
    (its delivery results are events at that instant, for a journey that waits for them),
    draws the customer's reactions and queues them as future events on the runtime."""

    def __init__(self, sim: "Simulation"):
        self.sim = sim

    def deliver(self, action) -> None:
        if action.kind == "message":
            action.status = SENT
            self.sim.on_message(action)
        elif action.kind == "handoff":
            self.sim.on_handoff(action)
        elif action.kind == "event":  # a journey's emit: the customer may respond to it
            self.sim.after_event(action.customer, action.payload["event"], action.at, 0,
                                 self.sim.run_key(action))

    def cancel_pending(self, customer: str, up_to: int) -> None:
        pass  # a simulated message is delivered at once: nothing is pending


@dataclass
class Simulation:
    """One run of ``cohort`` through ``tables`` (one journey, or a list of journeys run
    together: one runtime, so caps count across them and emitted events reach them all) for
    ``days`` days with ``seed``; ``only``: the indexes of the customers to simulate (a shard,
    or the customers the vectorised engine hands over)."""

    tables: Tables | list[Tables]
    cohort: Cohort
    seed: int = 0
    days: float = 90.0
    timezone: str = "UTC"
    trace: bool = False   # keep every send (the property tests read it)
    only: range | list | None = None
    customers: dict[str, SimCustomer] = field(default_factory=dict)
    sends: list[SendRecord] = field(default_factory=list)
    # (customer, at, role, SLA due, journey, run id, step, the instant's key of the item that
    # made it and the sequence of its resolution (``_track_items``), order among the store's
    # marks, the item's node in ``nodes``)
    handoffs: list = field(default_factory=list)
    nodes: Nodes = field(default_factory=Nodes)   # ``sim.lineage``
    node: int | None = None   # the node of the item being handled (``_track_lineage``)
    # (journey, zone) -> [the last occurrence's time, its node] (``_occurrence_node``)
    occurrence_chains: dict = field(default_factory=dict)

    def __post_init__(self):
        self.journeys = [self.tables] if isinstance(self.tables, Tables) else list(self.tables)
        if not self.journeys:
            raise EngineError("no journey to simulate")
        self.horizon = self.cohort.start + self.days * DAY
        self.store = CountingStore(self.horizon)
        self.runtime = Runtime(self.store, seed=self.seed, timezone=self.timezone,
                               adapters=Adapters(CohortAdapter(self)), render=False)
        self.programs = []
        for tables in self.journeys:
            if tables.journey_id in self.runtime.active:
                raise EngineError(f"journey {tables.journey_id!r} is given twice: simulate one "
                                  "version of a journey at a time")
            self.programs.append(self.runtime.load(tables))
            self.store.attach(self.programs[-1])
        self.program = self.programs[0]
        self.entries = arrival_events(self.cohort, self.programs)
        self._serial = 0
        self.receipts = [kind for kind in (MESSAGE_SENT, MESSAGE_DELIVERED)
                         if any(reacts_to(program, kind) for program in self.programs)]
        self.behaviour: dict[tuple, Counter] = {}  # (segment, response) -> triggers, fired, events
        self.on_events = {segment.name: responses_to_events(segment)
                          for segment in self.cohort.segments}
        self.events = Counter()                    # event -> how many happened by the horizon
        self.reached = Counter()                   # event -> customers it happened to
        roles = {role: spec for program in reversed(self.programs)
                 for role, spec in program.roles.items()}
        self.staff = staff_queues(roles)
        self.key_paths = {p.correlate for p in self.programs if p.correlate is not None}
        if any(step.kind == "handoff" for p in self.programs for step in p.steps.values()):
            self._track_items()
            if served_in_turn(roles):
                self._track_lineage()
        self._bound_instants()

    def _track_items(self) -> None:
        """Keep the key of the item being handled in ``store.item``, in the order of the
        engine's sequence numbers: an event's own; a timer's, the next number when it is
        handled less a half (after every event made before it, before those it makes). The
        vectorised engine settles staff queues with it (``sim.vector.staff``)."""
        engine, handle, store = self.runtime.engine, self.runtime.engine.handler, self.store

        def handler(item, sequence: int) -> None:
            store.item = engine.sequence - 0.5 if type(item) is Timer else sequence
            handle(item, sequence)
        engine.handler = handler

    def _track_lineage(self) -> None:
        """Keep the node of the item being handled in ``self.node`` (``sim.lineage``: what
        made it, for the order of different customers' handoffs to a role with a capacity)."""
        engine, handle, nodes = self.runtime.engine, self.runtime.engine.handler, self.nodes
        load = nodes.bottom(LOAD)
        bottoms: dict[str, int] = {}
        makers: dict[int, int] = {}   # sequence number -> the node handled when it was queued
        schedule = engine.schedule

        def queue(at, priority, item, sequence=None) -> int:
            number = schedule(at, priority, item, sequence)
            maker = self.node
            if maker is None:   # queued before the run: the customer's bottom, or the load's
                customer = getattr(item, "customer", None)
                maker = load if customer is None else bottoms.get(customer)
                if maker is None:
                    maker = bottoms[customer] = nodes.bottom(customer_index(customer))
            makers[number] = maker
            return number
        engine.schedule = queue

        def handler(item, sequence: int) -> None:
            maker = makers.pop(sequence, load)
            if type(item) is not Timer:
                self.node = nodes.made(engine.now, EVENT, maker)
            elif type(item.payload) is Occurrence:
                self.node = self._occurrence_node(item.payload, engine.now, load)
            else:
                self.node = nodes.made(engine.now, TIMER, maker)
            handle(item, sequence)
        engine.handler = handler

    def _occurrence_node(self, occurrence: Occurrence, at: float, load: int) -> int:
        """An occurrence's node: the schedule's occurrences in its zone from the cohort's start
        on, each made by the one before, the first by the load (``sim.lineage``), the same
        chain as the vectorised engine's, whatever customer's event armed it."""
        key = (occurrence.journey_id, occurrence.zone)
        chain = self.occurrence_chains.setdefault(key, [self.cohort.start, load])
        schedule = self.runtime.active[occurrence.journey_id].entry.schedule
        zone = self.runtime.executor.zones.get(occurrence.zone)
        while chain[0] < at:
            chain[0] = next_occurrence(chain[0], schedule, zone)
            chain[1] = self.nodes.add(chain[0], TIMER, chain[1])
        return chain[1]

    def _bound_instants(self) -> None:
        """Count the items each customer takes at one instant (timers, and events of a type
        some journey reacts to: others cannot move a run, as in the vectorised engine); past
        ``MAX_INSTANT_ITEMS`` the run is caught in a loop that time never ends
        (``sim.instant``): stop with a ``SimulationError``."""
        engine, handle = self.runtime.engine, self.runtime.engine.handler
        executor = self.runtime.executor
        instants: dict[str, list] = {}   # customer -> [instant, items taken at it]

        def handler(item, sequence: int) -> None:
            if type(item) is Timer:
                # a scheduled entry's occurrence is for a time zone, not a customer
                customer = getattr(item.payload, "customer", None)
            elif item.type in executor.reacting:
                customer = item.customer
            else:
                handle(item, sequence)
                return
            seen = instants.get(customer)
            if seen is None or seen[0] != engine.now:
                instants[customer] = [engine.now, 1]
            else:
                seen[1] += 1
                if seen[1] > MAX_INSTANT_ITEMS and customer is not None:
                    person = self.customers.get(customer)
                    raise loop_error(self.cohort, person and person.segment, customer,
                                     engine.now, self.programs)
            handle(item, sequence)
        engine.handler = handler

    # --- the cohort ---------------------------------------------------------------------------

    def indexes(self) -> range | list:
        return self.only if self.only is not None else range(self.cohort.size)

    def populate(self) -> None:
        """Sample every customer and queue their arrival and baseline events."""
        for index in self.indexes():
            ident = f"c{index + 1}"
            rng = random.Random(f"{self.seed}/{ident}")  # per customer: shards give the same draws
            segment = self.cohort.segment_for(rng)
            self.customers[ident] = SimCustomer(segment, rng)
            self.store.segment_of[ident] = segment.name
            at = self.cohort.start + rng.random() * self.cohort.arrival
            profile = segment.profile(rng)
            for entry in self.entries:
                self._queue(ident, entry, at, segment.entry_data(rng), profile)
                profile = None  # the profile comes with the first arrival event
            if not self.entries and profile:
                self._queue(ident, "profile", at, {}, profile)
            for base in segment.baseline:
                self._baseline(ident, base, rng, at)

    def _baseline(self, ident: str, base, rng: random.Random, at: float) -> None:
        """Events from the customer's arrival on (before it, the simulation knows no profile)."""
        if base.per_day <= 0:
            return
        while True:
            at += rng.expovariate(base.per_day / DAY)
            if at > self.horizon:
                return
            self._queue(ident, base.event, at, base.data(rng),
                        base.attributes(rng) if base.attributes is not None else None)

    def _queue(self, customer: str, kind: str, at: float, data: dict, attributes=None,
               depth: int = 0) -> None:
        self._serial += 1
        data = data if isinstance(data, dict) else {}
        self.runtime.schedule_event(Event(f"sim-{self._serial}", kind, customer, at,
                                          attributes or {}, data))
        if at <= self.horizon:
            self.events[kind] += 1
            person = self.customers.get(customer)
            if person is not None and kind not in person.seen:
                person.seen.add(kind)
                self.reached[kind] += 1
        self.after_event(customer, kind, at, depth, self._keys_in(data))

    # --- reactions ----------------------------------------------------------------------------

    def on_message(self, action) -> None:
        person = self.customers.get(action.customer)
        self.store.on_send(action)
        for kind in self.receipts:
            self._queue(action.customer, kind, action.at, {
                "action": action.id, "channel": action.channel, "template": action.template,
                "journey": action.journey_id, "step": action.step, "attempts": 1})
        if self.trace:
            self.sends.append(SendRecord(action.customer, action.at, action.channel,
                                         action.journey_id, action.step))
        if person is None:
            return
        segment, rng = person.segment, person.rng
        factor = segment.fatigue ** person.received
        person.received += 1
        keys = self.run_key(action)
        for index, response in enumerate(segment.responses):
            if response.matches(action):
                self._respond(action.customer, person, index, action.at, response.p * factor, 0,
                              keys)
        if not person.opted_out and segment.opt_out and rng.random() < segment.opt_out:
            person.opted_out = True
            self._queue(action.customer, OPT_OUT_EVENT, action.at + OPT_OUT_DELAY, {})

    def after_event(self, customer: str, kind: str, at: float, depth: int,
                    keys: tuple = ()) -> None:
        """The customer's responses to an event of theirs (``after: {event: ...}``): chains
        ("8% of invitees join") end at the horizon, or MAX_CHAIN events deep."""
        person = self.customers.get(customer)
        if person is None or at > self.horizon or depth >= MAX_CHAIN:
            return
        for index in self.on_events[person.segment.name].get(kind, ()):
            self._respond(customer, person, index, at, person.segment.responses[index].p, depth,
                          keys)

    def run_key(self, action) -> tuple:
        """The correlation key of the run that took an action, as ((path, value),), when its
        journey correlates runs: what the customer does about it carries the key."""
        path = self.runtime.programs[action.content_hash].correlate
        if path is None:
            return ()
        run = next((r for r in self.store.customer(action.customer).runs
                    if r.id == action.run_id), None)
        return () if run is None or run.key is None else ((path, run.key),)

    def _keys_in(self, data: dict) -> tuple:
        """The correlation keys an event carries, for the responses it draws."""
        return tuple((path, value) for path in self.key_paths
                     for value, problem in (key_of(data, path),) if problem is None)

    def _respond(self, customer: str, person: SimCustomer, index: int, at: float, p: float,
                 depth: int, keys: tuple = ()) -> None:
        """With probability ``p``, the response's events (its count), each after its delay;
        they carry the correlation ``keys`` of what they respond to (unless their data sets
        them)."""
        response, rng = person.segment.responses[index], person.rng
        figures = self.behaviour.get((person.segment.name, index))
        if figures is None:
            figures = self.behaviour[(person.segment.name, index)] = Counter()
        figures["triggers"] += 1
        if not rng.random() < p:
            return
        figures["fired"] += 1
        times = response.times(rng)
        figures["events"] += times
        figures["events_sq"] += times * times
        for _ in range(times):
            when = at + response.delay(rng)
            attributes = response.attributes(rng) if response.attributes is not None else None
            data = _keyed(response.data(rng), keys)
            self._queue(customer, response.event, when, data, attributes, depth + 1)

    def on_handoff(self, action) -> None:
        """Staff take the handoff in their role's FIFO queue and resolve it when served."""
        role = action.payload.get("role") or ""
        self.handoffs.append((action.customer, action.at, role, action.due, action.journey_id,
                              action.run_id, action.step, self.store.item,
                              self.runtime.engine.sequence, self.store.mark(), self.node))
        queue = self.staff.setdefault(role, StaffQueue())  # undeclared: served at once
        served = queue.serve(action.at)
        if served != math.inf:  # a role with capacity 0 never serves
            self._queue(action.customer, "handoff_resolved", served,
                        _keyed({"role": role}, self.run_key(action)))

    # --- running ------------------------------------------------------------------------------

    def advance(self, progress: Callable[[int], None] | None = None, step: float = DAY) -> None:
        """Populate, then advance the clock to the horizon (``progress`` gets the days done)."""
        self.populate()
        moment, done = self.cohort.start, 0
        while moment < self.horizon:
            moment = min(moment + step, self.horizon)
            self.runtime.advance(moment)
            done += 1
            if progress is not None:
                progress(done)

    def tally(self) -> "Tally":
        """What was counted, per journey, after ``advance``."""
        self.store.finish()
        for customer in self.store.customers.values():
            for run in customer.runs:
                self.store.journeys[run.journey_id].inside += 1
            for journey_id in customer.entries:
                self.store.journeys[journey_id].entered_customers += 1
        overlap = Counter(len(c.entries) for c in self.store.customers.values() if c.entries)
        return Tally(dict(self.store.journeys), self.staff, len(self.indexes()), overlap,
                     self.behaviour, self.events, self.reached)

    def run(self, progress: Callable[[int], None] | None = None, step: float = DAY):
        """Populate, advance to the horizon; ``Results`` (``MultiResults`` for several
        journeys)."""
        self.advance(progress, step)
        return self.results(self.tally())

    def results(self, tally: "Tally"):
        from .report import results_of
        return results_of(tally, self.programs, self.cohort, self.seed, self.days,
                          [f"c{index + 1}" for index in self.indexes()])


@dataclass
class Tally:
    """What a run (or a shard of one) counted: per journey, and the staff queues; ``+`` merges
    the tallies of shards of one run exactly (their customers are disjoint)."""

    journeys: dict[str, JourneyCounts]
    staff: dict[str, StaffQueue]
    customers: int
    overlap: Counter = field(default_factory=Counter)  # journeys entered -> customers
    behaviour: dict = field(default_factory=dict)      # (segment, response) -> figures
    events: Counter = field(default_factory=Counter)   # event -> how many happened
    reached: Counter = field(default_factory=Counter)  # event -> customers it happened to

    def __add__(self, other: "Tally") -> "Tally":
        journeys = {jid: self.journeys[jid] + other.journeys[jid] for jid in self.journeys}
        staff = {role: merge_queues(self.staff.get(role), other.staff.get(role))
                 for role in {**self.staff, **other.staff}}
        behaviour = {key: self.behaviour.get(key, Counter()) + other.behaviour.get(key, Counter())
                     for key in {**self.behaviour, **other.behaviour}}
        return Tally(journeys, staff, self.customers + other.customers,
                     self.overlap + other.overlap, behaviour, self.events + other.events,
                     self.reached + other.reached)


def customer_index(ident: str) -> int:
    """A customer's index in the cohort from their id (``c12`` -> 11)."""
    return int(ident[1:]) - 1


def responses_to_events(segment: Segment) -> dict[str, list[int]]:
    """Event -> the indexes of the segment's responses that follow it."""
    found: dict[str, list[int]] = {}
    for index, response in enumerate(segment.responses):
        if response.on_event is not None:
            found.setdefault(response.on_event, []).append(index)
    return found


def arrival_events(cohort: Cohort, programs) -> list[str]:
    """The events each customer arrives with: the cohort's ``entry`` (one or a list); else the
    entry events of the journeys that no other of them enters by an ``emit`` (a helper journey
    entered on another's emitted event is not arrived in), in the order the journeys are
    given; none for scheduled journeys (customers then arrive with a profile event)."""
    if cohort.entry_events:
        return list(cohort.entry_events)
    emitted = {event for program in programs for event in emitted_events(program)}
    found = []
    for program in programs:
        entry = program.entry
        if entry is not None and entry.schedule is None and entry.event not in found and (
                len(programs) == 1 or entry.event not in emitted):
            found.append(entry.event)
    return found


def emitted_events(program) -> set[str]:
    """The events the journey's emit steps and handlers' emits make."""
    steps = [s for s in program.steps.values() if s.kind == "emit"]
    steps += [a for handlers in program.handlers.values() for h in handlers for a in h.actions
              if a.kind == "emit"]
    return {step.params["event"] for step in steps}


def simulate(tables: Tables | list[Tables], cohort: Cohort, seed: int = 0, days: float = 90.0, *,
             timezone: str = "UTC", trace: bool = False,
             progress: Callable[[int], None] | None = None, engine: str = "auto"):
    """Run ``cohort`` through the journey ``tables`` (or a list of journeys, together); returns
    ``Results`` (``MultiResults`` for several journeys). ``engine``: ``vector``, ``reference``
    or ``auto`` (the vectorised engine when it supports the journey and cohort)."""
    for journey in journeys_of(tables):
        build_program(journey)  # TablesError early, before any customer is sampled
    sim = simulation_for(tables, cohort, seed, days, timezone=timezone, trace=trace, engine=engine)
    return sim.run(progress)


def _keyed(data, keys: tuple):
    """Event data with the correlation ``keys`` ((path, value), ...) of the run it is about,
    where the data does not set them."""
    for path, value in keys:
        data = with_key(data if isinstance(data, dict) else {}, path, value)
    return data


ENGINES = ("auto", "vector", "reference")


class EngineError(ValueError):
    """The engine asked for cannot run this simulation."""


def journeys_of(tables: Tables | list[Tables]) -> list[Tables]:
    return [tables] if isinstance(tables, Tables) else list(tables)


def vector_reason(tables: Tables | list[Tables], cohort: Cohort) -> str | None:
    """Why the vectorised engine would hand every customer of this simulation to the
    reference engine, or None."""
    from .vector import vector_support
    return vector_support(journeys_of(tables), cohort)


def choose_engine(tables: Tables | list[Tables], cohort: Cohort, engine: str) -> str | None:
    """None to run on the vectorised engine (which hands the customers it cannot run to the
    reference engine in the same run), else why the reference engine runs: asked for, or
    ``auto`` when every customer would take the reference path. EngineError for an unknown
    engine."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    check_cohort(cohort, journeys_of(tables))
    if engine == "reference":
        return "not asked for"
    return vector_reason(tables, cohort) if engine == "auto" else None


def simulation_for(tables: Tables | list[Tables], cohort: Cohort, seed: int = 0,
                   days: float = 90.0, *, timezone: str = "UTC", trace: bool = False,
                   engine: str = "auto"):
    """A ``Simulation`` or ``VectorSimulation`` (``.engine`` names it) ready to ``run``."""
    from .vector import VectorSimulation
    reason = choose_engine(tables, cohort, engine)
    if reason is None:
        journeys = journeys_of(tables)
        sim = VectorSimulation(journeys if len(journeys) > 1 else journeys[0], cohort, seed, days,
                               timezone, trace)
    else:
        sim = Simulation(tables, cohort, seed, days, timezone, trace)
    sim.engine = "vector" if reason is None else "reference"
    sim.engine_note = None if engine == "reference" else reason
    return sim


__all__ = ["ENGINES", "EngineError", "Simulation", "Tally", "arrival_events", "choose_engine",
           "emitted_events", "journeys_of",
           "simulate", "simulation_for", "vector_reason"]
