"""JSON Schema (draft 2020-12) of the YAML form, for editors; mirrors frontend/yaml.py."""
from __future__ import annotations

import json

from .ast import CHANNELS
from .limits import MAX_WHOLE

SCHEMA_ID = "https://journeylang.invalid/schema/journey.schema.json"

_WORD = r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*"
NAME = {"type": "string", "pattern": rf"^{_WORD}$"}
PATH = {"type": "string", "pattern": rf"^{_WORD}(\.{_WORD})*$"}
DURATION = {"type": "string", "pattern": r"^\s*\d+(\.\d+)?[wdhms]\s*$",
            "description": "A number and a unit (s, m, h, d, w), e.g. 30m, 2h, 7d."}
TIME = {"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*$",
        "description": "A time of day, HH:MM (quote it in YAML)."}
PERCENT = {"anyOf": [{"type": "number", "minimum": 0, "maximum": 100},
                     {"type": "string", "pattern": r"^\s*\d+(\.\d+)?%\s*$"}],
           "description": "A percentage such as 5% (a bare number is read as a percentage)."}
KPI_PERCENT = {"anyOf": [{"type": "number", "minimum": 0},
                         {"type": "string", "pattern": r"^\s*\d+(\.\d+)?%\s*$"}]}
CONDITION = {"type": "string", "description": "A condition in the DSL's condition syntax."}
SCHEDULE = {"type": "string", "description": "A recurring time: 'day at 09:00', "
            "'wednesday at 20:00', 'monday, thursday at 19:30', 'month on day 1 at 10:00', "
            "'quarter on day 1 at 10:00' or 'year on mar 15 at 10:00'."}
LITERAL = {"type": ["string", "number", "boolean", "null"]}
TEXT = {"type": "string"}
COUNT = {"type": "integer", "minimum": 1, "maximum": MAX_WHOLE}   # a version, a cap
AMOUNT = {"type": "integer", "minimum": 0, "maximum": MAX_WHOLE}  # a capacity, entries


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _object(properties: dict, required=(), description: str | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _one_or_many(item: dict) -> dict:
    return {"anyOf": [item, {"type": "array", "items": item}]}


def _either(short: dict, full: dict) -> dict:
    return {"anyOf": [short, full]}


_PARAMS = {"type": "object", "propertyNames": NAME, "additionalProperties": LITERAL}

RUNG_ACTIONS = ("send", "handoff", "tag", "untag", "set", "coupon", "webhook", "emit")

STEP_KINDS = {
    "send": _object({"via": _ref("channel"), "template": TEXT, "params": _PARAMS,
                     "promo": {"type": "boolean"}},
                    ("via", "template"), "Send a message on a channel with a template."),
    "wait": {"anyOf": [
        DURATION,
        _object({"until": TIME}, ("until",)),
        _object({"until_next": SCHEDULE}, ("until_next",)),
        _object({"for": NAME, "where": CONDITION, "within": DURATION, "then": NAME,
                 "timeout": NAME}, ("for",)),
        _object({"on": {"type": "array", "items": _object(
                    {"event": NAME, "where": CONDITION, "then": NAME}, ("event",))},
                 "within": DURATION, "timeout": NAME}, ("on",)),
    ], "description": "Wait a duration, until a time of day or a schedule, or for events."},
    "branch": {"type": "array", "items": {"anyOf": [
        _object({"when": CONDITION, "then": NAME}, ("when", "then")),
        _object({"else": NAME}, ("else",))]},
        "description": "Arms tried in order; the 'else' entry comes last."},
    "split": {"type": "array", "items": _object(
        {"arm": NAME, "percent": PERCENT, "then": NAME}, ("arm", "percent", "then")),
        "description": "A random split; the percentages add up to 100."},
    "tag": _one_or_many(TEXT),
    "untag": _one_or_many(TEXT),
    "set": {"allOf": [
        _object({"attribute": PATH, "value": LITERAL, "expr": CONDITION}, ("attribute",)),
        {"oneOf": [{"required": ["value"]}, {"required": ["expr"]}]}]},
    "coupon": _either(TEXT, _object({"code": TEXT, "value": {"type": "number"},
                                     "expires": DURATION}, ("code",))),
    "handoff": _object({"to": NAME, "within": DURATION, "note": TEXT}, ("to",)),
    "webhook": _either(TEXT, _object({"url": TEXT}, ("url",))),
    "emit": _either(NAME, _object({"event": NAME, "params": _PARAMS}, ("event",))),
    "goto": NAME,
    "exit": NAME,
    "use": _either(NAME, _object({"fragment": NAME, "with": _PARAMS}, ("fragment",),
                                 "Use a stdlib or local fragment: its steps run here.")),
}


def _escalate() -> dict:
    rung = {"type": "object", "properties": {"at": DURATION} | {
                kind: _ref(f"step_{kind}") for kind in RUNG_ACTIONS},
            "additionalProperties": False, "required": ["at"],
            "oneOf": [{"required": [kind]} for kind in RUNG_ACTIONS]}
    return _object({"until": NAME, "where": CONDITION, "within": DURATION, "then": NAME,
                    "breach": NAME, "rungs": {"type": "array", "items": rung}},
                   ("until", "within", "rungs"),
                   "An escalation ladder: each rung's action at its offset until the event.")


STEP_KINDS["escalate"] = _escalate()


def _step() -> dict:
    properties = {kind: _ref(f"step_{kind}") for kind in STEP_KINDS}
    properties |= {"name": NAME, "then": NAME}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "oneOf": [{"required": [kind]} for kind in STEP_KINDS],
            "description": "One step: exactly one kind key, plus optional 'name' and 'then'."}


