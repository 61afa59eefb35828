"""Templates, statically: what the checker can tell before any render about the sandbox's limits.

A template longer than MAX_TEMPLATE_CHARS, one that includes, imports or extends another (the
sandbox has no loader: every render would fail), and constant expressions that a render would
refuse: ``'x' * 10**8``, ``''|center(10**9)``, ``'{:>1000000000}'.format(1)``, ``range(10**6)``
and nested constant loops of more than MAX_LOOP_ITERATIONS iterations. The checks are the
sandbox's own (sandbox.py), applied to the constants.
"""
from __future__ import annotations

import operator

from jinja2 import nodes

from .limits import MAX_LOOP_ITERATIONS, MAX_TEMPLATE_CHARS
from .sandbox import LimitError, check_binop, check_filter, check_method, format_spec
from .templates import parsed

_UNKNOWN = object()
_OPERATORS = {"Mul": ("*", operator.mul), "Pow": ("**", operator.pow),
              "Add": ("+", operator.add), "Sub": ("-", operator.sub),
              "Mod": ("%", operator.mod), "FloorDiv": ("//", operator.floordiv)}
_LOADING = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def limit_problems(text: str) -> list[tuple[int, str]]:
    """(template line, message) of each limit a render of ``text`` would go past for sure."""
    if len(text) > MAX_TEMPLATE_CHARS:
        return [(1, f"it is {len(text):,} characters long; a template is at most "
                    f"{MAX_TEMPLATE_CHARS:,}")]
    tree = parsed(text)
    if tree is None:
        return []  # a syntax error: JL402
    try:
        return _Walk().problems(tree)
    except RecursionError:
        return []


class _Walk:
    def __init__(self):
        self.found: list[tuple[int, str]] = []

    def problems(self, tree) -> list[tuple[int, str]]:
        for node in tree.find_all(_LOADING):
            kind = type(node).__name__.lower().replace("fromimport", "import")
            self.found.append((node.lineno, f"'{kind}' cannot work: a message template "
                                             "stands alone (no other template can be loaded)"))
        for node in tree.find_all(nodes.Expr):
            self._check(node)
        self._loops(tree, 1)
        return sorted(set(self.found))

    def _report(self, node, exc: LimitError) -> None:
        self.found.append((node.lineno, f"a render would go past a limit: {exc.message}"))

    def _check(self, node) -> None:
        try:
            if type(node).__name__ in _OPERATORS:
                left, right = self.const(node.left), self.const(node.right)
                if left is not _UNKNOWN and right is not _UNKNOWN:
                    check_binop(_OPERATORS[type(node).__name__][0], left, right)
                elif isinstance(node, nodes.Mod) and isinstance(left, str):
                    format_spec(left, printf=True)  # the widths are in the format string
            elif isinstance(node, nodes.Filter) and node.node is not None:
                args, kwargs = self._arguments(node)
                if args is not None:
                    value = self.const(node.node)
                    check_filter(node.name, "" if value is _UNKNOWN else value, args, kwargs)
            elif isinstance(node, nodes.Call):
                self._call(node)
        except LimitError as exc:
            self._report(node, exc)

    def _call(self, node: nodes.Call) -> None:
        args, kwargs = self._arguments(node)
        if isinstance(node.node, nodes.Getattr):
            owner = self.const(node.node.node)
            if node.node.attr in ("format", "format_map") and isinstance(owner, str):
                format_spec(owner, args or (), kwargs)  # the widths are in the format string
            elif args is not None:
                check_method("" if owner is _UNKNOWN else owner, node.node.attr, args, kwargs)
        elif args is None:
            return
        elif isinstance(node.node, nodes.Name) and node.node.name == "range":
            if _range_length(args) > MAX_LOOP_ITERATIONS:
                raise LimitError(f"a range of more than {MAX_LOOP_ITERATIONS:,} numbers")

    def _arguments(self, node):
        """The constant positional and keyword arguments; (None, None) when one is not."""
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            return None, None
        args = [self.const(arg) for arg in node.args]
        kwargs = {pair.key: self.const(pair.value) for pair in node.kwargs}
        if _UNKNOWN in args or _UNKNOWN in kwargs.values():
            return None, None
        return args, kwargs

    def const(self, node):
        """The value of a constant expression, computed only within the limits; _UNKNOWN for
        anything else."""
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [self.const(item) for item in node.items]
            return _UNKNOWN if _UNKNOWN in items else items
        if isinstance(node, nodes.Neg):
            value = self.const(node.node)
            return -value if isinstance(value, (int, float)) else _UNKNOWN
        if type(node).__name__ in _OPERATORS:
            left, right = self.const(node.left), self.const(node.right)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            symbol, compute = _OPERATORS[type(node).__name__]
            try:
                check_binop(symbol, left, right)
                return compute(left, right)
            except Exception:  # past a limit (reported by _check), or an error of its own
                return _UNKNOWN
        return _UNKNOWN

    def _loops(self, node, outer: float) -> None:
        """Nested loops over constant ranges or lists: their iterations multiply."""
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.For):
                times = outer * self._length(child.iter)
                if times > MAX_LOOP_ITERATIONS and 1 < outer <= MAX_LOOP_ITERATIONS:
                    self.found.append((child.lineno, "a render would go past a limit: nested "
                                                     f"loops of more than {MAX_LOOP_ITERATIONS:,} "
                                                     "iterations"))
                self._loops(child, times)
            else:
                self._loops(child, outer)

    def _length(self, node) -> float:
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) \
                and node.node.name == "range":
            args, _ = self._arguments(node)
            return 1 if args is None else _range_length(args)
        value = self.const(node)
        return len(value) if isinstance(value, (list, str)) else 1


def _range_length(args) -> float:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) for a in args):
        return 0
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if step == 0:
        return 0
    return max(0, -(-(stop - start) // step))
