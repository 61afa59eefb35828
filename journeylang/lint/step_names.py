"""Names for people: an unlabelled step (``win_back.7``) described by what it does and where
it is, for the diagnostics that quote it."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .. import ast
from ..diagnostics import Diagnostic, StepName
from ..expressions import schedule_text
from ..units import format_duration, format_time

_UNLABELLED = re.compile(r"\.\d+\Z")  # `stage.7`, or `prefix.3` for a fragment's step


def name_steps(diagnostics: list[Diagnostic], journey: ast.Journey | None) -> list[Diagnostic]:
    """``diagnostics`` with the unlabelled steps each one quotes named (``Diagnostic.steps``)."""
    if journey is None:
        return diagnostics
    steps = {step.name: (stage, step) for stage, step in journey.steps()
             if _UNLABELLED.search(step.name)}
    return [_named(d, steps) for d in diagnostics] if steps else diagnostics


def _named(diagnostic: Diagnostic, steps: dict) -> Diagnostic:
    texts = " ".join([diagnostic.message, diagnostic.hint or "",
                      *(r.message for r in diagnostic.related)])
    quoted = [name for name in re.findall(r"'([^'\s]+)'", texts) if name in steps]
    if not quoted:
        return diagnostic
    named = tuple(StepName(name, steps[name][1].kind.split("_")[0],
                           describe(*steps[name], diagnostic.span.file))
                  for name in dict.fromkeys(quoted))
    return replace(diagnostic, steps=named)


def describe(stage: ast.Stage, step: ast.Step, file: str | None = None) -> str:
    """``the send of cart_offer in stage win_back (line 41)``: what a step does, its stage
    and its line (with the file's name when it is not ``file``: a fragment's step)."""
    where = f"line {step.span.line}"
    if file is not None and step.span.file != file:
        where += f" of {Path(step.span.file).name}"
    return f"the {_what(step)} in stage {stage.name} ({where})"


def _what(step: ast.Step) -> str:
    match step:
        case ast.Send():
            return f"send of {step.template}"
        case ast.Wait():
            return f"wait of {format_duration(step.duration)}"
        case ast.WaitUntil():
            return f"wait until {format_time(step.time)}"
        case ast.WaitDay():
            return f"wait until day {step.day} at {format_time(step.time)}"
        case ast.WaitSchedule():
            return f"wait until next {schedule_text(step.schedule)}"
        case ast.WaitEvent():
            return "wait for " + " or ".join(dict.fromkeys(arm.event for arm in step.arms))
        case ast.Tag() | ast.Untag():
            return f"{step.kind} {', '.join(step.tags)}"
        case ast.SetAttribute():
            return f"set of {step.attribute}"
        case ast.Coupon():
            return f"coupon {step.code}"
        case ast.Handoff():
            return f"handoff to {step.role}"
        case ast.Emit():
            return f"emit of {step.event}"
        case ast.Goto():
            return f"goto {step.target}"
        case ast.Exit():
            return f"exit as {step.outcome}"
        case ast.Escalate():
            return f"escalation until {step.event}"
        case ast.Use():
            return f"use of {step.fragment}"
    return step.kind
