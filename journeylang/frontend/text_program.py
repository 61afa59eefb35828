"""DSL frontend, the constructs of long-running programmes: event handlers, declared attributes
and run-local variables, the default locale, calendar caps, entry-anchored waits, and the
functions of conditions (event history and segments).

A mixin of the tree-to-model builder in text.py, like text_ops.py.
"""
from __future__ import annotations

from dataclasses import replace

from lark import Transformer, v_args

from .. import ast
from ..diagnostics import Diagnostic, Severity
from ..limits import MAX_DURATION
from ..units import parse_time, parse_whole
from .text_ops import did_you_mean

FUNCTIONS = ast.HISTORY_FUNCTIONS + ("segment",)


@v_args(meta=True, inline=True)
class ProgramBuilder(Transformer):
    """``ModelBuilder`` supplies ``span``, ``ref``, ``problem`` and ``_value``."""

    # --- declarations ------------------------------------------------------------------------

    def locale(self, meta, name):
        return "locale", str(name)

    def attribute(self, meta, name, kind, default):
        value = default.value if default is not None else None
        return "attributes", ast.Attribute(str(name), self._type(kind), value,
                                           default is not None, span=self.span(meta))

    def variable(self, meta, name, kind, default):
        return "variables", ast.Variable(str(name), default.value, self._type(kind),
                                         span=self.span(meta))

    def _type(self, token) -> str | None:
        if token is None:
            return None
        if str(token) not in ast.ATTRIBUTE_TYPES:
            self.problem("JL002", f"unknown type '{token}'{did_you_mean(str(token), ast.ATTRIBUTE_TYPES)}",
                         token, hint="types: " + ", ".join(ast.ATTRIBUTE_TYPES))
            return None
        return str(token)

    # --- migrations ----------------------------------------------------------------------------

    def migration(self, meta, version, *items):
        moves, other = [], None
        for move in items:
            if move is None:
                continue
            if move.step != ast.OTHER_STEPS:
                moves.append(move)
            elif other is not None:
                self.diagnostics.append(Diagnostic("JL002", Severity.ERROR,
                                                   "'other' is mapped twice in this migration",
                                                   move.span))
            else:
                other = move.target
        return "migrations", ast.Migration(int(version), tuple(moves), other,
                                           span=self.span(meta))

    def move(self, meta, step, target):
        return ast.Move(step, str(target), span=self.span(meta))

    def old_step(self, meta, *parts):
        return ".".join(str(part) for part in parts)

    # --- handlers -----------------------------------------------------------------------------

    def handler(self, meta, event, where, *items):
        actions, target = [], None
        for item in items:
            if isinstance(item, ast.Step):
                if target is not None:
                    self.problem("JL002", "the jump ('-> step') must come last in a handler",
                                 item.span)
                actions.append(item)
            elif item is not None:
                target = item
        named = tuple(replace(action, name=handler_action_name(i))
                      for i, action in enumerate(actions))
        return "handlers", ast.Handler(self.ref(event), where, named, target,
                                       span=self.span(meta))

    def handler_set(self, meta, path, value):
        return ast.SetAttribute("", attribute=path.dotted, value=value, span=self.span(meta))

    def handler_tag(self, meta, tags):
        return ast.Tag("", tags=tags, span=self.span(meta))

    def handler_untag(self, meta, tags):
        return ast.Untag("", tags=tags, span=self.span(meta))

    def handler_emit(self, meta, event, params):
        return ast.Emit("", event=self.ref(event), params=params or (), span=self.span(meta))

    def jump(self, meta, target):
        return self.ref(target)

    # --- policies and waits -------------------------------------------------------------------

    def calendar(self, meta, unit):
        if str(unit) not in ast.CALENDAR_UNITS:
            self.problem("JL002", f"unknown calendar unit '{unit}'"
                                  f"{did_you_mean(str(unit), tuple(ast.CALENDAR_UNITS))}", unit,
                         hint="write 'per calendar day' or 'per calendar week'")
            return "day"
        return str(unit)

    def wait_day(self, meta, day, time, arrow):
        moment = self._value(parse_time, time, None)
        number = self._value(lambda text: parse_whole(text, "day", 0, MAX_DURATION // 86400),
                             day, 0)
        return ast.WaitDay("", next=arrow, day=number, **({"time": moment} if moment else {}))

    # --- functions in conditions --------------------------------------------------------------

    def call(self, meta, function, query):
        name, event, field, where, within = str(function), *query
        span = self.span(meta)
        if name not in FUNCTIONS:
            self.problem("JL002", f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}",
                         function, hint="functions: " + ", ".join(FUNCTIONS))
            return ast.Literal(None, span=span)
        if name == "segment":
            if field is not None or where is not None or within is not None:
                self.problem("JL002", "segment(...) takes only the segment's name", meta,
                             hint="write e.g. segment(high_value)")
            return ast.SegmentRef(str(event), span=span)
        needs_field = name in ast.FIELD_FUNCTIONS
        if needs_field and field is None:
            self.problem("JL002", f"{name}(...) needs the event's field: write e.g. "
                                  f"{name}({event}.amount)", meta)
        elif field is not None and not needs_field:
            self.problem("JL002", f"{name}(...) counts events and takes no field: write "
                                  f"{name}({event})", meta)
            field = None
        return self._nested(ast.History(name, self.ref(event), field, where, within, span=span),
                            where)

    def query(self, meta, event, field, where, within):
        return event, None if field is None else str(field), where, within


def handler_action_name(index: int) -> str:
    """The name of a handler's ``index``-th action (an auto name: it is no step of the graph)."""
    return f"on.{index + 1}"
