"""Vectorised simulation: what the journeys and the cohort mean for the engine, decided once.

A ``Plan`` is everything that does not depend on the customers: each journey's steps by
index, transitions, triggers, handlers and KPIs (``JourneyPlan``), the event types by code, the
behaviour sources of the cohort (arrival events, each response and baseline of each segment,
opt-outs, emitted events, delivery results, occurrences of a schedule), how a condition reads
each source's data,
and which customers the engine hands to the reference engine and why: ``Plan.reference`` (every
customer: something couples customers, the engine does not know the tables, or a `set` it
cannot hold would send customers there while they run) and ``Plan.segment_reasons`` (the
customers of a segment, set aside before a block runs). Everything else is run here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...compile import Tables
from ...compile.conditions import history_questions, paths_read
from ...runtime.executor import BREACH, RESOLVED
from ...runtime.program import STEP_KINDS, Program, build_program, reacts_to
from ...semantics import (COMPLETED, CONVERTED, ERROR, EXPIRED, MAX_STEPS, MESSAGE_DELIVERED,
                          MESSAGE_SENT, OPT_OUT_EVENTS)
from ..cohort import OPT_OUT_EVENT, Cohort, Record
from . import correlation
from .columns import Unsupported, constant, flatten, holds_where, keys_of

STAFF_EVENTS = (RESOLVED, BREACH)  # made by staff queues and SLA deadlines
PROFILE_EVENT = "profile"          # a customer of scheduled journeys arrives with this event
NO_NEXT = -2                       # a step without a next step: the run ends `completed`
HOLD = -4                          # a split's control arm: the run is held out at the split
RESERVED = ("tags", "consent", "timezone", "opted_out")  # profile attributes the runtime owns
KNOWN = {  # tables and columns this engine understands; anything else set means "reference"
    "journey": {"journey_id", "title", "version", "owner", "description", "content_hash", "source",
                "compiled_at", "compiler", "format", "start_step", "audience", "reentry",
                "reentry_after", "locale", "volume", "correlate"},
    "triggers": {"journey_id", "seq", "kind", "name", "event", "condition", "within", "outcome",
                 "schedule"},
    "steps": {"journey_id", "version", "seq", "step_id", "stage", "stage_title", "kind", "params",
              "line"},
    "transitions": {"journey_id", "from_step", "seq", "kind", "event", "condition", "weight", "arm",
                    "to_step"},
    "templates": {"journey_id", "template", "locale", "text"},
    "policies": {"journey_id", "seq", "kind", "params"},
    "attributes": {"journey_id", "seq", "scope", "name", "type", "value", "has_default"},
    "roles": {"journey_id", "seq", "role", "capacity", "per"},
    "kpis": {"journey_id", "seq", "name", "title", "stage", "step", "event", "condition", "within",
             "baseline", "target"},
    "handlers": {"journey_id", "seq", "event", "condition", "actions", "to_step"},
    # how runs of an older version move when this one is loaded: nothing to simulate
    "migrations": {"journey_id", "seq", "from_version", "from_step", "action", "to_step"},
}
POLICIES = ("cap", "quiet", "consent", "holdout", "promo")
TRIGGERS = ("entry", "goal", "exit", "milestone")
KNOWN_PARAMS = {"send": {"channel", "template", "params", "promo", "transactional", "fallback"},
                "cap": {"messages", "per", "channels", "calendar"}}

# what a source of events is
ARRIVAL, BASELINE, RESPONSE, OPTOUT, EMIT, OCCURRENCE, STAFF, RECEIPT = (
    "arrival", "baseline", "response", "optout", "emit", "occurrence", "staff", "receipt")
RECEIPTS = (MESSAGE_SENT, MESSAGE_DELIVERED)   # the delivery results a simulated send makes


class Kinds:
    """Event types by code (codes are small integers, in order of first mention)."""

    def __init__(self):
        self.names: list[str] = []
        self.codes: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        code = self.codes.get(name)
        if code is None:
            code = self.codes[name] = len(self.names)
            self.names.append(name)
        return code

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Source:
    """One way events reach a customer: an arrival event, a response or a baseline of a
    segment, the cohort's opt-outs, a journey's emit, a send's delivery result, a schedule's
    occurrence, staff."""

    role: str
    kind: int                      # the event type's code
    event: str
    segment: int | None = None     # None: any segment
    index: int = 0                 # the response's or baseline's index in its segment
    p: float = 0.0
    rate: float = 0.0              # baseline events a second
    response: object = None        # cohort.Response
    data: object = None            # the data sampler (None: no data)
    attributes: object = None      # profile updates the events carry (a sampler)
    on_event: int | None = None    # a response to events of this type
    fixed: dict | None = None      # the data when it is constant
    keys: frozenset = frozenset()  # the data's top-level keys
    leaves: dict = field(default_factory=dict)   # path -> the sampler of a drawn leaf
    updates: dict = field(default_factory=dict)  # path -> the sampler of an attribute update

    def matches(self, template: str, channel: str, step: str) -> bool:
        response = self.response
        return (response is not None and response.on_event is None
                and (response.template is None or response.template == template)
                and (response.channel is None or response.channel == channel)
                and (response.step is None or response.step == step))


@dataclass
class Trigger:
    """A goal or exit rule (``outcome`` and ``why`` set) or a milestone (``name``)."""

    kind: int
    tree: object
    within: float | None
    outcome: str | None = None
    why: int | None = None
    name: str | None = None
    index: int = 0                 # milestones: their index in the journey


@dataclass
class Handler:
    tree: object
    actions: list                  # (kind, params, value tree)
    to: int | None                 # the step it jumps to
    why: int | None = None


@dataclass
class Arm:
    kind: int
    tree: object
    to: int
    why: int


@dataclass
class Kpi:
    name: str
    kind: int
    tree: object
    within: float


def _why_registry():
    return [], {}


class JourneyPlan:
    """One journey's program with its steps by index and everything the engine looks up."""

    def __init__(self, j: int, tables: Tables, kinds: Kinds):
        self.j, self.tables = j, tables
        self.program: Program = build_program(tables)
        program = self.program
        self.journey_id = program.journey_id
        self.defaults, self.variables = program.defaults, program.variables
        self.ids = list(program.steps)
        self.index = {sid: i for i, sid in enumerate(self.ids)}
        self.steps = list(program.steps.values())
        self.kind_of = [s.kind for s in self.steps]
        self.stages = list(dict.fromkeys(s.stage for s in self.steps))
        self.stage_of = np.array([self.stages.index(s.stage) for s in self.steps], dtype=np.int64)
        self.whys: list[str] = []
        self._why_codes: dict[str, int] = {}
        self.outcome_of: dict[int, str] = {}
        self.start = self.target(program.start)
        self.next = np.array([self.target(s.next) for s in self.steps] or [NO_NEXT], dtype=np.int64)
        self.entry = program.entry
        self.entry_kind = kinds(program.entry.event) if program.entry and not program.entry.schedule else None
        self.schedule = program.entry.schedule if program.entry else None
        self.entry_tree = _entry_tree(tables)
        self.audience_tree = tables.journey["audience"]
        self.holdout = program.holdout or 0.0
        self.window = program.holdout_window()   # how long a held-out run is followed
        self.quiet, self.consent = program.quiet, program.consent
        self.caps = list(program.caps)
        self.endings = self._endings(kinds)
        self.milestones = [Trigger(kinds(r["event"]), r["condition"], r["within"], name=r["name"],
                                   index=i)
                           for i, r in enumerate(r for r in tables.rows["triggers"]
                                                 if r["kind"] == "milestone")]
        self.handlers = self._handlers(kinds)
        self.arms = self._arms(kinds)
        self.timeout = {i: self.target(s.timeout) if s.timeout else self.next[i]
                        for i, s in enumerate(self.steps) if s.kind == "wait_event"}
        self.branches = self._branches()
        self.splits = self._splits()
        self.emits = {i: kinds(s.params["event"]) for i, s in enumerate(self.steps) if s.kind == "emit"}
        self.ladders = frozenset(i for i, s in enumerate(self.steps)   # escalation ladder waits
                                 if s.kind == "wait_event" and s.params.get("ladder"))
        self.kpis = [Kpi(r["name"], kinds(r["event"]), r["condition"], float(r["within"]))
                     for r in tables.rows.get("kpis", ())]
        self.kpis_at = {i: [k for k, kpi in enumerate(program.kpis.values())
                            if kpi in program.kpis_at.get(s.id, ())]
                        for i, s in enumerate(self.steps) if program.kpis_at.get(s.id)}
        self.interest = np.zeros(0, dtype=np.int64)
        self.interest = np.array(sorted({kinds(e) for e in program.interest}), dtype=np.int64)
        self.awaited = frozenset(kinds(e) for e in program.awaited)
        self.held_interest = np.array(sorted({t.kind for t in self.milestones}
                                             | {t.kind for t in self.endings}), dtype=np.int64)
        self.channels_of = {i: (s.params["channel"], *s.params.get("fallback", ()))
                            for i, s in enumerate(self.steps) if s.kind == "send"}
        self.unread_sets: dict[str, bool] = {}   # set attribute -> whether nothing reads it
        for text in ("next", "waited", "time reached", "time passed", "timeout", "else", "goto",
                     "quiet hours over", "opted out"):
            self.why(text)
        self.why("no next step", COMPLETED)
        self.why(f"more than {MAX_STEPS} steps without a wait", ERROR)
        self.why("holdout goal window over", EXPIRED)
        self.why("holdout without goals", EXPIRED)
        if self.entry_kind is not None:
            self.entry_why = self.why(f"entry on {program.entry.event}")
        for i, step in enumerate(self.steps):
            if step.kind == "exit":
                self.why(f"exit step {step.id}", step.params["outcome"])

    # --- registries -------------------------------------------------------------------------

    def why(self, text: str, outcome: str | None = None) -> int:
        """The code of a reason (an edge label or why a run ended)."""
        code = self._why_codes.get(text)
        if code is None:
            code = self._why_codes[text] = len(self.whys)
            self.whys.append(text)
        if outcome is not None:
            self.outcome_of[code] = outcome
        return code

    def target(self, step_id: str | None) -> int:
        return NO_NEXT if step_id is None else self.index[step_id]

    # --- triggers, arms, branches, handlers --------------------------------------------------

    def _endings(self, kinds: Kinds) -> list[Trigger]:
        """Goals, then exit rules (as the runtime tries them)."""
        rows = self.tables.rows["triggers"]
        found = [Trigger(kinds(r["event"]), r["condition"], r["within"], CONVERTED,
                         self.why(f"goal {r['name']} on {r['event']}", CONVERTED), r["name"])
                 for r in rows if r["kind"] == "goal"]
        found += [Trigger(kinds(r["event"]), r["condition"], None, r["outcome"],
                          self.why(f"exit on {r['event']}", r["outcome"]))
                  for r in rows if r["kind"] == "exit"]
        return found

    def _rows(self, step_id: str, kinds: tuple[str, ...]) -> list[dict]:
        return [r for r in self.tables.rows["transitions"]
                if r["from_step"] == step_id and r["kind"] in kinds]

    def _arms(self, kinds: Kinds) -> dict[int, list[Arm]]:
        found = {}
        for i, step in enumerate(self.steps):
            if step.kind == "wait_event":
                rows = self._rows(step.id, ("event",))
                found[i] = [Arm(kinds(arm.event), row["condition"], self.index[arm.to],
                                self.why(arm.label)) for arm, row in zip(step.arms, rows)]
        return found

    def _branches(self) -> dict[int, list[tuple[object, int, int]]]:
        found = {}
        for i, step in enumerate(self.steps):
            if step.kind == "branch":
                rows = self._rows(step.id, ("branch",))
                found[i] = [(row["condition"], self.index[arm.to], self.why(arm.label))
                            for arm, row in zip(step.arms, rows)]
        return found

    def _splits(self) -> dict[int, list[tuple[int, int, str]]]:
        """Per split: each arm's target (HOLD for a control arm), edge code and name."""
        return {i: [(HOLD if arm.holdout else self.index[arm.to], self.why(arm.label), arm.name)
                    for arm in step.arms]
                for i, step in enumerate(self.steps) if step.kind == "split"}

    def split_arm(self, s: int, points) -> np.ndarray:
        """Each bucket's arm of split step ``s``, as ``runtime.policies.choose_arm`` picks it."""
        arms = self.steps[s].arms
        edges, edge = [], 0.0
        total = sum(arm.weight for arm in arms) or 100.0
        for arm in arms:
            edge += arm.weight * 100.0 / total
            edges.append(edge)
        return np.minimum(np.searchsorted(np.array(edges), points, side="right"), len(arms) - 1)

    def _handlers(self, kinds: Kinds) -> dict[int, list[Handler]]:
        found: dict[int, list[Handler]] = {}
        for row in self.tables.rows.get("handlers", ()):
            actions = [(a["kind"], a["params"], a["params"].get("value")) for a in row["actions"]]
            to = self.index[row["to_step"]] if row["to_step"] else None
            found.setdefault(kinds(row["event"]), []).append(
                Handler(row["condition"], actions, to,
                        self.why(f"on {row['event']}") if to is not None else None))
        return found

    def ending(self, kinds, age, scope) -> np.ndarray:
        """Per run of ``scope``, the reason code of the goal or exit rule an event of type
        ``kinds`` (one for all runs, or one each) ends it by (-1: none), tried as
        ``Executor._ending`` tries them; ``age``: how long each run has been inside."""
        why = np.full(len(age), -1)
        for trigger in self.endings:
            of_kind = kinds == trigger.kind
            if not np.any(of_kind):
                continue
            ok = (why < 0) & of_kind
            if trigger.within is not None:
                ok &= age <= trigger.within
            if ok.any():
                ok = holds_where(trigger.tree, scope, ok)
                why[ok] = trigger.why
        return why

    def handled_kind(self, kind: int) -> bool:
        return kind in self.handlers

    # --- what the journey reads ---------------------------------------------------------------

    def trees(self):
        """Every condition and expression tree of the journey."""
        yield from self.tables.trees()


