"""Versions in flight: where runs of an older version of a journey go when a newer one is loaded,
and the checks that prove a migration complete and sound.

Everything here reads plain data, the rows of compiled tables or a checked model, so the linter
(``journey check --against``), the runtime (which checks again before it moves a run) and
``journey diff`` share one definition. docs/runtime.md, "Versions", describes the semantics.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from . import ast
from .semantics import value_type, zero_wait

MIGRATION_ACTIONS = ast.MIGRATION_ACTIONS
STOP, DRAIN = MIGRATION_ACTIONS
MOVE = "move"
ERROR, WARNING = "error", "warning"
INCOMPLETE, UNSOUND = "incomplete", "unsound"
# what a run can be waiting for at a step: time, events, the end of quiet hours (a held send);
# runs held out by a split's control arm stay at the split
TIME, EVENTS, QUIET, HELD_OUT = "time", "events", "quiet", "held out"
_WAIT_KINDS = ("wait", "wait_until", "wait_day", "wait_schedule", "wait_event")
_KIND_WORDS = {"wait": "a wait", "wait_until": "a wait until a time",
               "wait_day": "a wait until a day",
               "wait_schedule": "a wait until a schedule", "wait_event": "a wait for events",
               "send": "a send", "split": "a split", "branch": "a branch", "exit": "an exit",
               "goto": "a goto", "set": "a set", "tag": "a tag", "untag": "an untag",
               "coupon": "a coupon", "handoff": "a handoff", "webhook": "a webhook",
               "emit": "an emit"}


@dataclass(frozen=True)
class StepShape:
    """A step as a migration sees it: its kind, and what a run can wait for there (None: a
    run never waits at it)."""

    id: str
    stage: str
    kind: str
    waits: str | None

    @property
    def described(self) -> str:
        held = ", held for quiet hours" if self.waits == QUIET else ""
        return f"'{self.id}' ({_KIND_WORDS.get(self.kind, self.kind)}{held})"


@dataclass(frozen=True)
class VersionShape:
    """What a migration needs to know of one version: its steps in source order, where its
    stage names lead, its run-local variables (name -> (type, initial value))."""

    journey_id: str
    version: int | None
    steps: dict[str, StepShape]
    stages: dict[str, str]
    variables: dict[str, tuple]
    content_hash: str | None = None

    def resolve(self, name: str) -> str | None:
        """The step a name means: a step id, or a stage's first step."""
        return name if name in self.steps else self.stages.get(name)

    def waiting(self) -> list[StepShape]:
        """The steps where a run (not held out) can be waiting, in source order."""
        return [s for s in self.steps.values() if s.waits in (TIME, EVENTS, QUIET)]

    def names(self) -> list[str]:
        return [*self.steps, *self.stages]


def _waits(kind: str, params: dict, quiet: bool, holdout: bool) -> str | None:
    if kind in _WAIT_KINDS:
        if zero_wait(kind, params.get("duration"), params.get("within")):
            return None  # `wait 0m`: the run goes on at once
        return EVENTS if kind == "wait_event" else TIME
    if kind == "send" and quiet and not params.get("transactional"):
        return QUIET
    if kind == "split" and holdout:
        return HELD_OUT
    return None


def _first_steps(stages_in_order: list[tuple[str, list[str]]]) -> dict[str, str]:
    """Stage name -> its first step (a stage without steps: the next stage's first step)."""
    found, waiting = {}, []
    for name, steps in stages_in_order:
        waiting.append(name)
        if steps:
            for stage in waiting:
                found.setdefault(stage, steps[0])
            waiting = []
    return found


def _type_of(declared, value) -> str | None:
    """A variable's type: declared, else its initial value's."""
    return declared or value_type(value)


