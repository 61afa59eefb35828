"""Simulation report: the headline, what an operator must see first (missed KPIs, roles that
breach their SLAs, a promo budget overrun), as data the HTML report and the CLI both print."""
from __future__ import annotations

from dataclasses import dataclass

# a role fails its SLA when more than this share of its closed SLAs were breached; below it,
# breaches are a warning
SLA_BREACH_LIMIT = 0.05
FAIL, WARN, PASS = "fail", "warn", "pass"


@dataclass(frozen=True)
class Finding:
    level: str  # fail, warn or pass
    text: str


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def headline(results) -> list[Finding]:
    """Failures first, then warnings; one passing line when there is nothing to fix."""
    found = [*_kpis(results), *_roles(results), *_promo(results)]
    found.sort(key=lambda f: (f.level != FAIL, f.level != WARN))
    if not any(f.level in (FAIL, WARN) for f in found):
        parts = [_all(len(results.kpis), "KPI reaches its target", "KPIs reach their targets"),
                 _all(len(results.staff), "role keeps its SLAs", "roles keep their SLAs")]
        text = " and ".join(p for p in parts if p)
        if text:
            return [Finding(PASS, text[0].upper() + text[1:] + ".")]
        return [Finding(PASS, "No KPIs or SLAs are declared: nothing to check against.")]
    return [f for f in found if f.level != PASS]


def _all(count: int, one: str, many: str) -> str:
    """"the KPI reaches its target" (one), "all 3 KPIs reach their targets"; "" for none."""
    return "" if not count else f"the {one}" if count == 1 else f"all {count} {many}"


def _kpis(results):
    for k in results.kpis:
        name = k["title"] or k["kpi"]
        if k["met"] is False:
            direction = "at most" if k["target"] < k["baseline"] else "at least"
            yield Finding(FAIL, f"KPI missed: {name} is {_pct(k['value'])} (target {direction} "
                                f"{_pct(k['target'])}, baseline {_pct(k['baseline'])}; "
                                f"{k['observations']:,} observations)")
        elif k["met"] is None:
            yield Finding(WARN, f"KPI without data: {name} (no observation closed by the "
                                f"horizon; target {_pct(k['target'])})")
        else:
            yield Finding(PASS, f"KPI met: {name}")


def _roles(results):
    for r in results.staff:
        rate = r["breach_rate"]
        if not rate:
            continue
        level = FAIL if rate > SLA_BREACH_LIMIT else WARN
        verb = "breaches its SLA" if level == FAIL else "breaches some SLAs"
        yield Finding(level, f"Role {r['role']} {verb}: {_pct(rate)} of {r['slas']:,} SLAs "
                             f"breached ({r['breached']:,}), queue up to {r['max_queue']:,}")


def _promo(results):
    promo = getattr(results, "promo", None) or {}
    if promo.get("over_budget"):
        yield Finding(FAIL, f"Promo budget exceeded: {_pct(promo['share'])} of sends are "
                            f"promotional (budget {_pct(promo['budget'])})")