class Plan:
    """Everything a simulation of ``cohort`` through ``tables`` (one journey, or several run
    together) needs before a customer is sampled."""

    def __init__(self, tables: Tables | list[Tables], cohort: Cohort):
        listed = [tables] if isinstance(tables, Tables) else list(tables)
        self.tables, self.cohort = listed, cohort
        self.kinds = Kinds()
        self.reference: str | None = None         # every customer takes the reference path
        self.coupled = False  # ... in one process: customers share staff queues they react to
        self.segment_reasons: dict[int, str] = {}  # the customers of these segments do
        for one in listed:
            reason = _unknown(one)
            if reason is not None and self.reference is None:
                self.reference = reason
        self.journeys = [JourneyPlan(j, one, self.kinds) for j, one in enumerate(listed)]
        self.journey = self.journeys[0]
        self.opt_out_kinds = frozenset(self.kinds(e) for e in OPT_OUT_EVENTS)
        self.resolved, self.breached = self.kinds(RESOLVED), self.kinds(BREACH)
        self.arrivals = [self.kinds(e) for e in _arrival_events(cohort, self.journeys)]
        self.profile_kind = self.kinds(PROFILE_EVENT)
        self.sources = self._sources()
        self.responses_to = self._responses_to()
        self.zone_names = self._zones()
        self.caps = self._caps()
        self.reads = self._reads()
        self.update_kinds = frozenset(s.kind for s in self.sources if s.updates)
        self.roles = self._roles()
        self.role_names = sorted(set(self.roles) | {
            step.params["role"] for journey in self.journeys for step in journey.steps
            if step.kind == "handoff"})
        self.history = self._history()
        self.step_base = np.cumsum([0] + [len(j.steps) for j in self.journeys]).tolist()
        self.rungs = self._rungs()
        # the paths of the correlation keys journeys correlate their runs by (the first's)
        self.correlates = list(dict.fromkeys(j.program.correlate for j in self.journeys
                                             if j.program.correlate is not None))
        self.correlate = self.correlates[0] if self.correlates else None
        self._check()

    # --- behaviour ----------------------------------------------------------------------------

    def _sources(self) -> list[Source]:
        """Source 0 is the cohort's opt-outs; then per segment its arrival events, responses and
        baselines; then each emit of each journey (steps and handlers); then the delivery results
        of each send and channel; then each scheduled journey's occurrences; then staff
        resolutions."""
        kinds = self.kinds
        sources = [Source(OPTOUT, kinds(OPT_OUT_EVENT), OPT_OUT_EVENT, fixed={})]
        self.arrival_sources: dict[tuple[int, int], int] = {}   # (segment, i) -> source
        self.response_sources: dict[tuple[int, int], int] = {}
        for g, segment in enumerate(self.cohort.segments):
            names = [kinds.names[k] for k in self.arrivals] or [PROFILE_EVENT]
            for i, name in enumerate(names):
                self.arrival_sources[(g, i)] = len(sources)
                data = segment.entry_data if self.arrivals else None
                sources.append(Source(ARRIVAL, kinds(name), name, g, i, data=data))
            for i, response in enumerate(segment.responses):
                self.response_sources[(g, i)] = len(sources)
                sources.append(Source(RESPONSE, kinds(response.event), response.event, g, i,
                                      p=response.p, response=response, data=response.data,
                                      attributes=response.attributes,
                                      on_event=None if response.on_event is None
                                      else kinds(response.on_event)))
            for i, base in enumerate(segment.baseline):
                if base.per_day > 0:
                    sources.append(Source(BASELINE, kinds(base.event), base.event, g, i,
                                          rate=base.per_day / 86400.0, data=base.data,
                                          attributes=base.attributes))
        self.emit_sources: dict[tuple[int, object], int] = {}
        for journey in self.journeys:
            for s, kind in journey.emits.items():
                self.emit_sources[(journey.j, s)] = len(sources)
                params = journey.steps[s].params
                sources.append(Source(EMIT, kind, params["event"], fixed=dict(params["params"])))
            for kind, handlers in journey.handlers.items():
                for h, handler in enumerate(handlers):
                    for a, (what, params, _) in enumerate(handler.actions):
                        if what == "emit":
                            self.emit_sources[(journey.j, (kind, h, a))] = len(sources)
                            sources.append(Source(EMIT, kinds(params["event"]), params["event"],
                                                  fixed=dict(params["params"])))
        self.receipt_sources = self._receipts(sources)
        self.occurrence_sources = {}
        for journey in self.journeys:
            if journey.schedule is not None:
                self.occurrence_sources[journey.j] = len(sources)
                sources.append(Source(OCCURRENCE, kinds(f"(occurrence {journey.journey_id})"),
                                      "", keys=frozenset({"occurrence"})))
        self.staff_source = len(sources)
        sources.append(Source(STAFF, self.kinds(RESOLVED), RESOLVED, keys=frozenset({"role"})))
        for source in sources:
            if source.role in (ARRIVAL, RESPONSE, BASELINE) and source.data is not None:
                fixed, value = constant(source.data)
                source.fixed = (value if isinstance(value, dict) else {}) if fixed else None
                source.keys = frozenset(keys_of(source.data)) if not fixed else \
                    frozenset(source.fixed)
                source.leaves = {} if fixed else _leaves(source.data)
            elif source.role in (ARRIVAL,) and source.data is None:
                source.fixed = {}
            elif source.fixed is not None:
                source.keys = frozenset(source.fixed)
            if source.attributes is not None:
                source.updates = {p: s for p, s in flatten(source.attributes).items()
                                  if not isinstance(s, Record)}
        return sources

    def _receipts(self, sources: list[Source]) -> dict[tuple, list[tuple[int, int]]]:
        """(journey, send step, channel) -> (event type, source) of each delivery result some
        journey reacts to, made at once when the send goes out on that channel, as the
        reference engine makes them (its data: the action's, but its id)."""
        kinds = [self.kinds(e) for e in RECEIPTS
                 if any(reacts_to(journey.program, e) for journey in self.journeys)]
        found: dict[tuple, list[tuple[int, int]]] = {}
        for journey in self.journeys if kinds else ():
            for s, channels in journey.channels_of.items():
                step = journey.steps[s]
                for channel in channels:
                    data = {"channel": channel, "template": step.params["template"],
                            "journey": journey.journey_id, "step": step.id, "attempts": 1}
                    for kind in kinds:
                        found.setdefault((journey.j, s, channel), []).append((kind, len(sources)))
                        sources.append(Source(RECEIPT, kind, self.kinds.names[kind],
                                              fixed=dict(data)))
        return found

    def _responses_to(self) -> dict[tuple[int, int], list[int]]:
        """(segment, event type) -> the sources of the responses that follow such events."""
        found: dict[tuple[int, int], list[int]] = {}
        for s, source in enumerate(self.sources):
            if source.role == RESPONSE and source.on_event is not None:
                found.setdefault((source.segment, source.on_event), []).append(s)
        return found

    def message_responses(self, journey: JourneyPlan, step: int, channel: str) -> dict[int, list[int]]:
        """Per segment, the sources of the responses a message of ``step`` on ``channel`` draws."""
        params = journey.steps[step].params
        found: dict[int, list[int]] = {}
        for s, source in enumerate(self.sources):
            if source.matches(params["template"], channel, journey.ids[step]):
                found.setdefault(source.segment, []).append(s)
        return found

    def _zones(self) -> list[str | None]:
        """The time zones customers can be in: the default (None), the cohort's, and those a
        journey's `set customer.timezone` writes (a constant: ``assignable``)."""
        names: list[str | None] = [None]
        for segment in self.cohort.segments:
            if segment.timezone is not None:
                names += [k for k in segment.timezone.keys if k not in names]
        for journey in self.journeys:
            for attribute, value in _sets(journey):
                if attribute == "customer.timezone" and isinstance(value, str) \
                        and value not in names:
                    names.append(value)
        return names

    def _caps(self) -> list:
        """Every journey's caps, once each: a send is checked against its own journey's, and
        fills every cap whose channels it is on (caps count a customer's sends in all journeys)."""
        found = []
        for journey in self.journeys:
            journey.cap_rules = []
            for cap in journey.caps:
                key = (cap.messages, float(cap.per), cap.channels, cap.calendar)
                if key not in found:
                    found.append(key)
                journey.cap_rules.append(found.index(key))
        return found

    def _roles(self) -> dict[str, tuple[int, int]]:
        """Each declared role's (capacity, per), the first journey's declaration winning (as
        the reference engine builds its queues)."""
        return {role: spec for journey in reversed(self.journeys)
                for role, spec in journey.program.roles.items()}

    def role_code(self, role: str) -> int:
        return self.role_names.index(role)

    def step_code(self, j: int, s) -> int:
        """A code for step ``s`` (an index, or an array of them) of journey ``j``, unique among
        every journey's steps (``staff.Handoffs.step``)."""
        return self.step_base[j] + s

    def step_code_of(self, journey_id: str, step_id: str) -> int:
        j = next(j.j for j in self.journeys if j.journey_id == journey_id)
        return self.step_code(j, self.journeys[j].index[step_id])

    def _rungs(self) -> dict[int, tuple[int, ...]]:
        """Each escalation ladder's wait (a step code) -> the rungs it has reached (step codes):
        its resolution meets the SLAs they opened in the run (``staff.settle``)."""
        found = {}
        for journey in self.journeys:
            for s, step in enumerate(journey.steps):
                ladder = step.params.get("ladder") if step.kind == "wait_event" else None
                if ladder and ladder.get("reached"):
                    found[self.step_code(journey.j, s)] = tuple(
                        self.step_code(journey.j, journey.index[r]) for r in ladder["reached"])
        return found

    def _history(self) -> dict[int, object]:
        found = {}
        for journey in self.journeys:
            for event, need in journey.program.history.items():
                kind = self.kinds(event)
                found[kind] = found[kind] | need if kind in found else need
        return found

    # --- what conditions read -----------------------------------------------------------------

    def _reads(self) -> dict[str, set]:
        """The profile paths (``customer.x``), consent channels and tags conditions and
        expressions read, and every other root (event data and run context)."""
        found: dict[str, set] = {"profile": set(), "consent": set(), "tags": set(), "roots": set()}
        for journey in self.journeys:
            variables = set(journey.variables)
            for tree in journey.trees():
                for path in paths_read(tree):
                    if path[0] == "customer" and len(path) > 1:
                        found["profile"].add(tuple(path[1:]))
                    elif path[0] == "consent" and len(path) > 1:
                        found["consent"].add(path[1])
                    elif path[0] not in ("customer", "consent", "event") and path[0] not in variables:
                        found["roots"].add(path[0])
                found["tags"] |= _tags(tree)
            found["consent"] |= set(journey.consent)
        return found

    # --- what goes to the reference path ------------------------------------------------------

    def _check(self) -> None:
        for journey in self.journeys:
            self.reference = self.reference or _journey_reason(journey, self)
        if may_escape(self):
            self.reference = self.reference or (
                "a set of something the engine does not hold (the profile's timezone to a "
                "value worked out per customer, or beside a scheduled entry): the customers "
                "reaching it would be run again on the reference path with new draws, so every "
                "customer takes it")
        staffed = any(step.kind == "handoff" for j in self.journeys for step in j.steps)
        self.coupled = staffed and any(self._reacts_to(k) for k in (self.resolved, self.breached))
        if self.coupled:
            self.reference = self.reference or (
                "something reacts to handoff_resolved or sla_breached: the staff queues serve "
                "every customer's handoffs in turn, so customers are not independent")
        for journey in self.journeys:
            for kpi in journey.kpis:
                if _mutable_reads(kpi.tree, self):
                    self.reference = self.reference or (
                        f"KPI {kpi.name!r} reads what the journey changes")
        for g, segment in enumerate(self.cohort.segments):
            reserved = sorted(set(segment.attributes) & set(RESERVED))
            if reserved:
                self.segment_reasons[g] = f"segment {segment.name!r} sets the profile attribute " \
                                          f"{reserved[0]!r}, which the runtime owns"
            for source in self.sources:
                if source.segment == g and set(p[0] for p in source.updates) & set(RESERVED):
                    self.segment_reasons.setdefault(g, f"segment {segment.name!r}: an event "
                                                       f"updates a profile attribute the runtime owns")
        self.reference = self.reference or correlation.reason(self)

    def _reacts_to(self, kind: int) -> bool:
        """Whether anything reacts to events of ``kind`` (a journey, a KPI, history, the cohort)."""
        for journey in self.journeys:
            if kind in journey.interest or kind == journey.entry_kind or any(
                    kpi.kind == kind for kpi in journey.kpis):
                return True
        return kind in self.history or any(s.on_event == kind for s in self.sources)


