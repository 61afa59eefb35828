"""Runtime input: compiled tables turned into a Program, the fast in-memory form the executor reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from ..compile import Tables, TablesError, compile_condition, compile_tree
from ..compile.conditions import Scope, history_questions, paths_read
from ..migration import MIGRATION_ACTIONS, MOVE, Plan
from ..semantics import zero_wait

Predicate = Callable[[Scope], bool]
STEP_KINDS = ("send", "wait", "wait_until", "wait_day", "wait_schedule", "wait_event", "branch",
              "split", "tag", "untag", "set", "coupon", "handoff", "webhook", "emit", "goto", "exit")
HANDLER_ACTIONS = ("set", "tag", "untag", "emit")
SCHEDULE_UNITS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True, slots=True)
class Arm:
    """A way out of a step: an event arm, a branch arm or a split arm (a ``holdout`` arm, a
    control group, keeps its runs at the split, held out)."""

    to: str
    event: str | None = None
    test: Predicate | None = None
    weight: float = 0.0
    name: str | None = None
    label: str = ""
    holdout: bool = False


@dataclass(slots=True)
class StepDef:
    id: str
    stage: str
    kind: str
    params: dict
    next: str | None = None          # sequential steps, goto, the default of a branch
    schedule: Schedule | None = None  # wait_schedule
    timeout: str | None = None       # wait_event with within
    arms: list[Arm] = field(default_factory=list)
    value: Callable | None = None    # set: the compiled expression
    # send: (channels in the order tried, transactional, template, promo), read once
    send: tuple | None = None
    minutes: int | None = None       # wait_until, wait_day: the time, minutes after midnight
    zero: bool = False               # wait, wait_event: lets no time pass (semantics.zero_wait)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring local time (the tables' schedule JSON): ``minutes`` after local midnight on
    every day, on ``weekdays`` (0 = Monday), on ``day`` of each month or quarter, or on
    ``month``/``day`` each year."""

    every: str
    minutes: int
    weekdays: tuple[int, ...] = ()
    day: int | None = None
    month: int | None = None

    @classmethod
    def from_params(cls, params: dict) -> "Schedule":
        """ValueError when the JSON is not a schedule this runtime can follow."""
        every, day, month = params["every"], params.get("day"), params.get("month")
        weekdays = tuple(params.get("weekdays") or ())
        minutes = _minutes(params["time"])
        valid = (every in SCHEDULE_UNITS and all(_whole(w, 0, 6) for w in weekdays)
                 and (every != "week" or weekdays) and 0 <= minutes < 1440
                 and params["time"] == f"{minutes // 60:02d}:{minutes % 60:02d}"  # HH:MM
                 and (every not in ("month", "quarter", "year") or _whole(day, 1, 31))
                 and (every != "year" or _whole(month, 1, 12)))
        if not valid:
            raise ValueError(f"not a schedule: {params!r}")
        return cls(every, minutes, weekdays, day, month)


def _whole(value, low: int, high: int) -> bool:
    """An integer in [low, high] (JSON 5.0 and true are not days)."""
    return type(value) is int and low <= value <= high


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # entry, goal, exit
    event: str  # "" for a scheduled entry
    test: Predicate
    name: str | None
    within: int | None
    outcome: str | None
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class KpiDef:
    """A KPI: opened when a run enters one of ``steps``, hit by ``event`` within ``within``."""

    name: str
    stage: str
    step: str | None
    event: str
    test: Predicate
    within: int
    baseline: float
    target: float
    title: str | None = None


@dataclass(frozen=True, slots=True)
class CapRule:
    messages: int
    per: int
    channels: frozenset[str] | None  # None: every channel
    calendar: str | None = None      # "day" / "week": per calendar unit in the customer's zone


@dataclass(frozen=True, slots=True)
class HandlerDef:
    """An always-on handler: on ``event`` (with ``test``) run ``actions`` (StepDefs of kind
    set, tag, untag or emit) wherever the run is, then go to ``to`` when set."""

    event: str
    test: Predicate
    actions: tuple
    to: str | None


