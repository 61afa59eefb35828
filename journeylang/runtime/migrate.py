"""Runtime, versions in flight: when a version with ``migrate from version N`` is loaded, the runs
still inside version N move to it, stop or stay, as its mapping says (docs/runtime.md, section 6).

Everything is checked before anything changes: the mapping against the stored version's tables
(the checks of ``journey check --against``) and every run's place; then every run is moved in
the same transaction as the new version, so either all of them move or none does.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..migration import (DRAIN, ERROR, STOP, Plan, carried_variables, check_against,
                         shape_of_rows)
from ..semantics import STOPPED
from .events import iso
from .policies import day_after_entry, next_local_time, next_occurrence
from .program import Program
from .state import Customer, Run

TIMED = ("wait", "wait_until", "wait_day", "wait_schedule")


class MigrationError(Exception):
    """A migration that cannot be applied: nothing was changed; the message says why."""


@dataclass
class Move:
    """What one migration does: the plan, the older version and the runs it applies to."""

    plan: Plan
    old: Program
    new: Program
    runs: list[tuple[Customer, Run, str]]  # customer, run, target (a step, stop or drain)


def plan_moves(executor, new: Program) -> list[Move]:
    """Check every migration of ``new`` against the stored versions it names and place every
    run of theirs; MigrationError (nothing changed) when one cannot be applied."""
    moves, problems = [], []
    new_shape = shape_of_rows(new.tables.rows)
    for plan in new.migrations:
        for old in _versions(executor, new, plan.from_version):
            old_shape = shape_of_rows(old.tables.rows)
            problems += [f"version {plan.from_version} ({old.content_hash[:19]}): {p.message}"
                         for p in check_against(plan, old_shape, new_shape) if p.severity == ERROR]
            runs = []
            for ident in executor.store.customers_in([old.content_hash]):
                customer = executor.store.customer(ident)
                for run in customer.runs:
                    if run.content_hash != old.content_hash:
                        continue
                    target = DRAIN if run.holdout else _target(plan, old_shape, run)
                    if target is None:
                        problems.append(f"run #{run.id} of customer {ident} is at "
                                        f"'{run.step}', which the migration from version "
                                        f"{plan.from_version} does not map")
                    runs.append((customer, run, target))
            moves.append(Move(plan, old, new, runs))
    if problems:
        raise MigrationError(f"journey {new.journey_id!r} version {new.version}: the migration "
                             "cannot be applied, nothing was changed: " + "; ".join(problems))
    return moves


def _versions(executor, new: Program, number: int) -> list[Program]:
    return [p for p in executor.programs.values() if p.journey_id == new.journey_id
            and p.version == number and p.content_hash != new.content_hash]


def _target(plan: Plan, old_shape, run: Run) -> str | None:
    step = old_shape.steps.get(run.step)
    return None if step is None else plan.target_of(step)


def apply_moves(executor, moves: list[Move]) -> list[tuple]:
    """Move, stop or keep every run; one history row each; the migrations' summary rows."""
    summary = []
    for move in moves:
        counts = {"moved": 0, "stopped": 0, "kept": 0}
        why = f"migrate from version {move.plan.from_version}"
        for customer, run, target in move.runs:
            if target == DRAIN:
                executor._history(run, run.step, "kept", why,
                                  f"stays on {move.old.content_hash[:19]} until it ends")
                counts["kept"] += 1
            elif target == STOP:
                executor._end(customer, run, STOPPED, f"{why}: stop")
                counts["stopped"] += 1
            else:
                _move(executor, customer, run, move, move.new.steps[target], why)
                counts["moved"] += 1
        summary.append((executor.engine.now, move.new.journey_id, move.plan.from_version,
                        move.old.content_hash, move.new.content_hash, counts["moved"],
                        counts["stopped"], counts["kept"]))
    return summary


def _move(executor, customer: Customer, run: Run, move: Move, step, why: str) -> None:
    """Put a run on the new version at ``step``: a wait goes on as if the run had reached it
    when it reached the old one; any other step runs now."""
    old_step = run.step
    executor._cancel_timer(run)
    run.content_hash, run.waiting = move.new.content_hash, None
    run.vars = carried_variables(run.vars, move.new.variables)
    run.values_changed = True
    detail = f"from {old_step} of {move.old.content_hash[:19]}"
    if step.kind in TIMED or step.kind == "wait_event":
        since = run.step_at if run.step_at is not None else executor.engine.now
        run.step, run.stage = step.id, step.stage
        executor._open_kpis(customer, run, move.new.kpis_at.get(step.id, ()))
        due = _due(executor, customer, run, step, since)
        if due is not None:
            due = max(due, executor.engine.now)
            executor._timer(run, due, "wake" if step.kind in TIMED else "timeout", step.id)
            detail += f"; waits until {iso(due)}"
        run.waiting = "time" if step.kind in TIMED else "event"
        executor._history(run, step.id, "migrated", why, detail)
        return
    executor._history(run, step.id, "migrated", why, detail)
    executor._continue(customer, run, move.new, step.id, "migrated")


def _due(executor, customer: Customer, run: Run, step, since: float) -> float | None:
    """When the wait at ``step`` is over for a run waiting since ``since`` (None: never)."""
    zone = executor.zones.get(customer.profile.get("timezone"))
    params = step.params
    if step.kind == "wait":
        return since + params["duration"]
    if step.kind == "wait_event":
        return None if params.get("within") is None else since + params["within"]
    if step.kind == "wait_schedule":
        return next_occurrence(since, step.schedule, zone)
    hours, minutes = params["time"].split(":")
    at = int(hours) * 60 + int(minutes)
    if step.kind == "wait_day":
        return day_after_entry(run.entered_at, params["day"], at, zone)
    return next_local_time(since, at, zone)


__all__ = ["MigrationError", "apply_moves", "plan_moves"]
