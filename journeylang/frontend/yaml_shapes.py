"""YAML frontend, declarations: what each converter of the reader accepts.

The reader's converters carry a *shape* (a record with its key table, a list, a choice, a
scalar with its pattern); journeylang/schema.py turns the shapes into the JSON Schema, so the
schema is generated from the tables the reader reads with and a key added to a table is in
the schema at once. Scalars are declared here with the patterns the reader checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..ast import ATTRIBUTE_TYPES, CALENDAR_UNITS, PARAM_TYPES
from ..limits import MAX_DURATION, MAX_WHOLE
from ..units import DURATION_PATTERN, PERCENT_PATTERN, VALID_TIME_PATTERN

WORD = r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*"  # the DSL's NAME


class Shape:
    """What a converter accepts (a node of the schema)."""


@dataclass(frozen=True, eq=False)
class Scalar(Shape):
    """A scalar value: ``json`` is its JSON Schema (type, pattern); ``about`` and ``example``
    describe it. ``name`` is its entry in the schema's ``$defs``."""

    name: str
    json: dict
    about: str
    example: Any


@dataclass(frozen=True, eq=False)
class Record(Shape):
    """A mapping read by a key table: key -> (model field, converter, required); exactly one
    of ``one_of`` must be present when it is set."""

    context: str
    keys: dict
    one_of: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ListOf(Shape):
    item: Any  # a converter


@dataclass(frozen=True, eq=False)
class OneOrMany(Shape):
    item: Any


@dataclass(frozen=True, eq=False)
class AnyOf(Shape):
    options: tuple


@dataclass(frozen=True, eq=False)
class MapOf(Shape):
    """A mapping with free keys (template names, parameters) and values of one shape."""

    context: str
    key: Scalar
    value: Any


class Converter:
    """A reader ``(builder, node, what) -> value`` that also declares its shape (a Shape, or a
    function giving one, for tables filled in later)."""

    def __init__(self, read: Callable, shape: "Shape | Callable[[], Shape]"):
        self.read, self._shape = read, shape

    def __call__(self, builder, node, what):
        return self.read(builder, node, what)

    @property
    def shape(self) -> Shape:
        return self._shape if isinstance(self._shape, Shape) else self._shape()


def accepts(shape: "Shape | Callable[[], Shape]"):
    """Declare the shape a converter method reads."""
    def mark(method):
        method.shape = shape
        return method
    return mark


def shape_only(shape: "Shape | Callable[[], Shape]") -> Converter:
    """A declaration for what a hand-written reader reads in place (a step, a branch's else)."""
    def read(builder, node, what):
        raise TypeError(f"{what}: this shape is a declaration, read by its hand-written reader")
    return Converter(read, shape)


def shape_of(converter) -> Shape | None:
    """The declared shape of a converter (None when it declares none)."""
    if isinstance(converter, Shape):
        return converter
    shape = getattr(converter, "shape", None)
    if shape is None or isinstance(shape, Shape):
        return shape
    return shape()


def _string(name: str, pattern: str | None, about: str, example, **more) -> Scalar:
    json = {"type": "string", **({"pattern": pattern} if pattern else {}), **more}
    return Scalar(name, json, about, example)


# A scalar written as text: YAML reads `42` or `true` as a number or a boolean, and the reader
# takes the text as written, so those are accepted too.
_SCALAR_TYPES = ["string", "number", "boolean"]
_BLANK = r"\s*"
_DURATION = rf"{_BLANK}{DURATION_PATTERN}{_BLANK}"
_TIME = rf"{_BLANK}{VALID_TIME_PATTERN}{_BLANK}"
_PERCENT_UP_TO_100 = r"(100(\.0+)?|\d{1,2}(\.\d+)?)%"

NAME = _string("name", rf"^{WORD}$", "A name: letters (Chinese too), digits and _, not starting "
               "with a digit.", "cart_nudge")
OLD_STEP = _string("old_step", rf"^{WORD}(\.({WORD}|\d+))*$", "A step of an older version: its "
                   "label, its automatic name (remind.2), an expanded name (wb.ask), or a "
                   "stage's name.", "remind.2")
PATH = _string("path", rf"^{WORD}(\.{WORD})*$", "A dotted attribute path.", "customer.segment")
CORRELATION = _string("correlation_key", rf"^{_BLANK}{WORD}(\.{WORD})*{_BLANK}$",
                      "A path of the entry event's data (order_id, order.id).", "order_id")
