"""Comparing the two simulator engines: the same structure exactly, every count within a bound
that a real difference of behaviour fails (and chance almost never does)."""
from __future__ import annotations

import math

ALPHA = 1e-6  # per count: across a few thousand counts in the suite, a false alarm is ~1e-3


def two_sided_p(a: int, b: int) -> float:
    """The p-value of counts ``a`` and ``b`` from runs of equally many customers under "the
    same rate": given a + b events, each is the first run's with probability 1/2 (the exact
    conditional binomial test)."""
    m, low = a + b, min(a, b)
    if m == 0 or a == b:
        return 1.0
    log_half, top = m * math.log(0.5), math.lgamma(m + 1)
    total = 0.0
    for k in range(low, -1, -1):  # the tail below the smaller count, largest term first
        term = math.exp(top - math.lgamma(k + 1) - math.lgamma(m - k + 1) + log_half)
        total += term
        if term < total * 1e-12:
            break
    return min(1.0, 2.0 * total)


def agree(name: str, a: int, b: int, exact: bool = False) -> None:
    """Equal when ``exact``; else not told apart from chance at ALPHA. Zero against a count
    of 21 or more fails (p < 1e-6), as does any difference of behaviour in a large count."""
    if exact:
        assert a == b, f"{name}: vector {a}, reference {b}"
    else:
        p = two_sided_p(a, b)
        assert p >= ALPHA, f"{name}: vector {a}, reference {b} (p = {p:.2g})"


def compare(fast, slow, exact: bool = False) -> None:
    """Two ``Results`` of the same journey, cohort and size: the same steps, outcomes, flows,
    policy counts, sends per channel, ignored and handled events, events that reached no run
    of their correlation key, milestones, KPI observations and staff and SLA figures (equal when the run has no randomness, else within ``agree``)."""
    assert [s["step"] for s in fast.steps] == [s["step"] for s in slow.steps]
    for a, b in zip(fast.steps, slow.steps):
        for what in ("entered", "sent", "skipped", "deferred", "ignored"):
            agree(f"{a['step']} {what}", a[what], b[what], exact)
        _keyed(f"{a['step']} sends on", a.get("channels", {}), b.get("channels", {}), exact)
    assert [m["milestone"] for m in fast.milestones] == [m["milestone"] for m in slow.milestones]
    for a, b in zip(fast.milestones, slow.milestones):
        agree(f"milestone {a['milestone']}", a["reached"], b["reached"], exact)
        agree(f"milestone {a['milestone']} (holdout)", (a["holdout"] or {}).get("reached", 0),
              (b["holdout"] or {}).get("reached", 0), exact)
        if exact:
            assert a == b, f"milestone: vector {a}, reference {b}"
    _keyed("handled", fast.handled, slow.handled, exact)
    _keyed("undelivered", fast.undelivered, slow.undelivered, exact)
    _keyed("ended", fast.ended, slow.ended, exact)
    _keyed("flow", {_flow(f): f["runs"] for f in fast.flows},
           {_flow(f): f["runs"] for f in slow.flows}, exact)
    _keyed("stage", {f["stage"]: f["runs"] for f in fast.funnel},
           {f["stage"]: f["runs"] for f in slow.funnel}, exact)
    for what in ("treated", "holdout", "customers_not_entered"):
        agree(what, fast.entered[what], slow.entered[what], exact)
    agree("converted", fast.conversion["converted"], slow.conversion["converted"], exact)
    agree("messages", fast.messages["total"], slow.messages["total"], exact)
    for what in ("opt_outs", "cap_skips", "consent_skips", "opted_out_skips", "quiet_deferrals"):
        agree(what, fast.policies[what], slow.policies[what], exact)
    agree("promo sends", fast.promo["promo"], slow.promo["promo"], exact)
    agree("sends under the promo budget", fast.promo["sends"], slow.promo["sends"], exact)
    assert fast.still_inside + fast.exited == fast.entered["runs"]
    assert [k["kpi"] for k in fast.kpis] == [k["kpi"] for k in slow.kpis]
    for a, b in zip(fast.kpis, slow.kpis):
        for what in ("observations", "hits", "open", "hits_open"):
            agree(f"KPI {a['kpi']} {what}", a[what], b[what], exact)
    assert [row["role"] for row in fast.staff] == [row["role"] for row in slow.staff]
    for a, b in zip(fast.staff, slow.staff):
        for what in ("handoffs", "slas", "met", "breached", "max_queue"):
            agree(f"{a['role']} {what}", a[what], b[what], exact)
    if exact:
        assert fast.messages["per_customer"] == slow.messages["per_customer"]
        assert fast.segments == slow.segments
        assert fast.still_inside == slow.still_inside


def _flow(flow: dict) -> str:
    return f"{flow['from']} -{flow['edge']}-> {flow['to']}"


def _keyed(kind: str, fast: dict, slow: dict, exact: bool) -> None:
    """Counts by key: a key missing on one side counts zero there (so it must be rare)."""
    for key in sorted(set(fast) | set(slow)):
        agree(f"{kind} {key}", fast.get(key, 0), slow.get(key, 0), exact)
