"""Declaration rules (JL11x): values that may be unset, declared types, history windows."""
from __future__ import annotations

from ... import ast
from ...config import DeclaredAttribute
from ...diagnostics import Related, Severity
from ...expressions import literal_text, paths_in, unparse, walk
from ...semantics import value_type
from ...source import YAML_SUFFIXES
from ..assigned import definitely_set, set_while_active
from ..declared import DEFAULT_OF_TYPE, attribute_path, typed
from ..places import AT_STEP, OUTSIDE, WHILE_ACTIVE, set_steps
from ..registry import Issue, LintContext, rule

ARITHMETIC = ("+", "-", "*", "/", "%")
ORDERING = ("<", "<=", ">", ">=")
RESERVED_ROOTS = ("customer", "consent", "event")
_WHY = {AT_STEP: "not every path to here sets it",
        WHILE_ACTIVE: "an event can reach the run before it is set",
        OUTSIDE: "it is read before any run sets it"}


@rule("JL110", "unset-attribute", Severity.ERROR,
      "Arithmetic or an ordering comparison reads an attribute that may be unset and has no "
      "default.")
def unset_attribute(ctx: LintContext):
    """Arithmetic on an unset attribute gives null and every ordering comparison with null is
    false, so ``set customer.points = customer.points + 10`` on a customer without points
    clears ``points`` (the counter stays unset for ever), and ``when customer.points < 30``
    takes the else arm. Reported for ``customer.X`` (and a bare name the journey sets without
    declaring it a ``var``) when it has no default (a journey ``attribute`` or one under
    ``[tool.journeylang.schema.attributes]``) and is not set on every path from the start to
    the read:

    - anywhere in a ``set`` value;
    - in any condition (branch and wait arms, goals, milestones, exit rules, handlers, the
      entry and the audience) when the journey itself sets the attribute.

    Handlers run at any time, so their sets never count as done before a step (only at the
    step a handler jumps to), and their conditions and sets, like goals, milestones and exit
    rules, are checked against what is set wherever an event can reach the run. Variables
    (``var n = 0``) always have a value and are never reported.

    Bad::

        set customer.points = customer.points + 10

    Good::

        attribute points: number = 0
        ...
        set customer.points = customer.points + 10
    """
    written = {s.attribute for s in set_steps(ctx.journey, ctx.graph)}
    assigned = definitely_set(ctx.journey, ctx.graph)
    anytime = set_while_active(ctx.journey, ctx.graph, assigned)
    reported = set()
    for place in ctx.places:
        if place.when == AT_STEP and place.node not in assigned:
            continue  # an unreachable step (JL202)
        surely = {AT_STEP: assigned.get(place.node), WHILE_ACTIVE: anytime | place.earlier,
                  OUTSIDE: frozenset()}[place.when]
        for operation, path in _unsafe_reads(place.expr):
            key = path.dotted
            if (key in surely or path.span in reported or not _may_be_unset(ctx, key, written)
                    or place.target is None and key not in written):
                continue
            reported.add(path.span)
            yield Issue(f"{key} may be unset here ({_WHY[place.when]}) and has no default: "
                        f"{_consequence(operation, key, place.target)}", path.span,
                        hint=_declare_hint(ctx, key, operation))


def _unsafe_reads(expr: ast.Expr):
    """(operation, path) for each path read directly by arithmetic or an ordering comparison."""
    for node in walk(expr):
        if isinstance(node, ast.Binary) and node.op in ARITHMETIC or \
                isinstance(node, ast.Compare) and node.op in ORDERING:
            operands = (node.left, node.right)
        elif isinstance(node, ast.Unary):
            operands = (node.operand,)
        else:
            continue
        yield from ((node, side) for side in operands if isinstance(side, ast.Path))


def _may_be_unset(ctx: LintContext, key: str, written: set[str]) -> bool:
    """A customer attribute without a default, or a bare name the journey sets but does not
    declare as a variable (a variable always has its default)."""
    if key.startswith("customer."):
        declared = ctx.attributes.get(key)
        return declared is None or not declared.has_default
    return "." not in key and key not in ctx.variables and key in written


