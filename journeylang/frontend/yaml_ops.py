"""YAML frontend, embedded DSL snippets and the operations constructs (schedules, ladders).

Conditions and schedules are strings parsed with the DSL grammar, their positions mapped
into the YAML file; the key tables that use these readers are in yaml.py.
"""
from __future__ import annotations

from dataclasses import replace

from yaml.nodes import SequenceNode

from .. import ast
from ..units import parse_percent
from . import yaml_shapes as shapes
from .text import parse_condition, parse_schedule
from .yaml_program import ProgramReader
from .yaml_reader import STRUCTURE, Skip, is_numeric, parameter_or
from .yaml_shapes import accepts

# the step kinds a rung of an escalation ladder may run
RUNG_ACTIONS = ("send", "handoff", "tag", "untag", "set", "coupon", "webhook", "emit")


class OperationsReader(ProgramReader):
    """Readers for DSL snippets, flags, KPI percentages and ladder rungs."""

    def embedded(self, node, what: str, expected: str, parse):
        """Parse a DSL snippet with ``parse``, placed where its text sits in the file."""
        text = self.scalar(node, what, expected)
        start, end = node.start_mark, node.end_mark
        line, column = start.line + 1, start.column + 1 + (node.style in ('"', "'"))
        newline = self.source.text.find("\n", start.index, end.index)
        if node.style in ("|", ">") and newline >= 0:
            # parse the block's raw lines: same tokens (newlines are blanks to the grammar),
            # and every line keeps its columns
            text, line, column = self.source.text[newline + 1:end.index], line + 1, 1
        value, problems = parse(text, self.source.name, line, column)
        self.diagnostics.extend(problems)
        if value is None:
            raise Skip
        return value

    @accepts(shapes.CONDITION)
    def condition(self, node, what: str) -> ast.Expr:
        return self.embedded(node, what, "a condition", parse_condition)

    @accepts(shapes.SCHEDULE)
    def schedule(self, node, what: str) -> ast.Schedule:
        """``"wednesday at 20:00"``, ``"month on day 1 at 10:00"`` ..."""
        expected = 'a schedule such as "wednesday at 20:00"'
        if is_numeric(node):  # the grammar would only say that it wanted a name
            self.wrong(node, what, expected)
        return self.embedded(node, what, expected, parse_schedule)

    @accepts(shapes.FLAG)
    def flag(self, node, what: str) -> bool:
        value = self.value(node, what)
        if not isinstance(value, bool):
            self.wrong(node, what, "true or false")
        return value

    @accepts(shapes.KPI_PERCENT)
    def kpi_percent(self, node, what: str) -> float:
        """A KPI's baseline or target: ``28%`` or ``28`` (the range is a lint check)."""
        number = self.value(node, what) if node.tag.endswith((":int", ":float")) else None
        return self.unit(lambda text: parse_percent(text if number is None else number,
                                                    bounded=False),
                         "a percentage such as 28%", node, what)

    def rungs(self, node, what: str, actions: dict) -> tuple[ast.Rung, ...]:
        """All the rungs, or none (Skip): a ladder missing one would be checked as another."""
        if not isinstance(node, SequenceNode):
            self.wrong(node, what, "a list")
        rungs = self.items(node, what, lambda reader, child, name: reader.rung(child, name,
                                                                             actions))
        if len(rungs) < len(node.value):
            raise Skip
        return rungs

    def rung(self, node, what: str, actions: dict) -> ast.Rung:
        """``{at: 30m, handoff: {...}}``: an offset and exactly one action."""
        found = self.fields(node, what, "rung", ("at", *actions), ("at",))
        kinds = [key for key in found.values if key in actions]
        if len(kinds) != 1:
            if not found.unknown:
                self.report(STRUCTURE, f"{what} needs exactly one action", node,
                            hint="one of: " + ", ".join(actions))
            raise Skip
        if found.missing:
            raise Skip
        after = _OFFSET(self, found.values["at"], f"'at' in {what}")
        action = actions[kinds[0]](self, found.values[kinds[0]], f"'{kinds[0]}' in {what}")
        return ast.Rung(after, replace(action, span=self.span(node)), span=self.span(node))


# a rung's offset: a duration, or a fragment's `$name`
_OFFSET = parameter_or(lambda reader, node, what: reader.duration(node, what))
