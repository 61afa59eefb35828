"""Runtime persistence, reading: the rows of a state file, checked as they are read back.

A state file can be edited by hand or damaged. Every value the runtime (or ``journey status``)
reads from it is checked for what it must be; a problem is a StoreError naming the file, the
table, the row and the column, never a traceback further on.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .database import StoreError
from .state import (ACTIVE, BREACHED, ENDED, HIT, HOLDOUT, MET, MISSED, OPEN, RUN_TIMERS,
                    Observation, Run, Sla, Timer)

TIMER_KINDS = ("wake", "timeout", "quiet", "holdout", "sla", "kpi", "schedule")
# where a pending timer is kept: its sequence number's, due time's and step's columns
TIMER_SOURCES = {"timers": ("seq", "due", "step"), "runs": ("timer", "timer_due", "step"),
                 "slas": ("timer", "due", "step"), "observations": ("timer", "due", "kpi")}
WAITING = (None, "time", "event", "quiet", "holdout")
WHOLE_META = ("ids_indexed",)  # meta values that are whole numbers besides the counters


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_decode = json.JSONDecoder(parse_constant=_no_constant).decode


class RowReader:
    """Checks the values read from one state file."""

    def __init__(self, path: str | Path):
        self.path = path

    def fail(self, table: str, key, column: str, problem: str):
        raise StoreError(f"{self.path}: damaged state: table {table!r}, row {key!r}, column "
                         f"{column!r}: {problem}")

    # --- values -------------------------------------------------------------------------------

    def json(self, table: str, key, column: str, text, kind: type = dict):
        """Stored JSON of type ``kind`` (an object by default)."""
        if not isinstance(text, str):
            self.fail(table, key, column, f"expected JSON text, found {type(text).__name__}")
        try:
            value = _decode(text)
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            self.fail(table, key, column, f"not valid JSON ({reason})")
        if not isinstance(value, kind):
            self.fail(table, key, column, f"expected a JSON {_KINDS[kind]}, found "
                                          f"{type(value).__name__}")
        return value

    def number(self, table: str, key, column: str, value, optional: bool = False):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            self.fail(table, key, column, f"expected a finite number, found {value!r}")
        return float(value)

    def whole(self, table: str, key, column: str, value, optional: bool = False):
        if (value is None and optional) or type(value) is int:
            return value
        self.fail(table, key, column, f"expected a whole number, found {value!r}")

    def text(self, table: str, key, column: str, value, optional: bool = False,
             choices: tuple | None = None):
        if value is None and optional:
            return None
        if not isinstance(value, str) or (choices is not None and value not in choices):
            expected = "text" if choices is None else "one of " + ", ".join(
                str(c) for c in choices if c is not None)
            self.fail(table, key, column, f"expected {expected}, found {value!r}")
        return value

    # --- rows ---------------------------------------------------------------------------------

    def customer(self, ident: str, profile: str, state: str) -> tuple[dict, list, dict, dict]:
        """(profile, sends, entries, events) of a ``customers`` row."""
        found = self.json("customers", ident, "profile", profile)
        kept = self.json("customers", ident, "state", state)
        sends, entries, events = kept.get("sends"), kept.get("entries"), kept.get("events", {})
        if not isinstance(sends, list) or not all(
                isinstance(s, list) and len(s) in (3, 5) and _finite(s[0])
                and isinstance(s[1], str) for s in sends):
            self.fail("customers", ident, "state", "'sends' must be a list of [time, channel, "
                                                   "journey, action, pending]")
        if not isinstance(entries, dict) or not all(
                isinstance(e, list) and len(e) == 2 and type(e[0]) is int and _finite(e[1])
                for e in entries.values()):
            self.fail("customers", ident, "state", "'entries' must map journeys to [count, "
                                                   "time]")
        if not isinstance(events, dict) or not all(
                isinstance(kept_events, list) and all(
                    isinstance(e, list) and len(e) == 2 and _finite(e[0]) for e in kept_events)
                for kept_events in events.values()):
            self.fail("customers", ident, "state", "'events' must map event types to [[time, "
                                                   "data]]")
        return found, sends, entries, events

    def run(self, row) -> Run:
        (ident, customer, journey_id, content_hash, status, holdout, stage, step, waiting, timer,
         entered_at, step_at, ended_at, outcome, context, event, local, timer_due) = row
        at = ("runs", ident)
        local = self.json(*at, "locals", local)
        variables, milestones = local.get("vars", {}), local.get("milestones", {})
        arms, key = local.get("arms", {}), local.get("key")
        if not all(isinstance(part, dict) for part in (variables, milestones, arms)):
            self.fail(*at, "locals", "'vars', 'milestones' and 'arms' must be JSON objects")
        if key is not None and type(key) not in (str, int, float, bool):
            self.fail(*at, "locals", "'key' must be a string, a number or true/false")
        return Run(
            self.whole(*at, "id", ident), self.text(*at, "customer", customer),
            self.text(*at, "journey_id", journey_id), self.text(*at, "content_hash", content_hash),
            self.number(*at, "entered_at", entered_at),
            self.text(*at, "status", status, choices=(ACTIVE, HOLDOUT, ENDED)),
            bool(self.whole(*at, "holdout", holdout)), self.text(*at, "stage", stage, True),
            self.text(*at, "step", step, True),
            self.text(*at, "waiting", waiting, True, choices=WAITING),
            self.whole(*at, "timer", timer, True), self.number(*at, "step_at", step_at, True),
            self.number(*at, "ended_at", ended_at, True), self.text(*at, "outcome", outcome, True),
            self.json(*at, "context", context), self.json(*at, "event", event), variables,
            milestones, tuple(row), arms, key,
            self.number(*at, "timer_due", timer_due, True))

    def timer(self, row) -> Timer:
        """A pending timer: a ``timers`` row, and optionally the table it is kept in (a run's,
        an SLA's or a KPI observation's is in its owner's row: problems name that row)."""
        seq, due, run_id, customer, kind, step, *source = row
        table = source[0] if source else "timers"
        columns = TIMER_SOURCES[table]
        at = (table, seq if table == "timers" else run_id)
        if table == "runs" and kind not in RUN_TIMERS:
            self.fail(*at, "waiting", f"expected one of time, event, quiet, holdout for a run "
                                      f"with a timer, found {kind!r}")
        return Timer.from_row((self.whole(*at, columns[0], seq),
                               self.number(*at, columns[1], due),
                               self.whole(*at, "id" if source else "run_id", run_id),
                               self.text(*at, "customer", customer),
                               self.text(*at, "kind", kind, choices=TIMER_KINDS),
                               self.text(*at, columns[2], step, True)))

    def continued(self, key, text) -> list | None:
        """A ``history`` row's ``continued`` column: a list of ``[step, what, why, detail]``
        (trailing nulls may be left out), or null."""
        if text is None:
            return None
        entries = self.json("history", key, "continued", text, list)
        for entry in entries:
            if not (isinstance(entry, list) and 2 <= len(entry) <= 4
                    and isinstance(entry[1], str)
                    and all(part is None or isinstance(part, str) for part in entry)):
                self.fail("history", key, "continued", "expected a list of [step, what, why, "
                                                       f"detail], found {entry!r}")
        return entries

    def record(self, table: str, row) -> Sla | Observation:
        """An ``slas`` or ``observations`` row: the same shape, but for one column."""
        ident, customer, run_id, journey_id, name, *rest = row
        at = (table, ident)
        what = "step" if table == "slas" else "content_hash"
        head = (self.whole(*at, "id", ident), self.text(*at, "customer", customer),
                self.whole(*at, "run_id", run_id), self.text(*at, "journey_id", journey_id),
                self.text(*at, what, name))
        if table == "slas":
            role, opened, due, status, closed, timer = rest
            middle = (self.text(*at, "role", role),)
            statuses = (OPEN, MET, BREACHED)
        else:
            kpi, opened, due, status, closed, timer = rest
            middle = (self.text(*at, "kpi", kpi),)
            statuses = (OPEN, HIT, MISSED)
        tail = (self.number(*at, "opened", opened), self.number(*at, "due", due),
                self.text(*at, "status", status, choices=statuses),
                self.number(*at, "closed", closed, True), self.whole(*at, "timer", timer, True))
        return (Sla if table == "slas" else Observation)(*head, *middle, *tail, tuple(row))

    def meta(self, meta: dict) -> dict:
        """The ``meta`` table: counters (and WHOLE_META) are whole numbers, the clock a
        number."""
        for key, value in meta.items():
            if (key.startswith("next_") or key in WHOLE_META) \
                    and not (isinstance(value, str) and value.isdigit()):
                self.fail("meta", key, "value", f"expected a whole number, found {value!r}")
        clock = meta.get("clock", "-inf")
        try:
            moment = float(clock)
        except (TypeError, ValueError):
            moment = math.nan
        if math.isnan(moment) or moment == math.inf:
            self.fail("meta", "clock", "value", f"expected a time in seconds, found {clock!r}")
        return meta


_KINDS = {dict: "object", list: "list"}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
