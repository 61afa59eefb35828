"""Runtime input: customer events, their JSON Lines form and its validation (errors name file:line)."""
from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import time
from pathlib import Path
from functools import lru_cache
from itertools import count
from typing import Iterator
from zoneinfo import ZoneInfo

import msgspec

from ..limits import EARLIEST_TIME, LATEST_TIME, MAX_EVENT_BYTES, MAX_NESTING
from ..source import has_surrogate

FIELDS = ("id", "type", "customer", "at", "attributes", "data")
REQUIRED = ("id", "type", "customer", "at")
_NAME = re.compile(r"^[^\W\d]\w*$")
UTC = dt.timezone.utc


class Event(msgspec.Struct, gc=False):
    """Something a customer did, or that happened to them.

    ``attributes`` updates the customer's profile before anything else (consent, time zone,
    tier...); ``data`` is the event's payload, read by conditions as ``event.x`` and, for
    business objects, as ``cart.x`` / ``order.x``. A struct, made in C (one per line read), and
    untracked by the cyclic collector: it holds JSON values only.
    """

    id: str
    type: str
    customer: str
    at: float  # seconds since the epoch, UTC
    attributes: dict = {}  # a new dict for each event
    data: dict = {}
    depth: int = 0  # 0 for ingested events, n for an event emitted by a chain of n emit steps
    origin_run: int | None = None  # the run that emitted it (which has already seen it)

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "customer": self.customer,
                           "at": iso(self.at), "attributes": self.attributes, "data": self.data},
                          ensure_ascii=False, sort_keys=False)


class EventError(ValueError):
    """A bad event line; ``str()`` is ``file:line: message``."""

    def __init__(self, file: str, line: int, message: str):
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")


@lru_cache(maxsize=4096)  # deadlines repeat: every customer of a zone waits until its 10:00
def iso(moment: float) -> str:
    """Seconds since the epoch as ISO-8601 UTC (``2026-03-01T09:30:00Z``)."""
    if moment == int(moment):  # the day's text, then the time of day's from two tables
        days, seconds = divmod(int(moment), 86400)
        return _iso_day(days) + _CLOCK[seconds // 60] + _SECONDS[seconds % 60]
    stamp = dt.datetime.fromtimestamp(moment, UTC)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}:" for minute in range(1440)]  # "09:30:"
_SECONDS = [f"{second:02d}Z" for second in range(60)]


@lru_cache(maxsize=1024)
def _iso_day(days: int) -> str:
    """``2026-03-01T``: the date of a day counted from the epoch."""
    return time.strftime("%Y-%m-%dT", time.gmtime(days * 86400))


def parse_time(text: str) -> float:
    """ISO-8601 to epoch seconds; a time without an offset is UTC. ValueError when malformed."""
    if not isinstance(text, str):
        raise ValueError("must be an ISO-8601 string such as 2026-03-01T09:30:00+08:00")
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time such as 2026-03-01T09:30:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        seconds = moment.timestamp()
    except (OverflowError, ValueError):  # year 1 or 9999 shifted out of range by its offset
        seconds = -math.inf
    if not EARLIEST_TIME <= seconds < LATEST_TIME:
        raise ValueError(f"{text!r} is out of range: times are from 1970-01-01 to 8999-12-31")
    return seconds


_FIELD_SET = frozenset(FIELDS)
_known_types: set[str] = set()


def event_from_dict(raw) -> Event:
    """Validate one decoded event; ValueError with a readable message when it is wrong."""
    if type(raw) is not dict:
        raise ValueError("an event must be a JSON object")
    if not _FIELD_SET.issuperset(raw):
        unknown = next(key for key in raw if key not in _FIELD_SET)
        close = difflib.get_close_matches(unknown, FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown field {unknown!r}{hint}; fields are {', '.join(FIELDS)}")
    ident, kind, customer, at = raw.get("id"), raw.get("type"), raw.get("customer"), raw.get("at")
    if ident is None or kind is None or customer is None or at is None:
        missing = next(key for key in REQUIRED if raw.get(key) is None)
        raise ValueError(f"missing field {missing!r}")
    if type(ident) is not str:
        ident = _identifier("id", ident)
    if type(customer) is not str:
        customer = _identifier("customer", customer)
    if not ident or not customer:
        raise ValueError(f"{'id' if not ident else 'customer'!r} must not be empty")
    if type(kind) is not str or kind not in _known_types:
        if not isinstance(kind, str) or not _NAME.match(kind):
            raise ValueError(f"'type' must be an event name such as order_paid, not "
                             f"{_short(kind)}")
        _known_types.add(kind)
    try:
        at = parse_time(at)
    except ValueError as exc:
        raise ValueError(f"'at': {exc}") from None
    attributes, data = raw.get("attributes"), raw.get("data")
    attributes = {} if attributes is None else attributes
    data = {} if data is None else data
    if type(attributes) is not dict or type(data) is not dict:
        name = "attributes" if type(attributes) is not dict else "data"
        raise ValueError(f"{name!r} must be a JSON object, not {_short(attributes if name == 'attributes' else data)}")
    if "timezone" in attributes:
        _check_zone(attributes["timezone"])
    return Event(ident, kind, customer, at, attributes, data)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _check_zone(name) -> None:
    """A profile's time zone is an IANA name (null removes it): an unknown one would quietly
    fall back to the default zone for every quiet hour and wait of that customer."""
    if name is not None and not (isinstance(name, str) and _known_zone(name)):
        raise ValueError(f"'attributes.timezone': unknown time zone {_short(name)}: use an IANA "
                         "name such as Asia/Shanghai")


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False


def _identifier(name: str, value) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name!r} must be a non-empty string or an integer")
    return str(value)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_raw_decode = json.JSONDecoder(parse_constant=_no_constant).raw_decode
