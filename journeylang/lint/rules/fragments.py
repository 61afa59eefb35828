"""Codes expand.py reports for ``use`` and fragments (JL6xx) and for escalation ladders (JL711);
registered to be listed and explained."""
from __future__ import annotations

from ...diagnostics import Severity
from ..registry import Rule, register

_FRAGMENT_CODES = [
    ("JL601", "unknown-fragment", "A `use` names a fragment that does not exist.",
     "Fragments come from a `fragments/` folder beside the journey, then from the stdlib\n"
     "(`docs/stdlib.md` lists them).\n\n"
     "Bad::\n\n    use winbak\n\nGood::\n\n    use winback"),
    ("JL602", "unknown-parameter", "A `use` passes a parameter the fragment does not declare, "
     "or `$name` is not a parameter.",
     "Every argument of `use NAME with { ... }` must be a declared parameter of the fragment;\n"
     "`$name` may only be written inside a fragment, for one of its own parameters.\n\n"
     "Bad::\n\n    use winback with { chanel: sms }\n\nGood::\n\n    use winback with { channel: sms }"),
    ("JL603", "missing-parameter", "A `use` does not pass a parameter that has no default.",
     "A parameter declared without a default (`exit_to: step`) must be given at every use.\n\n"
     "Bad::\n\n    use escalate\n\nGood::\n\n    use escalate with { exit_to: done }"),
    ("JL604", "parameter-type", "A `use` passes a value of the wrong type for a parameter.",
     "Parameter types: channel (a configured channel), duration (30m, 2h, 7d), template,\n"
     "event and step (names), string (quoted text), number, bool (true/false).\n\n"
     "Bad::\n\n    use winback with { silent_for: 14 }\n\nGood::\n\n"
     "    use winback with { silent_for: 14d }"),
    ("JL605", "fragment-definition", "A fragment declares a bad parameter or uses one where "
     "its type does not fit.",
     "A parameter's type must be one of channel, duration, template, string, number, bool,\n"
     "event, step; its default must have that type; and `$name` must fit its place (a duration\n"
     "after `wait` and `within`, a channel after `via`, a step after `->`).\n\n"
     "Bad::\n\n    fragment f(d: string = \"x\") { wait $d }\n\nGood::\n\n"
     "    fragment f(d: duration = 1d) { wait $d }"),
    ("JL606", "recursive-use", "A fragment uses itself, directly or through other fragments.",
     "Expansion would never end. Use a `goto` back to an earlier step for a loop instead."),
    ("JL607", "unknown-segment", "A condition names a segment the configuration does not "
     "declare.",
     "Segments are named conditions declared once in the configuration and used by many\n"
     "journeys:\n\n    [tool.journeylang.segments]\n"
     "    high_value = \"customer.lifetime_value >= 5000\"\n\n"
     "Bad::\n\n    entry on joined where segment(high_valu)\n\nGood::\n\n"
     "    entry on joined where segment(high_value)"),
    ("JL608", "segment-definition", "A segment's condition does not parse, or the segment "
     "refers to itself.",
     "The condition is written in the DSL's condition syntax, in the configuration file; a\n"
     "segment may use another segment, but not itself (directly or through others).\n\n"
     "Bad::\n\n    [tool.journeylang.segments]\n    loop = \"segment(loop) or customer.vip\"\n\n"
     "Good::\n\n    [tool.journeylang.segments]\n    vip = \"customer.vip == true\""),
    ("JL711", "ladder-malformed", "An escalation ladder's rungs or deadline do not fit together.",
     "A ladder runs its first rung at once, so the first rung is `at 0m`; the rungs come in\n"
     "increasing time; `within` (the deadline of the whole ladder) comes after the last rung;\n"
     "and a rung's action names no `->` target (the ladder goes on by itself).\n\n"
     "Bad::\n\n    escalate until resolved within 1h {\n      at 30m: handoff to staff\n"
     "      at 2h: handoff to director\n    }\n\nGood::\n\n"
     "    escalate until resolved within 4h {\n      at 0m: handoff to staff within 30m\n"
     "      at 2h: handoff to director within 1h\n    }"),
]

for _code, _name, _summary, _doc in _FRAGMENT_CODES:
    register(Rule(_code, _name, Severity.ERROR, _summary, _doc))
