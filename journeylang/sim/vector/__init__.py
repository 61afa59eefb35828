"""Vectorised simulation: the cohort moved through its journeys with numpy, customer by customer
in lockstep; the customers it hands over taken by the reference engine in the same run.

The same semantics as the reference engine (``sim.engine``, which drives the runtime's
executor customer by customer), for every journey and cohort: each block of customers runs on
numpy (``block.py``); the customers a construct hands over (``plan.py``: ``Plan.reference``,
``Plan.segment_reasons``, whose customers ``Block.escape`` sets aside before the block runs)
are simulated by the reference engine, and the two tallies add up exactly. ``Results.paths``
says how many customers took each path and why. See docs/simulation.md, "The vectorised
engine".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...compile import Tables
from ..cohort import Cohort
from ..engine import SendRecord, Simulation, Tally, customer_index, journeys_of
from .block import Block
from .clock import ZoneClock
from .plan import (ARRIVAL, BASELINE, OPTOUT, RECEIPT, RESPONSE, Plan, Unsupported,
                   vector_support)
from .staff import Handoffs, Ladders, settle, unkeyed
from .tally import Messages

DAY = 86400.0
BLOCK = 1 << 16   # customers per block: each block has its own generator (see shard.py)
SHOWN = 20        # customers named per reason in the results' paths


@dataclass
class Spec:
    """What every block of one run shares."""

    seed: int
    days: float
    horizon: float
    clock: ZoneClock
    trace: bool = False


@dataclass
class Part:
    """What a part of the cohort counted: the tally, the handoffs and ladder resolutions
    (settled when every part is in), and the customers of each path (the reference path's by
    reason)."""

    tally: Tally
    handoffs: Handoffs = field(default_factory=Handoffs)
    ladders: Ladders = field(default_factory=Ladders)
    vector: int = 0                                  # customers simulated here
    reference: dict = field(default_factory=dict)    # reason -> customer indexes
    sends: list = field(default_factory=list)        # trace mode
    inside: int = 0                                  # trace mode: runs not ended

    def __add__(self, other: "Part") -> "Part":
        reasons = {k: self.reference.get(k, []) + other.reference.get(k, [])
                   for k in {**self.reference, **other.reference}}
        return Part(self.tally + other.tally, self.handoffs + other.handoffs,
                    self.ladders + other.ladders, self.vector + other.vector, reasons,
                    self.sends + other.sends, self.inside + other.inside)


class VectorSimulation:
    """One run of ``cohort`` through ``tables`` (a journey, or a list run together) on the
    vectorised engine."""

    def __init__(self, tables: Tables | list[Tables], cohort: Cohort, seed: int = 0,
                 days: float = 90.0, timezone: str = "UTC", trace: bool = False,
                 block: int = BLOCK):
        self.tables, self.cohort, self.seed, self.days = tables, cohort, seed, days
        self.journeys = journeys_of(tables)
        self.timezone = timezone
        self.plan = Plan(self.journeys, cohort)
        self.program = self.plan.journey.program
        self.programs = [journey.program for journey in self.plan.journeys]
        self.block = block
        horizon = cohort.start + days * DAY
        clock = ZoneClock(self.plan.zone_names, cohort.start, horizon, timezone)
        self.spec = Spec(seed, days, horizon, clock, trace)
        self.sends: list[SendRecord] = []   # trace mode: every message
        self.inside = 0                      # trace mode: runs not ended, from the final states

    def blocks(self) -> int:
        return -(-self.cohort.size // self.block)

    def count(self, blocks: range | None = None,
              progress: Callable[[int], None] | None = None) -> Part:
        """Run the given blocks (default: all), and their customers the blocks hand over on the
        reference path; their counts added up."""
        chosen = blocks if blocks is not None else range(self.blocks())
        if self.plan.reference is not None:   # customers are coupled: all of them at once
            everyone = [i for index in chosen
                        for i in range(index * self.block,
                                       min((index + 1) * self.block, self.cohort.size))]
            total = self._reference({self.plan.reference: everyone}) if everyone else None
            if progress is not None:
                for done in range(len(chosen)):
                    progress(done + 1)
            chosen = ()
        else:
            total = None
        handoffs = [total.handoffs] if total is not None else []
        for done, index in enumerate(chosen):
            part = self._block(index)
            handoffs.append(part.handoffs)   # joined once at the end: no copy per block
            part.handoffs = Handoffs()
            total = part if total is None else total + part
            if progress is not None:
                progress(done + 1)
        if total is None:
            total = Part(self._empty())
        if handoffs:
            total.handoffs = Handoffs.joined(handoffs)
        if self.spec.trace:
            self.sends, self.inside = total.sends, total.inside
        return total

    def _block(self, index: int) -> Part:
        """One block's counts, and those of the customers it hands over on the reference path
        (the block's arrays are freed on return, before the next block starts)."""
        first = index * self.block
        size = min(self.block, self.cohort.size - first)
        block = Block(self.plan, self.spec, first, size, seed_for(self.seed, index)).run()
        part = self._part(block.finish())
        escaped = {reason: (np.flatnonzero(mask) + first).tolist()
                   for reason, mask in block.reasons.items()}
        if escaped:
            part = part + self._reference(escaped)
        return part

    def _empty(self) -> Tally:
        from ..counting import JourneyCounts
        counts = {p.journey_id: JourneyCounts() for p in self.programs}
        for j, one in enumerate(counts.values()):
            one.sent_to = Messages(j=j)
        return Tally(counts, {}, 0)

    # --- a block's counts ---------------------------------------------------------------------

    def _part(self, block: Block) -> Part:
        keep = ~block.escaped
        plan, tally = self.plan, block.tally
        journeys = tally.counts(block, keep)
        if block.keys is not None:
            for (j, kind), count in block.keys.undelivered.items():
                journeys[plan.journeys[j].journey_id].undelivered[plan.kinds.names[kind]] += count
        entered = sum((block.entries[j] > 0).astype(np.int64) for j in range(len(plan.journeys)))
        overlap = Counter({int(k): int(v) for k, v in zip(*np.unique(entered[keep], return_counts=True))
                           if k > 0})
        events, reached = _events(block, keep)
        part = Part(Tally(journeys, {}, int(keep.sum()), overlap, _behaviour(block),
                          events, reached), _handoffs(block, keep), _ladders(block, keep),
                    int(keep.sum()))
        if self.spec.trace:
            zones = plan.zone_names
            for rows, times, channel, codes, j in block.trace:
                mine = keep[rows - block.first]
                jid = plan.journeys[j].journey_id
                part.sends += [SendRecord(f"c{r + 1}", t, channel, jid, timezone=zones[z])
                               for r, t, z in zip(rows[mine].tolist(), times[mine].tolist(),
                                                  codes[mine].tolist())]
            lanes = block.lanes
            live = lanes.phase[:lanes.size] != 0
            part.inside = int((live & keep[lanes.c[:lanes.size]]).sum())
        return part

    # --- the reference path -------------------------------------------------------------------

    def _reference(self, reasons: dict) -> Part:
        """The customers ``reasons`` names, simulated by the reference engine."""
        indexes = sorted({i for listed in reasons.values() for i in listed})
        sim = Simulation(self.journeys if len(self.journeys) > 1 else self.journeys[0],
                         self.cohort, self.seed, self.days, self.timezone, self.spec.trace,
                         only=indexes)
        sim.advance()
        tally = sim.tally()
        journeys = [tally.journeys[program.journey_id] for program in self.programs]
        for counts, sent_to in zip(journeys, Messages.of_counters([c.sent_to for c in journeys])):
            counts.sent_to = sent_to
        part = Part(tally, reference={k: list(v) for k, v in reasons.items()})
        if self.plan.reference is None:   # the staff queues are settled with every customer's
            tally.staff = {}
            for counts in tally.journeys.values():
                counts.slas.clear()
                counts.undelivered.pop("handoff_resolved", None)
            for name in ("handoff_resolved",):
                tally.events.pop(name, None)
                tally.reached.pop(name, None)
            part.handoffs, part.ladders = self._staffing(sim)
        if self.spec.trace:
            part.sends = list(sim.sends)
            part.inside = sum(len(c.runs) for c in sim.store.customers.values())
        return part

    def _staffing(self, sim: Simulation) -> tuple[Handoffs, Ladders]:
        """The reference engine's handoffs and ladder resolutions, for the settlement with
        every other customer's."""
        code = self.plan.step_code_of
        handoffs, ladders = sim.handoffs, sim.store.ladders
        return Handoffs(
            customer=np.array([customer_index(h[0]) for h in handoffs], dtype=np.int64),
            at=np.array([h[1] for h in handoffs], dtype=float),
            seq=np.array([h[7] for h in handoffs], dtype=float),
            made=np.array([h[8] for h in handoffs], dtype=float),
            order=np.array([h[9] for h in handoffs], dtype=float),
            role=_objects([h[2] for h in handoffs]),
            due=np.array([np.nan if h[3] is None else h[3] for h in handoffs], dtype=float),
            journey=_objects([h[4] for h in handoffs]),
            run=np.array([h[5] for h in handoffs], dtype=np.int64),
            step=np.array([code(h[4], h[6]) for h in handoffs], dtype=np.int64),
            **_lineage(sim.nodes.lineage() if sim.nodes.t else None, [h[10] for h in handoffs]),
            **unkeyed(len(handoffs))), Ladders(
            customer=np.array([customer_index(r[0]) for r in ladders], dtype=np.int64),
            at=np.array([r[1] for r in ladders], dtype=float),
            seq=np.array([r[2] for r in ladders], dtype=float),
            run=np.array([r[3] for r in ladders], dtype=np.int64),
            wait=np.array([code(r[4], r[5]) for r in ladders], dtype=np.int64))

    # --- results ------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None):
        """All blocks; ``Results`` as the reference engine gives them (``MultiResults`` for
        several journeys)."""
        return self.results(self.count(progress=progress))

    def results(self, part: Part):
        from ..report import results_of
        tally = part.tally
        if self.plan.reference is None:
            queues, slas, resolved, reached, undelivered = settle(
                part.handoffs, self.plan.roles, self.spec.horizon, part.ladders, self.plan.rungs)
            tally.staff = queues
            for counts in tally.journeys.values():
                counts.slas.clear()
            for journey_id, roles in slas.items():
                for role, figures in roles.items():
                    tally.journeys[journey_id].slas[role] += figures
            for journey_id, count in undelivered.items():
                tally.journeys[journey_id].undelivered["handoff_resolved"] += count
            if resolved:
                tally.events["handoff_resolved"] = resolved
                tally.reached["handoff_resolved"] = reached
        results = results_of(tally, self.programs, self.cohort, self.seed, self.days,
                             _Ids(self.cohort.size))
        paths = paths_of(part, self.cohort.size)
        for one in (results, *getattr(results, "journeys", ())):   # each journey's own too
            one.engine, one.paths = "vector", paths
        return results


def paths_of(part: Part, customers: int) -> dict:
    """How many customers took each path, and why those on the reference path did."""
    names = {reason: listed for reason, listed in part.reference.items() if listed}
    on_reference = sorted({i for listed in names.values() for i in listed})
    return {"vector": customers - len(on_reference), "reference": len(on_reference),
            "reasons": {reason: {"customers": len(listed),
                                 "first": [f"c{i + 1}" for i in sorted(listed)[:SHOWN]]}
                        for reason, listed in sorted(names.items())}}


class _Ids:
    """The cohort's customer ids (``c1`` ...) without making a list of a million strings."""

    def __init__(self, size: int):
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        return (f"c{i + 1}" for i in range(self.size))


def _lineage(lineage, nodes) -> dict:
    """The ``lineage`` and ``node`` of handoffs made by the items of ``nodes``: only the nodes
    of their chains are kept."""
    if lineage is None:
        return {}
    kept, numbers = lineage.kept(np.asarray(nodes, dtype=np.int64))
    return {"lineage": kept, "node": numbers}


def _objects(values: list) -> np.ndarray:
    found = np.empty(len(values), dtype=object)
    found[:] = values
    return found


def _events(block: Block, keep: np.ndarray) -> tuple[Counter, Counter]:
    """The cohort's events by the horizon (as the reference engine queues them: arrivals,
    baseline events, responses, opt-outs, delivery results) and the customers each type
    happened to."""
    book, plan = block.book, block.plan
    size = book.size
    counted = np.array([s.role in (ARRIVAL, BASELINE, RESPONSE, OPTOUT, RECEIPT)
                        for s in plan.sources])
    mine = counted[book.src[:size]]
    mine &= book.t[:size] <= block.spec.horizon
    if not keep.all():
        mine &= keep[book.row[:size]]
    # the events per type and customer by one code each, counted where they are (a selected
    # copy of the book's columns is new memory to touch); those not counted in a last place
    kinds = int(book.kind[:size].max()) + 1 if size else 0
    places = book.kind[:size] * block.n
    places += book.row[:size]
    places[~mine] = kinds * block.n
    per = np.bincount(places, minlength=kinds * block.n + 1)[:-1].reshape(kinds, block.n)
    counts = per.sum(axis=1)
    customers = np.count_nonzero(per, axis=1)   # per type, the customers it reached
    events, reached = Counter(), Counter()
    for kind in np.flatnonzero(counts).tolist():
        events[plan.kinds.names[kind]] = int(counts[kind])
        reached[plan.kinds.names[kind]] = int(customers[kind])
    return events, reached


def _behaviour(block: Block) -> dict:
    """Per (segment, response): how often it was triggered and fired, and its events."""
    plan, responses = block.plan, block.tally.responses
    any_fired = any("fired" in figures for figures in responses.values())
    found: dict = {}
    for s, source in enumerate(plan.sources):
        if source.role != RESPONSE:
            continue
        drawn = responses.get(s, Counter())
        figures = Counter({"triggers": drawn["triggers"]})
        if any_fired:
            figures.update({k: drawn[k] for k in ("fired", "events", "events_sq")})
        if figures["triggers"]:
            found[(plan.cohort.segments[source.segment].name, source.index)] = figures
    return found


def _handoffs(block: Block, keep: np.ndarray) -> Handoffs:
    found = block.tally.log.take("handoffs", keep)
    if found is None:
        return Handoffs()
    rows, at, seq, made, role, due, j, runs, step, nodes = found
    names = block.plan.role_names
    if block.keys is not None:
        key, end_t, end_s = block.keys.of_handoffs(runs)
        keyed = {"key": key, "end_t": end_t, "end_s": end_s}
    else:
        keyed = unkeyed(len(rows))
    return Handoffs(customer=rows + block.first, at=at, seq=seq, made=made,
                    order=np.zeros(len(rows)), role=_objects([names[r] for r in role.tolist()]),
                    due=due, journey=_objects([block.plan.journeys[i].journey_id for i in j.tolist()]),
                    run=runs, step=step, **keyed, **_lineage(block.lineage, nodes))


def _ladders(block: Block, keep: np.ndarray) -> Ladders:
    found = block.tally.log.take("ladders", keep)
    if found is None:
        return Ladders()
    rows, at, seq, runs, wait = found
    return Ladders(customer=rows + block.first, at=at, seq=seq, run=runs, wait=wait)


def seed_for(seed: int, block: int) -> np.random.SeedSequence:
    """The generator seed of one block: a customer's draws depend on the seed and their block."""
    return np.random.SeedSequence([seed % (1 << 63), block])


__all__ = ["BLOCK", "Part", "Unsupported", "VectorSimulation", "paths_of", "seed_for",
           "vector_support"]
