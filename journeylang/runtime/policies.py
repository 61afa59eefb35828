"""Runtime policies as pure functions: deterministic buckets, local time, quiet hours, caps.

Pure so that the simulator can call (or vectorise) exactly the same rules.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from functools import lru_cache
from itertools import count
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..semantics import MESSAGE_FAILED, MESSAGE_SENT
from .program import Arm, CapRule, Schedule

DAY = 86400


def bucket(seed: int | str, *parts: str) -> float:
    """A number in [0, 100) fixed by the seed and the parts: blake2b, never ``random``."""
    key = "\x1f".join([str(seed), *parts]).encode("utf-8")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64 * 100.0


def in_holdout(seed, journey_id: str, customer: str, percent: float | None) -> bool:
    """Whether a customer is in the journey's control group: the same answer for every entry."""
    return bool(percent) and bucket(seed, "holdout", journey_id, customer) < percent


def choose_arm(seed, journey_id: str, step_id: str, customer: str, arms: list[Arm]) -> Arm:
    """The split arm for a customer: arms own consecutive ranges of [0, 100) by weight."""
    point, edge = bucket(seed, "split", journey_id, step_id, customer), 0.0
    total = sum(arm.weight for arm in arms) or 100.0
    for arm in arms:
        edge += arm.weight * 100.0 / total
        if point < edge:
            return arm
    return arms[-1]


class Zones:
    """IANA time zones by name, cached; an unknown or missing name means the default zone."""

    def __init__(self, default: str = "UTC"):
        self.default = ZoneInfo(default)
        self._cache: dict[str, dt.tzinfo] = {}

    def get(self, name) -> dt.tzinfo:
        if not isinstance(name, str) or not name:
            return self.default
        zone = self._cache.get(name)
        if zone is None:
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                zone = self.default
            self._cache[name] = zone
        return zone


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False


def local_seconds(moment: float, zone: dt.tzinfo) -> float:
    """Seconds after local midnight."""
    offset = _whole_hour_offset(moment, zone)
    if offset is not None:
        return (moment + offset) % DAY
    local = dt.datetime.fromtimestamp(moment, zone)
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _whole_hour_offset(moment: float, zone: dt.tzinfo) -> int | None:
    """The zone's UTC offset in seconds at ``moment``, a whole second (the local clock is then
    ``moment`` plus it, exactly as ``datetime.fromtimestamp`` reads it), when the offset holds
    all through the UTC hour around it; else None (a fraction of a second, a clock change)."""
    if type(moment) is not float or not moment.is_integer():
        return None
    return _hour_offset(moment - moment % 3600, zone)


@lru_cache(maxsize=4096)  # the instants of a zone's customers fall in few hours
def _hour_offset(hour: float, zone: dt.tzinfo) -> int | None:
    """The zone's UTC offset in seconds if it is the same at every quarter of the hour from
    ``hour`` (clocks change at most once in an hour, and never back within it), else None."""
    try:
        offsets = {dt.datetime.fromtimestamp(hour + at, zone).utcoffset()
                   for at in (0, 900, 1800, 2700, 3599)}
    except (OverflowError, ValueError, OSError):
        return None  # past the dates datetime can show: the caller's own way raises
    offset = offsets.pop()
    if offsets or offset % dt.timedelta(seconds=1):
        return None
    return int(offset.total_seconds())


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()


