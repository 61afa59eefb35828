"""The condition form: model -> JSON tree -> interpreter, checked against a reference evaluation."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from journeylang import ast
from journeylang.compile.conditions import (ConditionError, DictScope, compile_condition,
                                            compile_tree, condition_tree, evaluate,
                                            history_questions, holds, paths_read, to_tree,
                                            validate)

# --- a reference evaluation, written straight from docs/language.md section 13 ----------------


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a, b):
    if _number(a) and _number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def reference(expr, data, tags):
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.Path):
        value = data
        for part in expr.parts:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if isinstance(expr, ast.ListExpr):
        return [reference(i, data, tags) for i in expr.items]
    if isinstance(expr, ast.Unary):
        v = reference(expr.operand, data, tags)
        return -v if _number(v) else None
    if isinstance(expr, ast.Binary):
        a, b = reference(expr.left, data, tags), reference(expr.right, data, tags)
        if not (_number(a) and _number(b)) or (expr.op in "/%" and b == 0):
            return None
        result = {"+": a + b if _number(a) else 0, "-": a - b, "*": a * b,
                  "/": a / b if b else 0, "%": a % b if b else 0}[expr.op]
        return None if isinstance(result, float) and not math.isfinite(result) else result
    if isinstance(expr, ast.Compare):
        a, b = reference(expr.left, data, tags), reference(expr.right, data, tags)
        if a is None or b is None:
            return False
        if expr.op in ("==", "!="):
            return _same(a, b) == (expr.op == "==")
        if not ((_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))):
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[expr.op]
    if isinstance(expr, ast.In):
        item, collection = reference(expr.item, data, tags), reference(expr.collection, data, tags)
        if item is None or not isinstance(collection, list):
            return False
        return any(_same(item, x) for x in collection) != expr.negated
    if isinstance(expr, ast.HasTag):
        return expr.tag in tags
    if isinstance(expr, ast.Exists):
        return reference(expr.path, data, tags) is not None
    if isinstance(expr, ast.Not):
        return reference(expr.operand, data, tags) is not True
    if isinstance(expr, ast.BoolOp):
        results = [reference(o, data, tags) is True for o in expr.operands]
        return all(results) if expr.op == "and" else any(results)
    raise TypeError(expr)


# --- strategies ---------------------------------------------------------------------------------

NAMES = ["a", "b", "tier"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                    st.floats(-5, 5, allow_nan=False).map(lambda f: round(f, 2)),
                    st.sampled_from(["", "gold", "x"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(
    lambda parts: ast.Path(("customer", *parts)))
atoms = st.one_of(scalars.map(ast.Literal), paths)


def _exprs(inner):
    return st.one_of(
        st.lists(inner, max_size=3).map(lambda items: ast.ListExpr(tuple(items))),
        inner.map(lambda e: ast.Unary("-", e)),
        st.tuples(st.sampled_from("+-*/%"), inner, inner).map(lambda t: ast.Binary(*t)),
        st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), inner, inner).map(
            lambda t: ast.Compare(*t)),
        st.tuples(inner, inner, st.booleans()).map(lambda t: ast.In(*t)),
        st.sampled_from(["vip", "new"]).map(ast.HasTag),
        paths.map(ast.Exists),
        inner.map(ast.Not),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)).map(
            lambda t: ast.BoolOp(t[0], tuple(t[1]))),
    )


expressions = st.recursive(atoms, _exprs, max_leaves=12)
profiles = st.dictionaries(st.sampled_from(NAMES), st.one_of(
    values, st.dictionaries(st.sampled_from(NAMES), values, max_size=3)), max_size=3)


@settings(max_examples=400, deadline=None)
@given(expressions, profiles, st.sets(st.sampled_from(["vip", "new", "old"])))
def test_interpreter_agrees_with_the_reference(expr, profile, tags):
    tree = to_tree(expr)
    validate(tree)
    assert json.loads(json.dumps(tree)) == tree  # plain JSON, nothing else
    scope = DictScope({"customer": profile}, tags)
    expected = reference(expr, {"customer": profile}, tags)
    assert _same_result(evaluate(tree, scope), expected)
    assert _same_result(compile_tree(tree)(scope), expected)
    condition = condition_tree(expr)
    assert compile_condition(condition)(scope) is holds(condition, scope) is (expected is True)


LITERALS = [0, 1, 1.0, 2.5, -1, True, False, "", "gold", "x"]
OPERANDS = [None, *LITERALS, [1], ["gold"], {"a": 1}]


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">=", "in", "not_in"])
def test_a_comparison_with_a_literal_agrees_with_the_interpreter(op):
    """Compiled comparisons with a literal, and membership in a list of texts, take a
    shortcut: the same results, of the same type, as the interpreter's, for every pair."""
    rights = [["list", *texts] for texts in (["gold"], ["", "x"], ["x", 1], [True])] \
        if op in ("in", "not_in") else LITERALS
    for right in rights:
        tree = [op, ["path", "customer", "a"], right]
        compiled = compile_tree(tree)
        for value in OPERANDS:
            scope = DictScope({"customer": {"a": value}})
            assert _same_result(compiled(scope), evaluate(tree, scope)), (tree, value)