def _journey_reason(journey: JourneyPlan, plan: "Plan") -> str | None:
    """Why every customer of this journey takes the reference path, or None: (the runs make
    delivery results) a condition or a set someone reads using a delivery result's action id.
    The runtime numbers actions across customers (the count of every customer's sends,
    emits, handoffs, coupons and webhooks before it, in time order), so its value depends on
    the other customers; a set that nothing reads stores it where it changes nothing counted
    (``_counted_trees``), so such a journey runs here."""
    name = journey.tables.journey_id
    if plan.receipt_sources and any(path[:2] == ["event", "action"] or path[0] == "action"
                                    for tree in _counted_trees(journey, plan)
                                    for path in paths_read(tree)):
        return f"journey {name!r} reads the action id of a delivery result: the runtime " \
               "numbers actions across customers, so such runs take the reference path"
    return None


def _counted_trees(journey: JourneyPlan, plan: "Plan"):
    """Every condition and expression of the journey but the values of sets whose target
    nothing reads (``_idle``)."""
    yield from journey.tables.conditions()
    for attribute, value in _sets(journey):
        if not _idle(journey, plan, attribute):
            yield value


def _idle(journey: JourneyPlan, plan: "Plan", attribute: str) -> bool:
    """Whether ``set <attribute>`` writes where no condition or expression reads it: a
    profile attribute no journey reads (not one the runtime owns), a variable, the run's event
    data or context the journey does not read (``unread``)."""
    parts = attribute.split(".")
    if parts[0] == "consent" or (parts[0] == "customer" and (
            len(parts) < 2 or parts[1] in RESERVED)):
        return False
    if parts[0] != "customer":
        return unread(journey, parts)
    written = tuple(parts[1:])
    return not any(path[0] == "customer" and
                   tuple(path[1:])[:len(written)] == written[:len(path) - 1]
                   for other in plan.journeys for tree in other.trees() for path in paths_read(tree))


