"""Vectorised simulation: local time of many customers at once, per time zone, DST included.

Offsets come from zoneinfo: every change of a zone's UTC offset over the simulated span is
found once (hourly scan, then bisection to the second), so ``local_seconds`` is a table lookup.
``next_local_time``, ``calendar_start`` and ``day_after_entry`` read a table of the instants each
local day shows a given time, computed with ``datetime.combine`` as ``runtime.policies`` does, so
DST gaps and folds resolve exactly as in the runtime.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ...runtime.policies import Zones, in_quiet, next_occurrence

DAY = 86400
HOUR = 3600
EPOCH = dt.date(1970, 1, 1).toordinal()


def _offset(zone: dt.tzinfo, moment: float) -> float:
    return dt.datetime.fromtimestamp(moment, zone).utcoffset().total_seconds()


def _transitions(zone: dt.tzinfo, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Instants at which the zone's offset changes in [start, end], and the offsets from them."""
    moments, offsets = [start], [_offset(zone, start)]
    for hour in np.arange(start + HOUR, end + HOUR, HOUR):
        current = _offset(zone, float(hour))
        if current == offsets[-1]:
            continue
        low, high = float(hour) - HOUR, float(hour)   # offset(low) is the old one
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if _offset(zone, middle) == offsets[-1] else (low, middle)
        moments.append(high)
        offsets.append(current)
    return np.array(moments), np.array(offsets)


def _zones(codes: np.ndarray, count: int):
    """(zone code, customers of the zone) for the zones present; None for the customers when
    every one is of that zone (``count``: how many codes there are)."""
    if count == 1 or not len(codes):
        return [(0, None)]
    low = int(codes.min())
    if low == codes.max():   # no sort needed
        return [(low, None)]
    present = np.unique(codes).tolist()
    if len(present) == 1:
        return [(present[0], None)]
    return [(code, np.flatnonzero(codes == code)) for code in present]


def _mod_day(local: np.ndarray) -> np.ndarray:
    """``np.mod(local, DAY)`` to the bit, several times faster: ``local - m * DAY`` with ``m``
    the floor of the rounded quotient, which is the true floor or one above it (then the
    difference is below 0 and one DAY is added back). ``m * DAY`` is a whole number and the
    difference lies within a DAY of it, so each step is exact, or the one rounding that
    ``np.mod``'s own ``fmod(local, DAY) + DAY`` makes."""
    found = np.floor(local / DAY)
    found *= DAY
    np.subtract(local, found, out=found)
    np.add(found, DAY, out=found, where=found < 0)
    return found