# Half a surrogate pair can only come from a \uD800-\uDFFF escape (UTF-8 text holds none):
# lines without one (most, CJK text escaped or not) need no walk over their strings.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _decode(line: str):
    """One JSON value filling the line (json.loads without its per-call overhead)."""
    value, end = _raw_decode(line, len(line) - len(line.lstrip()))
    if end != len(line) and not line[end:].isspace():
        raise json.JSONDecodeError("Extra data", line, end)
    if line.count("{") + line.count("[") > MAX_NESTING and _depth(value) > MAX_NESTING:
        raise RecursionError  # as json itself does for deeper data
    if _SURROGATE_ESCAPE.search(line) and any(has_surrogate(text) for text in _strings(value)):
        raise ValueError("a \\u escape of half a surrogate pair is not a character")
    return value


# The fast path of a line: msgspec decodes the bytes straight into the event's fields, with
# their types checked in C (no dict of the whole line, no UTF-8 decoding first): 1.4 times as
# fast per line as orjson's dict and ``event_from_dict`` were. It takes a line only where json
# agrees with it on every value, and where the line holds a well-formed event of a known type:
# whole numbers stay exact (beyond 4,299 digits it refuses them), floats are rounded as json
# rounds them. A line that may nest deeper than MAX_NESTING, and whatever msgspec refuses (an
# unknown or missing field, an id given as a number, a null, NaN, half a surrogate pair, a byte
# order mark, bad UTF-8, blank or broken lines, Unicode spaces around the value) or the checks
# below doubt (an empty id, a type not seen before, a time or time zone to refuse), is read
# again by json and ``event_from_dict``, which give the error (file:line, column) or the event.
class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An event line as the fast path takes it: the fields of FIELDS with the usual types."""

    id: str
    type: str
    customer: str
    at: str
    attributes: dict = {}  # a new dict for each line
    data: dict = {}


_decode_line_fast = msgspec.json.Decoder(_Line).decode
# A JSON value nesting deeper than MAX_NESTING opens and closes more than MAX_NESTING
# containers: a line this short cannot (its brackets are not counted; most lines are short).
_SHALLOW = 2 * MAX_NESTING + 1
_FAST_REFUSED = (msgspec.MsgspecError, ValueError)  # ValueError: bad UTF-8


def _event_fast(raw: bytes) -> Event | None:
    """The event of a line that needs no check beyond what msgspec does, else None."""
    if len(raw) > _SHALLOW and raw.count(b"{") + raw.count(b"[") > MAX_NESTING:
        return None
    try:
        line = _decode_line_fast(raw)
    except _FAST_REFUSED:
        return None
    kind, attributes = line.type, line.attributes
    if not line.id or not line.customer or kind not in _known_types:
        return None
    try:
        if "timezone" in attributes:
            _check_zone(attributes["timezone"])
        return Event(line.id, kind, line.customer, parse_time(line.at), attributes, line.data)
    except ValueError:
        return None


def _depth(value) -> int:
    """How deeply JSON data nests (iteratively: the data may be deeper than the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


def _strings(value) -> Iterator[str]:
    """Every string in JSON data, keys included."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


READ_BUFFER = 1 << 20  # bytes read from the file at once (fewer system calls than 8 KiB)


def read_events(path: str | Path) -> Iterator[Event]:
    """Events from a JSON Lines file, lazily; blank lines are skipped; EventError names the line."""
    name = str(path)
    try:
        handle = open(path, "rb", buffering=READ_BUFFER)
    except OSError as exc:
        raise EventError(name, 0, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        for number in count(1):
            raw = handle.readline(MAX_EVENT_BYTES + 1)
            if not raw:
                return
            if len(raw) > MAX_EVENT_BYTES:
                raise EventError(name, number, f"an event is at most {MAX_EVENT_BYTES:,} bytes "
                                               "(one line)")
            event = _event_fast(raw)
            if event is not None:
                yield event
                continue
            decoded = _decode_line(name, number, raw)  # refused: json has the last word
            if decoded is _BLANK:
                continue
            try:
                yield event_from_dict(decoded)
            except ValueError as exc:
                raise EventError(name, number, str(exc)) from None


_BLANK = object()


def _decode_line(name: str, number: int, raw: bytes):
    """A line's JSON value by the json module (``_BLANK`` for a blank line); EventError when
    the line is not a JSON value."""
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise EventError(name, number, "not valid UTF-8 text") from None
    if line.isspace():
        return _BLANK
    try:
        return _decode(line)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at column {exc.colno}"
        raise EventError(name, number, message) from None
    except RecursionError:
        raise EventError(name, number, f"JSON nested more than {MAX_NESTING} levels "
                                       "deep") from None
    except ValueError as exc:  # NaN, Infinity, a number of more than 4,300 digits
        raise EventError(name, number, f"not valid JSON: {exc}") from None


def write_events(events, path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(event.to_json() + "\n")
