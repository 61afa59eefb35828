"""Vectorised simulation: what a journey and a cohort mean for the engine, and what it refuses.

A ``Plan`` is everything that does not depend on the customers: steps by index, transitions,
the behaviour sources (each response and baseline of each segment, and opt-outs) with their
constant data, and the condition trees. Building it raises ``Unsupported`` with the reason for
anything the vectorised engine does not model exactly; ``vector_support`` returns that reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...compile import Tables
from ...runtime.executor import BREACH, RESOLVED
from ...runtime.program import Program, build_program, reacts_to
from ...semantics import COMPLETED, CONVERTED, DELIVERY_EVENTS, ERROR, MAX_STEPS, OPT_OUT_EVENTS
from ..cohort import OPT_OUT_EVENT, Categorical, Cohort, Const, Draw
from .columns import Unsupported, constant, flatten, keys_of

STAFF_EVENTS = (RESOLVED, BREACH)  # made by staff queues and SLA deadlines

NO_NEXT = -2                     # a step without a next step: the run ends `completed`
ZERO_TIME = ("branch", "split", "tag", "untag", "set", "coupon", "handoff", "webhook", "emit",
             "goto", "exit")
KINDS = ZERO_TIME + ("send", "wait", "wait_until", "wait_day", "wait_event")
KNOWN = {  # tables and columns this engine understands; anything else set means "unsupported"
    "journey": {"journey_id", "title", "version", "owner", "description", "content_hash", "source",
                "compiled_at", "compiler", "format", "start_step", "audience", "reentry",
                "reentry_after", "locale", "correlate"},
    "triggers": {"journey_id", "seq", "kind", "name", "event", "condition", "within", "outcome"},
    "steps": {"journey_id", "version", "seq", "step_id", "stage", "stage_title", "kind", "params",
              "line"},
    "transitions": {"journey_id", "from_step", "seq", "kind", "event", "condition", "weight", "arm",
                    "to_step"},
    "templates": {"journey_id", "template", "locale", "text"},
    "policies": {"journey_id", "seq", "kind", "params"},
    "attributes": {"journey_id", "seq", "scope", "name", "type", "value", "has_default"},
    # how runs of an older version move when this one is loaded: nothing to simulate
    "migrations": {"journey_id", "seq", "from_version", "from_step", "action", "to_step"},
}
POLICIES = ("cap", "quiet", "consent", "holdout", "promo")
# the step and policy parameters this engine understands; any other set means "unsupported"
KNOWN_PARAMS = {"send": {"channel", "template", "params", "promo", "transactional", "fallback"},
                "cap": {"messages", "per", "channels", "calendar"}}
TRIGGERS = ("entry", "goal", "exit", "milestone")
# tables whose rows the engine refuses, with the reason
REFUSED_TABLES = {"handlers": "always-on event handlers (on EVENT { ... }): they act wherever a "
                              "run is, between the steps the engine moves customers through"}
RESERVED = ("tags", "consent", "timezone", "opted_out")


@dataclass
class Source:
    """Where a customer's events come from: one response or baseline of a segment, or opt-outs."""

    event: str
    data: object                   # the data sampler (None: no data)
    segment: int | None            # None: any segment (opt-outs)
    rate: float = 0.0              # baseline events a second
    response: object = None
    fixed: dict | None = None      # the data when it is constant


@dataclass
class ArmDef:
    step: int
    to: int
    event: str
    tree: object
    why: int


@dataclass
class TriggerDef:
    kind: str                      # goal, exit or milestone
    event: str
    tree: object
    within: float | None
    outcome: str | None            # goals and exits: the outcome they end a run with
    why: int | None                # goals and exits: the reason code of that end
    name: str | None = None


@dataclass
class EmitDef:
    """An emit step's event, which the emitting run takes at once: the milestones it may reach
    and the goals and exit rules (in the runtime's order) that may end the run."""

    event: str
    data: dict
    milestones: list[int]          # indexes into Plan.milestones
    endings: list[TriggerDef]


