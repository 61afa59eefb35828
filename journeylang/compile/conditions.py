"""Compile stage: conditions as JSON expression trees, and the small interpreter that reads them.

The form (documented in docs/runtime.md) is plain JSON, so a compiled table never holds code:

    null, true, false, 12, 0.5, "text"     a literal (a string is always a literal)
    ["path", "cart", "value"]               an attribute path
    ["list", e1, e2, ...]                   a list
    ["neg", e]                              unary minus
    ["+"|"-"|"*"|"/"|"%", a, b]             arithmetic
    ["=="|"!="|"<"|"<="|">"|">=", a, b]     comparison
    ["in"|"not_in", item, collection]       list membership
    ["has_tag", "vip"]                      the customer has a tag
    ["exists", ["path", ...]]               the path has a non-null value
    ["not", c], ["and", c1, ...], ["or", c1, ...]
    ["history", fn, event, field, c, within] a question about the customer's recent events
                                            (fn: happened, count, sum, ...; field and c may
                                            be null; within in seconds, null: since entry)

A condition holds when its value is exactly ``true``. Null follows docs/language.md: every
comparison involving null is false and arithmetic on null is null. Nothing is ever ``eval``-ed:
``evaluate`` walks the tree, ``compile_tree`` turns it into nested closures once per program.
"""
from __future__ import annotations

import reprlib
from typing import Any, Callable, Protocol

from .. import ast
from ..limits import MAX_DURATION, MAX_NESTING, MAX_NUMBER
from ..semantics import ARITHMETIC, COMPARISONS, arithmetic, compare, member, negate

_ARITY = {"neg": 1, "not": 1, "exists": 1, "in": 2, "not_in": 2,
          **{op: 2 for op in ARITHMETIC + COMPARISONS}}  # and, or: two or more; list: any
OPERATORS = frozenset(("path", "list", "neg", "in", "not_in", "has_tag", "exists", "not", "and",
                       "or", "history") + ARITHMETIC + COMPARISONS)
HISTORY_FUNCTIONS = ast.HISTORY_FUNCTIONS


class Scope(Protocol):
    """What a condition reads: attribute paths and the customer's tags."""

    def resolve(self, parts: tuple[str, ...] | list[str]) -> Any: ...

    def has_tag(self, tag: str) -> bool: ...

    def history(self, function: str, event: str, field, test, within):
        """The answer of a history question; ``test`` tells which past events count (it is
        called with a scope whose ``event`` is the past event's data)."""


class DictScope:
    """A scope over one nested dict (``{"customer": {...}, "cart": {...}}``) and a tag set."""

    def __init__(self, data: dict, tags=()):
        self.data, self.tags = data, set(tags)

    def resolve(self, parts):
        value: Any = self.data
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def has_tag(self, tag):
        return tag in self.tags

    def history(self, function, event, field, test, within):
        return None  # no events known


class ConditionError(ValueError):
    """A tree that is not in the documented form."""


# --- model -> tree ----------------------------------------------------------------------------

def to_tree(expr: ast.Expr | None):
    """The JSON tree of a model condition or expression (None stays None)."""
    match expr:
        case None:
            return None
        case ast.Literal(value=value):
            return value
        case ast.Path(parts=parts):
            return ["path", *parts]
        case ast.ListExpr(items=items):
            return ["list", *map(to_tree, items)]
        case ast.Unary(operand=operand):
            return ["neg", to_tree(operand)]
        case ast.Binary(op=op, left=left, right=right) | ast.Compare(op=op, left=left, right=right):
            return [op, to_tree(left), to_tree(right)]
        case ast.In(item=item, collection=collection, negated=negated):
            return ["not_in" if negated else "in", to_tree(item), to_tree(collection)]
        case ast.HasTag(tag=tag):
            return ["has_tag", tag]
        case ast.Exists(path=path):
            return ["exists", to_tree(path)]
        case ast.Not(operand=operand):
            return ["not", to_tree(operand)]
        case ast.BoolOp(op=op, operands=operands):
            return [op, *map(to_tree, operands)]
        case ast.Duration(seconds=seconds):
            return seconds
        case ast.History():
            return ["history", expr.function, expr.event, expr.field,
                    condition_tree(expr.condition), expr.within]
    raise TypeError(f"not a condition: {expr!r}")


def condition_tree(expr: ast.Expr | None):
    """The tree of a condition. In tables, null means "no condition" (always holds), so the
    literal condition ``null`` (which never holds) is written ``false``."""
    if expr is None:
        return None
    tree = to_tree(expr)
    return False if tree is None else tree


MAX_TREE_DEPTH = MAX_NESTING + 2  # an expression's operators, then exists and a path
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxstring = 3, 4, 40


