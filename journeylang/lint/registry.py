"""The rule registry: each rule is a small function with a code, a summary and docs."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..ast import Journey
from ..diagnostics import Diagnostic, Related, Severity, Span
from ..graph import JourneyGraph, build_graph


@dataclass(frozen=True)
class Issue:
    """What a rule found; the registry adds the rule's code and severity."""

    message: str
    span: Span
    hint: str | None = None
    related: tuple[Related, ...] = ()
    severity: Severity | None = None  # None: the rule's default


@dataclass
class LintContext:
    """What rules look at. Rules read it and never change it."""

    journey: Journey
    graph: JourneyGraph

    @classmethod
    def of(cls, journey: Journey) -> "LintContext":
        return cls(journey, build_graph(journey))


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    check: Callable[[LintContext], Iterable[Issue]] | None = field(default=None, compare=False)

    def run(self, ctx: LintContext) -> list[Diagnostic]:
        if self.check is None:
            return []
        return [Diagnostic(self.code, issue.severity or self.severity, issue.message, issue.span,
                           issue.hint, issue.related) for issue in self.check(ctx)]


REGISTRY: dict[str, Rule] = {}


def register(new: Rule) -> Rule:
    if new.code in REGISTRY:
        raise ValueError(f"rule code {new.code} is registered twice")
    REGISTRY[new.code] = new
    return new


def rule(code: str, name: str, severity: Severity, summary: str):
    """Register the decorated function as rule ``code``; its docstring is the rule's docs."""
    def decorate(check):
        register(Rule(code, name, severity, summary, inspect.cleandoc(check.__doc__ or ""), check))
        return check
    return decorate


def run_rules(journey: Journey, select: Iterable[str] | None = None) -> list[Diagnostic]:
    """Run every registered rule (or the selected codes) over one journey."""
    ctx = LintContext.of(journey)
    chosen = set(select) if select is not None else None
    found: list[Diagnostic] = []
    for code, registered in sorted(REGISTRY.items()):
        if chosen is None or code in chosen:
            found += registered.run(ctx)
    return found
