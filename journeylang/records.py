"""Frozen dataclasses with shared ``__eq__``, ``__hash__`` and ``__repr__``.

``@dataclass(frozen=True)`` writes six methods for each class, each with one ``exec`` of its
source text; a command imports about a hundred such classes (the model's nodes, the
diagnostics, the lint rules' records), which took a tenth of its start. ``@record`` is
``@dataclass(frozen=True)`` whose ``__eq__``, ``__hash__`` and ``__repr__`` are three
functions shared by every record class, over the same fields in the same way (those with
``compare``, as a tuple; those with ``hash``; those with ``repr``), so only ``__init__``,
``__setattr__`` and ``__delattr__`` are written per class. As with ``@dataclass``, a method
the class defines itself is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter


def record(cls):
    """``@dataclass(frozen=True)``, its equality, hash and repr shared (see the module)."""
    cls = dataclass(frozen=True, eq=False, repr=False)(cls)
    own = cls.__dict__
    compared = _tuple_of(f.name for f in fields(cls) if f.compare)
    hashed = _tuple_of(f.name for f in fields(cls) if (f.compare if f.hash is None else f.hash))
    cls._compared, cls._hashed = staticmethod(compared), staticmethod(hashed)
    cls._shown = tuple(f.name for f in fields(cls) if f.repr)
    if "__repr__" not in own:
        cls.__repr__ = _repr
    if "__eq__" not in own:
        cls.__eq__ = _eq
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        cls.__hash__ = _hash  # (Python sets __hash__ None in a class that defines __eq__)
    return cls


def _tuple_of(names):
    """A function giving the values of the fields ``names`` of a record, as a tuple."""
    names = tuple(names)
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda value: (get(value),)
    return _nothing


def _nothing(value) -> tuple:
    return ()


def _eq(self, other):
    if other.__class__ is self.__class__:
        return self._compared(self) == other._compared(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(self._hashed(self))


def _repr(self) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
    return f"{self.__class__.__qualname__}({shown})"
