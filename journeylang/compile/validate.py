"""Compile stage: the compiler's own checks on tables read back (a file can be edited by hand).

Every value must be one the compiler could have written: names, durations and percentages in
their ranges, times of day, schedules, known step kinds with their parameters, transitions
between steps that exist, at most one entry, one text per template and locale. A problem is a
TablesError naming the file, the table, the row and the field.
"""
from __future__ import annotations

import re
from typing import Callable

from ..ast import ATTRIBUTE_TYPES, CALENDAR_UNITS, MIGRATION_ACTIONS
from ..limits import MAX_DURATION, MAX_NUMBER, MAX_TEMPLATE_CHARS, MAX_WHOLE
from ..templates import parse_template

_NAME = re.compile(r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*\Z")
_PATH = re.compile(r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*"
                   r"(\.[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*)*\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d\Z")
SCHEDULE_UNITS = ("day", "week", "month", "quarter", "year")
TRANSITION_KINDS = ("next", "goto", "default", "timeout", "event", "branch", "split", "holdout")


class Bad(ValueError):
    """One field that the compiler would never have written; the message says what it must be."""


# --- values: each returns nothing or raises Bad --------------------------------------------------

def name(value) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise Bad(f"must be a name, not {_shown(value)}")


def text(value) -> None:
    if not isinstance(value, str) or not value:
        raise Bad(f"must be a non-empty text, not {_shown(value)}")


def path(value) -> None:
    if not isinstance(value, str) or not _PATH.match(value):
        raise Bad(f"must be an attribute path such as customer.tier, not {_shown(value)}")


def whole(value, low: int, high: int, what: str) -> None:
    if type(value) is not int or not low <= value <= high:
        raise Bad(f"must be {what} (a whole number from {low:,} to {high:,}), not "
                  f"{_shown(value)}")


def duration(value) -> None:
    whole(value, 0, MAX_DURATION, "a duration in seconds")


def period(value) -> None:
    whole(value, 1, MAX_DURATION, "a period in seconds")


def count(value) -> None:
    whole(value, 1, MAX_WHOLE, "a count")


def amount(value) -> None:
    whole(value, 0, MAX_WHOLE, "a count")


def number(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not abs(value) <= MAX_NUMBER:
        raise Bad(f"must be a finite number within +-{MAX_NUMBER:,}, not {_shown(value)}")


def percent(value) -> None:
    number(value)
    if not 0 <= value <= 100:
        raise Bad(f"must be a percentage from 0 to 100, not {_shown(value)}")


def boolean(value) -> None:
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, not {_shown(value)}")


def time_of_day(value) -> None:
    if not isinstance(value, str) or not _TIME.match(value):
        raise Bad(f"must be a time of day HH:MM from 00:00 to 23:59, not {_shown(value)}")


def names(value) -> None:
    _each(value, name, "a list of names")


def texts(value) -> None:
    _each(value, text, "a list of texts")


def literals(value) -> None:
    """Parameters: an object of names to strings, finite numbers, true, false or null."""
    if not isinstance(value, dict):
        raise Bad(f"must be an object, not {_shown(value)}")
    for key, item in value.items():
        name(key)
        if item is not None and not isinstance(item, (str, bool)):
            try:
                number(item)
            except Bad:
                raise Bad(f"{key}: must be a string, a finite number, true, false or null, "
                          f"not {_shown(item)}") from None


def schedule(value) -> None:
    """``{every, time, weekdays, day, month}`` as ``compile.tables.schedule_params`` writes it."""
    _fields(value, {"every": _one_of(SCHEDULE_UNITS), "time": time_of_day,
                    "weekdays": lambda days: _each(days, lambda d: whole(d, 0, 6, "a weekday"),
                                                   "a list of weekdays (0 is Monday)"),
                    "day": _optional(lambda d: whole(d, 1, 31, "a day of the month")),
                    "month": _optional(lambda m: whole(m, 1, 12, "a month"))})
    every = value["every"]
    if every == "week" and not value["weekdays"]:
        raise Bad("a weekly schedule needs weekdays")
    if every in ("month", "quarter", "year") and value["day"] is None:
        raise Bad(f"a {every}ly schedule needs its day")
    if every == "year" and value["month"] is None:
        raise Bad("a yearly schedule needs its month")


def _filled(value: list) -> None:
    if not value:
        raise Bad("must name at least one step")


def _optional(check: Callable) -> Callable:
    return lambda value: None if value is None else check(value)


def _one_of(choices: tuple[str, ...]) -> Callable:
    def check(value):
        if value not in choices:
            raise Bad(f"must be one of {', '.join(choices)}, not {_shown(value)}")
    return check


def _each(value, check: Callable, what: str) -> None:
    if not isinstance(value, list):
        raise Bad(f"must be {what}, not {_shown(value)}")
    for item in value:
        check(item)


def _fields(value, spec: dict, required: tuple[str, ...] | None = None) -> None:
    """An object whose keys are among ``spec`` (all of them, or those ``required``)."""
    if not isinstance(value, dict):
        raise Bad(f"must be an object, not {_shown(value)}")
    for key in value:
        if key not in spec:
            raise Bad(f"unknown field {key!r} (fields: {', '.join(spec)})")
    for key, check in spec.items():
        if key not in value:
            if required is None or key in required:
                raise Bad(f"{key}: missing")
            continue
        try:
            check(value[key])
        except Bad as exc:
            raise Bad(f"{key}: {exc}") from None


def _shown(value) -> str:
    text = repr(value) if not isinstance(value, (list, dict)) else type(value).__name__
    return text if len(text) <= 40 else text[:40] + "..."


# --- tables -------------------------------------------------------------------------------------

# step kind -> (parameter checks, the parameters every step of the kind has); a condition
# (``set``'s value) is checked by compile.conditions.validate
STEP_PARAMS: dict[str, tuple[dict, tuple[str, ...]]] = {
    "send": ({"channel": name, "template": text, "params": literals, "promo": boolean,
              "transactional": boolean, "fallback": names}, ("channel", "template", "params")),
    "wait": ({"duration": duration}, ("duration",)),
    "wait_until": ({"time": time_of_day}, ("time",)),
    "wait_day": ({"day": lambda day: whole(day, 0, MAX_DURATION // 86400, "a day after entry"),
                  "time": time_of_day}, ("day", "time")),
    "wait_schedule": ({"schedule": schedule}, ("schedule",)),
    "wait_event": ({"within": _optional(duration), "ladder": lambda value: _fields(
        value, {"reached": lambda v: _each(v, text, "a list of step ids") or _filled(v),
                "ahead": lambda v: _each(v, text, "a list of step ids")})}, ()),
    "branch": ({}, ()), "split": ({}, ()), "goto": ({}, ()),
    "tag": ({"tags": texts}, ("tags",)), "untag": ({"tags": texts}, ("tags",)),
    "set": ({"attribute": path, "value": lambda value: None}, ("attribute",)),
    "coupon": ({"code": text, "value": _optional(number), "expires": _optional(duration)},
               ("code",)),
    "handoff": ({"role": name, "within": _optional(duration), "note": _optional(text)},
                ("role",)),
    "webhook": ({"url": text}, ("url",)),
    "emit": ({"event": name, "params": literals}, ("event", "params")),
    "exit": ({"outcome": name}, ("outcome",)),
}
HANDLER_ACTIONS = ("set", "tag", "untag", "emit")
POLICY_PARAMS: dict[str, tuple[dict, tuple[str, ...]]] = {  # as STEP_PARAMS
    "cap": ({"messages": count, "per": period, "channels": names,
             "calendar": _one_of(tuple(CALENDAR_UNITS))}, ("messages", "per", "channels")),
    "quiet": ({"start": time_of_day, "end": time_of_day}, ("start", "end")),
    "consent": ({"channels": names}, ("channels",)),
    "holdout": ({"percent": percent}, ("percent",)),
    "promo": ({"percent": percent}, ("percent",)),
}


def check_tables(tables) -> None:
    """Raise ``Bad`` with ``table, row N (...), field: problem`` for the first problem."""
    steps = {}
    for index, row in enumerate(tables.rows["steps"]):
        at = _row("steps", index, f"step {row['step_id']!r}")
        _check(at, "step_id", text, row["step_id"])
        if row["step_id"] in steps:
            raise Bad(f"{at}, step_id: two steps are named {row['step_id']!r}")
        steps[row["step_id"]] = row["kind"]
        _check(at, "stage", text, row["stage"])
        if row["kind"] not in STEP_PARAMS:
            raise Bad(f"{at}, kind: {row['kind']!r} is not a step kind "
                      f"({', '.join(STEP_PARAMS)})")
        spec, required = STEP_PARAMS[row["kind"]]
        _check(at, "params", lambda value: _fields(value, spec, required), row["params"])
    _ladders(tables.rows["steps"], steps)
    _journey(tables.journey, steps)
    _triggers(tables.rows["triggers"])
    _transitions(tables.rows["transitions"], steps)
    _templates(tables.rows["templates"], tables.rows["steps"])
    _policies(tables.rows["policies"])
    _roles_and_kpis(tables.rows["roles"], tables.rows["kpis"], steps)
    _handlers(tables.rows["handlers"], steps)
    _attributes(tables.rows["attributes"])
    _migrations(tables.rows["migrations"], steps)


def _row(table: str, index: int, what: str = "") -> str:
    return f"table {table!r}, row {index + 1}" + (f" ({what})" if what else "")


def _check(at: str, field: str, check: Callable, value) -> None:
    try:
        check(value)
    except Bad as exc:
        raise Bad(f"{at}, {field}: {exc}") from None


def _journey(row: dict, steps: dict) -> None:
    at = _row("journey", 0)
    _check(at, "journey_id", name, row["journey_id"])
    _check(at, "version", _optional(count), row["version"])
    _check(at, "reentry", _one_of(("never", "always", "after")), row["reentry"])
    _check(at, "reentry_after", duration if row["reentry"] == "after" else _optional(duration),
           row["reentry_after"])
    _check(at, "volume", _optional(lambda v: _fields(v, {"entries": amount, "per": period})),
           row["volume"])
    _check(at, "locale", _optional(name), row["locale"])
    _check(at, "correlate", _optional(path), row["correlate"])
    start = row["start_step"]
    if start is None and steps:
        raise Bad(f"{at}, start_step: missing")
    if start is not None and start not in steps:
        raise Bad(f"{at}, start_step: no step is named {_shown(start)}")


def _ladders(rows: list[dict], steps: dict) -> None:
    """A ladder's wait names rungs that are steps of the journey."""
    for index, row in enumerate(rows):
        ladder = row["params"].get("ladder") if row["kind"] == "wait_event" else None
        if ladder is None:
            continue
        for rung in ladder["reached"] + ladder["ahead"]:
            if rung not in steps:
                raise Bad(f"{_row('steps', index, 'step ' + repr(row['step_id']))}, params: "
                          f"ladder: no step is named {_shown(rung)}")


def _triggers(rows: list[dict]) -> None:
    entries = 0
    for index, row in enumerate(rows):
        at = _row("triggers", index, row["kind"] if isinstance(row["kind"], str) else "")
        _check(at, "kind", _one_of(("entry", "goal", "milestone", "exit")), row["kind"])
        entries += row["kind"] == "entry"
        if entries > 1:
            raise Bad(f"{at}, kind: a journey has one entry")
        scheduled = row["kind"] == "entry" and row["schedule"] is not None
        _check(at, "schedule", schedule if scheduled else _optional(_never), row["schedule"])
        if not (scheduled and row["event"] == ""):
            _check(at, "event", name, row["event"])
        _check(at, "within", _optional(duration), row["within"])
        _check(at, "name", _optional(name), row["name"])
        _check(at, "outcome", name if row["kind"] == "exit" else _optional(name), row["outcome"])


def _handlers(rows: list[dict], steps: dict) -> None:
    for index, row in enumerate(rows):
        at = _row("handlers", index, f"on {row['event']!r}")
        _check(at, "event", name, row["event"])
        _check(at, "actions", lambda actions: _each(actions, _action, "a list of actions"),
               row["actions"])
        if row["to_step"] is not None and row["to_step"] not in steps:
            raise Bad(f"{at}, to_step: no step is named {_shown(row['to_step'])}")


def _action(value) -> None:
    """A handler's action: ``{"kind", "params"}``, an instant step kind and its parameters."""
    _fields(value, {"kind": _one_of(HANDLER_ACTIONS), "params": lambda params: None})
    spec, required = STEP_PARAMS[value["kind"]]
    _fields(value["params"], spec, required)


def _attributes(rows: list[dict]) -> None:
    seen = set()
    for index, row in enumerate(rows):
        at = _row("attributes", index, f"{row['scope']} {row['name']!r}")
        _check(at, "scope", _one_of(("customer", "run")), row["scope"])
        _check(at, "name", name, row["name"])
        if (row["scope"], row["name"]) in seen:
            raise Bad(f"{at}, name: declared twice")
        seen.add((row["scope"], row["name"]))
        _check(at, "type", _optional(_one_of(ATTRIBUTE_TYPES)), row["type"])
        _check(at, "has_default", lambda v: whole(v, 0, 1, "0 or 1"), row["has_default"])
        _check(at, "value", _json_value, row["value"])


def _migrations(rows: list[dict], steps: dict) -> None:
    """Moves of the runs of an older version: from a version and one of its steps (null:
    every other step) to a step of this version (``move``), or ``stop`` / ``drain``."""
    for index, row in enumerate(rows):
        at = _row("migrations", index, f"from version {row['from_version']!r}")
        _check(at, "from_version", lambda v: whole(v, 1, MAX_WHOLE, "a version"),
               row["from_version"])
        _check(at, "from_step", _optional(text), row["from_step"])
        _check(at, "action", _one_of(("move", *MIGRATION_ACTIONS)), row["action"])
        if (row["action"] == "move") != (row["to_step"] is not None):
            raise Bad(f"{at}, to_step: a move names a step, stop and drain name none")
        if row["to_step"] is not None and row["to_step"] not in steps:
            raise Bad(f"{at}, to_step: no step is named {_shown(row['to_step'])}")


def _json_value(value) -> None:
    """A declared default: a string, a finite number, true, false, null or a list of them."""
    if isinstance(value, list):
        _each(value, _json_value, "a list")
    elif value is not None and not isinstance(value, (str, bool)):
        number(value)


def _never(value) -> None:
    raise Bad("only a scheduled entry has a schedule")


_ARM_STEPS = {"event": "wait_event", "branch": "branch", "split": "split", "holdout": "split",
              "timeout": "wait_event"}


def _transitions(rows: list[dict], steps: dict) -> None:
    single: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        at = _row("transitions", index, f"from {row['from_step']!r}")
        kind = row["kind"]
        _check(at, "kind", _one_of(TRANSITION_KINDS), kind)
        for field in ("from_step", "to_step"):
            if row[field] not in steps:
                raise Bad(f"{at}, {field}: no step is named {_shown(row[field])}")
        source = steps[row["from_step"]]
        if kind in _ARM_STEPS and _ARM_STEPS[kind] != source:
            raise Bad(f"{at}, kind: a {source} step has no {kind!r} transitions")
        if kind in ("next", "goto", "default", "timeout"):
            if (row["from_step"], kind) in single:
                raise Bad(f"{at}, kind: two {kind!r} transitions from one step")
            single.add((row["from_step"], kind))
        if kind == "event":
            _check(at, "event", name, row["event"])
        if kind in ("split", "holdout"):  # a holdout arm is a split's control group
            _check(at, "weight", percent, row["weight"])
            _check(at, "arm", name, row["arm"])
        if kind == "holdout" and row["to_step"] != row["from_step"]:
            raise Bad(f"{at}, to_step: a split's holdout arm stays at the split")


def _templates(rows: list[dict], step_rows: list[dict]) -> None:
    seen = set()
    for index, row in enumerate(rows):
        at = _row("templates", index, f"template {row['template']!r}")
        _check(at, "template", text, row["template"])
        _check(at, "locale", lambda v: v == "" or name(v), row["locale"])
        if (row["template"], row["locale"]) in seen:
            raise Bad(f"{at}, locale: a second text for locale {row['locale'] or '(default)'!r}")
        seen.add((row["template"], row["locale"]))
        if len(row["text"]) > MAX_TEMPLATE_CHARS:
            raise Bad(f"{at}, text: longer than {MAX_TEMPLATE_CHARS:,} characters")
        _, problem, line = parse_template(row["text"])
        if problem is not None:
            raise Bad(f"{at}, text: not a valid template (line {line}: {problem})")
    defined = {template for template, _ in seen}
    for index, row in enumerate(step_rows):
        template = row["params"].get("template") if row["kind"] == "send" else None
        if template is not None and template not in defined:
            at = _row("steps", index, f"step {row['step_id']!r}")
            raise Bad(f"{at}, params: template {template!r} is not in the templates table")


def _policies(rows: list[dict]) -> None:
    seen = set()
    for index, row in enumerate(rows):
        at = _row("policies", index, row["kind"] if isinstance(row["kind"], str) else "")
        _check(at, "kind", _one_of(tuple(POLICY_PARAMS)), row["kind"])
        if row["kind"] != "cap" and row["kind"] in seen:
            raise Bad(f"{at}, kind: a second {row['kind']!r} policy")
        seen.add(row["kind"])
        _check(at, "params", lambda v: _fields(v, *POLICY_PARAMS[row["kind"]]), row["params"])


def _roles_and_kpis(roles: list[dict], kpis: list[dict], steps: dict) -> None:
    for table, rows, key in (("roles", roles, "role"), ("kpis", kpis, "name")):
        seen = set()
        for index, row in enumerate(rows):
            at = _row(table, index)
            _check(at, key, name, row[key])
            if row[key] in seen:
                raise Bad(f"{at}, {key}: {row[key]!r} is given twice")
            seen.add(row[key])
    for index, row in enumerate(roles):
        _check(_row("roles", index), "capacity", amount, row["capacity"])
        _check(_row("roles", index), "per", period, row["per"])
    for index, row in enumerate(kpis):
        at = _row("kpis", index, f"KPI {row['name']!r}")
        _check(at, "event", name, row["event"])
        _check(at, "within", duration, row["within"])
        for field in ("baseline", "target"):
            _check(at, field, number, row[field])
        if row["step"] is not None and row["step"] not in steps:
            raise Bad(f"{at}, step: no step is named {_shown(row['step'])}")

