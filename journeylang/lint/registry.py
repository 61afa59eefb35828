"""The rule registry: each rule is a small function with a code, a summary and docs."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable

from ..ast import Emit, Journey, Variable
from ..config import LintConfig
from ..diagnostics import Diagnostic, Related, Severity, Span
from ..graph import JourneyGraph, build_graph
from ..records import record
from ..semantics import DELIVERY_EVENTS
from ..templates import TemplateSet
from .declared import Declared, declared_attributes, declared_variables
from .flow import When, elapsed, timings
from .places import Place, places


@record
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
    config: LintConfig = field(default_factory=LintConfig)
    file: str | None = None  # the journey's file, to find templates/ beside it
    text: str | None = None  # the journey file's text as parsed (it may differ from the disk)
    older: tuple = ()  # earlier versions' shapes (migration.VersionShape), to check migrations

    @classmethod
    def of(cls, journey: Journey, config: LintConfig | None = None,
           file: str | None = None, text: str | None = None, older=()) -> "LintContext":
        return cls(journey, build_graph(journey), config or LintConfig(), file, text,
                   tuple(older))

    def file_text(self, path: str) -> str | None:
        """The text of the journey file, or of another file (a fragment) read from disk."""
        if path == self.file and self.text is not None:
            return self.text
        try:
            return Path(path).read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None

    @cached_property
    def templates(self) -> TemplateSet:
        return TemplateSet.for_journey(self.journey, self.file)

    @cached_property
    def attributes(self) -> dict[str, Declared]:
        """Declared customer attributes by path (``customer.points``), journey and schema."""
        return declared_attributes(self.journey, self.config)

    @cached_property
    def variables(self) -> dict[str, Variable]:
        """The journey's run-local variables by name."""
        return declared_variables(self.journey)

    @cached_property
    def places(self) -> tuple[Place, ...]:
        """Every condition and set value, with when it is evaluated."""
        return tuple(places(self.journey, self.graph))

    @cached_property
    def timings(self) -> tuple[dict[str, set[When]], bool]:
        """What path searches know of the time at each step (``flow.timings``)."""
        return timings(self.graph, self.journey.policy.quiet)

    @cached_property
    def elapsed(self) -> dict[str, tuple[float, float]]:
        """Bounds of the time since entry at each step (``flow.elapsed``)."""
        return elapsed(self.graph, self.journey.policy.quiet)

    @cached_property
    def known_events(self) -> set[str] | None:
        """Events the schema declares, steps emit, opt-outs name, or the delivery worker
        reports; None without a schema."""
        if self.config.events is None:
            return None
        emitted = {step.event for _, step in self.journey.steps() if isinstance(step, Emit)}
        return set(self.config.events) | emitted | set(self.config.opt_out_events) \
            | set(DELIVERY_EVENTS)


@record
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
        configured = ctx.config.severity.get(self.code)
        return [Diagnostic(self.code, configured or issue.severity or self.severity, issue.message,
                           issue.span, issue.hint, issue.related) for issue in self.check(ctx)]


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


def run_rules(journey: Journey, config: LintConfig | None = None,
              file: str | None = None, text: str | None = None, older=()) -> list[Diagnostic]:
    """Run every rule the configuration enables over one journey (``text``: the file's;
    ``older``: the shapes of earlier versions, for the migration rules)."""
    ctx = LintContext.of(journey, config, file, text, older)
    found: list[Diagnostic] = []
    for code, registered in sorted(REGISTRY.items()):
        if ctx.config.enabled(code):
            found += registered.run(ctx)
    return found
