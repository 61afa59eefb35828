"""Live stage: request bodies of the ingestion service turned into runtime events.

The endpoints follow the common customer-data conventions (a tracking API's ``track``,
``identify`` and ``batch`` calls): a ``messageId`` on every call makes it idempotent, the
customer is ``userId`` (else ``anonymousId``), ``properties`` become the event's data and
``traits`` (or ``context.traits``) its attributes. ``events`` takes the runtime's own form
(``journey run``'s JSON Lines objects). Every mistake is reported with the field it is in; a
batch is taken whole or not at all.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from ..runtime.events import Event, event_from_dict, iso, parse_time

IDENTIFY = "identify"  # the event type of an identify call
COMMON = ("messageId", "userId", "anonymousId", "timestamp", "context", "integrations", "sentAt",
          "originalTimestamp", "receivedAt", "channel", "version", "writeKey", "_metadata", "type")
FIELDS = {"track": COMMON + ("event", "properties", "traits"),
          IDENTIFY: COMMON + ("traits",)}
# the runtime's names in its messages, as a caller of the tracking API knows them
RENAMED = {"'id'": "'messageId'", "'type'": "'event'", "'customer'": "'userId'",
           "'at'": "'timestamp'", "'data'": "'properties'", "'attributes'": "'traits'"}
MAX_ERRORS = 20


class PayloadError(ValueError):
    """A request body that cannot be taken; ``errors`` are ``(where, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{where}: {message}" if where else message
                                   for where, message in errors))


@dataclass(frozen=True)
class Limits:
    max_batch: int = 2000
    future_tolerance: float = 300.0  # seconds an event's time may be ahead of the server's


def decode(body: bytes):
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError([("", f"the body is not JSON: {exc}")]) from None
    except RecursionError:
        raise PayloadError([("", "the body is nested too deeply")]) from None


def events_from(call: str, body: bytes, received: float, limits: Limits = Limits()) -> list[Event]:
    """The events of one request to ``call`` (track, identify, batch, events)."""
    raw = decode(body)
    if call in ("track", IDENTIFY):
        return [_message(call, raw, "", received, limits)]
    if call == "batch":
        items = raw.get("batch") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise PayloadError([("batch", "expected {\"batch\": [ ...calls... ]}")])
        return _all(items, "batch", limits, lambda item, where: _message(
            item.get("type") if isinstance(item, dict) else None, item, where, received, limits))
    items = raw if isinstance(raw, list) else [raw]
    return _all(items, "events" if isinstance(raw, list) else "", limits,
                lambda item, where: _native(item, where, received, limits))


def _all(items: list, name: str, limits: Limits, make) -> list[Event]:
    if len(items) > limits.max_batch:
        raise PayloadError([(name, f"{len(items)} events in one request; at most "
                                   f"{limits.max_batch}")])
    if not items:
        raise PayloadError([(name, "no events")])
    found, errors = [], []
    for index, item in enumerate(items):
        try:
            found.append(make(item, f"{name}[{index}]" if name else ""))
        except PayloadError as exc:
            errors.extend(exc.errors)
    if errors:
        raise PayloadError(errors[:MAX_ERRORS])
    return found


def _message(call, raw, where: str, received: float, limits: Limits) -> Event:
    at = f"{where}." if where else ""
    if call not in FIELDS:
        raise PayloadError([(f"{at}type", f"expected 'track' or 'identify', found {call!r}")])
    if not isinstance(raw, dict):
        raise PayloadError([(where, "expected an object")])
    unknown = [key for key in raw if key not in FIELDS[call]]
    if unknown:
        close = difflib.get_close_matches(unknown[0], FIELDS[call], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PayloadError([(at + unknown[0], f"unknown field{hint}")])
    customer = raw.get("userId") if raw.get("userId") not in (None, "") else raw.get("anonymousId")
    if raw.get("messageId") in (None, ""):
        raise PayloadError([(f"{at}messageId", "missing: every call needs a unique messageId "
                                               "(it makes retries safe)")])
    if customer in (None, ""):
        raise PayloadError([(f"{at}userId", "missing: give userId or anonymousId")])
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise PayloadError([(f"{at}context", "must be a JSON object")])
    traits = raw.get("traits", context.get("traits")) or {}
    fields = {"id": raw["messageId"], "customer": customer,
              "type": raw.get("event") if call == "track" else IDENTIFY,
              "at": _when(raw, at, received), "attributes": traits,
              "data": raw.get("properties") or {} if call == "track" else {}}
    if call == "track" and fields["type"] is None:
        raise PayloadError([(f"{at}event", "missing: the event's name, such as order_paid")])
    return _event(fields, at, received, limits, RENAMED)


def _when(raw: dict, at: str, received: float) -> str:
    """The event's time: ``timestamp``, corrected by the sender's clock error when the call
    says when it was sent (``sentAt``); the time it was received when it has none."""
    if raw.get("timestamp") is None:
        return iso(received)
    try:
        moment = parse_time(raw["timestamp"])
        if raw.get("sentAt") is not None:
            moment += received - parse_time(raw["sentAt"])
    except ValueError as exc:
        key = "sentAt" if raw.get("sentAt") is not None and "sentAt" in str(exc) else "timestamp"
        raise PayloadError([(f"{at}{key}", str(exc))]) from None
    return iso(moment)


def _native(raw, where: str, received: float, limits: Limits) -> Event:
    return _event(raw, f"{where}." if where else "", received, limits, {})


def _event(fields, at: str, received: float, limits: Limits, renamed: dict) -> Event:
    try:
        event = event_from_dict(fields)
    except ValueError as exc:
        message = str(exc)
        for ours, theirs in renamed.items():
            message = message.replace(ours, theirs)
        raise PayloadError([(at.rstrip("."), message)]) from None
    if event.at > received + limits.future_tolerance:
        ahead = event.at - received
        raise PayloadError([(f"{at}{'timestamp' if renamed else 'at'}",
                             f"{ahead:.0f} s ahead of the server's clock (at most "
                             f"{limits.future_tolerance:.0f} s): check the sender's clock")])
    event.at = min(event.at, received)  # a live runtime's time never runs ahead of the wall clock
    return event