def _consequence(operation, key: str, target: str | None) -> str:
    if isinstance(operation, ast.Compare):
        return f"`{unparse(operation)}` is then false"
    if target is None:
        return f"`{unparse(operation)}` is then null"
    forever = ", so it stays unset for ever" if target == key else ""
    return f"`{unparse(operation)}` is then null and the set clears {target}{forever}"


def _declare_hint(ctx: LintContext, key: str, operation) -> str:
    kind = _guessed_type(ctx, key, operation)
    default = literal_text(DEFAULT_OF_TYPE[kind])
    yaml = (ctx.file or "").lower().endswith(YAML_SUFFIXES)
    if not key.startswith("customer."):
        return (f"declare it as a run variable: `vars: {{{key}: {default}}}`" if yaml
                else f"declare it as a run variable: `var {key} = {default}`")
    name = key.removeprefix("customer.")
    section = ("[schema.attributes] of .journeylang.toml"
               if (ctx.config.path or "").endswith(".journeylang.toml")
               else "[tool.journeylang.schema.attributes]")
    shared = f'`{key} = {{type = "{kind}", default = {default}}}` under {section}'
    if "." in name:
        return f"declare a default: {shared}"
    own = (f"`attributes: {{{name}: {{type: {kind}, default: {default}}}}}`" if yaml
           else f"`attribute {name}: {kind} = {default}`")
    return f"declare a default: {own} (or {shared})"


def _guessed_type(ctx: LintContext, key: str, operation) -> str:
    declared = ctx.attributes.get(key)
    if declared is not None and declared.type:
        return declared.type
    sides = (operation.left, operation.right) if isinstance(operation, ast.Compare) else ()
    strings = [s for s in sides if isinstance(s, ast.Literal) and isinstance(s.value, str)]
    return "string" if strings else "number"


@rule("JL111", "declaration-type", Severity.ERROR,
      "A value does not fit the declared type of an attribute or variable, or a variable's "
      "name hides another value.")
def declaration_type(ctx: LintContext):
    """A declared attribute (``attribute points: number = 0``, or in the configuration's
    schema) or variable (``var streak = 0``) has a type: the one written, else its
    default's. Reported:

    - a default that does not fit its type (``attribute points: number = "0"``), and an
      attribute the journey and the schema declare with different types;
    - a ``set`` of a literal of another type (``set customer.points = "10"``: in YAML a
      quoted ``value: "10"`` is a string);
    - a comparison with a literal of another type, which is always false (``!=``: always
      true): ``when customer.points == "10"``; an ordering of a bool or a list is always
      false too;
    - a variable named like a reserved root (``customer``, ``consent``, ``event``) or like a
      business object the journey reads (``var order`` beside ``order.total``): the name
      would read the variable, not the object.

    Bad::

        attribute points: number = 0
        set customer.points = "10"
        branch { when customer.points >= "100" -> gold; else -> done }

    Good::

        set customer.points = 10
        branch { when customer.points >= 100 -> gold; else -> done }
    """
    types = _declared_types(ctx)
    yield from _bad_declarations(ctx)
    for place in ctx.places:
        expected, found = types.get(place.target), _literal_type(place.expr)
        if expected and found and found != expected:
            yield Issue(f"{place.target} ({expected}) is set to a {found} in {place.what}: "
                        f"{unparse(place.expr)}", place.expr.span,
                        hint=f"write a {expected}, or change the declared type")
        for node in walk(place.expr):
            yield from _mismatched_comparison(node, types)
    yield from _hiding_variables(ctx)


def _declared_types(ctx: LintContext) -> dict[str, str]:
    """The declared type of each typed attribute path and variable name."""
    types = {path: d.type for path, d in ctx.attributes.items() if d.type}
    types.update({name: kind for name, v in ctx.variables.items()
                  if (kind := typed(v.type, v.default))})
    return types


def _bad_declarations(ctx: LintContext):
    for variable in ctx.journey.variables:
        yield from _misfit(variable, f"variable '{variable.name}'", True)
    for attribute in ctx.journey.attributes:
        yield from _misfit(attribute, f"attribute '{attribute.name}'", attribute.has_default)
        declared = ctx.attributes[attribute_path(attribute.name)]
        others = {d.type for d in declared.declarations
                  if isinstance(d, DeclaredAttribute) and d.type}
        if attribute.type and others - {attribute.type}:
            yield Issue(f"attribute '{attribute.name}' is declared {attribute.type} here but "
                        f"{', '.join(sorted(others))} in the schema", attribute.span,
                        hint="declare one type, in one place")