def journey_schema() -> dict:
    """The schema as a JSON-ready dict."""
    defs = {f"step_{kind}": schema for kind, schema in STEP_KINDS.items()}
    defs |= {
        "name": NAME, "duration": DURATION, "time": TIME, "percent": PERCENT,
        "condition": CONDITION,
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "step": _step(),
        "stage": _object({"stage": NAME, "title": TEXT,
                          "kpis": {"type": "array", "items": _ref("kpi")},
                          "steps": {"type": "array", "items": _ref("step")}}, ("stage",)),
        "kpi": _object({"name": NAME, "title": TEXT, "on": NAME, "where": CONDITION,
                        "within": DURATION, "baseline": KPI_PERCENT, "target": KPI_PERCENT,
                        "at": NAME}, ("name", "on", "within", "baseline", "target")),
        "cap": _object({"messages": COUNT, "per": DURATION,
                        "on": _one_or_many(_ref("channel"))}, ("messages", "per")),
        "template": _either(TEXT, {"type": "object", "propertyNames": NAME,
                                   "additionalProperties": TEXT}),
    }
    policy = _object({
        "cap": _one_or_many(_ref("cap")),
        "quiet": _either({"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}-\d{1,2}:\d{2}\s*$"},
                         _object({"from": TIME, "to": TIME}, ("from", "to"))),
        "consent": _one_or_many(_ref("channel")),
        "holdout": PERCENT,
        "promo": PERCENT,
    })
    top = _object({
        "journey": NAME, "title": TEXT, "version": COUNT,
        "owner": TEXT, "description": TEXT,
        "entry": _either(_object({"on": NAME, "where": CONDITION}, ("on",)),
                         _object({"every": SCHEDULE, "where": CONDITION}, ("every",))),
        "audience": CONDITION,
        "reentry": _either({"type": "string", "pattern": r"^\s*(never|always|after\s+\S+)\s*$"},
                           _object({"after": DURATION}, ("after",))),
        "goals": {"type": "array", "items": _object(
            {"name": NAME, "on": NAME, "where": CONDITION, "within": DURATION}, ("name", "on"))},
        "exits": {"type": "array", "items": _object(
            {"on": NAME, "as": NAME, "where": CONDITION}, ("on", "as"))},
        "outcomes": _one_or_many(NAME),
        "policy": policy,
        "roles": {"type": "array", "items": _object(
            {"name": NAME, "capacity": AMOUNT, "per": DURATION},
            ("name", "capacity", "per"))},
        "expect": _object({"entries": AMOUNT, "per": DURATION},
                          ("entries", "per")),
        "templates": {"type": "object", "propertyNames": NAME,
                      "additionalProperties": _ref("template")},
        "stages": {"type": "array", "items": _ref("stage")},
    }, ("journey",), "A journeylang journey in its YAML form.")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "journeylang journey (YAML form)", **top, "$defs": defs}


def schema_json() -> str:
    return json.dumps(journey_schema(), indent=2, ensure_ascii=False) + "\n"