@dataclass(frozen=True, slots=True)
class HistoryNeed:
    """What one event type's history must keep: the data fields questions read, the longest
    window they look back over (seconds), and whether one looks back to a run's entry."""

    fields: frozenset[str] = frozenset()
    window: float = 0.0
    since_entry: bool = False

    def __or__(self, other: "HistoryNeed") -> "HistoryNeed":
        return HistoryNeed(self.fields | other.fields, max(self.window, other.window),
                           self.since_entry or other.since_entry)


@dataclass
class Program:
    """One compiled version of a journey, ready to execute."""

    journey_id: str
    version: int | None
    content_hash: str
    start: str | None
    steps: dict[str, StepDef]
    entry: Trigger | None
    audience: Predicate
    reentry: str
    reentry_after: int | None
    goals: list[Trigger]
    exits: list[Trigger]
    caps: list[CapRule]
    quiet: tuple[int, int] | None     # minutes after local midnight: start, end
    consent: frozenset[str]
    holdout: float | None
    templates: dict[str, dict[str, str]]  # name -> locale ('' default) -> text
    tables: Tables
    interest: frozenset[str] = frozenset()  # event types goals, exits, waits or handlers take
    promo: float | None = None              # the promo budget, percent of sends
    roles: dict[str, tuple[int, int]] = field(default_factory=dict)  # role -> (capacity, per)
    kpis: dict[str, KpiDef] = field(default_factory=dict)
    kpis_at: dict[str, list[KpiDef]] = field(default_factory=dict)  # step id -> KPIs it opens
    milestones: list[Trigger] = field(default_factory=list)
    handlers: dict[str, list[HandlerDef]] = field(default_factory=dict)  # by event type
    defaults: dict = field(default_factory=dict)    # customer attribute -> its default
    variables: dict = field(default_factory=dict)   # run-local variable -> its initial value
    history: dict[str, HistoryNeed] = field(default_factory=dict)  # event type -> what to keep
    locale: str | None = None                       # the templates' default locale
    migrations: list = field(default_factory=list)  # migration.Plan: how older versions' runs move
    correlate: tuple[str, ...] | None = None        # the path of an event's data keying its run

    @property
    def stages(self) -> dict[str, str]:
        return {step.id: step.stage for step in self.steps.values()}

    def holdout_window(self) -> float | None:
        """How long a holdout run is tracked: the longest goal or milestone window (None: a
        goal or milestone without one); 0 when there is nothing to measure."""
        measured = self.goals + self.milestones
        if not measured:
            return 0.0
        windows = [t.within for t in measured]
        return None if any(w is None for w in windows) else float(max(windows))

    @cached_property
    def awaited(self) -> frozenset[str]:
        """The events some step waits for: one that reaches a run elsewhere, and that nothing
        else takes, is recorded as ignored."""
        return frozenset(arm.event for s in self.steps.values() if s.kind == "wait_event"
                         for arm in s.arms)


def events_taken(program: Program) -> set[str]:
    """The event types that can change anything in the journey: those a goal, an exit rule, a
    milestone, a handler, a wait, the entry (on an event), a KPI or a question about the event
    history is about."""
    on_event = program.entry is not None and program.entry.schedule is None
    return {*program.interest, *program.history, *(kpi.event for kpi in program.kpis.values()),
            *([program.entry.event] if on_event else [])}


def reacts_to(program: Program, event: str) -> bool:
    """Whether an event of this type can change anything in the journey (``events_taken``)."""
    return event in events_taken(program)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def build_program(tables: Tables) -> Program:
    """The executable form of tables; TablesError when they do not hang together."""
    try:
        program = _build(tables)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TablesError(f"journey {tables.journey_id!r}: inconsistent tables ({exc!r})") from None
    unknown = sorted({s.kind for s in program.steps.values()} - set(STEP_KINDS))
    if unknown:
        raise TablesError(f"journey {tables.journey_id!r}: step kinds this runtime does not know: {unknown}")
    known = set(program.steps)
    targets = [program.start] + [t for s in program.steps.values()
                                 for t in (s.next, s.timeout, *(a.to for a in s.arms)) if t]
    targets += [h.to for handlers in program.handlers.values() for h in handlers if h.to]
    targets += [t for plan in program.migrations for _, t in (*plan.moves, (None, plan.other))
                if t and t not in MIGRATION_ACTIONS]
    missing = sorted({t for t in targets if t not in known})
    if program.steps and missing:
        raise TablesError(f"journey {tables.journey_id!r}: transitions to unknown steps {missing}")
    return program


