"""Vectorised simulation: counting with numpy while a block runs, and the counts as Results.

A block's ``Tally`` keeps numpy counters indexed by step and reason codes; ``counts()`` turns
them into ``Counts``: the CountingStore's figures keyed by names, which add up exactly across
blocks and shards, and which ``Results.collect`` reads through a small stand-in for a run.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np


@dataclass
class Counts:
    """What CountingStore counts, for any number of customers; ``+`` merges exactly."""

    entered: Counter = field(default_factory=Counter)
    ended: Counter = field(default_factory=Counter)
    steps: Counter = field(default_factory=Counter)
    flows: Counter = field(default_factory=Counter)
    stages: Counter = field(default_factory=Counter)
    results: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    skip_reasons: Counter = field(default_factory=Counter)
    convert_times: list = field(default_factory=list)
    by_segment: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    opt_outs: int = 0
    sent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per customer
    entered_customers: int = 0
    dropped: int = 0   # pending reactions dropped because a customer had more than SLOTS queued
    milestones: Counter = field(default_factory=Counter)       # (group, milestone) -> runs
    milestone_times: defaultdict = field(default_factory=lambda: defaultdict(list))  # treated
    ignored: Counter = field(default_factory=Counter)          # step -> events nothing took
    handled: Counter = field(default_factory=Counter)          # event -> handler runs (none)
    channel_sends: Counter = field(default_factory=Counter)    # (step, channel) -> messages

    def __add__(self, other: "Counts") -> "Counts":
        merged = Counts()
        for name in ("entered", "ended", "steps", "flows", "stages", "skip_reasons", "milestones",
                     "ignored", "handled", "channel_sends"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        for name in ("results", "by_segment"):
            table = defaultdict(Counter)
            for source in (getattr(self, name), getattr(other, name)):
                for key, counter in source.items():
                    table[key] += counter
            setattr(merged, name, table)
        for source in (self.milestone_times, other.milestone_times):
            for name, times in source.items():
                merged.milestone_times[name] += times
        merged.convert_times = self.convert_times + other.convert_times
        merged.sent = np.concatenate([self.sent, other.sent])
        for name in ("opt_outs", "entered_customers", "dropped"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        return merged

    @property
    def still_inside(self) -> int:
        return sum(self.entered.values()) - sum(self.ended.values())


class Tally:
    """Numpy counters for one block (``plan`` fixes the step and reason codes)."""

    def __init__(self, plan, n: int):
        self.plan = plan
        steps, whys = len(plan.steps), len(plan.whys)
        self.treated = self.holdouts = self.unplaced = 0
        self.held_won: Counter = Counter()
        self.held_expired = 0
        self.entries = np.zeros(steps, dtype=np.int64)
        self.moves = np.zeros((steps, whys, steps), dtype=np.int64)
        self.ends = np.zeros((steps, whys), dtype=np.int64)
        self.reached = np.zeros((len(plan.stages), n), dtype=bool)
        self.outcomes = np.zeros((steps, 5), dtype=np.int64)  # sent, opted out, no consent, cap, deferred
        self.cancelled = np.zeros(steps, dtype=np.int64)
        self.segment_in = np.zeros(len(plan.cohort.segments), dtype=np.int64)
        self.segment_won = np.zeros(len(plan.cohort.segments), dtype=np.int64)
        self.times: list[np.ndarray] = []
        self.sent = np.zeros(n, dtype=np.int64)
        self.dropped = 0
        self.opt_outs = 0
        self.channels: Counter = Counter()      # (step index, channel) -> messages
        self.milestones: Counter = Counter()
        self.milestone_times: dict = {}
        self.ignored = np.zeros(steps, dtype=np.int64)
        self.converted = np.array([code for code, outcome in plan.outcome_of.items()
                                   if outcome == "converted"], dtype=np.int64)

    # --- during the run ---------------------------------------------------------------------

    def entered(self, rows: np.ndarray, segments: np.ndarray) -> None:
        self.treated += len(rows)
        self.segment_in += np.bincount(segments[rows], minlength=len(self.segment_in))

    def ended_unplaced(self, count: int) -> None:
        self.unplaced += count

    def holdout(self, count: int, won_whys: np.ndarray, expired: int) -> None:
        self.holdouts += count
        self.held_won.update(won_whys.tolist())
        self.held_expired += expired

    def enter_step(self, s: int, rows, prev, why) -> None:
        self.entries[s] += len(rows)
        moved = prev >= 0
        if moved.any():
            shape = self.moves.shape
            codes = prev[moved] * shape[1] + why[moved]
            self.moves[:, :, s] += np.bincount(codes, minlength=shape[0] * shape[1]).reshape(shape[:2])
        stage = self.plan.stage_of[s]
        self.reached[stage, rows] = True

    def ended(self, rows, at, why, origin, block) -> None:
        count = len(rows)
        if not count:
            return
        why = np.broadcast_to(why, (count,))
        origin = np.broadcast_to(origin, (count,))
        shape = self.ends.shape
        self.ends += np.bincount(origin * shape[1] + why, minlength=shape[0] * shape[1]).reshape(shape)
        won = np.isin(why, self.converted)
        if won.any():
            at = np.broadcast_to(at, (count,))
            self.times.append(at[won] - block.arrival[rows[won]])
            self.segment_won += np.bincount(block.seg[rows[won]], minlength=len(self.segment_won))

    def send_results(self, s: int, sent: int, opted: int, consent: int, cap: int) -> None:
        self.outcomes[s, :4] += (sent, opted, consent, cap)

    def on_channel(self, s: int, channel: str, sent: int) -> None:
        self.channels[(s, channel)] += sent

    def deferred(self, s: int, count: int) -> None:
        self.outcomes[s, 4] += count

    def skipped_opted_out(self, s: int, count: int) -> None:
        self.cancelled[s] += count

    def finish(self, block) -> None:
        self.opt_outs = int((block.opt_time <= block.spec.horizon).sum())
        self.milestones, self.milestone_times, self.ignored = block.notes.count(block)

    # --- as counts --------------------------------------------------------------------------

    def counts(self) -> Counts:
        plan, found = self.plan, Counts()
        ids, whys, outcome = plan.ids, plan.whys, plan.outcome_of
        found.entered = Counter({k: v for k, v in (("treated", self.treated + self.unplaced),
                                                   ("holdout", self.holdouts)) if v})
        for code, n in self.held_won.items():
            found.ended[("holdout", outcome[code])] += n
        if self.held_expired:
            found.ended[("holdout", "expired")] += self.held_expired
        if self.unplaced:
            found.ended[("treated", "completed")] += self.unplaced
        for origin, code in zip(*np.nonzero(self.ends)):
            n = int(self.ends[origin, code])
            found.ended[("treated", outcome[code])] += n
            found.flows[(ids[origin], whys[code], f"end:{outcome[code]}")] += n
        for origin, code, target in zip(*np.nonzero(self.moves)):
            found.flows[(ids[origin], whys[code], ids[target])] += int(self.moves[origin, code, target])
        found.steps = Counter({ids[s]: int(n) for s, n in enumerate(self.entries) if n})
        found.stages = Counter({plan.stages[k]: int(n) for k, n in enumerate(self.reached.sum(axis=1)) if n})
        for s, row in enumerate(self.outcomes):
            sent, opted, consent, cap, deferred = (int(v) for v in row)
            skipped = opted + consent + cap + int(self.cancelled[s])
            for what, n in (("sent", sent), ("skipped", skipped), ("deferred", deferred)):
                if n:
                    found.results[ids[s]][what] += n
            found.skip_reasons.update({"cap": cap, "no consent": consent,
                                       "opted out": opted + int(self.cancelled[s])})
        found.skip_reasons = +found.skip_reasons
        found.convert_times = np.concatenate(self.times).tolist() if self.times else []
        for g, segment in enumerate(plan.cohort.segments):
            if self.segment_in[g]:
                found.by_segment[segment.name]["entered"] += int(self.segment_in[g])
            if self.segment_won[g]:
                found.by_segment[segment.name]["converted"] += int(self.segment_won[g])
        found.opt_outs, found.sent, found.dropped = self.opt_outs, self.sent, self.dropped
        found.channel_sends = Counter({(ids[s], channel): n for (s, channel), n in self.channels.items()})
        found.ignored = Counter({ids[s]: int(n) for s, n in enumerate(self.ignored) if n})
        found.milestones = +self.milestones
        found.milestone_times = defaultdict(list, self.milestone_times)
        found.entered_customers = self.treated + self.unplaced + self.holdouts
        return found


# --- what Results.collect reads ------------------------------------------------------------------

class _Customer:
    __slots__ = ("runs", "entries")

    def __init__(self, runs, entries):
        self.runs, self.entries = runs, entries


class _Customers:
    """Stands in for the store's customers: one holding the runs still inside, then one per
    other customer who entered (Results counts runs inside and customers who entered)."""

    def __init__(self, inside: int, entered: int):
        self.inside, self.entered = inside, entered

    def values(self):
        if not self.entered:
            return iter(())
        return chain([_Customer(range(self.inside), True)],
                     repeat(_Customer((), True), self.entered - 1))


class CountsStore:
    """The attributes of a CountingStore that ``Results.collect`` reads, from ``Counts``."""

    def __init__(self, counts: Counts):
        for name in ("entered", "ended", "steps", "flows", "stages", "results", "skip_reasons",
                     "convert_times", "by_segment", "opt_outs", "milestones", "milestone_times",
                     "ignored", "handled", "channel_sends"):
            setattr(self, name, getattr(counts, name))
        self.sent_to = dict(enumerate(counts.sent.tolist()))
        self.customers = _Customers(counts.still_inside, counts.entered_customers)


class InstantQueue:
    """A role without declared capacity: every handoff is served the moment it is made."""

    def __init__(self, handoffs: int = 0):
        self.handoffs = handoffs

    def summary(self) -> dict:
        waited = 0.0 if self.handoffs else None
        return {"handoffs": self.handoffs, "mean_wait_hours": waited, "p90_wait_hours": waited,
                "max_queue": 0}


def served_at_once(counts: Counts, program) -> tuple[dict, dict]:
    """Staff queues and SLA records of handoffs served at once (the only kind the vectorised
    engine runs, see plan.py): every SLA opened is met, none waits."""
    queues: dict[str, InstantQueue] = {}
    slas: dict[str, Counter] = defaultdict(Counter)
    for step in program.steps.values():
        if step.kind != "handoff" or not counts.steps[step.id]:
            continue
        role, made = step.params["role"], counts.steps[step.id]
        queues.setdefault(role, InstantQueue()).handoffs += made
        if step.params.get("within") is not None:
            slas[role]["opened"] += made
            slas[role]["met"] += made
    return queues, slas


@dataclass
class CountedRun:
    """A finished run as ``Results.collect`` sees it (store, program, customers, cohort...)."""

    store: CountsStore
    program: object
    cohort: object
    seed: int
    days: float
    customers: range
    staff: dict = field(default_factory=dict)


def results_of(counts: Counts, program, cohort, seed: int, days: float, engine: str = "vector"):
    """``Results`` of counted customers, through the reference collector (report.py)."""
    from ..report import Results
    store = CountsStore(counts)
    staff, store.slas = served_at_once(counts, program)
    sends = [step for step in program.steps.values() if step.kind == "send"]
    store.promo_sends = sum(counts.results[s.id]["sent"] for s in sends if s.params.get("promo"))
    store.budget_sends = sum(counts.results[s.id]["sent"] for s in sends
                             if not s.params.get("transactional"))
    results = Results.collect(CountedRun(store, program, cohort, seed, days,
                                         range(len(counts.sent)), staff))
    if hasattr(results, "engine"):
        results.engine = engine
    return results