class ZoneClock:
    """Local clocks for customers by zone index (``codes``) over [start, end] (epoch seconds)."""

    def __init__(self, names: list[str | None], start: float, end: float, default: str = "UTC"):
        zones = Zones(default)
        self.zones = [zones.get(name) for name in names]
        self.zone_keys = [zone.key for zone in self.zones]   # the runtime's zone of a timer
        self._schedules: dict[tuple, np.ndarray] = {}
        self._alike_of: dict[tuple, np.ndarray] = {}   # (what, ...) -> ``_alike``
        self._closed: dict = {}   # schedule -> ``_closed_occurrences``
        self.start, self.end = start - 9 * DAY, end + 3 * DAY   # a calendar week before the start
        self.tables = [_transitions(z, self.start, self.end) for z in self.zones]
        # every zone at one offset over the span: offsets are a lookup by zone
        self._fixed = np.array([offsets[0] for _, offsets in self.tables]) \
            if all(len(starts) == 1 for starts, _ in self.tables) else None
        self._days: dict[tuple[int, int], tuple[int, np.ndarray]] = {}

    def offsets(self, moments: np.ndarray, codes: np.ndarray) -> np.ndarray:
        if self._fixed is not None:
            return self._fixed[codes]
        found = np.zeros(len(moments))
        for code, (starts, offsets) in enumerate(self.tables):
            mine = codes == code
            if mine.any():
                where = np.searchsorted(starts, moments[mine], side="right") - 1
                found[mine] = offsets[np.maximum(where, 0)]
        return found

    def local_seconds(self, moments: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Seconds after local midnight (as ``policies.local_seconds``)."""
        return _mod_day(moments + self.offsets(moments, codes))

    def _showing(self, code: int, minutes: int) -> tuple[int, np.ndarray]:
        """For each local day of the span: when the zone's clock shows ``minutes`` that day."""
        key = (code, minutes)
        if key not in self._days:
            zone = self.zones[code]
            first = dt.datetime.fromtimestamp(self.start, zone).date()
            last = dt.datetime.fromtimestamp(self.end, zone).date() + dt.timedelta(days=3)
            wanted = dt.time(minutes // 60, minutes % 60)
            days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
            moments = [dt.datetime.combine(day, wanted, zone).timestamp() for day in days]
            self._days[key] = (first.toordinal(), np.array(moments))
        return self._days[key]

    def next_local_time(self, moments: np.ndarray, minutes: int, codes: np.ndarray) -> np.ndarray:
        """The first instant at or after each moment when the local clock shows ``minutes``
        (the zone's table of those instants is in increasing order: a bisection finds it)."""
        if self._fixed is not None:
            found = self._next_at_fixed_offsets(moments, minutes, codes)
            if found is not None:
                return found
        found = moments + DAY   # beyond the span
        tables = [self._showing(code, minutes)[1] for code in range(len(self.zones))]
        alike = self._alike(("showing", minutes), tables)
        for code, mine in _zones(alike[codes], len(tables)):
            table = tables[code]
            at = moments if mine is None else moments[mine]
            index = np.searchsorted(table, at, side="left")
            inside = index < len(table)
            chosen = np.where(inside, table[np.minimum(index, len(table) - 1)], at + DAY)
            if mine is None:
                return chosen
            found[mine] = chosen
        return found

    def _next_at_fixed_offsets(self, moments, minutes: int, codes):
        """``next_local_time`` when every zone keeps one offset over the span: the clock shows
        ``minutes`` at ``k * DAY + minutes * 60 - offset`` (whole seconds, exact in doubles),
        the least such instant at or after each moment, with no table. None when one falls
        after the span (the tables say what happens there)."""
        offset = self._fixed[codes] if len(self._fixed) > 1 else self._fixed[0]
        target = minutes * 60.0
        found = np.ceil((moments + offset - target) / DAY) * DAY + target - offset
        found += DAY * (found < moments)          # the division's rounding, either way
        found -= DAY * (found - DAY >= moments)
        return found if not len(found) or found.max() <= self.end else None

    def _dates(self, moments: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The local date of each moment, as a proleptic Gregorian ordinal."""
        local = moments + self.offsets(moments, codes)
        return np.floor(local / DAY).astype(np.int64) + EPOCH

    def _on_dates(self, ordinals: np.ndarray, minutes: int, codes: np.ndarray) -> np.ndarray:
        """When each local date (an ordinal) shows ``minutes`` on the clock; +inf for a date
        after the span (the moment is beyond the horizon)."""
        found = np.full(len(ordinals), np.inf)
        for code in np.unique(codes):
            mine = np.flatnonzero(codes == code)
            first, table = self._showing(int(code), minutes)
            index = ordinals[mine] - first
            if (index < 0).any():
                raise ValueError("a local date before the clock's span")
            inside = index < len(table)
            found[mine[inside]] = table[index[inside]]
        return found

    def calendar_start(self, moments: np.ndarray, unit: str, codes: np.ndarray) -> np.ndarray:
        """The start of the local calendar day (or week, from Monday) holding each moment
        (``policies.calendar_start``)."""
        dates = self._dates(moments, codes)
        if unit == "week":
            dates = dates - (dates - 1) % 7   # ordinal 1 is a Monday
        return self._on_dates(dates, 0, codes)

    def day_after_entry(self, entered: np.ndarray, day: int, minutes: int,
                        codes: np.ndarray) -> np.ndarray:
        """``minutes`` after local midnight on the ``day``-th local date after each entry
        (``policies.day_after_entry``)."""
        return self._on_dates(self._dates(entered, codes) + day, minutes, codes)

    def occurrences(self, schedule) -> list[np.ndarray]:
        """Per zone, every occurrence of ``schedule`` over the span, in order (the instants
        ``policies.next_occurrence`` chooses from)."""
        return [self._occurrences(schedule, code) for code in range(len(self.zones))]

    def _occurrences(self, schedule, code: int) -> np.ndarray:
        key = (schedule, code)
        if key not in self._schedules:
            zone, found, moment = self.zones[code], [], self.start
            while moment <= self.end:   # the runtime's own rule, occurrence after occurrence
                moment = next_occurrence(moment, schedule, zone)
                found.append(moment)
            self._schedules[key] = np.array(found)
        return self._schedules[key]

    def _closed_occurrences(self, schedule) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per zone, the schedule's occurrences, and the same closed by inf (one gather finds
        an index's occurrence, or inf past the last)."""
        found = self._closed.get(schedule)
        if found is None:
            tables = self.occurrences(schedule)
            found = self._closed[schedule] = (tables, [np.append(t, np.inf) for t in tables])
        return found

    def next_occurrence(self, moments: np.ndarray, schedule, codes: np.ndarray) -> np.ndarray:
        """The first occurrence of ``schedule`` strictly after each moment
        (``policies.next_occurrence``); +inf beyond the span."""
        found = np.full(len(moments), np.inf)
        tables, closed = self._closed_occurrences(schedule)
        alike = self._alike(("occurrences", schedule), tables)
        for code, mine in _zones(alike[codes], len(tables)):
            index = np.searchsorted(tables[code], moments if mine is None else moments[mine],
                                    side="right")
            values = closed[code][index]   # past the last occurrence: the inf closing the table
            if mine is None:
                return values
            found[mine] = values
        return found

    def _alike(self, key: tuple, tables: list[np.ndarray]) -> np.ndarray:
        """Per zone, the first zone whose table (of ``key``) is the same as its own: zones
        whose clocks agree over the span (Asia/Shanghai and Asia/Singapore) are searched as
        one."""
        found = self._alike_of.get(key)
        if found is None:
            found = np.array([next(o for o in range(code + 1) if np.array_equal(tables[o], table))
                              for code, table in enumerate(tables)], dtype=np.int64)
            self._alike_of[key] = found
        return found

    def quiet_until(self, moments: np.ndarray, quiet: tuple[int, int] | None,
                    codes: np.ndarray) -> np.ndarray:
        """The end of the quiet window for moments inside it, else NaN (``policies.quiet_until``)."""
        if quiet is None or len(moments) == 0:
            return np.full(len(moments), np.nan)
        inside = self._in_quiet(moments, quiet, codes)
        found = np.full(len(moments), np.nan)
        if not inside.any():
            return found
        moments, codes = moments[inside], codes[inside]
        until, searching = moments.copy(), np.ones(len(moments), dtype=bool)
        for _ in range(3):  # as the runtime: a window that DST makes vanish moves to the next day
            until[searching] = self.next_local_time(until[searching], quiet[1], codes[searching])
            bad = (until <= moments) | self._in_quiet(until, quiet, codes)
            searching &= bad
            until[searching] += 60
        until[searching] = moments[searching] + DAY
        found[inside] = until
        return found

    def _in_quiet(self, moments: np.ndarray, quiet: tuple[int, int], codes: np.ndarray) -> np.ndarray:
        return in_quiet(self.local_seconds(moments, codes), quiet)