def _mutable_reads(tree, plan: Plan) -> bool:
    """Whether a KPI condition reads the profile, tags or history (a KPI is matched with its
    event after the run, so its condition must read only the event and fixed values)."""
    for path in paths_read(tree):
        if path[0] in ("customer", "consent"):
            return True
    return bool(_tags(tree)) or any(history_questions(tree))


def _leaves(sampler) -> dict:
    """The drawn leaves of a data sampler by path (constant leaves are left out)."""
    found = {}
    for path, leaf in flatten(sampler).items():
        fixed, _ = constant(leaf)
        if not fixed and not isinstance(leaf, Record):
            found[path] = leaf
    return found


def _arrival_events(cohort: Cohort, journeys: list[JourneyPlan]) -> list[str]:
    from ..engine import arrival_events
    return arrival_events(cohort, [j.program for j in journeys])


def _entry_tree(tables: Tables):
    trees = [r["condition"] for r in tables.rows["triggers"] if r["kind"] == "entry"][:1]
    return trees[0] if trees else None


def _tags(tree) -> set[str]:
    if not isinstance(tree, list) or not tree:
        return set()
    if tree[0] == "has_tag":
        return {tree[1]}
    if tree[0] == "history":
        return _tags(tree[4])
    return set().union(*[_tags(arg) for arg in tree[1:]])