def validate(tree) -> None:
    """Raise ConditionError unless ``tree`` is in the documented form (without recursion: a
    hand-edited tree may be deeper than the stack; more than MAX_TREE_DEPTH is refused)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if node is None or isinstance(node, (bool, int, float, str)):
            if not isinstance(node, (int, float)) or isinstance(node, bool):
                continue
            if not abs(node) <= MAX_NUMBER:  # NaN and infinities included
                raise ConditionError(f"numbers must be finite and within +-{MAX_NUMBER:,}")
            continue
        if depth > MAX_TREE_DEPTH:
            raise ConditionError(f"a condition nests more than {MAX_TREE_DEPTH} levels")
        if not isinstance(node, list) or not node or not isinstance(node[0], str) \
                or node[0] not in OPERATORS:
            raise ConditionError(f"not a condition tree: {_SHORT.repr(node)}")
        op, args = node[0], node[1:]
        if op == "history":
            stack.append((_history_condition(node), depth + 1))
            continue
        if op in ("path", "has_tag"):
            names = args and all(isinstance(a, str) for a in args)
            if not names or (op == "has_tag" and len(args) != 1):
                raise ConditionError(f"{op} takes names: {_SHORT.repr(node)}")
            continue
        arity = _ARITY.get(op)
        if (arity is not None and len(args) != arity) or (arity is None and op != "list"
                                                          and len(args) < 2):
            raise ConditionError(f"wrong number of operands for {op}: {_SHORT.repr(node)}")
        if op == "exists" and not (isinstance(args[0], list) and args[0][:1] == ["path"]):
            raise ConditionError(f"exists takes a path: {_SHORT.repr(node)}")
        stack.extend((arg, depth + 1) for arg in args)


def _history_condition(tree):
    """The condition of a well-formed history question (``validate`` checks it next)."""
    if len(tree) != 6:
        raise ConditionError(f"history takes function, event, field, condition, within: "
                             f"{_SHORT.repr(tree)}")
    _, function, event, field, condition, within = tree
    if function not in HISTORY_FUNCTIONS or not isinstance(event, str) or not event:
        raise ConditionError(f"not a history question: {_SHORT.repr(tree)}")
    if field is not None and not isinstance(field, str):
        raise ConditionError(f"history field must be a name: {_SHORT.repr(tree)}")
    if within is not None and (type(within) is not int or not 0 <= within <= MAX_DURATION):
        raise ConditionError(f"history window must be whole seconds up to {MAX_DURATION:,}: "
                             f"{_SHORT.repr(tree)}")
    return condition


# --- what a tree reads ------------------------------------------------------------------------

def paths_read(tree, past_events: bool = True) -> list[list[str]]:
    """The attribute paths a tree reads, in order. The filter of a history question reads the
    past events it asks about (``event.x`` is that event's data), not the customer:
    ``past_events=False`` leaves those paths out."""
    if not isinstance(tree, list) or not tree:
        return []
    if tree[0] == "path":
        return [list(tree[1:])]
    if tree[0] == "history":
        return paths_read(tree[4]) if past_events else []
    return [path for arg in tree[1:] for path in paths_read(arg, past_events)]


def history_questions(tree):
    """The history questions of a tree (``["history", fn, event, field, c, within]``), each
    before those in its filter."""
    if not isinstance(tree, list) or not tree:
        return
    if tree[0] == "history":
        yield tree
    for arg in tree[1:]:
        yield from history_questions(arg)


# --- the interpreter --------------------------------------------------------------------------

def evaluate(tree, scope: Scope):
    """The value of ``tree`` in ``scope``; a condition holds when this is ``True``."""
    if not isinstance(tree, list):
        return tree
    op = tree[0]
    if op == "path":
        return scope.resolve(tree[1:])
    if op == "and":
        return all(evaluate(t, scope) is True for t in tree[1:])
    if op == "or":
        return any(evaluate(t, scope) is True for t in tree[1:])
    if op == "not":
        return evaluate(tree[1], scope) is not True
    if op == "has_tag":
        return scope.has_tag(tree[1])
    if op == "exists":
        return evaluate(tree[1], scope) is not None
    if op == "list":
        return [evaluate(t, scope) for t in tree[1:]]
    if op == "neg":
        return negate(evaluate(tree[1], scope))
    if op == "history":
        function, event, field, condition, within = tree[1:]
        return scope.history(function, event, field, lambda past: holds(condition, past), within)
    return binary(op, evaluate(tree[1], scope), evaluate(tree[2], scope))


def binary(op: str, left, right):
    """A comparison, membership test or arithmetic operator applied to two values."""
    if op in COMPARISONS:
        return compare(op, left, right)
    if op in ("in", "not_in"):
        found = member(left, right)
        return False if found is None else found == (op == "in")
    return arithmetic(op, left, right)


def holds(tree, scope: Scope) -> bool:
    """Whether a condition holds; no condition (None) always holds."""
    return tree is None or evaluate(tree, scope) is True


Compiled = Callable[[Scope], Any]


def compile_tree(tree) -> Compiled:
    """The tree as nested closures: the same semantics as ``evaluate``, without re-walking it."""
    if not isinstance(tree, list):
        return lambda scope, value=tree: value
    op, args = tree[0], tree[1:]
    if op == "path":
        parts = tuple(args)
        return lambda scope: scope.resolve(parts)
    if op == "has_tag":
        return lambda scope, tag=args[0]: scope.has_tag(tag)
    if op == "history":
        function, event, field, condition, within = args
        test = compile_condition(condition)
        return lambda scope: scope.history(function, event, field, test, within)
    subs = [compile_tree(a) for a in args]
    if op in _COMBINE:
        return _COMBINE[op](*subs)
    return _against_constant(op, subs[0], args[1]) or _binary(op, *subs)


def _all(*subs):
    if len(subs) == 2:  # most conjunctions: two tests, without a loop
        first, second = subs
        return lambda scope: first(scope) is True and second(scope) is True

    def every(scope):  # a loop, not all() over a generator: conditions run per event
        for sub in subs:
            if sub(scope) is not True:
                return False
        return True
    return every


def _any(*subs):
    if len(subs) == 2:
        first, second = subs
        return lambda scope: first(scope) is True or second(scope) is True

    def some(scope):
        for sub in subs:
            if sub(scope) is True:
                return True
        return False
    return some


_COMBINE = {
    "and": _all,
    "or": _any,
    "not": lambda sub: lambda scope: sub(scope) is not True,
    "exists": lambda sub: lambda scope: sub(scope) is not None,
    "list": lambda *subs: lambda scope: [s(scope) for s in subs],
    "neg": lambda sub: lambda scope: negate(sub(scope)),
}


def _binary(op, left, right):
    if op in COMPARISONS:
        return lambda scope: compare(op, left(scope), right(scope))
    if op in ("in", "not_in"):
        wanted = op == "in"

        def membership(scope):
            found = member(left(scope), right(scope))
            return False if found is None else found == wanted
        return membership
    return lambda scope: arithmetic(op, left(scope), right(scope))


def _against_constant(op, left: Compiled, right) -> Compiled | None:
    """A comparison with a literal (``cart.value >= 50``) or a membership test in a list of
    texts (``customer.country in ["CN", "SG"]``) as one closure, with exactly the results of
    ``compare`` and ``member`` (null is never equal, nor ordered; ``semantics.equal`` holds
    only between values of one kind); None for any other operator or operand."""
    if op in ("in", "not_in"):
        if not (isinstance(right, list) and right[0] == "list" and len(right) > 1
                and all(type(item) is str for item in right[1:])):
            return None
        texts, wanted = frozenset(right[1:]), op == "in"
        return lambda scope: (value := left(scope)) is not None and \
            (type(value) is str and value in texts) == wanted
    kind = type(right)
    if op not in COMPARISONS or kind not in (str, int, float, bool):
        return None
    return _BY_KIND[bool if kind is bool else str if kind is str else float][op](left, right)


# (compiled left operand, literal) -> the comparison, by the literal's kind and the operator
_BY_KIND = {
    bool: {
        "==": lambda left, c: lambda scope: left(scope) is c,
        "!=": lambda left, c: lambda scope: (v := left(scope)) is not None and v is not c,
        **{op: lambda left, c: lambda scope: False for op in ("<", "<=", ">", ">=")},
    },
    str: {
        "==": lambda left, c: lambda scope: type(v := left(scope)) is str and v == c,
        "!=": lambda left, c: lambda scope: (v := left(scope)) is not None and not (
            type(v) is str and v == c),
        "<": lambda left, c: lambda scope: isinstance(v := left(scope), str) and v < c,
        "<=": lambda left, c: lambda scope: isinstance(v := left(scope), str) and v <= c,
        ">": lambda left, c: lambda scope: isinstance(v := left(scope), str) and v > c,
        ">=": lambda left, c: lambda scope: isinstance(v := left(scope), str) and v >= c,
    },
    float: {  # a number: int or float, never a boolean
        "==": lambda left, c: lambda scope: isinstance(v := left(scope), _NUMBER) and
        type(v) is not bool and v == c,
        "!=": lambda left, c: lambda scope: (v := left(scope)) is not None and not (
            isinstance(v, _NUMBER) and type(v) is not bool and v == c),
        "<": lambda left, c: lambda scope: isinstance(v := left(scope), _NUMBER) and
        type(v) is not bool and v < c,
        "<=": lambda left, c: lambda scope: isinstance(v := left(scope), _NUMBER) and
        type(v) is not bool and v <= c,
        ">": lambda left, c: lambda scope: isinstance(v := left(scope), _NUMBER) and
        type(v) is not bool and v > c,
        ">=": lambda left, c: lambda scope: isinstance(v := left(scope), _NUMBER) and
        type(v) is not bool and v >= c,
    },
}
_NUMBER = (int, float)


def compile_condition(tree) -> Callable[[Scope], bool]:
    """A predicate for a condition tree; None (no condition) always holds."""
    if tree is None:
        return lambda scope: True
    value = compile_tree(tree)
    if _boolean(tree):
        return value  # it yields True or False already
    return lambda scope: value(scope) is True


def _boolean(tree) -> bool:
    """Whether the closure ``compile_tree`` makes of a tree yields only True or False: a
    conjunction, disjunction, negation or existence test, or a comparison with a literal."""
    return isinstance(tree, list) and (tree[0] in ("and", "or", "not", "exists") or (
        len(tree) == 3 and _against_constant(tree[0], None, tree[2]) is not None))
