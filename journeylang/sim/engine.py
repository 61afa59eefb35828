"""Simulation stage: a cohort through a compiled journey on the runtime's own executor and clock.

Nothing here decides what a step does: customers' entry events, their reactions to messages,
their baseline events and opt-outs are events queued on the runtime's engine
(``schedule_event``), and the runtime applies them with the same semantics as a live run. What
this module adds is the customers (sampled, seeded per customer) and the counting.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

from ..compile import Tables
from ..runtime import Adapters, Event, Runtime
from ..runtime.channels import SENT
from ..runtime.program import build_program, reacts_to
from ..semantics import MESSAGE_DELIVERED, MESSAGE_SENT
from .cohort import OPT_OUT_DELAY, OPT_OUT_EVENT, Cohort, Segment
from .counting import CountingStore
from .staff import StaffQueue, staff_queues

DAY = 86400.0


@dataclass(slots=True)
class SimCustomer:
    segment: Segment
    rng: random.Random
    received: int = 0   # messages delivered: fatigue lowers each response by a factor per message
    opted_out: bool = False


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

    def cancel_pending(self, customer: str, up_to: int) -> None:
        pass  # a simulated message is delivered at once: nothing is pending


@dataclass
class Simulation:
    """One run of ``cohort`` through ``tables`` for ``days`` days with ``seed``."""

    tables: Tables
    cohort: Cohort
    seed: int = 0
    days: float = 90.0
    timezone: str = "UTC"
    trace: bool = False   # keep every send (the property tests read it)
    customers: dict[str, SimCustomer] = field(default_factory=dict)
    sends: list[SendRecord] = field(default_factory=list)

    def __post_init__(self):
        self.store = CountingStore()
        self.runtime = Runtime(self.store, seed=self.seed, timezone=self.timezone,
                               adapters=Adapters(CohortAdapter(self)), render=False)
        self.program = self.runtime.load(self.tables)
        self.store.attach(self.program)
        self.horizon = self.cohort.start + self.days * DAY
        self._serial = 0
        self.receipts = [kind for kind in (MESSAGE_SENT, MESSAGE_DELIVERED)
                         if reacts_to(self.program, kind)]
        self.staff = staff_queues(self.program.roles)

    # --- the cohort ---------------------------------------------------------------------------

    def populate(self) -> None:
        """Sample every customer and queue their entry and baseline events."""
        entry = self.cohort.entry_event or (self.program.entry.event if self.program.entry else None)
        for index in range(self.cohort.size):
            ident = f"c{index + 1}"
            rng = random.Random(f"{self.seed}/{ident}")  # per customer: shards give the same draws
            segment = self.cohort.segment_for(rng)
            self.customers[ident] = SimCustomer(segment, rng)
            self.store.segment_of[ident] = segment.name
            at = self.cohort.start + rng.random() * self.cohort.arrival
            profile = segment.profile(rng)
            if entry is not None:
                self._queue(ident, entry, at, segment.entry_data(rng), profile)
            elif profile:
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
            self._queue(ident, base.event, at, base.data(rng))

    def _queue(self, customer: str, kind: str, at: float, data: dict, attributes=None) -> None:
        self._serial += 1
        self.runtime.schedule_event(Event(f"sim-{self._serial}", kind, customer, at,
                                          attributes or {}, data if isinstance(data, dict) else {}))

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
        for response in segment.responses:
            if response.matches(action) and rng.random() < response.p * factor:
                self._queue(action.customer, response.event, action.at + response.delay(rng),
                            response.data(rng))
        if not person.opted_out and segment.opt_out and rng.random() < segment.opt_out:
            person.opted_out = True
            self._queue(action.customer, OPT_OUT_EVENT, action.at + OPT_OUT_DELAY, {})

    def on_handoff(self, action) -> None:
        """Staff take the handoff in their role's FIFO queue and resolve it when served."""
        role = action.payload.get("role") or ""
        queue = self.staff.setdefault(role, StaffQueue())  # undeclared: served at once
        served = queue.serve(action.at)
        if served != math.inf:  # a role with capacity 0 never serves
            self._queue(action.customer, "handoff_resolved", served, {"role": role})

    # --- running ------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None, step: float = DAY) -> "Results":
        """Populate, then advance the clock to the horizon (``progress`` gets the days done)."""
        from .report import Results
        self.populate()
        moment, done = self.cohort.start, 0
        while moment < self.horizon:
            moment = min(moment + step, self.horizon)
            self.runtime.advance(moment)
            done += 1
            if progress is not None:
                progress(done)
        return Results.collect(self)


def simulate(tables: Tables, cohort: Cohort, seed: int = 0, days: float = 90.0, *,
             timezone: str = "UTC", trace: bool = False,
             progress: Callable[[int], None] | None = None, engine: str = "auto"):
    """Run ``cohort`` through the journey ``tables``; returns ``Results``. ``engine``: ``vector``,
    ``reference`` or ``auto`` (the vectorised engine when it supports the journey and cohort)."""
    build_program(tables)  # TablesError early, before any customer is sampled
    sim = simulation_for(tables, cohort, seed, days, timezone=timezone, trace=trace, engine=engine)
    return sim.run(progress)


ENGINES = ("auto", "vector", "reference")


class EngineError(ValueError):
    """The engine asked for cannot run this simulation."""


def simulation_for(tables: Tables, cohort: Cohort, seed: int = 0, days: float = 90.0, *,
                   timezone: str = "UTC", trace: bool = False, engine: str = "auto"):
    """A ``Simulation`` or ``VectorSimulation`` (``.engine`` names it) ready to ``run``."""
    from .vector import VectorSimulation, vector_support
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    reason = vector_support(tables, cohort) if engine != "reference" else "not asked for"
    if engine == "vector" and reason is not None:
        raise EngineError(f"the vectorised engine cannot run this simulation: {reason}")
    if reason is None:
        sim = VectorSimulation(tables, cohort, seed, days, timezone, trace)
    else:
        sim = Simulation(tables, cohort, seed, days, timezone, trace)
    sim.engine = "vector" if reason is None else "reference"
    sim.engine_note = None if engine == "reference" else reason
    return sim


__all__ = ["ENGINES", "EngineError", "Simulation", "simulate", "simulation_for"]
