"""Runtime input: compiled tables turned into a Program, the fast in-memory form the executor reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..compile import Tables, TablesError, compile_condition, compile_tree
from ..compile.conditions import Scope

Predicate = Callable[[Scope], bool]
STEP_KINDS = ("send", "wait", "wait_until", "wait_event", "branch", "split", "tag", "untag", "set",
              "coupon", "handoff", "webhook", "emit", "goto", "exit")


@dataclass(frozen=True, slots=True)
class Arm:
    """A way out of a step: an event arm, a branch arm or a split arm."""

    to: str
    event: str | None = None
    test: Predicate | None = None
    weight: float = 0.0
    name: str | None = None
    label: str = ""


@dataclass(slots=True)
class StepDef:
    id: str
    stage: str
    kind: str
    params: dict
    next: str | None = None          # sequential steps, goto, the default of a branch
    timeout: str | None = None       # wait_event with within
    arms: list[Arm] = field(default_factory=list)
    value: Callable | None = None    # set: the compiled expression


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # entry, goal, exit
    event: str
    test: Predicate
    name: str | None
    within: int | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class CapRule:
    messages: int
    per: int
    channels: frozenset[str] | None  # None: every channel


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
    interest: frozenset[str] = frozenset()  # event types goals, exits or waits react to

    @property
    def stages(self) -> dict[str, str]:
        return {step.id: step.stage for step in self.steps.values()}

    def holdout_window(self) -> float | None:
        """How long a holdout run is tracked: the longest goal window (None: until a goal)."""
        if not self.goals:
            return 0.0
        windows = [g.within for g in self.goals]
        return None if any(w is None for w in windows) else float(max(windows))


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
        if step.kind == "set":
            step.value = compile_tree(step.params.get("value"))
    triggers = [Trigger(r["kind"], r["event"], compile_condition(r["condition"]), r["name"],
                        r["within"], r["outcome"]) for r in tables.rows["triggers"]]
    policy = {"caps": [], "quiet": None, "consent": frozenset(), "holdout": None}
    for row in tables.rows["policies"]:
        params = row["params"]
        if row["kind"] == "cap":
            policy["caps"].append(CapRule(params["messages"], params["per"],
                                          frozenset(params["channels"]) or None))
        elif row["kind"] == "quiet":
            policy["quiet"] = (_minutes(params["start"]), _minutes(params["end"]))
        elif row["kind"] == "consent":
            policy["consent"] = frozenset(params["channels"])
        elif row["kind"] == "holdout":
            policy["holdout"] = float(params["percent"])
    templates: dict[str, dict[str, str]] = {}
    for row in tables.rows["templates"]:
        templates.setdefault(row["template"], {}).setdefault(row["locale"], row["text"])
    entries = [t for t in triggers if t.kind == "entry"]
    goals = [t for t in triggers if t.kind == "goal"]
    exits = [t for t in triggers if t.kind == "exit"]
    interest = {t.event for t in goals + exits}
    interest |= {arm.event for s in steps.values() if s.kind == "wait_event" for arm in s.arms}
    return Program(journey["journey_id"], journey["version"], journey["content_hash"],
                   journey["start_step"], steps, entries[0] if entries else None,
                   compile_condition(journey["audience"]), journey["reentry"],
                   journey["reentry_after"], goals, exits, policy["caps"], policy["quiet"],
                   policy["consent"], policy["holdout"], templates, tables, frozenset(interest))


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
