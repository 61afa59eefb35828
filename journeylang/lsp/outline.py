"""Language server: document symbols, the outline of a journey (stages with their steps and
KPIs, templates, goals, roles) or of a fragment file."""
from __future__ import annotations

from lsprotocol import types

from .. import ast
from ..diagnostics import Span
from ..views.model import summarize
from .analysis import Analysis
from .positions import Lines
from .symbols import FRAGMENT, JOURNEY, ROLE, STAGE, STEP, TEMPLATE

Kind = types.SymbolKind
_STEP_KINDS = {"send": Kind.Event, "wait": Kind.Event, "wait_until": Kind.Event,
               "wait_event": Kind.Event, "wait_schedule": Kind.Event, "branch": Kind.Operator,
               "split": Kind.Operator, "exit": Kind.Key, "goto": Kind.Key, "use": Kind.Module}


def document_symbols(analysis: Analysis, lines: Lines) -> list[types.DocumentSymbol]:
    journey = analysis.model
    if journey is None:
        return []
    outline = _Outline(analysis, lines)
    children = [outline.symbol(t.name, "template", Kind.String, t.span, TEMPLATE)
                for t in journey.templates]
    children += [outline.symbol(g.name, f"goal on {g.event}", Kind.Event, g.span, None)
                 for g in journey.goals]
    children += [outline.symbol(r.name, f"role, capacity {r.capacity}", Kind.Class, r.span, ROLE)
                 for r in journey.roles]
    children += [outline.stage(stage) for stage in journey.stages]
    return [outline.symbol(journey.id, journey.title or "journey", Kind.Module, journey.span,
                           JOURNEY, children)]


class _Outline:
    def __init__(self, analysis: Analysis, lines: Lines):
        self.analysis, self.lines = analysis, lines

    def symbol(self, name: str, detail: str, kind, span: Span, index_kind: str | None,
               children=None) -> types.DocumentSymbol:
        whole = self.lines.range(span)
        selection = whole
        for found in self.analysis.index.definitions(index_kind, name) if index_kind else ():
            candidate = self.lines.range(found.span)
            if _contains(whole, candidate):
                selection = candidate
                break
        return types.DocumentSymbol(name=name, detail=detail, kind=kind, range=whole,
                                    selection_range=selection, children=children or None)

    def stage(self, stage: ast.Stage) -> types.DocumentSymbol:
        steps = [self.symbol(step.name, summarize(step), _STEP_KINDS.get(step.kind, Kind.Function),
                             step.span, STEP) for step in stage.steps if step.span.line]
        kpis = [self.symbol(k.name, f"KPI on {k.event}", Kind.Number, k.span, None)
                for k in stage.kpis]
        return self.symbol(stage.name, stage.title or "stage", Kind.Namespace, stage.span, STAGE,
                           steps + kpis)


def _contains(outer: types.Range, inner: types.Range) -> bool:
    return ((outer.start.line, outer.start.character) <= (inner.start.line, inner.start.character)
            and (inner.end.line, inner.end.character) <= (outer.end.line, outer.end.character))


def fragment_symbols(analysis: Analysis, lines: Lines) -> list[types.DocumentSymbol]:
    """The fragments of a fragment file, by their name tokens."""
    return [types.DocumentSymbol(name=s.name, detail="fragment", kind=Kind.Function,
                                 range=lines.range(s.span), selection_range=lines.range(s.span))
            for s in analysis.index.symbols if s.kind == FRAGMENT and s.defines]
