"""Record classes (``records.record``: the model's nodes, diagnostics, configuration and lint
records) compare, hash and print as the methods ``@dataclass(frozen=True)`` writes, and
stay frozen dataclasses."""
from __future__ import annotations

import dataclasses
import importlib
import sys
from functools import cache

import pytest

from journeylang import records

VALUES = [0, 1, "a", "提醒", None, (1, "a"), ("a",), 2.5]
MODULES = ["journeylang.cli.check", "journeylang.frontend.yaml", "journeylang.cli.commands"]


def _record_classes() -> list[type]:
    for name in MODULES:
        importlib.import_module(name)
    found = {value for module in list(sys.modules.values())
             if module.__name__.startswith("journeylang")
             for value in vars(module).values()
             if isinstance(value, type) and value.__dict__.get("_compared") is not None}
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


@cache
def _reference(cls):
    """A plain ``@dataclass(frozen=True)`` with the fields of ``cls`` (their compare, hash
    and repr flags), named as ``cls``."""
    specs = [(f.name, object, dataclasses.field(compare=f.compare, hash=f.hash, repr=f.repr))
             for f in dataclasses.fields(cls)]
    reference = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
    reference.__qualname__ = cls.__qualname__
    return reference


def _instances(cls):
    """Instances of ``cls`` and of its reference with the same values (set as a frozen
    dataclass's ``__init__`` sets them), two of them equal."""
    names = [f.name for f in dataclasses.fields(cls)]
    made = []
    for k in (0, 1, 2, 0, 3):
        values = {name: VALUES[(k + i) % len(VALUES)] for i, name in enumerate(names)}
        pair = []
        for kind in (cls, _reference(cls)):
            instance = object.__new__(kind)
            for name, value in values.items():
                object.__setattr__(instance, name, value)
            pair.append(instance)
        made.append(pair)
    return made


CLASSES = _record_classes()


def test_the_check_makes_records_of_the_model_and_its_other_classes():
    modules = {cls.__module__ for cls in CLASSES}
    assert len(CLASSES) > 80 and {"journeylang.ast", "journeylang.diagnostics",
                                  "journeylang.config", "journeylang.lint.registry"} <= modules


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_equality_hash_and_repr_are_the_dataclass_ones(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    pairs = _instances(cls)
    for mine, reference in pairs:
        assert repr(mine) == repr(reference)
        assert hash(mine) == hash(reference)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(mine, dataclasses.fields(cls)[0].name if dataclasses.fields(cls) else "x", 1)
    for first, first_reference in pairs:
        for second, second_reference in pairs:
            same = first_reference == second_reference
            assert (first == second) is same and (first != second) is not same
        assert first != first_reference and first != 1  # another class: never equal


def test_a_method_the_class_defines_is_kept():
    @records.record
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

        def __eq__(self, other):
            return True

    assert repr(Own(1)) == "own" and Own(1) == Own(2)
    assert hash(Own(1)) == hash((1,))  # __eq__ of its own, no __hash__: the record's, as dataclass

    @records.record
    class Hashed:
        a: int
        b: int = dataclasses.field(hash=False)

        def __hash__(self) -> int:
            return 7

    assert hash(Hashed(1, 2)) == 7 and Hashed(1, 2) != Hashed(1, 3)