def shape_of_rows(rows: dict) -> VersionShape:
    """The shape of compiled tables (``Tables.rows``: table name -> rows as dicts)."""
    journey = rows["journey"][0]
    quiet = any(p["kind"] == "quiet" for p in rows.get("policies", ()))
    held = {t["from_step"] for t in rows.get("transitions", ()) if t["kind"] == "holdout"}
    steps, stages = {}, {}
    for row in rows["steps"]:
        params = row["params"] or {}
        steps[row["step_id"]] = StepShape(row["step_id"], row["stage"], row["kind"],
                                          _waits(row["kind"], params, quiet,
                                                 row["step_id"] in held))
        stages.setdefault(row["stage"], []).append(row["step_id"])
    variables = {r["name"]: (_type_of(r["type"], r["value"]), r["value"])
                 for r in rows.get("attributes", ()) if r["scope"] == "run"}
    return VersionShape(journey["journey_id"], journey["version"], steps,
                        _first_steps(list(stages.items())), variables, journey["content_hash"])


def shape_of_journey(journey: ast.Journey) -> VersionShape:
    """The shape of a checked, expanded model (the version being written)."""
    quiet = journey.policy.quiet is not None
    steps = {}
    for stage, step in journey.steps():
        params = {name: getattr(step, name, None)
                  for name in ("duration", "within", "transactional")}
        holdout = isinstance(step, ast.Split) and any(arm.holdout for arm in step.arms)
        steps[step.name] = StepShape(step.name, stage.name, step.kind,
                                     _waits(step.kind, params, quiet, holdout))
    stages = _first_steps([(s.name, [step.name for step in s.steps]) for s in journey.stages])
    variables = {v.name: (_type_of(v.type, v.default), v.default) for v in journey.variables}
    return VersionShape(journey.id, journey.version, steps, stages, variables)


