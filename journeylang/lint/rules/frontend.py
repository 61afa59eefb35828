"""Codes the frontends report while reading a file; registered so they are listed and explained."""
from __future__ import annotations

from ...diagnostics import Severity
from ..registry import Rule, register

_FRONTEND_CODES = [
    ("JL000", "unreadable-file", "The file cannot be read or is not UTF-8 text.",
     "The file is missing, unreadable, or not UTF-8. Save journeys as UTF-8 text."),
    ("JL001", "syntax-error", "The DSL text does not follow the grammar.",
     "The parser met a token it did not expect. The message lists what it expected there;\n"
     "the caret marks the first token it could not use. Step labels cannot be keywords\n"
     "(send, wait, coupon, tag, exit, ...)."),
    ("JL002", "invalid-value", "A number, duration, time of day or percentage is malformed or "
     "out of range.",
     "Durations are a whole number of seconds written with a unit (30m, 2h, 7d, 2w), at most\n"
     "3650d; times of day are HH:MM from 00:00 to 23:59; percentages are between 0% and 100%;\n"
     "numbers lie within +-9,007,199,254,740,991; a version, cap, capacity or expected number\n"
     "of entries is a whole number from 1 to 2,147,483,647, and a period is longer than 0s\n"
     "(docs/language.md, Limits)."),
    ("JL003", "yaml-syntax-error", "The YAML text is not well-formed YAML.",
     "The YAML parser could not read the file; fix indentation, quoting or colons at the mark."),
    ("JL004", "yaml-structure-error", "The YAML is well-formed but not a journey.",
     "A key is unknown, missing or has the wrong type, or a step names no or several kinds;\n"
     "YAML tags (!!str, !custom) are not part of a journey."),
    ("JL005", "too-large", "A file, expression or YAML document exceeds a size or nesting limit.",
     "A file is at most 1 MiB; an expression nests at most 64 operations inside one another\n"
     "(each operator of a chain such as a + b + c counts as one level); a YAML document nests\n"
     "at most 64 levels and holds at most 200,000 values, aliases expanded\n"
     "(docs/language.md, Limits)."),
]

for _code, _name, _summary, _doc in _FRONTEND_CODES:
    register(Rule(_code, _name, Severity.ERROR, _summary, _doc))