TEXT = Scalar("text", {"type": _SCALAR_TYPES}, "Text (a number or true/false is read as "
              "written).", "购物车提醒")
CONDITION = Scalar("condition", {"type": _SCALAR_TYPES}, "A condition in the DSL's condition "
                   "syntax: comparisons, and/or/not, in [...], has tag \"x\", path exists.",
                   "cart.value >= 50 and consent.wecom")
SCHEDULE = _string("schedule", None, "A recurring time: 'day at 09:00', 'wednesday at 20:00', "
                   "'monday, thursday at 19:30', 'month on day 1 at 10:00', "
                   "'quarter on day 1 at 10:00' or 'year on mar 15 at 10:00'.", "wednesday at 20:00")
DURATION = _string("duration", rf"^{_DURATION}$", "A number and a unit (s, m, h, d, w), "
                   "e.g. 30m, 2h, 7d.", "72h")
TIME = _string("time", rf"^{_TIME}$", "A time of day, HH:MM from 00:00 to 23:59 (quote it in "
               "YAML).", "09:30")
QUIET = _string("quiet_hours", rf"^{_TIME}-{_TIME}$", "Quiet hours: two times of day, "
                "start-end (may wrap midnight).", "22:00-08:00")
REENTRY = _string("reentry_rule", rf"^{_BLANK}(never|always|after\s+{DURATION_PATTERN}){_BLANK}$",
                  "never, always, or after a duration.", "after 30d")
PERCENT = Scalar("percent", {"anyOf": [
    {"type": "number", "minimum": 0, "maximum": 100},
    {"type": "string", "pattern": rf"^{_BLANK}{_PERCENT_UP_TO_100}{_BLANK}$"}]},
    "A percentage from 0% to 100% (a bare number is read as a percentage).", "5%")
KPI_PERCENT = Scalar("kpi_percent", {"anyOf": [
    {"type": "number"}, {"type": "string", "pattern": rf"^{_BLANK}{PERCENT_PATTERN}{_BLANK}$"}]},
    "A percentage such as 28% (or a bare number).", "28%")
INTEGER = Scalar("integer", {"type": "integer"}, "A whole number.", 3)
COUNT = Scalar("count", {"type": "integer", "minimum": 1, "maximum": MAX_WHOLE},
               "A whole number from 1 to 2,147,483,647 (a version, a cap).", 3)
DAY = Scalar("day", {"type": "integer", "minimum": 0, "maximum": MAX_DURATION // 86400},
             "A day counted from the entry, from 0 to 3650.", 7)
AMOUNT = Scalar("amount", {"type": "integer", "minimum": 0, "maximum": MAX_WHOLE},
                "A whole number from 0 to 2,147,483,647 (a capacity, expected entries).", 40)
NUMBER = Scalar("number", {"type": "number"}, "A number.", 10)
FLAG = Scalar("flag", {"type": "boolean"}, "true or false.", True)
LITERAL = Scalar("literal", {"type": ["string", "number", "boolean", "null"]},
                 "A string, number, true, false or null.", "CART10")
# a channel is a name to the reader (the linter checks it); the schema lists the channels the
# configuration declares
CHANNEL = _string("channel", rf"^{WORD}$", "A channel (the configuration's `channels`).", "wecom")
TYPE = Scalar("type", {"type": "string", "enum": list(ATTRIBUTE_TYPES)},
              "An attribute's type.", ATTRIBUTE_TYPES[0])
PARAM_REF = _string("parameter", r"^\$[A-Za-z_][A-Za-z0-9_]*$", "A fragment's parameter, "
                    "$name, written unquoted (only a fragment's body may use one).", "$channel")
PARAM_TYPE = Scalar("parameter_type", {"type": "string", "enum": list(PARAM_TYPES)},
                    "A fragment parameter's type.", "duration")
CAP_PERIOD = Scalar("cap_period", {"anyOf": [
    DURATION.json, {"type": "string",
                    "pattern": rf"^{_BLANK}calendar\s+({'|'.join(CALENDAR_UNITS)}){_BLANK}$"}]},
    "A window: a duration (any 7 days) or a calendar unit ('calendar day', 'calendar week').",
    "calendar day")
