"""Expansion of escalation ladders into primitive steps (after ``use`` expansion, before the graph).

A ladder ``L`` with rungs r1..rn becomes: ``L`` (rung 1's action) -> ``L.w1`` (a wait for the
resolving event until rung 2's offset) -> ``L.r2`` (rung 2's action) -> ... -> ``L.wn`` (a wait
until ``within``; its timeout is the breach target, the ladder's ``next``). Each wait names the
rungs run before it and those ahead: the resolving event closes the SLAs of the former.
"""
from __future__ import annotations

from dataclasses import replace

from . import ast
from .diagnostics import Diagnostic, Severity
from .units import format_duration

LADDER_MALFORMED = "JL711"


def expand_ladders(journey: ast.Journey, report) -> ast.Journey:
    """``journey`` with every ``escalate`` step replaced by its primitive steps."""
    if not any(isinstance(step, ast.Escalate) for _, step in journey.steps()):
        return journey
    stages = tuple(replace(stage, steps=tuple(_expanded(stage.steps, report)))
                   for stage in journey.stages)
    return replace(journey, stages=stages)


def _expanded(steps, report):
    for step in steps:
        if isinstance(step, ast.Escalate):
            _check(step, report)
            yield from ladder_steps(step)
        else:
            yield step


def ladder_steps(ladder: ast.Escalate) -> list[ast.Step]:
    """The primitive steps of one ladder (also for a malformed one, so targets resolve)."""
    arm = ast.EventArm(ladder.event, ladder.condition, ladder.target, span=ladder.span)
    if not ladder.rungs:
        return [ast.WaitEvent(ladder.name, next=ladder.next, arms=(arm,),
                              within=ladder.within, span=ladder.span)]
    steps: list[ast.Step] = []
    rungs = ladder.rungs
    names = [ladder.name] + [f"{ladder.name}.r{index}" for index in range(2, len(rungs) + 1)]
    for index, (name, rung) in enumerate(zip(names, rungs), 1):
        wait = f"{ladder.name}.w{index}"
        steps.append(replace(rung.action, name=name, next=wait, span=rung.span))
        last = index == len(rungs)
        until = ladder.within if last else rungs[index].after
        steps.append(ast.WaitEvent(
            wait, next=ladder.next if last else names[index], arms=(arm,),
            within=max(until - rung.after, 0), reached=tuple(names[:index]),
            ahead=tuple(names[index:]), span=ladder.span if last else rungs[index].span))
    return steps


def _check(ladder: ast.Escalate, report) -> None:
    """JL711 for a ladder without rungs, not starting at 0m, with offsets not increasing,
    ending after ``within``, or with a rung action that names its own target."""
    def problem(message: str, span, hint: str | None = None) -> None:
        report(Diagnostic(LADDER_MALFORMED, Severity.ERROR, message, span, hint))

    where = f"escalation ladder '{ladder.name}'"
    if not ladder.rungs:
        problem(f"{where} has no rungs", ladder.span, hint="add e.g. 'at 0m: send via ...'")
        return
    if ladder.rungs[0].after != 0:
        problem(f"the first rung of {where} must be at 0m, not at "
                f"{format_duration(ladder.rungs[0].after)}", ladder.rungs[0].span,
                hint="the ladder starts with its first action; add a wait before it instead")
    for before, rung in zip(ladder.rungs, ladder.rungs[1:]):
        if rung.after <= before.after:
            problem(f"the rungs of {where} must come in increasing time: "
                    f"{format_duration(rung.after)} is not after "
                    f"{format_duration(before.after)}", rung.span)
    last = ladder.rungs[-1].after
    if ladder.within <= last:
        problem(f"{where} ends (within {format_duration(ladder.within)}) before its last rung "
                f"(at {format_duration(last)})", ladder.span,
                hint="'within' is the whole ladder's deadline, counted from its first rung")
    for rung in ladder.rungs:
        if isinstance(rung.action, ast.SequentialStep) and rung.action.next is not None:
            problem(f"a rung of {where} cannot name a target ('-> {rung.action.next}'): the "
                    "ladder goes on by itself", rung.span)
