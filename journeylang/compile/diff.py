"""Compile stage, for code review: what changed between two compiled versions of a journey.

Rows are compared by what identifies them (a step by its id, a template by name and locale, a
KPI by name...), never by position, so moving a step or renumbering rows is not a change; the
source line, compile time, compiler and content hash are left out. Conditions are shown in the
DSL's syntax.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .. import ast
from ..expressions import unparse
from ..migration import Plan, check_against, shape_of_rows
from ..units import format_duration
from .tables import Tables

ADDED, REMOVED, CHANGED = "+", "-", "~"
_VOLATILE = {"content_hash", "compiled_at", "compiler", "source", "line", "seq", "journey_id"}
_SECONDS = ("duration", "within", "expires", "per", "reentry_after", "due")


@dataclass(frozen=True)
class Change:
    """One difference: ``section`` (steps, templates...), the item, and its old and new text."""

    section: str
    kind: str            # ADDED, REMOVED or CHANGED
    item: str
    old: str | None = None
    new: str | None = None

    def to_dict(self) -> dict:
        return {"section": self.section, "kind": self.kind, "item": self.item,
                "old": self.old, "new": self.new}


def diff_tables(old: Tables, new: Tables) -> list[Change]:
    """Every difference between two versions, section by section, in the new version's order."""
    a, b = old.rows, new.rows
    found = _fields("journey", a["journey"][0], b["journey"][0])
    found += _keyed("steps", _steps(a), _steps(b))
    found += _keyed("templates", _by(a, "templates", lambda r: _template_key(r), "text"),
                    _by(b, "templates", lambda r: _template_key(r), "text"))
    for table, key in (("triggers", _trigger_key), ("policies", _policy_key),
                       ("roles", lambda r: r["role"]), ("kpis", lambda r: r["name"]),
                       ("handlers", lambda r: f"on {r['event']} #{r['seq'] + 1}"),
                       ("attributes", _attribute_key)):
        found += _keyed(table, _rows_by(a.get(table, ()), key), _rows_by(b.get(table, ()), key))
    found += _keyed("migrations", _migrations(a), _migrations(b))
    return found


def migration_between(old: Tables, new: Tables) -> list[str]:
    """How the new version's migration moves the runs of the old version, step by step, and
    what its checks find (empty when it declares none for that version)."""
    number = old.journey["version"]
    plans = [p for p in Plan.from_rows(new.rows.get("migrations", ())) if p.from_version == number]
    if not plans or old.journey_id != new.journey_id:
        return []
    plan, old_shape, new_shape = plans[0], shape_of_rows(old.rows), shape_of_rows(new.rows)
    lines = [f"runs of version {number} waiting at {step.described} -> "
             f"{plan.target_of(step) or 'not mapped'}" for step in old_shape.waiting()]
    lines += [f"{p.severity}: {p.message}" for p in check_against(plan, old_shape, new_shape)]
    return lines


# --- rows to comparable items --------------------------------------------------------------------

def _steps(rows: dict) -> dict[str, dict]:
    """Per step id: its stage, kind, what it does and where it goes."""
    found = {}
    for row in rows["steps"]:
        found[row["step_id"]] = {"stage": row["stage"], "kind": row["kind"],
                                 **{k: _value(k, v) for k, v in (row["params"] or {}).items()}}
    for row in rows["transitions"]:
        step = found.get(row["from_step"])
        if step is not None:
            label = _edge(row)
            step[label] = row["to_step"]
    return found


def _edge(row: dict) -> str:
    """A transition's name in a diff: ``-> (next)``, ``on replied``, ``when cart.value > 5``."""
    kind = row["kind"]
    if kind == "event":
        where = f" where {_condition(row['condition'])}" if row["condition"] is not None else ""
        return f"on {row['event']}{where}"
    if kind == "branch":
        return f"when {_condition(row['condition'])}"
    if kind in ("split", "holdout"):
        return f"{kind} {row['arm']} {row['weight']:g}%"
    return {"next": "-> (next)", "goto": "-> (goto)", "default": "else", "timeout": "timeout"}.get(
        kind, kind)


def _template_key(row: dict) -> str:
    return row["template"] + (f" [{row['locale']}]" if row["locale"] else "")


