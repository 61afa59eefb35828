"""How far apart the occurrences of a schedule are (``entry every ...``, ``wait until next
...``): the shortest, mean and longest gap."""
from __future__ import annotations

import calendar
import datetime as _dt
from functools import lru_cache
from itertools import pairwise

from ..ast import Schedule

DAY = 86400


def shortest_gap(schedule: Schedule) -> int:
    """The shortest time in seconds between two occurrences (months clamp to their last day)."""
    return min(_gaps(schedule))


def longest_gap(schedule: Schedule) -> int:
    """The longest time in seconds between two occurrences."""
    return max(_gaps(schedule))


def mean_gap(schedule: Schedule) -> float:
    """The average time in seconds between two occurrences."""
    if schedule.every == "week":
        return 7 * DAY / max(1, len(schedule.weekdays))
    return DAY * {"day": 1, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}[schedule.every]


@lru_cache(maxsize=256)
def _gaps(schedule: Schedule) -> tuple[int, ...]:
    """The times between successive occurrences over five years (2024: a leap year)."""
    if schedule.every == "day":
        return (DAY,)
    if schedule.every == "week":
        days = sorted(schedule.weekdays) or [0]
        return tuple(DAY * (b - a) for a, b in zip(days, days[1:] + [days[0] + 7]))
    step = {"month": 1, "quarter": 3, "year": 12}[schedule.every]
    first = (schedule.month or 1) - 1 if schedule.every == "year" else 0
    dates = [_clamped(2024 + index // 12, index % 12 + 1, schedule.day or 1)
             for index in range(first, first + 12 * 5, step)]
    return tuple(DAY * (b - a).days for a, b in pairwise(dates))


def _clamped(year: int, month: int, day: int) -> _dt.date:
    return _dt.date(year, month, max(1, min(day, calendar.monthrange(year, month)[1])))
