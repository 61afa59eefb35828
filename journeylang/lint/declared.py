"""What a journey declares about the values it reads: customer attributes with a type and a
default (``attribute`` in the journey, or the configuration's schema) and run-local variables."""
from __future__ import annotations

from .. import ast
from ..config import DeclaredAttribute, LintConfig
from ..records import record
from ..semantics import value_type

DEFAULT_OF_TYPE = {"number": 0, "string": "", "bool": False, "list": []}


@record
class Declared:
    """One customer attribute as declared: ``type`` is the declared one, else its default's;
    ``has_default`` is true for a default other than null. ``declarations`` come journey
    first, then the schema's."""

    path: str
    type: str | None
    has_default: bool
    declarations: tuple[ast.Attribute | DeclaredAttribute, ...]


def attribute_path(name: str) -> str:
    """A journey's ``attribute points`` is read as ``customer.points``."""
    return f"customer.{name}"


def typed(kind: str | None, default, has_default: bool = True) -> str | None:
    """A declaration's type: as written, else the type of its default."""
    return kind or (value_type(default) if has_default else None)


def declared_attributes(journey: ast.Journey, config: LintConfig) -> dict[str, Declared]:
    """Declared attributes by path: the journey's (``attribute points`` is
    ``customer.points``), then the schema's (named by their paths)."""
    found: dict[str, list] = {}
    for attribute in journey.attributes:
        found.setdefault(attribute_path(attribute.name), []).append(attribute)
    for declared in config.declared:
        found.setdefault(declared.name, []).append(declared)
    return {path: Declared(path, next((t for t in map(_type_of, items) if t), None),
                           any(i.has_default and i.default is not None for i in items),
                           tuple(items))
            for path, items in found.items()}


def _type_of(item) -> str | None:
    return typed(item.type, item.default, item.has_default)


def declared_variables(journey: ast.Journey) -> dict[str, ast.Variable]:
    """Run-local variables by name (the first declaration of a name)."""
    found: dict[str, ast.Variable] = {}
    for variable in journey.variables:
        found.setdefault(variable.name, variable)
    return found