def _unknown(tables: Tables) -> str | None:
    """Why the engine does not know these tables (a newer format), or None."""
    for name, rows in tables.rows.items():
        known = KNOWN.get(name)
        if known is None:
            if rows:
                return f"table {name!r}"
            continue
        for row in rows:
            extra = sorted(k for k, v in row.items() if k not in known and v is not None)
            if extra:
                return f"{name} column {extra[0]!r}"
    for row in tables.rows.get("policies", ()):
        if row["kind"] not in POLICIES:
            return f"policy {row['kind']!r}"
    for row in tables.rows["steps"] + tables.rows.get("policies", []):
        if row["kind"] not in STEP_KINDS and row["kind"] not in POLICIES:
            return f"step kind {row['kind']!r}"
        extra = sorted(set(row["params"]) - KNOWN_PARAMS.get(row["kind"], set(row["params"])))
        if extra:
            return f"{row['kind']} {extra[0]!r}"
    for row in tables.rows["triggers"]:
        if row["kind"] not in TRIGGERS:
            return f"{row['kind']}s"
    return None


def vector_support(tables: Tables | list[Tables], cohort: Cohort) -> str | None:
    """Why the vectorised engine hands every customer of this simulation to the reference
    engine, or None when it runs them (some may still take the reference path: the results'
    ``paths`` say which and why)."""
    try:
        return Plan(tables, cohort).reference
    except Unsupported as exc:
        return str(exc)