def _trigger_key(row: dict) -> str:
    if row["kind"] in ("goal", "milestone"):
        return f"{row['kind']} {row['name']}"
    if row["kind"] == "entry":
        return "entry"
    return f"exit on {row['event']}"


def _policy_key(row: dict) -> str:
    params = row["params"]
    if row["kind"] != "cap":
        return row["kind"]
    per = (f"calendar {params['calendar']}" if params.get("calendar")
           else format_duration(params["per"]))
    return f"cap per {per}" + (f" on {', '.join(params['channels'])}" if params["channels"] else "")


def _attribute_key(row: dict) -> str:
    return ("var " if row["scope"] == "run" else "customer.") + row["name"]


def _by(rows: dict, table: str, key, column: str) -> dict[str, dict]:
    return {key(r): {column: r[column]} for r in rows.get(table, ())}


def _rows_by(rows, key) -> dict[str, dict]:
    found = {}
    for row in rows:
        found[key(row)] = {k: _value(k, v) for k, v in row.items() if k not in _VOLATILE}
    return found


def _migrations(rows: dict) -> dict[str, dict]:
    found = {}
    for plan in Plan.from_rows(rows.get("migrations", ())):
        moves = [*plan.moves, *([("other", plan.other)] if plan.other is not None else [])]
        found[f"from version {plan.from_version}"] = {
            "moves": "; ".join(f"{source} -> {target}" for source, target in moves)}
    return found


def _value(key: str, value):
    if key in _SECONDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_duration(int(value))
    if key in ("condition", "audience", "value") and isinstance(value, list):
        return _condition(value)
    return value


# --- comparing ---------------------------------------------------------------------------------

def _fields(section: str, old: dict, new: dict) -> list[Change]:
    found = []
    for key in dict.fromkeys([*old, *new]):
        if key in _VOLATILE:
            continue
        a, b = _value(key, old.get(key)), _value(key, new.get(key))
        if a != b:
            found.append(Change(section, CHANGED, key, _text(a), _text(b)))
    return found


def _keyed(section: str, old: dict[str, dict], new: dict[str, dict]) -> list[Change]:
    found = []
    for key, row in new.items():
        if key not in old:
            found.append(Change(section, ADDED, key, None, _summary(row)))
        elif old[key] != row:
            for field in dict.fromkeys([*old[key], *row]):
                a, b = old[key].get(field), row.get(field)
                if a != b:
                    found.append(Change(section, CHANGED, f"{key}: {field}", _text(a), _text(b)))
    found += [Change(section, REMOVED, key, _summary(row), None)
              for key, row in old.items() if key not in new]
    return found


def _summary(row: dict) -> str:
    return ", ".join(f"{k} {_text(v)}" for k, v in row.items() if v not in (None, [], {}, ""))


def _text(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- conditions back to text --------------------------------------------------------------------

def _condition(tree) -> str:
    try:
        return unparse(_expr(tree))
    except (TypeError, ValueError, IndexError):
        return json.dumps(tree, ensure_ascii=False)


_OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"}


def _expr(tree) -> ast.Expr:
    """The model of a condition tree (durations come back as their seconds)."""
    if not isinstance(tree, list):
        return ast.Literal(tree)
    op, args = tree[0], tree[1:]
    if op == "path":
        return ast.Path(tuple(args))
    if op == "list":
        return ast.ListExpr(tuple(map(_expr, args)))
    if op == "neg":
        return ast.Unary("-", _expr(args[0]))
    if op in ("==", "!=", "<", "<=", ">", ">="):
        return ast.Compare(op, _expr(args[0]), _expr(args[1]))
    if op in _OPERATORS:
        return ast.Binary(op, _expr(args[0]), _expr(args[1]))
    if op in ("in", "not_in"):
        return ast.In(_expr(args[0]), _expr(args[1]), op == "not_in")
    if op == "has_tag":
        return ast.HasTag(args[0])
    if op == "exists":
        return ast.Exists(_expr(args[0]))
    if op == "not":
        return ast.Not(_expr(args[0]))
    if op in ("and", "or"):
        return ast.BoolOp(op, tuple(map(_expr, args)))
    if op == "history":
        function, event, field, condition, within = args
        return ast.History(function, event, field,
                           None if condition is None else _expr(condition), within)
    raise ValueError(f"not a condition tree: {tree!r}")


__all__ = ["ADDED", "CHANGED", "Change", "REMOVED", "diff_tables", "migration_between"]
