"""Literal units shared by both syntaxes: durations, times of day, percentages."""
from __future__ import annotations

import datetime as dt
import math
import re

from .limits import MAX_DURATION, MAX_NUMBER, MAX_WHOLE

UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# what each literal looks like (the JSON Schema of the YAML form uses the same patterns)
DURATION_PATTERN = r"(\d+(?:\.\d+)?)([wdhms])"
TIME_PATTERN = r"(\d{1,2}):(\d{2})"
VALID_TIME_PATTERN = r"([01]?\d|2[0-3]):[0-5]\d"  # TIME_PATTERN within 00:00-23:59
PERCENT_PATTERN = r"(\d+(?:\.\d+)?)%"
_DURATION = re.compile(rf"^{DURATION_PATTERN}$")
_TIME = re.compile(rf"^{TIME_PATTERN}$")
_PERCENT = re.compile(rf"^{PERCENT_PATTERN}$")
_NUMBER = re.compile(r"^(\d+)(\.\d+)?$")
_LONGEST = 16  # digits before the point: more is out of every range here


def shown(text: str, keep: int = 24) -> str:
    """A literal as a message quotes it: a very long one is cut, with its length."""
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text):,} characters)"


def parse_duration(text: str) -> int:
    """``"90m"`` -> 5400 seconds. Raises ValueError with a readable message."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"invalid duration {shown(text)!r}: write a number and a unit, e.g. "
                         "30m, 2h, 7d")
    if len(match.group(1).split(".")[0]) > _LONGEST:
        seconds = math.inf
    else:
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION:
        raise ValueError(f"invalid duration {shown(text)!r}: at most {MAX_DURATION // 86400}d "
                         "(ten years)")
    if seconds != int(seconds):
        raise ValueError(f"invalid duration {text!r}: it must be a whole number of seconds")
    return int(seconds)


def parse_period(text: str) -> int:
    """A duration that a count is taken over (``cap 3 messages per 7d``): longer than 0."""
    seconds = parse_duration(text)
    if seconds == 0:
        raise ValueError(f"invalid period {text!r}: it must be longer than 0s")
    return seconds


def parse_whole(text: str, what: str, low: int = 0, high: int = MAX_WHOLE) -> int:
    """A whole number written in digits (``version 3``) between ``low`` and ``high``."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) > _LONGEST or not low <= int(digits) <= high:
        raise ValueError(f"invalid {what} {shown(digits)}: it must be a whole number between "
                         f"{low:,} and {high:,}")
    return int(digits)


def parse_number(text: str) -> int | float:
    """A number literal (``12``, ``19.9``) within +-MAX_NUMBER: a whole number stays an int."""
    match = _NUMBER.match(text.strip())
    if not match:
        raise ValueError(f"invalid number {shown(text)!r}")
    whole, fraction = match.groups()
    value = math.inf if len(whole) > _LONGEST else float(text) if fraction else int(whole)
    return check_number(value, text)


def check_number(value: int | float, text: str | None = None) -> int | float:
    """``value`` when it is finite and within +-MAX_NUMBER; ValueError otherwise."""
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_NUMBER:
        written = shown(text if text is not None else repr(value))
        raise ValueError(f"number {written} is out of range: numbers are between "
                         f"-{MAX_NUMBER:,} and {MAX_NUMBER:,}")
    return value


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
    written = shown(text) if isinstance(text, str) else text
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text) if abs(text) <= MAX_NUMBER else math.inf
    else:
        match = _PERCENT.match(str(text).strip())
        if not match:
            raise ValueError(f"invalid percentage {written!r}: write e.g. 5%")
        value = float(match.group(1))  # inf for an absurdly long one
    if bounded and not 0 <= value <= 100:
        raise ValueError(f"invalid percentage {written!r}: it must be between 0% and 100%")
    return float(check_number(value, str(written)))


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