def assignable(journey, attribute: str, value, scheduled: bool) -> bool:
    """Whether this engine runs ``set <attribute> = <value>``: a run variable, a profile
    attribute or a consent, the run's event data or context; the profile's time zone to a
    constant (a zone name, or null) when no journey has a scheduled entry (a zone's
    occurrences are armed by the first customer in it, so a customer moving zone would
    change the others'). A set of anything else hands the customer to the reference path."""
    parts = attribute.split(".")
    if parts[0] == "customer" and parts[1:] == ["timezone"]:
        return (value is None or isinstance(value, str)) and not scheduled
    if parts[0] == "customer":
        return len(parts) > 1 and parts[1] not in ("timezone", "consent")
    if parts[0] == "consent":
        return len(parts) == 2
    return True


def unread(journey, parts: list[str]) -> bool:
    """Whether ``set <parts>`` writes the run's event data (``event.x``) or context (another
    root) where no condition or expression of the journey reads it, so it changes nothing
    the simulation counts (``runtime.scope.assign``; ``set event`` itself writes nothing)."""
    root, rest = parts[0], tuple(parts[1:])
    if root in ("customer", "consent") or (root == "event" and not rest):
        return root == "event"
    for tree in journey.trees():
        for path in paths_read(tree):
            if root != "event" and path[0] == root:
                return False
            read = tuple(path[1:])
            if root == "event" and path[0] == "event" and (
                    not read or read[:len(rest)] == rest[:len(read)]):
                return False
    return True


def may_escape(plan) -> bool:
    """Whether some set of the plan would hand customers to the reference path while they run
    (``Plan._check`` then sends every customer there)."""
    scheduled = any(journey.schedule is not None for journey in plan.journeys)
    return any(not assignable(journey, attribute, value, scheduled)
               for journey in plan.journeys for attribute, value in _sets(journey))


def _sets(journey):
    """(attribute, value tree) of every set of a journey, its steps' and its handlers'."""
    for s, step in enumerate(journey.steps):
        if journey.kind_of[s] == "set":
            yield step.params["attribute"], step.params.get("value")
    for handlers in journey.handlers.values():
        for handler in handlers:
            for kind, params, _ in handler.actions:
                if kind == "set":
                    yield params["attribute"], params.get("value")


__all__ = ["HOLD", "JourneyPlan", "MAX_STEPS", "NO_NEXT", "Plan", "Source", "Unsupported",
           "assignable", "flatten", "may_escape", "vector_support"]
