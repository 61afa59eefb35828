"""YAML frontend, the constructs of long-running programmes: declared attributes and run-local
variables, event handlers, calendar caps, sends with fallback channels (the key tables that use
these readers are in yaml.py)."""
from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import replace
from functools import cache

from yaml.nodes import MappingNode, SequenceNode

from .. import ast
from . import yaml_shapes as shapes
from .text_ops import did_you_mean
from .text_program import handler_action_name
from .yaml_reader import BAD_VALUE, STRUCTURE, NodeReader, Skip
from .yaml_shapes import accepts, shape_only

HANDLER_ACTIONS = ("set", "tag", "untag", "emit")


class ProgramReader(NodeReader):
    """Readers for attributes, variables, handler actions and cap periods."""

    @accepts(lambda: shapes.MapOf("attributes", shapes.NAME, shapes.AnyOf((shapes.TYPE, shape_only(
        shapes.Record("attribute", {"type": ("type", ProgramReader.type_name, False),
                                    "default": ("default", NodeReader.value, False)}))))))
    def attributes(self, node, what: str) -> tuple[ast.Attribute, ...]:
        """``{points: {type: number, default: 0}, tier: string}``."""
        found, built = self.fields(node, what, "attributes", None), []
        for key, value in found.values.items():
            with suppress(Skip):
                name = self.name(found.keys[key], f"the name of attribute '{key}'")
                where = f"attribute '{key}'"
                if isinstance(value, MappingNode):
                    spec = self.fields(value, where, where, ("type", "default"))
                    kind = self.optional(ProgramReader.type_name, spec.values.get("type"),
                                         f"'type' in {where}")
                    has_default = "default" in spec.values
                    default = self.value(spec.values["default"], f"'default' in {where}") \
                        if has_default else None
                else:
                    kind, has_default, default = self.type_name(value, where), False, None
                built.append(ast.Attribute(name, kind, default, has_default,
                                           span=self.span(found.keys[key], value)))
        return tuple(built)

    @accepts(lambda: shapes.MapOf("vars", shapes.NAME, shapes.AnyOf((shapes.LITERAL, shape_only(
        shapes.Record("var", {"default": ("default", NodeReader.value, True),
                              "type": ("type", ProgramReader.type_name, False)}))))))
    def variables(self, node, what: str) -> tuple[ast.Variable, ...]:
        """``{streak: 0}`` or ``{streak: {default: 0, type: number}}``."""
        found, built = self.fields(node, what, "vars", None), []
        for key, value in found.values.items():
            with suppress(Skip):
                name = self.name(found.keys[key], f"the name of var '{key}'")
                where = f"var '{key}'"
                kind = None
                if isinstance(value, MappingNode):
                    spec = self.fields(value, where, where, ("default", "type"), ("default",))
                    if spec.missing:
                        raise Skip
                    kind = self.optional(ProgramReader.type_name, spec.values.get("type"),
                                         f"'type' in {where}")
                    value = spec.values["default"]
                built.append(ast.Variable(name, self.value(value, f"the default of {where}"),
                                          kind, span=self.span(found.keys[key], value)))
        return tuple(built)

    @accepts(shapes.TYPE)
    def type_name(self, node, what: str) -> str:
        word = self.scalar(node, what, "a type")
        if word not in ast.ATTRIBUTE_TYPES:
            self.report(BAD_VALUE, f"unknown type '{word}'{did_you_mean(word, ast.ATTRIBUTE_TYPES)}",
                        node, hint="types: " + ", ".join(ast.ATTRIBUTE_TYPES))
            raise Skip
        return word

    def handler_actions(self, node, what: str, kinds: dict) -> tuple[ast.Step, ...]:
        """``[{set: {...}}, {tag: vip}, {emit: level_up}]``: instant actions only."""
        if not isinstance(node, SequenceNode):
            self.wrong(node, what, "a list of actions")
        built = []
        for index, child in enumerate(node.value):
            entry = f"action {index + 1} of {what}"
            with suppress(Skip):
                found = self.fields(child, entry, entry, HANDLER_ACTIONS)
                present = [key for key in found.values]
                if len(present) != 1:
                    if not found.unknown:
                        self.report(STRUCTURE, f"{entry} needs exactly one of "
                                               + ", ".join(HANDLER_ACTIONS), child)
                    raise Skip
                kind = present[0]
                action = kinds[kind](self, found.values[kind], f"'{kind}' in {entry}")
                built.append(replace(action, span=self.span(child)))
        return tuple(built)

    @accepts(lambda: shapes.MapOf("steps", shapes.OLD_STEP, shapes.NAME))
    def moves(self, node, what: str) -> tuple[ast.Move, ...]:
        """``{old_step: new_step, other_old_step: stop}``, in written order."""
        found, built = self.fields(node, what, "steps", None), []
        for key, value in found.values.items():
            with suppress(Skip):
                where = f"the move of '{key}' in {what}"
                if not _old_step().match(key):
                    self.wrong(found.keys[key], f"the old step '{key}' in {what}",
                               "a step name such as remind or remind.2")
                if key == ast.OTHER_STEPS:
                    self.report(STRUCTURE, f"'other' is not a step: write it beside 'steps' "
                                           f"(other: drain) in {what}", found.keys[key])
                    raise Skip
                built.append(ast.Move(key, self.name(value, where),
                                      span=self.span(found.keys[key], value)))
        return tuple(built)

    @accepts(shapes.CAP_PERIOD)
    def cap_period(self, node, what: str):
        """``1d`` (seconds) or ``calendar day`` / ``calendar week`` (the unit's name)."""
        text = self.scalar(node, what, "a duration or 'calendar day'")
        words = text.split()
        if words[:1] == ["calendar"]:
            unit = words[1] if len(words) == 2 else ""
            if unit not in ast.CALENDAR_UNITS:
                self.report(BAD_VALUE, f"unknown calendar unit {unit!r}"
                                       f"{did_you_mean(unit, tuple(ast.CALENDAR_UNITS))}", node,
                            hint="write 'calendar day' or 'calendar week'")
                raise Skip
            return unit
        return self.period(node, what)


@cache
def _old_step() -> re.Pattern:
    """The expression of an older version's step (compiled for a migration block only: its
    CJK ranges take a few milliseconds to compile)."""
    return re.compile(shapes.OLD_STEP.json["pattern"])


def make_cap(messages, per, channels=(), span=ast.NO_SPAN) -> ast.Cap:
    if isinstance(per, str):
        return ast.Cap(messages, ast.CALENDAR_UNITS[per], channels, calendar=per, span=span)
    return ast.Cap(messages, per, channels, span=span)


def make_send(channel=(), span=ast.NO_SPAN, **rest) -> ast.Send:
    """``via: wecom`` or ``via: [sms, wecom]`` (the first, then the fallbacks)."""
    return ast.Send(channel=channel[0], fallback=tuple(channel[1:]), span=span, **rest)


def make_handler(event, actions=(), span=ast.NO_SPAN, **rest) -> ast.Handler:
    named = tuple(replace(action, name=handler_action_name(i)) for i, action in enumerate(actions))
    return ast.Handler(event, actions=named, span=span, **rest)
