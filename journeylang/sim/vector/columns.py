"""Vectorised simulation: cohort samplers drawn for many customers, and conditions over columns.

A column is a numpy array with one value per customer: float64 for numbers (NaN is null), bool
for booleans without nulls, object for anything else. The evaluator follows the condition form
of docs/runtime.md; numbers and booleans take numpy fast paths, everything else goes element by
element through the reference functions of ``compile.conditions`` (never a copy of them).
"""
from __future__ import annotations

import math

import numpy as np

from ...compile.conditions import COMPARISONS, arithmetic, binary, compare, member, negate
from ..cohort import Bernoulli, Categorical, Const, Draw, Items, Poisson, Record, Truncated


class Unsupported(ValueError):
    """Something the vectorised engine does not model; the message says what."""


# --- samplers ----------------------------------------------------------------------------------

def sample(sampler, gen: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of a scalar sampler as a column."""
    if isinstance(sampler, Const):
        return typed(np.array([sampler.value] * n, dtype=object)) if n else np.zeros(0)
    if isinstance(sampler, Categorical):
        cumulative = np.array(sampler.cumulative)
        codes = np.searchsorted(cumulative, gen.random(n) * sampler.total, side="right")
        keys = np.empty(len(sampler.keys), dtype=object)
        keys[:] = list(sampler.keys)
        return typed(keys[np.minimum(codes, len(keys) - 1)])
    if isinstance(sampler, Draw):
        return _draw(sampler, gen, n)
    if isinstance(sampler, Truncated):
        return _truncated(sampler, gen, n)
    if isinstance(sampler, Items):
        parts = [as_objects(sample(item, gen, n)) for item in sampler.items]
        found = np.empty(n, dtype=object)
        found[:] = [list(row) for row in zip(*parts)] if parts else [[] for _ in range(n)]
        return found
    if isinstance(sampler, Poisson):
        if sampler.mean > 50:   # as the reference: a rounded normal beyond 50
            return np.maximum(0, np.round(gen.normal(sampler.mean, math.sqrt(sampler.mean), n)))
        return gen.poisson(sampler.mean, n).astype(float)
    if isinstance(sampler, Bernoulli):
        return gen.random(n) < sampler.p
    if isinstance(sampler, Record):
        leaves = {path: sample(leaf, gen, n) for path, leaf in flatten(sampler).items()}
        found = np.empty(n, dtype=object)
        found[:] = [_nest({path: _plain(v[i]) for path, v in leaves.items()}) for i in range(n)]
        return found
    raise Unsupported(f"a value the vectorised engine cannot draw: {sampler!r}")


def _draw(sampler: Draw, gen: np.random.Generator, n: int) -> np.ndarray:
    a, b = sampler.a, sampler.b
    if sampler.kind == "normal":
        values = gen.normal(a, b, n)
    elif sampler.kind == "lognormal":
        values = gen.lognormal(a, b, n)
    elif sampler.kind == "uniform":
        values = gen.uniform(a, b, n)
    else:
        values = gen.exponential(a, n) if a > 0 else np.zeros(n)
    return values if sampler.digits is None else np.round(values, sampler.digits)


def _truncated(sampler: Truncated, gen: np.random.Generator, n: int) -> np.ndarray:
    values = sample(sampler.delay, gen, n)
    for _ in range(sampler.tries - 1):
        over = np.flatnonzero(values > sampler.within)
        if not len(over):
            return values
        values[over] = sample(sampler.delay, gen, len(over))
    over = values > sampler.within
    values[over] = gen.uniform(0.0, sampler.within, int(over.sum()))
    return values


def flatten(sampler, prefix: tuple = ()) -> dict[tuple, object]:
    """The scalar samplers of a (nested) value by path; a non-mapping value at the top is {}."""
    if isinstance(sampler, Record):
        found = {}
        for key, part in sampler.parts.items():
            found.update(flatten(part, prefix + (str(key),)) if isinstance(part, Record)
                         else {prefix + (str(key),): part})
        return found
    return {}


def constant(sampler):
    """(True, value) when a sampler always gives the same value, else (False, None)."""
    if isinstance(sampler, Const):
        return True, sampler.value
    if isinstance(sampler, Record):
        found = {}
        for key, part in sampler.parts.items():
            fixed, value = constant(part)
            if not fixed:
                return False, None
            found[key] = value
        return True, found
    if isinstance(sampler, Items):
        parts = [constant(item) for item in sampler.items]
        return (True, [v for _, v in parts]) if all(f for f, _ in parts) else (False, None)
    return False, None


def keys_of(sampler) -> set[str]:
    """Top-level keys of an event's data (a non-mapping value gives none)."""
    return set(map(str, sampler.parts)) if isinstance(sampler, Record) else set()


# --- columns -----------------------------------------------------------------------------------

def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def typed(values: np.ndarray) -> np.ndarray:
    """An object column as float (numbers and nulls), bool (booleans only) or object."""
    if values.dtype != object:
        return values
    items = values.tolist()
    if all(type(v) is bool for v in items):
        return values.astype(bool)
    if all(v is None or _is_number(v) for v in items):
        return np.array([np.nan if v is None else v for v in items], dtype=float)
    return values


def repeated(value, n: int) -> np.ndarray:
    """``typed`` of a column holding ``value`` n times, built without looking at each."""
    if type(value) is bool:
        return np.full(n, value, dtype=bool)
    if value is None or _is_number(value):
        return np.full(n, np.nan if value is None else value, dtype=float)
    found = np.empty(n, dtype=object)
    found[:] = [value] * n
    return found


def distinct_rows(rows: np.ndarray, n: int) -> np.ndarray:
    """The distinct customer rows (of ``n``) among ``rows``, in increasing order (what
    ``np.unique`` gives), by marking them: no sort."""
    marked = np.zeros(n, dtype=bool)
    marked[rows] = True
    return np.flatnonzero(marked)


def distinct_codes(codes: np.ndarray) -> list[int]:
    """The distinct values of small non-negative integers (event types, sources, steps), in
    increasing order (``np.unique(codes).tolist()``), by counting them: no sort."""
    return np.flatnonzero(np.bincount(codes)).tolist()


def any_column(matrix: np.ndarray) -> np.ndarray:
    """``matrix.any(axis=1)`` for a matrix of a few columns (a customer's runs), one column at
    a time: numpy reduces a narrow matrix row by row, tens of times slower."""
    if matrix.shape[1] == 0:
        return np.zeros(len(matrix), dtype=bool)
    found = matrix[:, 0].astype(bool)   # a copy: the columns are OR-ed into it
    for column in range(1, matrix.shape[1]):
        found |= matrix[:, column]
    return found


def among_codes(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``np.isin(values, codes)`` for a few integer codes (a journey's converting edges), by
    comparing with each: ``np.isin`` costs several times more on short columns."""
    found = np.zeros(len(values), dtype=bool)
    for code in codes.tolist():
        found |= values == code
    return found


def dig(value, path: tuple):
    """The value at ``path`` inside nested mappings (None where it leads nowhere)."""
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def as_objects(values) -> np.ndarray:
    """A column as Python values (NaN -> None), for the element-wise reference functions."""
    if values.dtype == object:
        return values
    found = np.empty(len(values), dtype=object)
    if values.dtype == bool:
        found[:] = values.tolist()
    else:
        found[:] = [None if math.isnan(v) else v for v in values.tolist()]
    return found


def missing(n: int) -> np.ndarray:
    return np.full(n, np.nan)


# --- conditions --------------------------------------------------------------------------------

def holds(tree, scope) -> np.ndarray:
    """Whether a condition holds for each customer of the scope (None: always)."""
    n = len(scope.rows)
    if tree is None:
        return np.ones(n, dtype=bool)
    return _true(evaluate(tree, scope), n)


def holds_where(tree, scope, mask: np.ndarray) -> np.ndarray:
    """``mask`` (of the scope's customers) narrowed to those for whom a condition holds. With
    none, ``mask`` itself: the scope is narrowed (a selection of each of its columns) only
    when a condition reads it."""
    if tree is None:
        return mask
    found = mask.copy()
    # while every customer is in, the scope itself (a subset would copy its columns)
    found[mask] = holds(tree, scope if found.all() else scope.subset(mask))
    return found


def _true(value, n: int) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        return np.full(n, value is True)
    if value.dtype == bool:
        return value
    if value.dtype != object:
        return np.zeros(n, dtype=bool)
    return np.array([v is True for v in value.tolist()], dtype=bool)


def _each(function, *values, n: int) -> np.ndarray:
    columns = [as_objects(v) if isinstance(v, np.ndarray) else _repeat(v, n) for v in values]
    found = np.empty(n, dtype=object)
    found[:] = [function(*items) for items in zip(*columns)]
    return typed(found)


def _repeat(value, n: int) -> np.ndarray:
    found = np.empty(n, dtype=object)
    found[:] = [value] * n
    return found


def _numeric(value) -> bool:
    return (isinstance(value, np.ndarray) and value.dtype == float) or _is_number(value)


def _boolean(value) -> bool:
    return (isinstance(value, np.ndarray) and value.dtype == bool) or type(value) is bool


def evaluate(tree, scope):
    """The value of a tree for each customer: an array, or a Python value shared by all."""
    n = len(scope.rows)
    if not isinstance(tree, list):
        return tree
    op, args = tree[0], tree[1:]
    if op == "path":
        return scope.resolve(args)
    if op == "has_tag":
        return scope.has_tag(args[0])
    if op in ("and", "or"):
        parts = [_true(evaluate(a, scope), n) for a in args]
        return np.logical_and.reduce(parts) if op == "and" else np.logical_or.reduce(parts)
    if op == "not":
        return ~_true(evaluate(args[0], scope), n)
    if op == "history":
        return scope.history(*args)
    if op == "exists":
        value = evaluate(args[0], scope)
        if not isinstance(value, np.ndarray):
            return value is not None
        if value.dtype == object:
            return np.array([v is not None for v in value.tolist()], dtype=bool)
        return ~np.isnan(value) if value.dtype == float else np.ones(n, dtype=bool)
    values = [evaluate(a, scope) for a in args]
    if op == "list":
        if not any(isinstance(v, np.ndarray) for v in values):
            return list(values)
        return _each(lambda *items: list(items), *values, n=n)
    if op == "neg":
        return -values[0] if _numeric(values[0]) and isinstance(values[0], np.ndarray) \
            else (_each(negate, values[0], n=n) if isinstance(values[0], np.ndarray) else negate(values[0]))
    left, right = values
    if not isinstance(left, np.ndarray) and not isinstance(right, np.ndarray):
        return binary(op, left, right)
    if op in COMPARISONS:
        return _compare(op, left, right, n)
    if op in ("in", "not_in") and _texts(right) and isinstance(left, np.ndarray):
        return _member_of_texts(left, right, op == "in")
    if op in ("in", "not_in"):
        wanted = op == "in"
        return _each(lambda a, b: (lambda f: False if f is None else f == wanted)(member(a, b)),
                     left, right, n=n).astype(bool)
    if _numeric(left) and _numeric(right):
        return _arithmetic(op, left, right)
    return _each(lambda a, b: arithmetic(op, a, b), left, right, n=n)


_NUMPY = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
          ">": np.greater, ">=": np.greater_equal}


def _compare(op, left, right, n: int) -> np.ndarray:
    if op in ("==", "!=") and (isinstance(left, str) or isinstance(right, str)):
        column = right if isinstance(left, str) else left
        text = left if isinstance(left, str) else right
        same = _equal_text(column, text)
        return same if op == "==" else ~same & _not_null(column)
    if _numeric(left) and _numeric(right):
        with np.errstate(invalid="ignore"):
            result = _NUMPY[op](left, right)
        return result & ~np.isnan(left) & ~np.isnan(right) if op == "!=" else result
    if _boolean(left) and _boolean(right) and op in ("==", "!="):
        return np.broadcast_to(_NUMPY[op](left, right), (n,)).copy()
    return _each(lambda a, b: compare(op, a, b), left, right, n=n).astype(bool)


def _equal_text(column: np.ndarray, text: str) -> np.ndarray:
    """``compare("==", value, text)`` for every value of a column at once, with numpy's
    element-wise ``==`` (in C): a text equals only the same text, never a number, a boolean,
    null or a list, which is ``compile.conditions.equal``."""
    if column.dtype != object:   # numbers or booleans
        return np.zeros(len(column), dtype=bool)
    return np.equal(column, text).astype(bool, copy=False)


def _not_null(column: np.ndarray) -> np.ndarray:
    if column.dtype == float:
        return ~np.isnan(column)
    if column.dtype == object:
        return ~np.equal(column, None).astype(bool, copy=False)
    return np.ones(len(column), dtype=bool)


def _texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _member_of_texts(column: np.ndarray, texts: list[str], wanted: bool) -> np.ndarray:
    """``in`` / ``not in`` a list of texts for every value of a column (null: false either way)."""
    found = np.zeros(len(column), dtype=bool)
    for text in texts:
        found |= _equal_text(column, text)
    return found if wanted else ~found & _not_null(column)


def _arithmetic(op, left, right) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op in ("/", "%"):
            zero = np.asarray(right) == 0
            result = np.divide(left, right) if op == "/" else np.mod(left, right)
            result = np.where(zero, np.nan, result)
        else:
            result = {"+": np.add, "-": np.subtract, "*": np.multiply}[op](left, right)
    result = np.asarray(result, dtype=float)
    return np.where(np.isfinite(result), result, np.nan)


def _plain(value):
    """A numpy scalar as the Python value the reference engine would hold (NaN: null)."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _nest(flat: dict) -> dict:
    """{("a", "b"): 1} -> {"a": {"b": 1}}."""
    found: dict = {}
    for path, value in flat.items():
        holder = found
        for part in path[:-1]:
            holder = holder.setdefault(part, {})
        holder[path[-1]] = value
    return found
