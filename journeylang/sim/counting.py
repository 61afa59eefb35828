"""Simulation stage: a runtime store that counts what happens instead of keeping rows.

The executor writes one history row per step entered, with the step's result (sent, skipped,
deferred); each row is counted as it comes. Counts: runs entered and ended (by outcome), steps
entered, flows between steps by edge, stage funnel, sends, skips and deferrals, conversions and
their times; SLAs and KPI observations are counted from what changed at each commit.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from ..runtime import MemoryStore
from ..runtime.state import OPEN, Run, Sla
from ..semantics import skip_reason

CONTINUED = ("quiet hours over", "opted out")  # rows for the step a run is already on
NOTES = ("milestone", "handled", "ignored")     # rows that say what happened where a run is


class CountingStore(MemoryStore):
    def __init__(self):
        super().__init__(keep_rows=False)
        self.stage_of: dict[str, str] = {}
        self.segment_of: dict[str, str] = {}
        self.where: dict[int, tuple] = {}        # run id -> (step, stages seen, entered at, holdout)
        self.entered = Counter()                 # "treated" / "holdout" runs
        self.ended = Counter()                   # (group, outcome)
        self.steps = Counter()                   # step -> runs that entered it
        self.flows = Counter()                   # (from step, edge, to step or "end:outcome")
        self.stages = Counter()                  # stage -> runs that reached it
        self.results = defaultdict(Counter)      # step -> sent / skipped / deferred / failed
        self.skip_reasons = Counter()            # "cap", "opted out", "no consent"
        self.convert_times: list[float] = []     # seconds from entry to the goal, treated runs
        self.by_segment = defaultdict(Counter)   # segment -> entered / converted (treated)
        self.opt_outs = 0
        self.sent_to = Counter()                 # customer -> messages
        self.promo_sends = 0
        self.slas = defaultdict(Counter)         # role -> opened / met / breached
        self.kpis = defaultdict(Counter)         # KPI name -> opened / hit / missed
        self.milestones = Counter()              # (group, milestone) -> runs that reached it
        self.milestone_times = defaultdict(list) # milestone -> seconds from entry, treated runs
        self.ignored = Counter()                 # step -> events that nothing took there
        self.handled = Counter()                 # event -> handler runs
        self.channel_sends = Counter()           # (step, channel) -> messages sent

    def attach(self, program) -> None:
        self.stage_of = {step.id: step.stage for step in program.steps.values()}

    # the executor's interface
    def history(self, row) -> None:
        self._count(row)

    def outbox(self, action) -> None:
        pass

    def write(self, customer) -> None:
        """Count each SLA and KPI observation once when it opens and once when it closes
        (``stored`` holds the status last counted)."""
        for record in customer.records():
            if type(record) is Run or record.stored == record.status:
                continue
            table = self.slas[record.role] if type(record) is Sla else self.kpis[record.kpi]
            if record.stored is None:
                table["opened"] += 1
            if record.status != OPEN:
                table[record.status] += 1
            record.stored = record.status

    def on_send(self, action) -> None:
        self.sent_to[action.customer] += 1
        self.promo_sends += action.promo

    # counting
    def _count(self, row) -> None:
        at, customer, run_id, _, step, what, why, detail = row
        if run_id is None:
            if what == "opted_out":
                self.opt_outs += 1
            return
        place = self.where.get(run_id)
        if what == "ended":
            self._ended(run_id, place, at, customer, why, detail)
            return
        if what == "holdout":
            self.entered["holdout"] += 1
            self.where[run_id] = (None, set(), at, True)
            return
        if place is None:  # the first row of a run
            place = self.where[run_id] = self._entered(customer, at)
        if what in NOTES:
            self._note(place, step, what, why, detail, at)
            return
        previous, stages, entered_at, holdout = place
        if not (step == previous and why in CONTINUED):
            self.steps[step] += 1
            if previous is not None:
                self.flows[(previous, why, step)] += 1
            stage = self.stage_of.get(step)
            if stage not in stages:
                stages.add(stage)
                self.stages[stage] += 1
        self.where[run_id] = (step, stages, entered_at, holdout)
        self._result(step, what, why, detail)

    def _entered(self, customer: str, at: float) -> tuple:
        self.entered["treated"] += 1
        self.by_segment[self.segment_of.get(customer, "")]["entered"] += 1
        return (None, set(), at, False)

    def _note(self, place: tuple, step, what: str, why: str, detail, at: float) -> None:
        """What happened to a run where it was, without moving it: a milestone reached, an
        event handled or ignored."""
        _, _, entered_at, holdout = place
        if what == "milestone":
            self.milestones[("holdout" if holdout else "treated", detail)] += 1
            if not holdout:
                self.milestone_times[detail].append(at - entered_at)
        elif what == "ignored":
            self.ignored[step] += 1
        else:
            self.handled[why.removeprefix("on ")] += 1

    def _result(self, step: str, what: str, why: str, detail) -> None:
        if what in ("sent", "skipped", "deferred", "failed"):
            self.results[step][what] += 1
        if what == "sent":
            self.channel_sends[(step, detail.split(" ", 1)[0])] += 1
        if what == "skipped":
            # a deferred send dropped by an opt-out says why in its reason, not in its detail
            reason = skip_reason(detail) or skip_reason(why)
            if reason is not None:
                self.skip_reasons[reason] += 1

    def _ended(self, run_id, place, at, customer, why, outcome) -> None:
        self.where.pop(run_id, None)
        if place is None:  # ended before entering a step
            place = self._entered(customer, at)
        previous, _, entered_at, holdout = place
        group = "holdout" if holdout else "treated"
        self.ended[(group, outcome)] += 1
        if previous is not None:
            self.flows[(previous, why, f"end:{outcome}")] += 1
        if outcome == "converted" and not holdout:
            self.convert_times.append(at - entered_at)
            self.by_segment[self.segment_of.get(customer, "")]["converted"] += 1
