"""Run-local counters along paths: which variables a path search can follow, their values
after a step, and the branch arms those values rule out."""
from __future__ import annotations

from dataclasses import fields, is_dataclass

from .. import ast
from ..semantics import arithmetic, compare, member, negate


class _Unknown:
    """A value the search does not know (a sentinel, compared by identity)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


class Counters:
    """The run-local variables of a journey whose values a path search follows: those only
    the run's own steps set (a handler may set a variable at any step the run waits at, so
    its variables are never followed). Whole numbers beyond every number the journey writes
    are forgotten, so that a search through a loop that counts for ever stays finite."""

    def __init__(self, journey: ast.Journey):
        set_by_handlers = {action.attribute for handler in journey.handlers
                           for action in handler.actions if isinstance(action, ast.SetAttribute)}
        self.names = tuple(v.name for v in journey.variables if v.name not in set_by_handlers)
        self.bound = 2 * max((abs(n) for n in _numbers(journey)), default=0) + 2 \
            if self.names else 0

    def start(self, journey: ast.Journey) -> tuple:
        """The values at the start of a run: the declared defaults."""
        defaults = {v.name: v.default for v in reversed(journey.variables)}
        return tuple(self._kept(defaults[name]) for name in self.names)

    def anywhere(self) -> tuple:
        """The values at a step a handler jumps to: any."""
        return (UNKNOWN,) * len(self.names)

    def after(self, step: ast.Step, values: tuple) -> tuple:
        """The values once ``step`` has run."""
        if not isinstance(step, ast.SetAttribute) or step.attribute not in self.names:
            return values
        index = self.names.index(step.attribute)
        new = self._kept(value_of(step.value, dict(zip(self.names, values))))
        return values[:index] + (new,) + values[index + 1:]

    def ruled_out(self, step: ast.Step, values: tuple) -> set[int]:
        """The ids of the conditions of ``step``'s branch arms that cannot be taken with
        these values (``id(None)`` stands for the else arm)."""
        if not isinstance(step, ast.Branch) or not self.names:
            return set()
        known = dict(zip(self.names, values))
        out, decided = set(), False
        for arm in step.arms:
            verdict = UNKNOWN if decided else truth(arm.condition, known)
            if decided or verdict is False:
                out.add(id(arm.condition))
            decided = decided or verdict is True
        return out | ({id(None)} if decided else set())

    def _kept(self, value):
        if value is UNKNOWN or isinstance(value, (bool, str)) or value is None:
            return value
        whole = isinstance(value, (int, float)) and float(value).is_integer()
        if whole and abs(value) <= self.bound:
            return int(value)
        return UNKNOWN


def _numbers(node):
    """Every number written in a journey (literals and variable defaults)."""
    if isinstance(node, tuple):
        for item in node:
            yield from _numbers(item)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield node
    elif is_dataclass(node) and isinstance(node, ast.Node):
        for f in fields(node):
            if f.name in ("value", "default", "operands", "left", "right", "operand", "items",
                          "condition", "arms", "stages", "steps", "variables", "actions",
                          "handlers", "item", "collection"):
                yield from _numbers(getattr(node, f.name))


def truth(expr: ast.Expr, known: dict):
    """Whether a condition holds with the ``known`` variable values: True, False or UNKNOWN
    (it reads something else)."""
    value = value_of(expr, known)
    return value if value is UNKNOWN else value is True


def value_of(expr, known: dict):
    """The value of an expression with the runtime's semantics, or UNKNOWN."""
    match expr:
        case ast.Literal(value=value):
            return value
        case ast.Duration(seconds=seconds):
            return seconds
        case ast.Path(parts=(name,)) if name in known:
            return known[name]
        case ast.Unary(operand=operand):
            return _lifted(negate, value_of(operand, known))
        case ast.Binary(op=op, left=left, right=right):
            return _lifted(lambda a, b: arithmetic(op, a, b), value_of(left, known),
                           value_of(right, known))
        case ast.Compare(op=op, left=left, right=right):
            return _lifted(lambda a, b: compare(op, a, b), value_of(left, known),
                           value_of(right, known))
        case ast.In(item=item, collection=collection, negated=negated):
            return _lifted(lambda a, b: member(a, b) is (not negated), value_of(item, known),
                           value_of(collection, known))
        case ast.ListExpr(items=items):
            return _lifted(lambda *values: list(values), *(value_of(i, known) for i in items))
        case ast.Not(operand=operand):
            value = value_of(operand, known)
            return value if value is UNKNOWN else value is not True
        case ast.BoolOp(op=op, operands=operands):
            return _either(op, [truth(o, known) for o in operands])
    return UNKNOWN


def _lifted(function, *values):
    return UNKNOWN if any(v is UNKNOWN for v in values) else function(*values)


def _either(op: str, verdicts: list):
    """``and`` / ``or`` over True, False and UNKNOWN."""
    deciding = op == "or"  # the verdict that decides at once
    if deciding in verdicts:
        return deciding
    return UNKNOWN if UNKNOWN in verdicts else not deciding