def _build(tables: Tables) -> Program:
    journey = tables.journey
    steps = {row["step_id"]: StepDef(row["step_id"], row["stage"], row["kind"], row["params"])
             for row in tables.rows["steps"]}
    for row in tables.rows["transitions"]:
        _link(steps[row["from_step"]], row)
    for step in steps.values():
        _prepare(step)
    triggers = [Trigger(r["kind"], r["event"], compile_condition(r["condition"]), r["name"],
                        r["within"], r["outcome"],
                        None if r["schedule"] is None else Schedule.from_params(r["schedule"]))
                for r in tables.rows["triggers"]]
    policy = {"caps": [], "quiet": None, "consent": frozenset(), "holdout": None, "promo": None}
    for row in tables.rows["policies"]:
        params = row["params"]
        if row["kind"] == "cap":
            policy["caps"].append(CapRule(params["messages"], params["per"],
                                          frozenset(params["channels"]) or None,
                                          params.get("calendar")))
        elif row["kind"] == "quiet":
            policy["quiet"] = (_minutes(params["start"]), _minutes(params["end"]))
        elif row["kind"] == "consent":
            policy["consent"] = frozenset(params["channels"])
        elif row["kind"] == "holdout":
            policy["holdout"] = float(params["percent"])
        elif row["kind"] == "promo":
            policy["promo"] = float(params["percent"])
    templates: dict[str, dict[str, str]] = {}
    for row in tables.rows["templates"]:
        templates.setdefault(row["template"], {}).setdefault(row["locale"], row["text"])
    entries = [t for t in triggers if t.kind == "entry"]
    goals = [t for t in triggers if t.kind == "goal"]
    exits = [t for t in triggers if t.kind == "exit"]
    milestones = [t for t in triggers if t.kind == "milestone"]
    handlers = _handlers(tables.rows.get("handlers", ()))
    interest = {t.event for t in goals + exits + milestones} | set(handlers)
    interest |= {arm.event for s in steps.values() if s.kind == "wait_event" for arm in s.arms}
    kpis = [KpiDef(r["name"], r["stage"], r["step"], r["event"], compile_condition(r["condition"]),
                   r["within"], r["baseline"], r["target"], r["title"]) for r in tables.rows["kpis"]]
    return Program(journey["journey_id"], journey["version"], journey["content_hash"],
                   journey["start_step"], steps, entries[0] if entries else None,
                   compile_condition(journey["audience"]), journey["reentry"],
                   journey["reentry_after"], goals, exits, policy["caps"], policy["quiet"],
                   policy["consent"], policy["holdout"], templates, tables, frozenset(interest),
                   policy["promo"], {r["role"]: (r["capacity"], r["per"]) for r in tables.rows["roles"]},
                   {k.name: k for k in kpis}, _kpis_at(steps, kpis), milestones, handlers,
                   *_declared(tables.rows.get("attributes", ())), _history(tables),
                   journey.get("locale"), _migrations(tables.rows.get("migrations", ())),
                   tuple(journey["correlate"].split(".")) if journey.get("correlate") else None)


def _migrations(rows) -> list[Plan]:
    for row in rows:
        if row["action"] not in (MOVE, *MIGRATION_ACTIONS) or (row["action"] == MOVE) != bool(
                row["to_step"]):
            raise ValueError(f"not a migration row: {row!r}")
    return Plan.from_rows(rows)


