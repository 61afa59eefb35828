"""Simulation stage: a runtime store that counts what happens instead of keeping rows.

The executor writes one history row per step entered, with the step's result (sent, skipped,
deferred); each row is counted as it comes, for the journey it belongs to. Counts: runs entered
and ended (by outcome), steps entered, flows between steps by edge, stage funnel, sends, skips
and deferrals, conversions and their times, each experiment's arms (splits and the entry
holdout); SLAs and KPI observations are counted from what changed at each commit. Each
journey's counts are a ``JourneyCounts``, which add up exactly across shards.
"""
from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..runtime import MemoryStore
from ..runtime.state import HIT, MISSED, OPEN, Run, Sla
from ..semantics import ENTRY_EXPERIMENT, HELD_OUT, TREATED, skip_reason

CONTINUED = ("quiet hours over", "opted out")  # rows for the step a run is already on
# rows that do not move a run
NOTES = ("milestone", "handled", "ignored", "migrated", "kept", "sla_closed")
HIT_OPEN = "hit_open"  # a KPI hit whose window is still open at the horizon: not yet counted


def _counters():
    return defaultdict(Counter)


def times(values=()) -> array:
    """Seconds, one per run (conversions, milestones reached), as doubles: 8 bytes each, for
    exact quantiles in memory that grows only with the runs."""
    return array("d", values)


@dataclass
class JourneyCounts:
    """What the simulator counts of one journey, for any number of customers; ``+`` merges."""

    entered: Counter = field(default_factory=Counter)        # "treated" / "holdout" runs
    ended: Counter = field(default_factory=Counter)          # (group, outcome)
    steps: Counter = field(default_factory=Counter)          # step -> runs that entered it
    flows: Counter = field(default_factory=Counter)          # (from, edge, to step or end:outcome)
    stages: Counter = field(default_factory=Counter)         # stage -> runs that reached it
    results: defaultdict = field(default_factory=_counters)  # step -> sent / skipped / deferred
    skip_reasons: Counter = field(default_factory=Counter)   # "cap", "opted out", "no consent"
    convert_times: array = field(default_factory=times)      # seconds from entry to the goal
    by_segment: defaultdict = field(default_factory=_counters)  # segment -> entered / converted
    opt_outs: int = 0                                        # opt-outs after its messages
    sent_to: Counter = field(default_factory=Counter)        # customer -> messages of this journey
    promo_sends: int = 0
    budget_sends: int = 0   # messages the promo budget counts (not transactional)
    slas: defaultdict = field(default_factory=_counters)     # role -> opened / met / breached
    kpis: defaultdict = field(default_factory=_counters)     # KPI -> opened, hit, hit_open, missed
    milestones: Counter = field(default_factory=Counter)     # (group, milestone) -> runs
    milestone_times: defaultdict = field(default_factory=lambda: defaultdict(times))
    ignored: Counter = field(default_factory=Counter)        # step -> events nothing took there
    handled: Counter = field(default_factory=Counter)        # event -> handler runs
    undelivered: Counter = field(default_factory=Counter)    # event -> times it reached no run
    channel_sends: Counter = field(default_factory=Counter)  # (step, channel) -> messages
    experiments: defaultdict = field(default_factory=_counters)  # (experiment, arm) -> figures
    inside: int = 0                 # runs not ended at the horizon
    entered_customers: int = 0      # customers with at least one run

    def __add__(self, other: "JourneyCounts") -> "JourneyCounts":
        merged = JourneyCounts()
        for name, value in vars(self).items():
            theirs = getattr(other, name)
            if isinstance(value, defaultdict):
                table = type(value)(value.default_factory)
                for source in (value, theirs):
                    for key, item in source.items():
                        table[key] = table[key] + item
                setattr(merged, name, table)
            else:
                setattr(merged, name, value + theirs)
        return merged


@dataclass(slots=True, eq=False)
class _Place:
    """Where a run is while it is counted: its step, the stages it reached, when it entered,
    its arms in the journey's experiments, and what it achieved (milestones reached, KPI
    windows closed) to credit its arms with when it ends."""

    counts: JourneyCounts
    entered_at: float
    step: str | None = None
    stages: set = field(default_factory=set)
    arms: dict = field(default_factory=dict)
    achieved: list = field(default_factory=list)  # figure names: milestone:x, kpi:y:hit