def _same_result(a, b):
    return a == b and type(a) is type(b) if not isinstance(a, list) else _same(a, b)


# --- the documented cases -----------------------------------------------------------------------

def test_the_documented_example_tree():
    expr = ast.BoolOp("and", (ast.Compare(">=", ast.Path(("cart", "value")), ast.Literal(50)),
                              ast.Path(("consent", "wecom"))))
    assert to_tree(expr) == ["and", [">=", ["path", "cart", "value"], 50],
                             ["path", "consent", "wecom"]]


@pytest.mark.parametrize("tree, expected", [
    (["!=", ["path", "customer", "status"], "blocked"], False),      # null: every comparison false
    (["not", ["==", ["path", "customer", "status"], "blocked"]], True),
    (["==", ["path", "x"], None], False),
    (["not_in", ["path", "customer", "country"], ["list", "DE"]], False),
    (["+", ["path", "customer", "n"], 1], None),
    (["/", 1, 0], None),
    (["==", 1, 1.0], True),
    (["==", True, 1], False),
    (["<", "a", 1], False),
    (["in", "b", ["list", "a", "b"]], True),
    (["path", "consent", "wecom"], None),
    (["exists", ["path", "customer", "status"]], False),
])
def test_missing_values_and_types(tree, expected):
    scope = DictScope({"customer": {}})
    assert evaluate(tree, scope) == expected and type(evaluate(tree, scope)) is type(expected)


def test_a_bare_path_holds_only_when_true():
    for value, result in ((True, True), (1, False), ("yes", False), (None, False)):
        assert holds(["path", "consent", "wecom"], DictScope({"consent": {"wecom": value}})) is result


@pytest.mark.parametrize("tree", [
    ["eval", "1+1"], ["path"], ["path", 1], ["and", True], ["not"], ["exists", "x"],
    ["has_tag", "a", "b"], [">=", 1], float("inf"), {"op": "and"},
])
def test_validate_refuses_anything_else(tree):
    with pytest.raises(ConditionError):
        validate(tree)


def test_paths_read_takes_a_history_filter_only_when_asked():
    """``count(bought where event.total > customer.floor within 30d) >= 2 and cart.value > 0``:
    the filter's paths read the past purchases, not the customer's entry."""
    question = ["history", "count", "bought", None,
                [">", ["path", "event", "total"], ["path", "customer", "floor"]], 2_592_000]
    tree = ["and", [">=", question, 2], [">", ["path", "cart", "value"], 0]]
    assert paths_read(tree) == [["event", "total"], ["customer", "floor"], ["cart", "value"]]
    assert paths_read(tree, past_events=False) == [["cart", "value"]]
    assert list(history_questions(tree)) == [question]
    assert paths_read(None) == [] and list(history_questions(True)) == []
