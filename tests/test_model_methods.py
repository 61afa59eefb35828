"""The model's shared ``__eq__``, ``__hash__`` and ``__repr__`` behave as the methods
``@dataclass(frozen=True)`` writes, on every node of every bundled example."""
from __future__ import annotations

import dataclasses
from functools import cache

import pytest

from journeylang import ast
from journeylang.diagnostics import Span
from journeylang.frontend import parse_file

from conftest import EXAMPLES

FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".journey", ".yaml"))


def _nodes(value):
    if isinstance(value, ast.Node):
        yield value
        for f in dataclasses.fields(value):
            yield from _nodes(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes(item)


@cache
def _reference(cls):
    """A plain ``@dataclass(frozen=True)`` with the fields of ``cls`` (their compare and
    repr flags), named as ``cls``: the methods the dataclass module writes itself."""
    specs = [(f.name, object, dataclasses.field(compare=f.compare, repr=f.repr))
             for f in dataclasses.fields(cls)]
    reference = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
    reference.__qualname__ = cls.__qualname__
    return reference


def _as_reference(node):
    cls = _reference(type(node))
    return cls(**{f.name: getattr(node, f.name) for f in dataclasses.fields(node)})


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_equality_hash_and_repr_are_the_dataclass_ones(path):
    journey = parse_file(path).journey
    assert journey is not None
    nodes = list(_nodes(journey))
    assert len({type(n) for n in nodes}) > 10
    for node in nodes:
        reference = _as_reference(node)
        assert repr(node) == repr(reference)
        assert hash(node) == hash(reference)
        moved = dataclasses.replace(node, span=Span("elsewhere", 9, 9, 9, 10))
        assert moved == node and hash(moved) == hash(node)  # spans are not compared
    for first, second in zip(nodes, nodes[1:]):
        same = _as_reference(first) == _as_reference(second)
        assert (first == second) is same and (first != second) is not same


def test_a_node_differs_from_another_class_with_the_same_fields():
    assert ast.Tag("a") != ast.Untag("a")
    assert ast.Tag("a") == ast.Tag("a", span=Span("x", 1, 1, 1, 2))
    assert ast.Tag("a") != ast.Tag("a", tags=("vip",))
    assert ast.Node() == ast.Node() and hash(ast.Node()) == hash(())


def test_nodes_stay_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ast.Tag("a").name = "b"
