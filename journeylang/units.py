"""Literal units shared by both syntaxes: durations, times of day, percentages."""
from __future__ import annotations

import datetime as dt
import re

UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# what each literal looks like (the JSON Schema of the YAML form uses the same patterns)
DURATION_PATTERN = r"(\d+(?:\.\d+)?)([wdhms])"
TIME_PATTERN = r"(\d{1,2}):(\d{2})"
VALID_TIME_PATTERN = r"([01]?\d|2[0-3]):[0-5]\d"  # TIME_PATTERN within 00:00-23:59
PERCENT_PATTERN = r"(\d+(?:\.\d+)?)%"
_DURATION = re.compile(rf"^{DURATION_PATTERN}$")
_TIME = re.compile(rf"^{TIME_PATTERN}$")
_PERCENT = re.compile(rf"^{PERCENT_PATTERN}$")


def parse_duration(text: str) -> int:
    """``"90m"`` -> 5400 seconds. Raises ValueError with a readable message."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"invalid duration {text!r}: write a number and a unit, e.g. 30m, 2h, 7d")
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds != int(seconds):
        raise ValueError(f"invalid duration {text!r}: it must be a whole number of seconds")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """5400 -> ``"90m"``: the largest unit that divides the duration exactly (days, not weeks)."""
    for unit, size in UNIT_SECONDS.items():
        if unit != "w" and seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return "0s"


def format_span(seconds: float) -> str:
    """A length of time in days, hours and minutes, for messages: ``8d 1h``, ``45m``."""
    minutes = int(seconds) // 60
    parts = [(minutes // 1440, "d"), (minutes // 60 % 24, "h"), (minutes % 60, "m")]
    return " ".join(f"{n}{unit}" for n, unit in parts if n) or f"{int(seconds)}s"


def parse_time(text: str) -> dt.time:
    """``"22:00"`` -> time(22, 0)."""
    match = _TIME.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"invalid time of day {text!r}: use HH:MM between 00:00 and 23:59")
    return dt.time(int(match.group(1)), int(match.group(2)))


def format_time(moment: dt.time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def parse_percent(text: str | int | float, bounded: bool = True) -> float:
    """``"5%"`` (or a bare number) -> 5.0; ``bounded`` requires 0-100."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _PERCENT.match(str(text).strip())
        if not match:
            raise ValueError(f"invalid percentage {text!r}: write e.g. 5%")
        value = float(match.group(1))
    if bounded and not 0 <= value <= 100:
        raise ValueError(f"invalid percentage {text!r}: it must be between 0% and 100%")
    return value


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