@lru_cache(maxsize=4096)  # the runs of a zone move at the same instants (a timer, a local time)
def next_local_time(moment: float, minutes: int, zone: dt.tzinfo) -> float:
    """The first instant at or after ``moment`` when the local clock shows ``minutes``."""
    offset = _whole_hour_offset(moment, zone)
    day = dt.datetime.fromtimestamp(moment, zone).date() if offset is None else \
        dt.date.fromordinal(_EPOCH_DAY + int(moment + offset) // DAY)
    wanted = dt.time(minutes // 60, minutes % 60)
    for days in (0, 1, 2):  # 2: a day that skips the time (DST) moves it to the next one
        candidate = _local_instant(day + dt.timedelta(days=days), wanted, zone)
        if candidate >= moment:
            return candidate
    return moment + DAY


def next_occurrence(moment: float, schedule: Schedule, zone: dt.tzinfo) -> float:
    """The first occurrence of ``schedule`` strictly after ``moment``, in local time of ``zone``.

    Day 29-31 in a month without it falls on the month's last day (Feb 29 yearly: Feb 28 in
    other years). A local time that a DST change skips is read as zoneinfo does (the clock
    before the change: 02:30 on a spring-forward day is 03:30 after it); one that occurs twice
    is the first.
    """
    start = dt.datetime.fromtimestamp(moment, zone).date() - dt.timedelta(days=1)
    wanted = dt.time(schedule.minutes // 60, schedule.minutes % 60)
    for day in _schedule_dates(start, schedule):
        candidate = dt.datetime.combine(day, wanted, zone).timestamp()
        if candidate > moment:
            return candidate
    raise AssertionError("unreachable: schedule dates never end")


def _schedule_dates(start: dt.date, schedule: Schedule) -> Iterator[dt.date]:
    """The schedule's dates from ``start`` on, in order (forever)."""
    if schedule.every in ("day", "week"):
        days = set(schedule.weekdays) if schedule.every == "week" else set(range(7))
        for offset in count():
            day = start + dt.timedelta(days=offset)
            if day.weekday() in days:
                yield day
        return
    step = {"month": 1, "quarter": 3, "year": 12}[schedule.every]
    first = schedule.month if schedule.every == "year" else 1
    month_index = start.year * 12 + start.month - 1
    month_index -= (month_index - (first - 1)) % step  # back to a month the schedule uses
    for index in count(month_index, step):
        year, month = divmod(index, 12)
        last = calendar.monthrange(year, month + 1)[1]
        day = dt.date(year, month + 1, min(schedule.day, last))
        if day >= start:
            yield day


def in_quiet(now, quiet: tuple[int, int]):
    """Whether ``now`` (seconds after local midnight: a number, or a numpy array of them) is
    inside quiet hours (which may wrap midnight)."""
    start, end = quiet[0] * 60, quiet[1] * 60
    return (start <= now) & (now < end) if start <= end else (now >= start) | (now < end)


# (local day, quiet hours, zone) -> (since, end): a send at any instant from ``since`` to before
# ``end`` of that local day, inside quiet hours, waits until ``end`` (see quiet_until)
_SPELLS: dict[tuple, tuple[float, float]] = {}
SPELLS_KEPT = 4096


def quiet_until(moment: float, quiet: tuple[int, int] | None, zone: dt.tzinfo) -> float | None:
    """When a send at ``moment`` falls in quiet hours, the window's end; else None.

    The end is the first later instant the clock shows the window's end outside quiet hours:
    on a day the clocks skip that time (DST), the short window between two quiet spells can
    vanish, and the send waits for the next day's.

    The sends of a quiet spell mostly share its end, and it is remembered by local day: for a
    whole second whose zone offset holds through its UTC hour, ``next_local_time`` picks the
    first of that day's candidate ends at or after it; the candidates before an end found at
    ``since`` are all earlier than ``since``, so any later instant of the same local day before
    that end, inside quiet hours, gets the same end."""
    if quiet is None:
        return None
    offset = _whole_hour_offset(moment, zone)
    if offset is None:
        return _quiet_end(moment, quiet, zone)
    if not in_quiet((moment + offset) % DAY, quiet):
        return None
    key = (int(moment + offset) // DAY, quiet, zone)
    spell = _SPELLS.get(key)
    if spell is not None and spell[0] <= moment < spell[1]:
        return spell[1]
    end = next_local_time(moment, quiet[1], zone)
    if not (moment < end != moment + DAY and not in_quiet(local_seconds(end, zone), quiet)):
        return _quiet_end(moment, quiet, zone)  # a clock change in the way: from the start
    if len(_SPELLS) >= SPELLS_KEPT:
        _SPELLS.clear()
    _SPELLS[key] = moment, end
    return end


def _quiet_end(moment: float, quiet: tuple[int, int], zone: dt.tzinfo) -> float | None:
    """``quiet_until`` computed from ``moment`` alone."""
    if not in_quiet(local_seconds(moment, zone), quiet):
        return None
    at = moment
    for _ in range(3):
        at = next_local_time(at, quiet[1], zone)
        if at > moment and not in_quiet(local_seconds(at, zone), quiet):
            return at
        at += 60  # a minute on: the next day's end of the window
    return moment + DAY


def kpi_met(rate: float, baseline: float, target: float, against: str = "target") -> bool:
    """Whether ``rate`` reaches the target (or the baseline); a target below the baseline
    means lower is better."""
    bar = target if against == "target" else baseline
    return rate <= bar if target < baseline else rate >= bar


def count_send(sends: list, at: float, channel: str, journey_id: str, action_id: int,
               pending: bool) -> None:
    """Count a message towards the customer's caps: ``[at, channel, journey, action, pending]``
    (``pending``: not yet reported sent by the delivery worker)."""
    sends.append([at, channel, journey_id, action_id, pending])


def settle_send(sends: list, kind: str, data: dict, now: float) -> None:
    """What a delivery result (``semantics.DELIVERY_EVENTS``) changes in the messages a
    customer's caps count: a failed message no longer counts; a sent one counts from ``now``
    (the moment its result came). A message the caps do not count (transactional, or dropped
    by an opt-out) is left out."""
    if kind not in (MESSAGE_SENT, MESSAGE_FAILED):
        return  # delivered: it already counts since it was sent
    found = next((s for s in sends if len(s) > 3 and s[3] == data.get("action")), None)
    if found is None:
        return
    sends.remove(found)
    if kind == MESSAGE_SENT:
        count_send(sends, now, found[1], found[2], found[3], False)


def drop_pending(sends: list) -> None:
    """An opt-out cancels the messages not yet sent: they no longer count."""
    sends[:] = [s for s in sends if not (len(s) > 4 and s[4])]


def cap_reached(sends: list, now: float, channel: str, caps: list[CapRule],
                zone: dt.tzinfo | None = None) -> CapRule | None:
    """The first cap a send on ``channel`` at ``now`` would break, counting ``sends``
    (``[at, channel, journey, ...]``, every journey of the customer) in each rolling window, or
    since the start of the calendar day or week in ``zone`` for a calendar cap."""
    for cap in caps:
        channels = cap.channels
        if channels is not None and channel not in channels:
            continue
        if cap.calendar is None:
            since, count = now - cap.per, 0
            for send in sends:  # sent after ``since`` (a loop: no generator per cap and send)
                if send[0] > since and (channels is None or send[1] in channels):
                    count += 1
        else:
            since, count = calendar_start(now, cap.calendar, zone or dt.timezone.utc), 0
            for send in sends:  # sent at or after the start of the calendar unit
                if send[0] >= since and (channels is None or send[1] in channels):
                    count += 1
        if count >= cap.messages:
            return cap
    return None


def calendar_start(moment: float, unit: str, zone: dt.tzinfo) -> float:
    """The start of the local calendar day (or week, from Monday) holding ``moment``."""
    local = dt.datetime.fromtimestamp(moment, zone)
    day = local.date() - dt.timedelta(days=local.weekday() if unit == "week" else 0)
    return _local_instant(day, dt.time(0, 0), zone)


def day_after_entry(entered: float, day: int, minutes: int, zone: dt.tzinfo) -> float:
    """``minutes`` after local midnight on the ``day``-th day after the local date of
    ``entered`` (day 0 is the day of entry), in ``zone``."""
    date = dt.datetime.fromtimestamp(entered, zone).date() + dt.timedelta(days=day)
    return _local_instant(date, dt.time(minutes // 60, minutes % 60), zone)


@lru_cache(maxsize=4096)  # the customers of a zone wait for the same few local times a day
def _local_instant(date: dt.date, time: dt.time, zone: dt.tzinfo) -> float:
    """A local date and time as an instant (read as zoneinfo does: a time the clocks skip is
    the clock before the change, a time they repeat is the first), as next_occurrence does."""
    return dt.datetime.combine(date, time, zone).timestamp()
