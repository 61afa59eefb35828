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
    ("JL002", "invalid-value", "A duration, time of day or percentage is malformed or out of range.",
     "Durations are a whole number of seconds written with a unit (30m, 2h, 7d, 2w);\n"
     "times of day are HH:MM from 00:00 to 23:59; percentages are between 0% and 100%."),
    ("JL003", "yaml-syntax-error", "The YAML text is not well-formed YAML.",
     "The YAML parser could not read the file; fix indentation, quoting or colons at the mark."),
    ("JL004", "yaml-structure-error", "The YAML is well-formed but not a journey.",
     "A key is unknown, missing or has the wrong type, or a step names no or several kinds."),
]

for _code, _name, _summary, _doc in _FRONTEND_CODES:
    register(Rule(_code, _name, Severity.ERROR, _summary, _doc))