class CountingStore(MemoryStore):
    """Counts each journey's rows into its ``JourneyCounts`` (``attach`` every program first)."""

    def __init__(self, horizon: float = float("inf")):
        super().__init__(keep_rows=False)
        self.horizon = horizon                   # KPI windows closing after it stay open
        self.journeys: dict[str, JourneyCounts] = {}
        self.stage_of: dict[str, dict[str, str]] = {}
        self.entry_experiment: set[str] = set()  # journeys with an entry holdout
        self.segment_of: dict[str, str] = {}
        self.first: str | None = None            # the journey opt-outs go to before any message
        self.last_sender: dict[str, str] = {}    # customer -> journey of their last message
        self.where: dict[int, _Place] = {}       # run id -> where a run not ended is
        self.ladder_arms: dict[tuple, frozenset] = {}  # (journey, ladder wait) -> its arms' labels
        # (customer, at, key of the event's instant, run id, journey, wait): ladders resolved
        self.ladders: list[tuple] = []
        self.marks = 0                           # the order of handoffs (``mark``)
        self.item = 0.0                          # the key of the item handled (sim.engine)
        self.arms_of: dict[int, dict] = {}       # ended run id -> its arms (KPIs close later)
        self.exempt: set[tuple[str, str]] = set()  # (journey, step): transactional sends

    def attach(self, program) -> None:
        jid = program.journey_id
        self.journeys.setdefault(jid, JourneyCounts())
        self.stage_of[jid] = {step.id: step.stage for step in program.steps.values()}
        self.exempt |= {(jid, step.id) for step in program.steps.values()
                        if step.kind == "send" and step.params.get("transactional")}
        if program.holdout:
            self.entry_experiment.add(jid)
        self.ladder_arms.update({(jid, step.id): frozenset(arm.label for arm in step.arms)
                                 for step in program.steps.values()
                                 if step.kind == "wait_event" and step.params.get("ladder")})
        self.first = self.first or jid

    def finish(self) -> None:
        """At the horizon: credit the arms of the runs still inside with what they achieved."""
        for place in self.where.values():
            _credit(place)

    # the executor's interface
    def history(self, row) -> None:
        at, customer, run_id, journey_id, step, what, why, detail = row
        if run_id is None:
            if what == "opted_out":
                self.journeys[self.last_sender.get(customer, self.first)].opt_outs += 1
            elif what == "undelivered":  # no run had the event's correlation key
                self.journeys[journey_id].undelivered[why.removeprefix("event ")] += 1
            return
        counts = self.journeys[journey_id]
        place = self.where.get(run_id)
        if what == "ended":
            self._ended(journey_id, run_id, place, at, customer, why, detail)
            return
        if what == "holdout" and step is None:
            counts.entered["holdout"] += 1
            self.where[run_id] = _Place(counts, at, arms=self._arm(counts, HELD_OUT))
            return
        if place is None:  # the first row of a run
            place = self.where[run_id] = self._entered(counts, journey_id, customer, at)
        if what in NOTES:
            self._note(place, step, what, why, detail, at)
            return
        if self.ladder_arms and why in self.ladder_arms.get((journey_id, place.step), ()):
            # the run takes its ladder wait's arm: the ladder is resolved
            self.ladders.append((customer, at, self.item, run_id, journey_id, place.step))
        self._stepped(place, journey_id, step, what, why, detail)

    def mark(self) -> int:
        """The next number in the order of the handoffs recorded."""
        self.marks += 1
        return self.marks

    def outbox(self, action) -> None:
        pass

    def write(self, customer) -> None:
        """Count each SLA and KPI observation once when it opens and once when it closes
        (``stored`` holds the status last counted)."""
        for record in customer.records():
            if type(record) is Run or record.stored == record.status:
                continue
            counts = self.journeys[record.journey_id]
            if type(record) is Sla:
                _count_status(counts.slas[record.role], record.stored, record.status)
            else:
                self._observation(counts, record)
            record.stored = record.status

    def on_send(self, action) -> None:
        counts = self.journeys[action.journey_id]
        counts.sent_to[action.customer] += 1
        counts.promo_sends += action.promo
        counts.budget_sends += (action.journey_id, action.step) not in self.exempt
        self.last_sender[action.customer] = action.journey_id

    # counting
    def _entered(self, counts: JourneyCounts, journey_id, customer: str, at: float) -> _Place:
        counts.entered["treated"] += 1
        counts.by_segment[self.segment_of.get(customer, "")]["entered"] += 1
        arms = self._arm(counts, TREATED) if journey_id in self.entry_experiment else {}
        return _Place(counts, at, arms=arms)

    def _arm(self, counts: JourneyCounts, group: str) -> dict:
        counts.experiments[(ENTRY_EXPERIMENT, group)]["runs"] += 1
        return {ENTRY_EXPERIMENT: group}

    def _stepped(self, place: _Place, journey_id, step, what, why, detail) -> None:
        counts = place.counts
        if not (step == place.step and why in CONTINUED):
            counts.steps[step] += 1
            if place.step is not None:
                counts.flows[(place.step, why, step)] += 1
            stage = self.stage_of[journey_id].get(step)
            if stage not in place.stages:
                place.stages.add(stage)
                counts.stages[stage] += 1
        if what in ("split", "holdout") and step not in place.arms:  # the run's arm
            place.arms[step] = detail
            counts.experiments[(step, detail)]["runs"] += 1
        place.step = step
        _result(counts, step, what, why, detail)

    def _note(self, place: _Place, step, what: str, why: str, detail, at: float) -> None:
        """What happened to a run where it was, without moving it: a milestone reached, an
        event handled or ignored."""
        counts = place.counts
        if what == "milestone":
            group = _group(place.arms)
            counts.milestones[(group, detail)] += 1
            place.achieved.append(f"milestone:{detail}")
            if group == "treated":
                counts.milestone_times[detail].append(at - place.entered_at)
        elif what == "ignored":
            counts.ignored[step] += 1
        elif what == "handled":
            counts.handled[why.removeprefix("on ")] += 1

    def _ended(self, journey_id, run_id, place, at, customer, why, outcome) -> None:
        self.where.pop(run_id, None)
        counts = self.journeys[journey_id]
        if place is None:  # ended before entering a step
            place = self._entered(counts, journey_id, customer, at)
        group = _group(place.arms)
        counts.ended[(group, outcome)] += 1
        place.achieved.append(f"outcome:{outcome}")
        _credit(place)
        if place.arms:
            self.arms_of[run_id] = place.arms
        if place.step is not None:
            counts.flows[(place.step, why, f"end:{outcome}")] += 1
        if outcome == "converted" and group == "treated":
            counts.convert_times.append(at - place.entered_at)
            counts.by_segment[self.segment_of.get(customer, "")]["converted"] += 1

    def _observation(self, counts: JourneyCounts, seen) -> None:
        """A KPI observation opened or closed: a hit counts only once its window has closed by
        the horizon (a hit inside an open window is ``hit_open``), so that early hits do not
        bias the rate; entry-holdout runs count in their experiment only."""
        status = seen.status
        if status == HIT and seen.due > self.horizon:
            status = HIT_OPEN
        place = self.where.get(seen.run_id)
        arms = place.arms if place is not None else self.arms_of.get(seen.run_id, {})
        if arms.get(ENTRY_EXPERIMENT) != HELD_OUT:
            _count_status(counts.kpis[seen.kpi], seen.stored, status)
        if status not in (HIT, MISSED) or not arms:
            return
        if place is not None:  # credited to the run's arms when it ends
            place.achieved.append(f"kpi:{seen.kpi}:{status}")
        else:
            for key in arms.items():
                counts.experiments[key][f"kpi:{seen.kpi}:{status}"] += 1


def _credit(place: _Place) -> None:
    """Credit each of a run's arms with everything the run achieved (once)."""
    for key in place.arms.items():
        for figure in place.achieved:
            place.counts.experiments[key][figure] += 1
    place.achieved.clear()


def _group(arms: dict) -> str:
    """A run's group for the journey's conversion and uplift: held out at entry, or treated
    (runs a split holds out later were treated at entry)."""
    return "holdout" if arms.get(ENTRY_EXPERIMENT) == HELD_OUT else "treated"


def _count_status(table: Counter, before, status: str) -> None:
    if before is None:
        table["opened"] += 1
    if status != OPEN:
        table[status] += 1


def _result(counts: JourneyCounts, step: str, what: str, why: str, detail) -> None:
    if what in ("sent", "skipped", "deferred", "failed"):
        counts.results[step][what] += 1
    if what == "sent":
        counts.channel_sends[(step, detail.split(" ", 1)[0])] += 1
    if what == "skipped":
        # a deferred send dropped by an opt-out says why in its reason, not in its detail
        reason = skip_reason(detail) or skip_reason(why)
        if reason is not None:
            counts.skip_reasons[reason] += 1