def _prepare(step: StepDef) -> None:
    """Compile what a step evaluates: a set's value, a wait's schedule; read once what a send,
    a wait or a wait for a local time would look up every time."""
    if step.kind == "send":
        params = step.params
        step.send = ((params["channel"], *params.get("fallback", ())),
                     bool(params.get("transactional")), params["template"],
                     bool(params.get("promo")))
    elif step.kind in ("wait", "wait_event"):
        step.zero = zero_wait(step.kind, duration=step.params.get("duration"),
                              within=step.params.get("within"))
    elif step.kind in ("wait_until", "wait_day"):
        hours, minutes = step.params["time"].split(":")
        step.minutes = int(hours) * 60 + int(minutes)
    elif step.kind == "set":
        step.value = compile_tree(step.params.get("value"))
    elif step.kind == "wait_schedule":
        step.schedule = Schedule.from_params(step.params["schedule"])


def _handlers(rows) -> dict[str, list[HandlerDef]]:
    found: dict[str, list[HandlerDef]] = {}
    for row in rows:
        actions = []
        for index, action in enumerate(row["actions"]):
            if action["kind"] not in HANDLER_ACTIONS:
                raise ValueError(f"a handler cannot run a {action['kind']!r}")
            step = StepDef(f"on {row['event']} #{index + 1}", "", action["kind"], action["params"])
            _prepare(step)
            actions.append(step)
        found.setdefault(row["event"], []).append(
            HandlerDef(row["event"], compile_condition(row["condition"]), tuple(actions),
                       row["to_step"]))
    return found


def _declared(rows) -> tuple[dict, dict]:
    """Customer attribute defaults and run-local variables' initial values."""
    defaults = {r["name"]: r["value"] for r in rows if r["scope"] == "customer" and r["has_default"]}
    variables = {r["name"]: r["value"] for r in rows if r["scope"] == "run"}
    return defaults, variables


def _history(tables: Tables) -> dict[str, HistoryNeed]:
    """Per event type the history questions of the journey ask about: the fields they read
    (in their filters and sums) and the longest window (None when one looks back to entry)."""
    found: dict[str, HistoryNeed] = {}
    for tree in tables.trees():
        for _, _, event, field_name, condition, within in history_questions(tree):
            paths = paths_read(condition)
            fields = {p[1] for p in paths if p[0] == "event" and len(p) > 1}
            fields |= {p[0] for p in paths if p[0] not in ("event", "customer", "consent")}
            need = HistoryNeed(frozenset(fields | ({field_name} if field_name else set())),
                               float(within or 0), within is None)
            found[event] = found[event] | need if event in found else need
    return found


def _kpis_at(steps: dict[str, StepDef], kpis: list[KpiDef]) -> dict[str, list[KpiDef]]:
    """Which KPIs entering each step opens: a stage KPI on any step of its stage (the first
    one a run enters counts), a step KPI on its step."""
    found: dict[str, list[KpiDef]] = {}
    for kpi in kpis:
        for step in steps.values():
            if (step.id == kpi.step) if kpi.step else (step.stage == kpi.stage):
                found.setdefault(step.id, []).append(kpi)
    return found


def _link(step: StepDef, row: dict) -> None:
    kind, to = row["kind"], row["to_step"]
    if kind in ("next", "goto", "default"):
        step.next = to
    elif kind == "timeout":
        step.timeout = to
    elif kind == "event":
        step.arms.append(Arm(to, event=row["event"], test=compile_condition(row["condition"]),
                             label=f"event {row['event']}"))
    elif kind == "branch":
        step.arms.append(Arm(to, test=compile_condition(row["condition"]),
                             label=f"branch {len(step.arms) + 1}"))
    elif kind == "split":
        step.arms.append(Arm(to, weight=row["weight"] or 0.0, name=row["arm"],
                             label=f"split {row['arm']}"))
    elif kind == "holdout":  # a control arm: the run stays at the split, held out
        step.arms.append(Arm(step.id, weight=row["weight"] or 0.0, name=row["arm"],
                             label=f"holdout {row['arm']}", holdout=True))
