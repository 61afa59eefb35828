"""The rule reference (docs/rules.md), generated from the registry."""
from __future__ import annotations

from .registry import REGISTRY

AREAS = [("JL0", "Reading files"), ("JL1", "Names"), ("JL2", "Flow"), ("JL3", "Policies"),
         ("JL4", "Templates"), ("JL5", "Hygiene"), ("JL6", "Fragments"),
         ("JL70", "Schedules"), ("JL71", "Escalation, roles and capacity"),
         ("JL72", "Content and promotions"),
         ("JL73", "KPIs"), ("JL74", "Correlation"), ("JL8", "Versions and migrations")]
HEADER = """# Rule reference

Generated from the rule registry by `journey rules --markdown > docs/rules.md`; do not edit by
hand (a test fails when this file is stale). `journey explain CODE` prints one rule.

Suppress a rule on one step with a comment on the step's first line (or the line above it):
`# journeylang: disable=JL301`; for a whole file: `# journeylang: disable-file=JL503`.
Configure rules in `[tool.journeylang]` (pyproject.toml) or `.journeylang.toml`: see
docs/linting.md.
"""


def rules_markdown() -> str:
    out = [HEADER, "| code | name | default severity | summary |", "| --- | --- | --- | --- |"]
    out += [f"| [{r.code}](#{rule_anchor(r.code)}) | {r.name} | {r.severity} | {r.summary} |"
            for r in sorted(REGISTRY.values(), key=lambda r: r.code)]
    for prefix, title in AREAS:
        out.append(f"\n## {title}\n")
        for rule in sorted(REGISTRY.values(), key=lambda r: r.code):
            if rule.code.startswith(prefix):
                out.append(f"### {rule.code} {rule.name}\n\n*{rule.severity}* — {rule.summary}\n\n"
                           f"{rule.doc}\n")
    return "\n".join(out).rstrip() + "\n"


def rule_anchor(code: str) -> str:
    """The heading anchor of a rule in docs/rules.md (``### JL201 dead-end``)."""
    return f"{code.lower()}-{REGISTRY[code].name}"


def rule_url(code: str) -> str | None:
    """The rule's section of the rule reference (None without docs or for an unknown code)."""
    from ..resources import docs_base
    base = docs_base()
    return f"{base}rules.md#{rule_anchor(code)}" if base and code in REGISTRY else None


def explain(code: str) -> str | None:
    rule = REGISTRY.get(code.upper())
    if rule is None:
        return None
    return f"{rule.code} {rule.name} ({rule.severity})\n{rule.summary}\n\n{rule.doc}\n"