# --- the mapping -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """One ``migrate from version N`` block: (old step or stage, target) moves, and where the
    steps no move names go (``other``; None: nowhere, every waiting step must be named).
    A target is a step or stage of the new version, ``stop`` or ``drain``."""

    from_version: int
    moves: tuple[tuple[str, str], ...]
    other: str | None = None

    @classmethod
    def of(cls, migration: ast.Migration) -> "Plan":
        return cls(migration.from_version, tuple((m.step, m.target) for m in migration.moves),
                   migration.other)

    @classmethod
    def from_rows(cls, rows) -> list["Plan"]:
        """The plans of a ``migrations`` table (rows in seq order; ``from_step`` null: other)."""
        found: dict[int, dict] = {}
        for row in rows:
            plan = found.setdefault(row["from_version"], {"moves": [], "other": None})
            target = row["to_step"] if row["action"] == MOVE else row["action"]
            if row["from_step"] is None:
                plan["other"] = target
            else:
                plan["moves"].append((row["from_step"], target))
        return [cls(version, tuple(p["moves"]), p["other"]) for version, p in found.items()]

    def source_of(self, step: StepShape) -> int | None:
        """The index of the move that applies to a step of the old version: one naming the
        step, else one naming its stage, else ``other`` (``len(moves)``); None: none."""
        for index, (source, _) in enumerate(self.moves):
            if source == step.id:
                return index
        for index, (source, _) in enumerate(self.moves):
            if source == step.stage:
                return index
        return len(self.moves) if self.other is not None else None

    def target_of(self, step: StepShape) -> str | None:
        """Where a run at ``step`` goes: a target name, ``stop`` or ``drain`` (None: unmapped)."""
        index = self.source_of(step)
        if index is None:
            return None
        return self.other if index == len(self.moves) else self.moves[index][1]


@dataclass(frozen=True)
class Problem:
    """A finding about a migration: ``rule`` is INCOMPLETE or UNSOUND; ``move`` the index of
    the move it is about (``len(moves)``: ``other``; None: the whole block)."""

    rule: str
    severity: str
    message: str
    move: int | None = None
    hint: str | None = None


def _did_you_mean(name: str, choices) -> str | None:
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def check_targets(plan: Plan, new: VersionShape) -> list[Problem]:
    """What can be checked without the older version: targets exist, and the block migrates
    from an earlier version."""
    found = []
    if new.version is None:
        found.append(Problem(UNSOUND, ERROR, "a journey with a migration needs a version number "
                                             "(journey ID \"Title\" version N)"))
    elif plan.from_version >= new.version:
        found.append(Problem(UNSOUND, ERROR, f"this is version {new.version}: it can only "
                                             f"migrate from an earlier version, not "
                                             f"{plan.from_version}"))
    targets = [(i, target) for i, (_, target) in enumerate(plan.moves)]
    if plan.other is not None:
        targets.append((len(plan.moves), plan.other))
    for index, target in targets:
        if target not in ast.MIGRATION_ACTIONS and new.resolve(target) is None:
            found.append(Problem(UNSOUND, ERROR, f"'{target}' is no step or stage of this "
                                                 "version", index,
                                 _did_you_mean(target, [*new.names(), *ast.MIGRATION_ACTIONS])))
    return found


def check_against(plan: Plan, old: VersionShape, new: VersionShape) -> list[Problem]:
    """Check a migration against the older version's shape: it names only steps of that
    version, covers every step where a run can wait, and moves runs soundly (waits go on
    waiting, held messages stay messages, variables keep their types)."""
    found = []
    version = f"version {plan.from_version}"
    for index, (source, target) in enumerate(plan.moves):
        if source not in old.steps and source not in old.stages:
            found.append(Problem(UNSOUND, ERROR, f"{version} has no step or stage '{source}'",
                                 index, _did_you_mean(source, old.names())))
        elif source in old.steps and old.steps[source].waits is None:
            found.append(Problem(UNSOUND, WARNING, f"no run of {version} waits at "
                                                   f"{old.steps[source].described}: this move "
                                                   "never applies", index))
    uncovered = [step for step in old.waiting() if plan.source_of(step) is None]
    if uncovered:
        listed = ", ".join(step.described for step in uncovered[:6])
        more = f" and {len(uncovered) - 6} more" if len(uncovered) > 6 else ""
        found.append(Problem(INCOMPLETE, ERROR, f"runs of {version} can be waiting at "
                                                f"{listed}{more}, which this migration does "
                                                "not map",
                             hint="map each of them (old -> new, stop or drain), or add "
                                  "'other -> drain' (or stop)"))
    moving = False
    for step in old.waiting():
        target = plan.target_of(step)
        if target is None or target in ast.MIGRATION_ACTIONS or new.resolve(target) is None:
            continue
        moving = True
        problem = _translation(step, new.steps[new.resolve(target)])
        if problem is not None:
            found.append(Problem(UNSOUND, WARNING, problem, plan.source_of(step)))
    if moving:
        found += _variables(old, new, version)
    return found


def _translation(old: StepShape, new: StepShape) -> str | None:
    """Why moving a run waiting at ``old`` to ``new`` loses something, or None."""
    if old.waits == QUIET and new.kind != "send":
        return (f"the message held for quiet hours at {old.described} is not sent: runs "
                f"go on at {new.described}")
    if old.waits in (TIME, EVENTS) and new.kind not in _WAIT_KINDS and new.kind != "exit":
        waiting = "for events" if old.waits == EVENTS else "for time to pass"
        return (f"runs waiting {waiting} at {old.described} stop waiting: they go on at "
                f"once at {new.described}")
    return None


def _variables(old: VersionShape, new: VersionShape, version: str) -> list[Problem]:
    found = []
    for name, (kind, _) in old.variables.items():
        if name not in new.variables:
            found.append(Problem(UNSOUND, WARNING, f"variable '{name}' of {version} is not "
                                                   "declared here: moved runs lose its value"))
            continue
        now = new.variables[name][0]
        if kind and now and kind != now:
            found.append(Problem(UNSOUND, ERROR, f"variable '{name}' is a {kind} in {version} "
                                                 f"and a {now} here: moved runs would keep "
                                                 f"a {kind}",
                                 hint="rename the variable, or keep its type"))
    return found


def carried_variables(old_values: dict, new: dict) -> dict:
    """A moved run's variables: the new version's initial values, with the values the run
    had for the variables both versions declare."""
    return {**new, **{k: v for k, v in old_values.items() if k in new}}


__all__ = ["DRAIN", "MIGRATION_ACTIONS", "MOVE", "STOP", "Plan", "Problem", "StepShape",
           "VersionShape", "carried_variables", "check_against", "check_targets",
           "shape_of_journey",
           "shape_of_rows"]
