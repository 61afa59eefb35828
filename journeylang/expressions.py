"""Conditions and schedules as text: their canonical printed forms (used by tables, views, fmt)."""
from __future__ import annotations

import math
from decimal import Decimal

from . import ast
from .units import format_duration

# binding strength: higher binds tighter
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
               "unary": 7, "atom": 8}


def unparse(expr: ast.Expr) -> str:
    """Print a condition so that parsing the text gives the same model back."""
    return _unparse(expr)[0]


def literal_text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float) and math.isfinite(value) and "e" in repr(value):
        text = format(Decimal(repr(value)), "f")  # the grammar has no exponent notation
        return text if "." in text else text + ".0"
    return repr(value)


_QUOTE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str) -> str:
    """A double-quoted DSL string literal for ``text``."""
    return '"' + "".join(_QUOTE.get(c, c) for c in text) + '"'


def _wrap(expr, minimum: int) -> str:
    text, strength = _unparse(expr)
    return f"({text})" if strength < minimum else text


def _unparse(expr) -> tuple[str, int]:
    match expr:
        case ast.Literal(value=value):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                return literal_text(value), _PRECEDENCE["unary"]
            return literal_text(value), _PRECEDENCE["atom"]
        case ast.Path():
            return expr.dotted, _PRECEDENCE["atom"]
        case ast.ListExpr(items=items):
            return "[" + ", ".join(_wrap(i, 1) for i in items) + "]", _PRECEDENCE["atom"]
        case ast.Unary(operand=operand):
            return "-" + _wrap(operand, _PRECEDENCE["unary"]), _PRECEDENCE["unary"]
        case ast.Binary(op=op, left=left, right=right):
            strength = _PRECEDENCE[op]
            return f"{_wrap(left, strength)} {op} {_wrap(right, strength + 1)}", strength
        case ast.Compare(op=op, left=left, right=right):
            strength = _PRECEDENCE["compare"]
            return f"{_wrap(left, strength + 1)} {op} {_wrap(right, strength + 1)}", strength
        case ast.In(item=item, collection=collection, negated=negated):
            strength = _PRECEDENCE["compare"]
            word = "not in" if negated else "in"
            return f"{_wrap(item, strength + 1)} {word} {_wrap(collection, strength + 1)}", strength
        case ast.HasTag(tag=tag):
            return f"has tag {literal_text(tag)}", _PRECEDENCE["compare"]
        case ast.Exists(path=path):
            return f"{path.dotted} exists", _PRECEDENCE["compare"]
        case ast.Not(operand=operand):
            return "not " + _wrap(operand, _PRECEDENCE["not"]), _PRECEDENCE["not"]
        case ast.BoolOp(op=op, operands=operands):
            strength = _PRECEDENCE[op]
            return f" {op} ".join(_wrap(o, strength + 1) for o in operands), strength
        case ast.Duration(seconds=seconds):
            return format_duration(seconds), _PRECEDENCE["atom"]
        case ast.SegmentRef(name=name):
            return f"segment({name})", _PRECEDENCE["atom"]
        case ast.History():
            return f"{expr.function}({query_text(expr)})", _PRECEDENCE["atom"]
    raise TypeError(f"not a condition: {expr!r}")


def query_text(query: ast.History) -> str:
    """The argument of a history function: ``order_paid.total where ... within 30d``."""
    event = f"${query.event.name}" if isinstance(query.event, ast.ParamRef) else query.event
    text = event + (f".{query.field}" if query.field else "")
    if query.condition is not None:
        text += f" where {unparse(query.condition)}"
    if query.within is not None:
        within = query.within
        text += f" within {f'${within.name}' if isinstance(within, ast.ParamRef) else format_duration(within)}"
    return text


def walk(expr: ast.Expr):
    """The expression and every sub-expression below it, depth first."""
    yield expr
    match expr:
        case ast.ListExpr(items=children) | ast.BoolOp(operands=children):
            for child in children:
                yield from walk(child)
        case ast.Unary(operand=child) | ast.Not(operand=child):
            yield from walk(child)
        case ast.Binary(left=left, right=right) | ast.Compare(left=left, right=right):
            yield from walk(left)
            yield from walk(right)
        case ast.In(item=item, collection=collection):
            yield from walk(item)
            yield from walk(collection)
        case ast.Exists(path=path):
            yield path
        case ast.History(condition=condition) if condition is not None:
            yield from walk(condition)


def paths_in(expr: ast.Expr | None) -> list[ast.Path]:
    """Every attribute path a condition reads."""
    return [] if expr is None else [node for node in walk(expr) if isinstance(node, ast.Path)]


def schedule_text(schedule: ast.Schedule) -> str:
    """``wednesday at 20:00``, ``month on day 1 at 10:00``: the DSL's schedule phrase."""
    at = f"at {schedule.time.hour:02d}:{schedule.time.minute:02d}"
    if schedule.every == "week":
        return ", ".join(ast.WEEKDAYS[day] for day in schedule.weekdays) + f" {at}"
    if schedule.every == "year":
        return f"year on {ast.MONTHS[(schedule.month or 1) - 1]} {schedule.day} {at}"
    if schedule.every in ("month", "quarter"):
        return f"{schedule.every} on day {schedule.day} {at}"
    return f"{schedule.every} {at}"