@dataclass
class Plan:
    tables: Tables
    cohort: Cohort
    program: Program = field(init=False)

    def __post_init__(self):
        _check_tables(self.tables)
        self.program = program = build_program(self.tables)
        self.defaults, self.variables = program.defaults, program.variables
        self.ids = list(program.steps)
        self.index = {sid: i for i, sid in enumerate(self.ids)}
        self.steps = list(program.steps.values())
        self.stages = list(dict.fromkeys(s.stage for s in self.steps))
        self.stage_of = [self.stages.index(s.stage) for s in self.steps]
        self.whys: list[str] = []
        self.outcome_of: dict[int, str] = {}
        self.start = self._target(program.start)
        self._check_journey()
        self.triggers = self._triggers()
        self.milestones = self._milestones()
        self.emits = self._emits()
        self.arms = self._arms()
        self.branches = self._branches()
        self.sources = self._sources()
        # sources whose events the journey takes somewhere (they may reach milestones), and
        # those of them some step waits for (where nothing takes them, they are ignored)
        self.watch = {i for i, source in enumerate(self.sources) if source.event in program.interest}
        self.awaited = {i for i in self.watch if self.sources[i].event in program.awaited}
        self.caps = [(c.messages, float(c.per), c.channels, c.calendar) for c in program.caps]
        self.entry_event = self.cohort.entry_event or (program.entry.event if program.entry else None)
        self.zone_names = self._zones()
        self._check_reads()
        self.arm_list = [(i, arm) for i, arm in enumerate(a for arms in self.arms.values() for a in arms)]
        self.arms_at = {s: [(i, a) for i, a in self.arm_list if a.step == s] for s in self.arms}
        self.channels_of = {i: (step.params["channel"], *step.params.get("fallback", ()))
                            for i, step in enumerate(self.steps) if step.kind == "send"}
        self.responses_of = {(i, channel): self.responses(self.steps[i], channel)
                             for i, channels in self.channels_of.items() for channel in channels}
        self.splits = {i: [(self.index[a.to], self.why(a.label)) for a in step.arms]
                       for i, step in enumerate(self.steps) if step.kind == "split"}
        self.entry_tree = _entry_tree(self.tables)
        self.audience_tree = self.tables.journey["audience"]
        self.reads = self._reads()
        for text in ("next", "waited", "time reached", "time passed", "timeout", "else", "goto"):
            self.why(text)
        self.why("no next step", COMPLETED)
        self.why(f"more than {MAX_STEPS} steps without a wait", ERROR)
        if program.entry is not None:
            self.why(f"entry on {program.entry.event}")
        for step in self.steps:
            if step.kind == "exit":
                self.why(f"exit step {step.id}", step.params["outcome"])

    def split_arm(self, s: int, points):
        """Each bucket's arm of split step ``s``, as ``runtime.policies.choose_arm`` picks it."""
        arms = self.steps[s].arms
        edges, edge = [], 0.0
        total = sum(arm.weight for arm in arms) or 100.0
        for arm in arms:
            edge += arm.weight * 100.0 / total
            edges.append(edge)
        return np.minimum(np.searchsorted(np.array(edges), points, side="right"), len(arms) - 1)

    def _reads(self) -> dict[str, set[tuple]]:
        """The profile and entry-data paths conditions read: only these are drawn."""
        trees = [self.entry_tree, self.audience_tree] + [t.tree for t in self.triggers]
        trees += [m.tree for m in self.milestones] + [a.tree for _, a in self.arm_list]
        trees += [t for arms in self.branches.values() for t, _, _ in arms]
        trees += [s.params.get("value") for s in self.steps if s.kind == "set"]
        found: dict[str, set[tuple]] = {"profile": set(), "entry": set()}
        for path in (p for tree in trees for p in _paths(tree)):
            if path[0] == "customer":
                found["profile"].add(tuple(path[1:]))
            elif path[0] == "event":
                found["entry"].add(tuple(path[1:]))
            elif path[0] != "consent":
                found["entry"].add(tuple(path))
        return found

    # --- registries -------------------------------------------------------------------------

    def why(self, text: str, outcome: str | None = None) -> int:
        """The code of a reason (an edge label or why a run ended)."""
        if text not in self.whys:
            self.whys.append(text)
        code = self.whys.index(text)
        if outcome is not None:
            self.outcome_of[code] = outcome
        return code

    def _target(self, step_id: str | None) -> int:
        return NO_NEXT if step_id is None else self.index[step_id]

    def next_of(self, step) -> int:
        return self._target(step.next)

    # --- checks -----------------------------------------------------------------------------

    def _check_journey(self) -> None:
        program = self.program
        reason = self.cohort.reference_only()
        if reason is not None:
            raise Unsupported(reason)
        for step in self.steps:
            if step.kind not in KINDS:
                raise Unsupported(f"step kind {step.kind!r} (step {step.id})")
            if step.kind == "emit":
                _emittable(step, program)
            if step.kind == "set":
                _settable(step, program.variables)
            if any(arm.holdout for arm in step.arms):
                raise Unsupported(f"a control group (holdout arm) in split {step.id}")
        for scope, declared in (("attribute", program.defaults), ("variable", program.variables)):
            for name, value in declared.items():
                if value is not None and not isinstance(value, (str, int, float, bool)):
                    raise Unsupported(f"{scope} {name!r} starts as {value!r}, not a single value")
        self._check_correlation()
        if program.reentry == "always":
            raise Unsupported("reentry always")
        for event in STAFF_EVENTS:
            if self._matters(event):
                raise Unsupported(f"the journey reacts to {event!r} (staff queues run on the "
                                  "reference engine)")
        for event in DELIVERY_EVENTS:
            if reacts_to(self.program, event):
                raise Unsupported(f"the journey reacts to {event!r} (delivery results run on "
                                  "the reference engine)")
        for segment in self.cohort.segments:
            reserved = sorted(set(segment.attributes) & set(RESERVED))
            if reserved:
                raise Unsupported(f"segment {segment.name!r} sets the reserved attribute {reserved[0]!r}")
            for event in [r.event for r in segment.responses] + [b.event for b in segment.baseline]:
                if event in OPT_OUT_EVENTS:
                    raise Unsupported(f"behaviour event {event!r} (an opt-out event)")
                if program.entry and event == program.entry.event and program.reentry != "never":
                    raise Unsupported(f"behaviour event {event!r} re-enters the journey")

    def _check_correlation(self) -> None:
        """``correlate by KEY``: a run takes only events with its entry's key. A customer has
        one run here (``reentry always`` is refused), and the responses to its messages carry
        its key; the engine refuses what could carry another key, or none."""
        path, program = self.program.correlate, self.program
        if path is None:
            return
        said = f"correlate by {'.'.join(path)}"
        for segment in self.cohort.segments:
            if not _single(flatten(segment.entry_data).get(path)):
                raise Unsupported(f"{said}: the entry data of segment {segment.name!r} has no "
                                  "single value there (its customers would start no run)")
            for base in segment.baseline:
                if base.per_day > 0 and base.event in program.interest:
                    raise Unsupported(f"{said}: baseline event {base.event!r} is no response to "
                                      "a run's message, so it carries no run's key")
            for response in segment.responses:
                if path[0] in keys_of(response.data):
                    raise Unsupported(f"{said}: the data of response {response.event!r} sets "
                                      f"{path[0]}")
        trees = [row["condition"] for name in ("triggers", "transitions")
                 for row in self.tables.rows[name] if row["kind"] != "entry"]  # entry data: drawn
        read = [(p[1:] if p[0] == "event" else p)[:1] for tree in trees for p in _paths(tree)]
        if [path[0]] in read:  # event.order_id or order_id
            raise Unsupported(f"{said}: a condition reads {path[0]}, which the engine does not "
                              "give the events that carry it")

    def _matters(self, event: str) -> bool:
        program = self.program
        return event in program.interest or event in OPT_OUT_EVENTS or \
            (program.entry is not None and event == program.entry.event)

    # --- triggers, arms, branches -----------------------------------------------------------

    def _triggers(self) -> list[TriggerDef]:
        """Goals and exit rules, goals first (as the runtime tries them)."""
        found = []
        for row in self.tables.rows["triggers"]:
            if row["kind"] == "goal":
                why = self.why(f"goal {row['name']} on {row['event']}", CONVERTED)
                found.append(TriggerDef("goal", row["event"], row["condition"], row["within"],
                                        CONVERTED, why, row["name"]))
        for row in self.tables.rows["triggers"]:
            if row["kind"] == "exit":
                why = self.why(f"exit on {row['event']}", row["outcome"])
                found.append(TriggerDef("exit", row["event"], row["condition"], None,
                                        row["outcome"], why))
        return found

    def _milestones(self) -> list[TriggerDef]:
        return [TriggerDef("milestone", row["event"], row["condition"], row["within"], None, None,
                           row["name"])
                for row in self.tables.rows["triggers"] if row["kind"] == "milestone"]

    def _emits(self) -> dict[int, EmitDef]:
        found = {}
        for i, step in enumerate(self.steps):
            if step.kind == "emit":
                event = step.params["event"]
                found[i] = EmitDef(event, step.params["params"],
                                   [k for k, m in enumerate(self.milestones) if m.event == event],
                                   [t for t in self.triggers if t.event == event])
        return found

    def _rows(self, step_id: str, kinds: tuple[str, ...]) -> list[dict]:
        return [r for r in self.tables.rows["transitions"]
                if r["from_step"] == step_id and r["kind"] in kinds]

    def _arms(self) -> dict[int, list[ArmDef]]:
        found = {}
        for i, step in enumerate(self.steps):
            if step.kind == "wait_event":
                rows = self._rows(step.id, ("event",))
                found[i] = [ArmDef(i, self.index[arm.to], arm.event, row["condition"],
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

    # --- behaviour ----------------------------------------------------------------------------

    def _sources(self) -> list[Source]:
        sources = [Source(OPT_OUT_EVENT, None, None, fixed={})]
        for g, segment in enumerate(self.cohort.segments):
            for response in segment.responses:
                sources.append(Source(response.event, response.data, g, response=response))
            for base in segment.baseline:
                if base.per_day > 0 and self._matters(base.event):
                    sources.append(Source(base.event, base.data, g, rate=base.per_day / 86400.0))
        for source in sources[1:]:
            fixed, value = constant(source.data)
            source.fixed = (value if isinstance(value, dict) else {}) if fixed else None
        return sources

    def responses(self, step, channel: str) -> dict[int, list[int]]:
        """Per segment, the sources of the responses a message of this send step on ``channel``
        draws."""
        action = _Message(step.params["template"], channel, step.id)
        found: dict[int, list[int]] = {}
        for s, source in enumerate(self.sources):
            if source.response is not None and source.response.matches(action):
                found.setdefault(source.segment, []).append(s)
        return found

    def _zones(self) -> list[str | None]:
        names: list[str | None] = [None]
        for segment in self.cohort.segments:
            if segment.timezone is not None:
                names += [k for k in segment.timezone.keys if k not in names]
        return names

    # --- what conditions read ---------------------------------------------------------------

    def _check_reads(self) -> None:
        """Refuse reads whose value the engine does not track (see docs/simulation.md)."""
        waits = any(s.kind == "wait_event" for s in self.steps)
        arm_keys = set().union(*[keys_of(src.data) for src in self.sources
                                 if any(a.event == src.event for arms in self.arms.values()
                                        for a in arms)])
        variables = set(self.variables)
        sets = [s.params["attribute"].split(".") for s in self.steps if s.kind == "set"]
        changed = {tuple(a[1:]) for a in sets if a[0] == "customer"}
        changed_variables = {a[0] for a in sets if a[0] in variables}
        tagged = {t for s in self.steps if s.kind in ("tag", "untag") for t in s.params["tags"]}
        steps_trees = [t for arms in self.branches.values() for t, _, _ in arms]
        steps_trees += [s.params.get("value") for s in self.steps if s.kind == "set"]
        for tree in steps_trees:
            roots = {p[0] for p in _paths(tree)} - variables
            if (waits and "event" in roots) or roots & arm_keys:
                raise Unsupported("a branch or set reads the data of an event a wait received")
        for emit in self.emits.values():
            for tree in [self.milestones[k].tree for k in emit.milestones] + [t.tree for t in emit.endings]:
                roots = {p[0] for p in _paths(tree)} - variables - set(emit.data)
                if roots & arm_keys:
                    raise Unsupported(f"a condition on the emitted {emit.event!r} reads the data "
                                      "of an event a wait received")
                for path in _paths(tree):
                    self._check_path(path)
        # conditions tested on behaviour events (when the cohort draws them)
        produced = {source.event for source in self.sources}
        event_trees = [(t.event, t.tree) for t in self.triggers + self.milestones]
        event_trees += [(a.event, a.tree) for arms in self.arms.values() for a in arms]
        for event, tree in event_trees:
            if event not in produced:
                continue
            for path in _paths(tree):
                self._check_path(path)
                if path[0] == "customer" and tuple(path[1:]) in changed or \
                        path[0] in changed_variables:
                    raise Unsupported(f"a goal, milestone, exit or wait condition reads "
                                      f"{'.'.join(path)}, which a set step changes")
                if path[0] in ("customer", "consent") or path[0] in variables:
                    continue
                for source in self.sources:
                    if source.event != event:
                        continue
                    if path[0] in arm_keys and path[0] not in keys_of(source.data):
                        raise Unsupported("a condition reads the data of an event a wait received")
                    if source.fixed is None and (path[0] == "event" or path[0] in keys_of(source.data)):
                        raise Unsupported(f"a condition on {event!r} reads event data the cohort draws at random")
            if _tags(tree) & tagged:
                raise Unsupported("a goal, milestone, exit or wait condition reads a tag that a "
                                  "step changes")
        for path in _paths(_entry_tree(self.tables)):
            self._check_path(path)
        self._check_whole_values()

    def _check_path(self, path: list[str]) -> None:
        if path[0] == "customer" and (len(path) < 2 or path[1] in ("tags", "opted_out", "consent")):
            raise Unsupported(f"a condition reads {'.'.join(path)}")
        if path[0] == "consent" and len(path) != 2:
            raise Unsupported(f"a condition reads {'.'.join(path)}")

    def _check_whole_values(self) -> None:
        """Profile columns hold single values: a condition may not read a nested attribute
        (which a segment draws as a mapping) as a whole."""
        trees = list(_all_trees(self.tables))
        for path in {tuple(p[1:]) for tree in trees for p in _paths(tree) if p[0] == "customer"}:
            for segment in self.cohort.segments:
                sampler = segment.attributes.get(path[0])
                for part in path[1:]:
                    parts = getattr(sampler, "parts", None)
                    sampler = parts.get(part) if isinstance(parts, dict) else None
                if hasattr(sampler, "parts"):
                    raise Unsupported(f"a condition reads customer.{'.'.join(path)} as a whole, "
                                      f"a nested value in segment {segment.name!r}")


@dataclass
class _Message:
    template: str
    channel: str
    step: str


def _single(sampler) -> bool:
    """Whether a sampler always gives one number, text or true/false (a usable key)."""
    if isinstance(sampler, Const):
        return type(sampler.value) in (str, int, float, bool)
    if isinstance(sampler, Categorical):
        return all(type(key) in (str, int, float, bool) for key in sampler.keys)
    return isinstance(sampler, Draw)


def _settable(step, variables: dict) -> None:
    attribute = step.params["attribute"].split(".")
    variable = len(attribute) == 1 and attribute[0] in variables
    if not variable and (attribute[0] != "customer" or len(attribute) < 2 or attribute[1] in RESERVED):
        raise Unsupported(f"set {step.params['attribute']} (step {step.id}): only customer "
                          "attributes and run-local variables")
    for path in _paths(step.params.get("value")):
        if path[0] == "customer" and path[1:2] == ["tags"]:
            raise Unsupported(f"set {step.params['attribute']} reads the tag list")


def _emittable(step, program: Program) -> None:
    """An emitted event reaches the emitting run at once (its milestones, goals and exit
    rules); the engine refuses one that would reach the customer elsewhere."""
    event = step.params["event"]
    if event in OPT_OUT_EVENTS:
        raise Unsupported(f"emit of {event!r}, an opt-out event (step {step.id})")
    if event in STAFF_EVENTS:
        raise Unsupported(f"emit of {event!r}, a staff event (step {step.id})")
    if program.entry is not None and event == program.entry.event:
        raise Unsupported(f"emit of {event!r}, the journey's entry event (step {step.id})")


def _entry_tree(tables: Tables):
    trees = [r["condition"] for r in tables.rows["triggers"] if r["kind"] == "entry"][:1]
    return ["and", trees[0] or True, tables.journey["audience"] or True] if trees else None


def _paths(tree) -> list[list[str]]:
    if not isinstance(tree, list) or not tree:
        return []
    if tree[0] == "path":
        return [list(tree[1:])]
    return [p for arg in tree[1:] for p in _paths(arg)]


def _tags(tree) -> set[str]:
    if not isinstance(tree, list) or not tree:
        return set()
    if tree[0] == "has_tag":
        return {tree[1]}
    return set().union(*[_tags(arg) for arg in tree[1:]])


def _all_trees(tables: Tables):
    yield tables.journey["audience"]
    for name in ("triggers", "transitions", "kpis", "handlers"):
        for row in tables.rows.get(name, ()):
            yield row["condition"]
    for row in tables.rows["steps"]:
        yield row["params"].get("value")


def _history(tree) -> bool:
    if not isinstance(tree, list) or not tree:
        return False
    return tree[0] == "history" or any(_history(arg) for arg in tree[1:])


def _check_tables(tables: Tables) -> None:
    for name, rows in tables.rows.items():
        known = KNOWN.get(name)
        if rows and name in REFUSED_TABLES:
            raise Unsupported(REFUSED_TABLES[name])
        if known is None:
            if rows:
                raise Unsupported(f"table {name!r}")
            continue
        for row in rows:
            extra = sorted(k for k, v in row.items() if k not in known and v is not None)
            if extra:
                raise Unsupported(f"{name} column {extra[0]!r}")
    for row in tables.rows.get("policies", ()):
        if row["kind"] not in POLICIES:
            raise Unsupported(f"policy {row['kind']!r}")
    for row in tables.rows["steps"] + tables.rows.get("policies", []):
        extra = sorted(set(row["params"]) - KNOWN_PARAMS.get(row["kind"], set(row["params"])))
        if extra:
            raise Unsupported(f"{row['kind']} {extra[0]!r}")
    for row in tables.rows["triggers"]:
        if row["kind"] not in TRIGGERS:
            raise Unsupported(f"{row['kind']}s")
    if any(_history(tree) for tree in _all_trees(tables)):
        raise Unsupported("event history in conditions (count, happened, time_since, sum... of "
                          "past events): the engine keeps no history of each customer's events")


def vector_support(tables: Tables, cohort: Cohort) -> str | None:
    """Why the vectorised engine cannot run this journey and cohort, or None when it can."""
    try:
        Plan(tables, cohort)
    except Unsupported as exc:
        return str(exc)
    return None


__all__ = ["MAX_STEPS", "NO_NEXT", "Plan", "Source", "Unsupported", "flatten", "vector_support"]