def _misfit(declaration, what: str, has_default: bool):
    found = value_type(declaration.default)
    if declaration.type and has_default and found and found != declaration.type:
        yield Issue(f"{what} is declared {declaration.type} but its default "
                    f"{literal_text(declaration.default)} is a {found}", declaration.span,
                    hint=f"give it a {declaration.type} default, e.g. "
                         f"{literal_text(DEFAULT_OF_TYPE[declaration.type])}")


def _literal_type(expr: ast.Expr) -> str | None:
    """The type of a literal expression; None for anything computed, and for null."""
    match expr:
        case ast.Literal(value=value):
            return value_type(value)
        case ast.ListExpr():
            return "list"
        case ast.Duration() | ast.Unary(operand=ast.Literal()):
            return "number"
    return None


def _mismatched_comparison(node, types: dict[str, str]):
    if isinstance(node, ast.Compare):
        for side, other in ((node.left, node.right), (node.right, node.left)):
            expected = types.get(side.dotted) if isinstance(side, ast.Path) else None
            found = _literal_type(other)
            if expected and found and found != expected:
                outcome = "always true" if node.op == "!=" else "always false"
                yield Issue(f"`{unparse(node)}` compares {side.dotted} ({expected}) with a "
                            f"{found}: it is {outcome}", other.span or node.span,
                            hint=f"compare with a {expected}")
            elif expected in ("bool", "list") and node.op in ORDERING:
                yield Issue(f"`{unparse(node)}` orders a {expected}: it is always false",
                            node.span, hint="compare with == or !=")
    elif isinstance(node, ast.In) and isinstance(node.item, ast.Path) \
            and isinstance(node.collection, ast.ListExpr):
        expected = types.get(node.item.dotted)
        found = {_literal_type(item) for item in node.collection.items}
        if expected and node.collection.items and None not in found and expected not in found:
            outcome = "always true" if node.negated else "always false"
            yield Issue(f"`{unparse(node)}` looks for {node.item.dotted} ({expected}) among "
                        f"values of another type: it is {outcome}", node.collection.span,
                        hint=f"list {expected} values")


def _hiding_variables(ctx: LintContext):
    if not ctx.journey.variables:
        return
    objects = {path.parts[0]: path for place in ctx.places
               for path in paths_in(place.expr) if len(path.parts) > 1}
    written = [step.attribute for step in set_steps(ctx.journey, ctx.graph)]
    rendered = [v for source in ctx.templates.sources for v in ctx.templates.variables(source)]
    for dotted in written + rendered:
        if "." in dotted:
            objects.setdefault(dotted.split(".")[0], None)
    for variable in ctx.journey.variables:
        if variable.name in RESERVED_ROOTS:
            yield Issue(f"variable '{variable.name}' is named like the reserved root "
                        f"'{variable.name}'", variable.span,
                        hint=f"rename it: {variable.name}.x reads the {variable.name}")
        elif variable.name in objects:
            read = objects[variable.name]
            yield Issue(f"variable '{variable.name}' is named like the business object "
                        f"'{variable.name}' that the journey reads", variable.span,
                        hint="rename the variable",
                        related=(Related(read.span, "read here"),) if read else ())


@rule("JL112", "history-without-window", Severity.ERROR,
      "An event-history function outside a run has no `within` window.")
def history_without_window(ctx: LintContext):
    """Without ``within``, a history function (``happened``, ``count``, ``sum``, ...) looks
    back to the run's entry. The entry condition, the audience and KPI conditions are
    evaluated outside any run, where there is no entry to look back to.

    Bad::

        entry on app_open where count(order_paid) >= 2

    Good::

        entry on app_open where count(order_paid within 90d) >= 2
    """
    for place in ctx.places:
        if place.when != OUTSIDE:
            continue
        for node in walk(place.expr):
            if isinstance(node, ast.History) and node.within is None:
                yield Issue(f"{unparse(node)} in {place.what} has no `within`: outside a run "
                            "there is no entry to look back to", node.span,
                            hint="add a window, e.g. `within 30d`")
