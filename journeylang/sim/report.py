"""Simulation output: the counted results, their statistics (Wilson intervals, uplift) and writers."""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..runtime.policies import kpi_met
from .figures import hours, quantile

Z95 = 1.959963984540054
# time-to-convert buckets: upper bounds in seconds, and their labels
TTC_BUCKETS = [(3600, "<1h"), (6 * 3600, "1-6h"), (86400, "6-24h"), (3 * 86400, "1-3d"),
               (7 * 86400, "3-7d"), (14 * 86400, "7-14d"), (30 * 86400, "14-30d"),
               (math.inf, ">30d")]


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) without trials."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(successes: int, trials: int) -> dict:
    low, high = wilson(successes, trials)
    return {"converted": successes, "runs": trials,
            "rate": successes / trials if trials else None, "ci95": [low, high]}


@dataclass
class Results:
    journey: str
    cohort: str
    seed: int
    days: float
    customers: int
    entered: dict
    ended: dict
    still_inside: int
    conversion: dict
    uplift: dict | None
    steps: list[dict]
    flows: list[dict]
    funnel: list[dict]
    time_to_convert: dict
    messages: dict
    policies: dict
    segments: dict
    exact: dict = field(default_factory=dict)  # the absorbing-chain expectation, or why not
    staff: list = field(default_factory=list)  # per role: queue, waits, SLA breach rate
    kpis: list = field(default_factory=list)   # per KPI: value, interval, baseline, target, met
    promo: dict = field(default_factory=dict)  # promo sends, share, budget
    milestones: list = field(default_factory=list)  # per milestone: runs reaching it, share, time
    handled: dict = field(default_factory=dict)  # event -> times a handler took it
    engine: str = "reference"  # which engine ran: "reference" (the runtime's executor) or "vector"
    title: str | None = None   # the journey's title
    stage_titles: dict = field(default_factory=dict)  # stage -> its title (stages that have one)

    @classmethod
    def collect(cls, sim) -> "Results":
        store, program = sim.store, sim.program
        inside = sum(len(c.runs) for c in store.customers.values())
        treated, holdout = store.entered["treated"], store.entered["holdout"]
        won = store.ended[("treated", "converted")]
        won_holdout = store.ended[("holdout", "converted")]
        conversion = _rate(won, treated)
        uplift = None
        if holdout:
            base = _rate(won_holdout, holdout)
            difference = (conversion["rate"] or 0.0) - (base["rate"] or 0.0)
            uplift = {"treated": conversion, "holdout": base, "absolute": difference,
                      "ci95": _difference_ci(won, treated, won_holdout, holdout),
                      "relative": difference / base["rate"] if base["rate"] else None}
        title, stage_titles = _titles(program)
        steps = []
        channel_sends = getattr(store, "channel_sends", Counter())
        ignored = getattr(store, "ignored", Counter())
        for step in program.steps.values():
            exits = Counter()
            for (origin, edge, target), count in store.flows.items():
                if origin == step.id:
                    exits[f"{edge} -> {target}"] += count
            results = store.results.get(step.id, {})
            channels = {channel: n for (at, channel), n in sorted(channel_sends.items())
                        if at == step.id}
            steps.append({"step": step.id, "stage": step.stage, "kind": step.kind,
                          "stage_title": stage_titles.get(step.stage),
                          "entered": store.steps[step.id], "sent": results.get("sent", 0),
                          "skipped": results.get("skipped", 0),
                          "deferred": results.get("deferred", 0),
                          "ignored": ignored.get(step.id, 0), "exits": dict(exits),
                          **({"channels": channels} if channels else {})})
        stages = list(dict.fromkeys(s.stage for s in program.steps.values()))
        funnel = [{"stage": s, "runs": store.stages[s],
                   "share": store.stages[s] / treated if treated else None,
                   "title": stage_titles.get(s)} for s in stages]
        flows = [{"from": a, "edge": e, "to": b, "runs": n}
                 for (a, e, b), n in sorted(store.flows.items(), key=lambda kv: (-kv[1], kv[0]))]
        counts = [store.sent_to.get(c, 0) for c in sim.customers]
        per_customer = Counter(counts)
        total = sum(counts)
        ended = {f"{group}:{outcome}": n for (group, outcome), n in sorted(store.ended.items())}
        times = store.convert_times
        histogram, previous = [], 0.0
        for bound, label in TTC_BUCKETS:
            histogram.append({"bucket": label, "runs": sum(1 for t in times if previous <= t < bound)})
            previous = bound
        return cls(
            journey=program.journey_id, cohort=sim.cohort.name, seed=sim.seed, days=sim.days,
            customers=sim.cohort.size,
            entered={"treated": treated, "holdout": holdout, "runs": treated + holdout,
                     "customers_not_entered": len(sim.customers) - _entered_customers(store)},
            ended=ended, still_inside=inside, conversion=conversion, uplift=uplift,
            steps=steps, flows=flows, funnel=funnel,
            time_to_convert={"count": len(times), "median_hours": hours(quantile(times, 0.5)),
                             "p90_hours": hours(quantile(times, 0.9)), "histogram": histogram},
            messages={"total": total, "per_customer_mean": total / len(counts) if counts else 0.0,
                      "per_customer": {str(k): v for k, v in sorted(per_customer.items())}},
            policies={"opt_outs": store.opt_outs, "cap_skips": store.skip_reasons["cap"],
                      "consent_skips": store.skip_reasons["no consent"],
                      "opted_out_skips": store.skip_reasons["opted out"],
                      "quiet_deferrals": sum(r.get("deferred", 0) for r in store.results.values())},
            segments={name: _rate(c["converted"], c["entered"])
                      for name, c in sorted(store.by_segment.items())},
            exact=_exact(sim), staff=_staff(sim), kpis=_kpis(sim),
            promo=_promo(getattr(store, "promo_sends", 0), total, getattr(program, "promo", None)),
            milestones=_milestones(store, program, treated, holdout),
            handled=dict(sorted(getattr(store, "handled", Counter()).items())),
            title=title, stage_titles=stage_titles)

    @property
    def exited(self) -> int:
        return sum(self.ended.values())

    def to_dict(self) -> dict:
        return {"format": "journeylang.simulation/1", **asdict(self)}

    def write(self, folder: str | Path) -> list[Path]:
        """``summary.json``, ``report.html`` and CSV files (steps, flows, funnel, time to convert)
        in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "summary.json"]
        written[0].write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
        tables = {
            "steps.csv": (["step", "stage", "kind", "entered", "sent", "skipped", "deferred",
                           "ignored", "stage_title"], self.steps),
            "flows.csv": (["from", "edge", "to", "runs"], self.flows),
            "funnel.csv": (["stage", "runs", "share", "title"], self.funnel),
            "time_to_convert.csv": (["bucket", "runs"], self.time_to_convert["histogram"]),
            "staff.csv": (STAFF_COLUMNS, self.staff),
            "kpis.csv": (KPI_COLUMNS, [{**k, "ci95_low": k["ci95"][0], "ci95_high": k["ci95"][1]}
                                       for k in self.kpis]),
        }
        from .html import write_html
        written.append(folder / "report.html")
        write_html(self, written[-1])
        for name, (columns, rows) in tables.items():
            if name in ("staff.csv", "kpis.csv") and not rows:
                continue  # only journeys with roles, handoffs or KPIs have these
            path = folder / name
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            written.append(path)
        return written


STAFF_COLUMNS = ["role", "capacity", "per_hours", "handoffs", "mean_wait_hours", "p90_wait_hours",
                 "max_queue", "slas", "met", "breached", "breach_rate"]
KPI_COLUMNS = ["kpi", "title", "stage", "step", "observations", "open", "hits", "value", "ci95_low",
               "ci95_high", "baseline", "target", "met"]


def _titles(program) -> tuple[str | None, dict[str, str]]:
    """The journey's title and its stages' titles, from the compiled tables."""
    rows = program.tables.rows
    title = rows["journey"][0].get("title") if rows.get("journey") else None
    stages = {r["stage"]: r["stage_title"] for r in rows.get("steps", ()) if r.get("stage_title")}
    return title, stages


def _staff(sim) -> list[dict]:
    """Per role (declared, or met in a handoff): the queue's figures and the SLA records'."""
    roles, found = getattr(sim.program, "roles", {}), []
    queues, records = getattr(sim, "staff", {}), getattr(sim.store, "slas", {})
    for role in sorted(set(queues) | set(records)):
        capacity, per = roles.get(role, (None, None))
        queue = queues.get(role)
        slas = records.get(role, Counter())
        closed = slas["met"] + slas["breached"]
        found.append({"role": role, "capacity": capacity,
                      "per_hours": None if per is None else per / 3600.0,
                      **(queue.summary() if queue else {"handoffs": 0, "mean_wait_hours": None,
                                                        "p90_wait_hours": None, "max_queue": 0}),
                      "slas": slas["opened"], "met": slas["met"], "breached": slas["breached"],
                      "breach_rate": slas["breached"] / closed if closed else None})
    return found


def _kpis(sim) -> list[dict]:
    """Per KPI: the share of closed observations that were hits, with its Wilson interval."""
    found, observed = [], getattr(sim.store, "kpis", {})
    for kpi in getattr(sim.program, "kpis", {}).values():
        counts = observed.get(kpi.name, Counter())
        hits, trials = counts["hit"], counts["hit"] + counts["missed"]
        value = hits / trials if trials else None
        baseline, target = kpi.baseline / 100.0, kpi.target / 100.0
        found.append({"kpi": kpi.name, "title": kpi.title, "stage": kpi.stage, "step": kpi.step,
                      "observations": trials, "hits": hits, "open": counts["opened"] - trials,
                      "value": value, "ci95": list(wilson(hits, trials)), "baseline": baseline,
                      "target": target,
                      "met": None if value is None else kpi_met(value, baseline, target),
                      "met_baseline": None if value is None else kpi_met(value, baseline, target,
                                                                         "baseline")})
    return found


def _milestones(store, program, treated: int, holdout: int) -> list[dict]:
    """Per milestone: the runs that reached it (treated and holdout), their share, and how
    long after entry the treated runs reached it."""
    reached = getattr(store, "milestones", Counter())
    times = getattr(store, "milestone_times", {})
    found = []
    for milestone in getattr(program, "milestones", ()):
        runs, held = reached[("treated", milestone.name)], reached[("holdout", milestone.name)]
        found.append({"milestone": milestone.name, "event": milestone.event,
                      **_share(runs, treated),
                      "holdout": _share(held, holdout) if holdout else None,
                      "median_hours": hours(quantile(times.get(milestone.name, []), 0.5))})
    return found


def _share(reached: int, runs: int) -> dict:
    """How many of ``runs`` reached a milestone, with the Wilson interval of the share."""
    low, high = wilson(reached, runs)
    return {"reached": reached, "runs": runs, "rate": reached / runs if runs else None,
            "ci95": [low, high]}


def _promo(promo: int, total: int, budget: float | None) -> dict:
    share = promo / total if total else None
    limit = None if budget is None else budget / 100.0
    return {"sends": total, "promo": promo, "share": share, "budget": limit,
            "over_budget": None if limit is None or share is None else share > limit}


def missed_kpis(results: "Results", against: str = "target") -> list[str]:
    """One line per KPI that misses its target (or baseline), for ``--fail-under``."""
    lines = []
    for kpi in results.kpis:
        bar = kpi[against]
        if kpi["value"] is None:
            lines.append(f"KPI {kpi['kpi']}: no observations closed (needs {against} {bar:.1%})")
        elif not kpi_met(kpi["value"], kpi["baseline"], kpi["target"], against):
            better = "at most" if kpi["target"] < kpi["baseline"] else "at least"
            lines.append(f"KPI {kpi['kpi']}: {kpi['value']:.1%} against {against} {bar:.1%} "
                         f"(needs {better} {bar:.1%}; 95% CI {kpi['ci95'][0]:.1%}-{kpi['ci95'][1]:.1%},"
                         f" {kpi['observations']:,} observations)")
    return lines


def _exact(sim) -> dict:
    """The exact expectation beside the Monte Carlo figures, when the model is memoryless."""
    from .exact import NotMemoryless, expectation
    try:
        found = expectation(sim.program, sim.cohort, sim.days)
    except NotMemoryless as exc:
        return {"available": False, "reason": str(exc)}
    return {"available": True, **found}


def _entered_customers(store) -> int:
    return sum(1 for c in store.customers.values() if c.entries)


def _difference_ci(a: int, n: int, b: int, m: int) -> list[float]:
    """Newcombe's interval for the difference of two proportions (from Wilson intervals)."""
    if not n or not m:
        return [-1.0, 1.0]
    p, q = a / n, b / m
    (l1, u1), (l2, u2) = wilson(a, n), wilson(b, m)
    low = p - q - math.sqrt((p - l1) ** 2 + (u2 - q) ** 2)
    high = p - q + math.sqrt((u1 - p) ** 2 + (q - l2) ** 2)
    return [low, high]
