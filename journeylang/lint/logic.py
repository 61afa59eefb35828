"""A little propositional reasoning over conditions, for rules such as shadowed branch arms."""
from __future__ import annotations

import math

from ..ast import BoolOp, Compare, Expr, In, ListExpr, Literal, Path

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def implies(a: Expr, b: Expr) -> bool:
    """True when every customer for whom ``a`` holds also satisfies ``b`` (sound, not complete)."""
    if a == b or b == Literal(True):
        return True
    if isinstance(a, BoolOp):
        parts = [implies(x, b) for x in a.operands]
        return any(parts) if a.op == "and" else all(parts)
    if isinstance(b, BoolOp):
        parts = [implies(a, y) for y in b.operands]
        return any(parts) if b.op == "or" else all(parts)
    return _range_within(a, b) or _values_within(a, b)


def _comparison(expr: Expr):
    """(path, op, number) for ``path op number`` or ``number op path``; else None."""
    if not isinstance(expr, Compare) or expr.op not in _FLIP:
        return None
    left, op, right = expr.left, expr.op, expr.right
    if isinstance(left, Literal) and isinstance(right, Path):
        left, op, right = right, _FLIP[op], left
    if isinstance(left, Path) and isinstance(right, Literal) and _is_number(right.value):
        return left.parts, op, float(right.value)
    return None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _interval(op: str, value: float):
    """(low, low_closed, high, high_closed) of the numbers satisfying ``x op value``."""
    return {
        ">": (value, False, math.inf, False), ">=": (value, True, math.inf, False),
        "<": (-math.inf, False, value, False), "<=": (-math.inf, False, value, True),
        "==": (value, True, value, True),
    }[op]


def _range_within(a: Expr, b: Expr) -> bool:
    ca, cb = _comparison(a), _comparison(b)
    if not ca or not cb or ca[0] != cb[0]:
        return False
    a_lo, a_lo_closed, a_hi, a_hi_closed = _interval(ca[1], ca[2])
    b_lo, b_lo_closed, b_hi, b_hi_closed = _interval(cb[1], cb[2])
    low_ok = a_lo > b_lo or (a_lo == b_lo and (b_lo_closed or not a_lo_closed))
    high_ok = a_hi < b_hi or (a_hi == b_hi and (b_hi_closed or not a_hi_closed))
    return low_ok and high_ok


def _value_set(expr: Expr):
    """(path, values) for ``path == literal`` or ``path in [literals]``; else None."""
    if isinstance(expr, Compare) and expr.op == "==":
        sides = (expr.left, expr.right)
        for path, value in (sides, sides[::-1]):
            if isinstance(path, Path) and isinstance(value, Literal):
                return path.parts, {value.value}
    if (isinstance(expr, In) and not expr.negated and isinstance(expr.item, Path)
            and isinstance(expr.collection, ListExpr)
            and all(isinstance(i, Literal) for i in expr.collection.items)):
        return expr.item.parts, {i.value for i in expr.collection.items}
    return None


def _values_within(a: Expr, b: Expr) -> bool:
    sa, sb = _value_set(a), _value_set(b)
    return bool(sa and sb and sa[0] == sb[0] and sa[1] <= sb[1])
