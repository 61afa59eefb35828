"""Simulation output: the counted results, their statistics (Wilson intervals, uplift) and writers."""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..experiments import report as experiment_report
from ..runtime.policies import kpi_met
from ..semantics import ENTRY_EXPERIMENT, HELD_OUT, TREATED
from ..stats import Z95, difference_ci, wilson  # noqa: F401 (wilson and Z95 re-exported)
from .figures import hours, quantile

# time-to-convert buckets: upper bounds in seconds, and their labels
TTC_BUCKETS = [(3600, "<1h"), (6 * 3600, "1-6h"), (86400, "6-24h"), (3 * 86400, "1-3d"),
               (7 * 86400, "3-7d"), (14 * 86400, "7-14d"), (30 * 86400, "14-30d"),
               (math.inf, ">30d")]


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
    undelivered: dict = field(default_factory=dict)  # event -> times it reached no run (its key)
    engine: str = "reference"  # which engine ran: "reference" (the runtime's executor) or "vector"
    title: str | None = None   # the journey's title
    stage_titles: dict = field(default_factory=dict)  # stage -> its title (stages that have one)
    experiments: list = field(default_factory=list)  # per split and entry holdout: arms compared
    behaviour: dict = field(default_factory=dict)    # the cohort's responses and events, as drawn
    paths: dict = field(default_factory=dict)  # customers per engine path, and why (vector engine)

    @classmethod
    def collect(cls, sim) -> "Results":
        """The results of one journey: ``sim`` has its counts (``store``), its ``program``,
        the ``customers`` (ids), ``cohort``, ``seed``, ``days`` and ``staff`` queues."""
        store, program = sim.store, sim.program
        inside = _inside(store)
        treated, holdout = store.entered["treated"], store.entered["holdout"]
        won = store.ended[("treated", "converted")]
        won_holdout = store.ended[("holdout", "converted")]
        conversion = _rate(won, treated)
        uplift = None
        if holdout:
            base = _rate(won_holdout, holdout)
            difference = (conversion["rate"] or 0.0) - (base["rate"] or 0.0)
            uplift = {"treated": conversion, "holdout": base, "absolute": difference,
                      "ci95": difference_ci(won, treated, won_holdout, holdout),
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
        per_customer = messages_per_customer([store.sent_to], sim.customers)
        total = sum(k * n for k, n in per_customer.items())
        ended = {f"{group}:{outcome}": n for (group, outcome), n in sorted(store.ended.items())}
        times = store.convert_times
        values = np.asarray(times, dtype=float)
        histogram, previous = [], 0.0
        for bound, label in TTC_BUCKETS:
            runs = int(np.count_nonzero((values >= previous) & (values < bound)))
            histogram.append({"bucket": label, "runs": runs})
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
            messages={"total": total,
                      "per_customer_mean": total / len(sim.customers) if len(sim.customers) else 0.0,
                      "per_customer": {str(k): v for k, v in sorted(per_customer.items())}},
            policies={"opt_outs": store.opt_outs, "cap_skips": store.skip_reasons["cap"],
                      "consent_skips": store.skip_reasons["no consent"],
                      "opted_out_skips": store.skip_reasons["opted out"],
                      "quiet_deferrals": sum(r.get("deferred", 0) for r in store.results.values())},
            segments={name: _rate(c["converted"], c["entered"])
                      for name, c in sorted(store.by_segment.items())},
            exact=_exact(sim), staff=_staff(sim), kpis=_kpis(sim),
            promo=_promo(getattr(store, "promo_sends", 0), getattr(store, "budget_sends", total),
                         getattr(program, "promo", None)),
            milestones=_milestones(store, program, treated, holdout),
            handled=dict(sorted(getattr(store, "handled", Counter()).items())),
            undelivered=dict(sorted(getattr(store, "undelivered", Counter()).items())),
            title=title, stage_titles=stage_titles,
            experiments=experiment_report(program.tables.rows, _arm_figures(store)))

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
            "experiments.csv": (EXPERIMENT_COLUMNS, experiment_rows(self.experiments)),
        }
        from .html import write_html
        written.append(folder / "report.html")
        write_html(self, written[-1])
        for name, (columns, rows) in tables.items():
            if name in ("staff.csv", "kpis.csv", "experiments.csv") and not rows:
                continue  # only journeys with roles, handoffs, KPIs or experiments have these
            path = folder / name
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            written.append(path)
        return written


STAFF_COLUMNS = ["role", "capacity", "per_hours", "handoffs", "mean_wait_hours", "p90_wait_hours",
                 "max_queue", "slas", "met", "breached", "breach_rate"]
KPI_COLUMNS = ["kpi", "title", "stage", "step", "observations", "open", "hits_open", "hits",
               "value", "ci95_low", "ci95_high", "baseline", "target", "met", "met_ci"]
EXPERIMENT_COLUMNS = ["experiment", "stage", "arm", "control", "metric", "runs", "count", "rate",
                      "ci95_low", "ci95_high", "difference", "difference_ci95_low",
                      "difference_ci95_high", "p_value", "significant"]


def reference_path_lines(paths: dict, named: int = 3) -> list[str]:
    """One line per reason some customers of a vectorised run took the reference path (the
    results' ``paths``): how many, why, and the first ``named`` of them; none when all ran
    vectorised."""
    lines = []
    for reason, found in paths.get("reasons", {}).items():
        first = ", ".join(found["first"][:named]) + (", ..." if found["customers"] > named else "")
        lines.append(f"{found['customers']:,} customers on the reference path: {reason} "
                     f"({first})")
    return lines


def experiment_rows(experiments: list[dict]) -> list[dict]:
    """One row per experiment, arm and metric, with the comparison against the control."""
    rows = []
    for experiment in experiments:
        against = {(c["arm"], c["metric"]): c for c in experiment["comparisons"]}
        for arm in experiment["arms"]:
            for metric, measured in arm["metrics"].items():
                versus = against.get((arm["arm"], metric), {})
                low, high = versus.get("ci95", [None, None])
                rows.append({"experiment": experiment["experiment"], "stage": experiment["stage"],
                             "arm": arm["arm"], "control": experiment["control"],
                             "metric": metric, "runs": measured["runs"],
                             "count": measured["count"], "rate": measured["rate"],
                             "ci95_low": measured["ci95"][0], "ci95_high": measured["ci95"][1],
                             "difference": versus.get("difference"), "difference_ci95_low": low,
                             "difference_ci95_high": high, "p_value": versus.get("p_value"),
                             "significant": versus.get("significant")})
    return rows


def messages_per_customer(sent_to: list, customers) -> Counter:
    """How many of ``customers`` (ids ``c1`` ...) got each number of messages, summed over the
    journeys' ``sent_to``: Counters by id (reference engine), or the vectorised engine's
    ``Messages`` (a table of counts per customer, which every journey of a run shares)."""
    if sent_to and all(hasattr(sent, "distribution") for sent in sent_to):
        return sent_to[0].distribution([sent.j for sent in sent_to], len(customers))
    found = np.zeros(len(customers), dtype=np.int64)
    for sent in sent_to:
        found += np.array([sent.get(c, 0) for c in customers], dtype=np.int64)
    values, n = np.unique(found, return_counts=True)
    return Counter({int(v): int(m) for v, m in zip(values.tolist(), n.tolist())})


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
    """Per KPI: the share of the observations whose window has closed that were hits, with its
    Wilson interval. Windows still open at the horizon are left out (``open``, of which
    ``hits_open`` already hit): counting an early hit before the misses of its cohort are
    known would bias the rate upwards."""
    found, observed = [], getattr(sim.store, "kpis", {})
    for kpi in getattr(sim.program, "kpis", {}).values():
        counts = observed.get(kpi.name, Counter())
        hits, trials = counts["hit"], counts["hit"] + counts["missed"]
        value = hits / trials if trials else None
        baseline, target = kpi.baseline / 100.0, kpi.target / 100.0
        found.append({"kpi": kpi.name, "title": kpi.title, "stage": kpi.stage, "step": kpi.step,
                      "observations": trials, "hits": hits, "open": counts["opened"] - trials,
                      "hits_open": counts["hit_open"],
                      "value": value, "ci95": list(wilson(hits, trials)), "baseline": baseline,
                      "target": target,
                      "met": None if value is None else kpi_met(value, baseline, target),
                      "met_baseline": None if value is None else kpi_met(value, baseline, target,
                                                                         "baseline"),
                      "met_ci": None if value is None else kpi_met(kpi_bound(
                          list(wilson(hits, trials)), baseline, target), baseline, target)})
    return found


def kpi_bound(ci95: list[float], baseline: float, target: float) -> float:
    """The bound of the interval a KPI must clear to be sure of its target: the lower bound
    (the upper one when lower is better)."""
    return ci95[1] if target < baseline else ci95[0]


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
    """The promo share of the ``total`` messages the budget counts (transactional ones are
    exempt)."""
    share = promo / total if total else None
    limit = None if budget is None else budget / 100.0
    return {"sends": total, "promo": promo, "share": share, "budget": limit,
            "over_budget": None if limit is None or share is None else share > limit}


def missed_kpis(results: "Results", against: str = "target") -> list[str]:
    """One line per KPI that misses its target (or baseline), for ``--fail-under``; with
    ``against="ci"`` the target must be cleared by the bound of the 95% interval (the lower
    bound, the upper when lower is better), not just by the value."""
    lines = []
    for kpi in results.kpis:
        bar = kpi["baseline" if against == "baseline" else "target"]
        name = "baseline" if against == "baseline" else "target"
        low, high = kpi["ci95"]
        shown = (f"95% CI {low:.1%}-{high:.1%}, {kpi['observations']:,} closed observations"
                 + (f", {kpi['open']:,} still open" if kpi.get("open") else ""))
        if kpi["value"] is None:
            lines.append(f"KPI {kpi['kpi']}: no observation window closed (needs {name} {bar:.1%}"
                         + (f"; {kpi['open']:,} still open" if kpi.get("open") else "") + ")")
            continue
        better = "at most" if kpi["target"] < kpi["baseline"] else "at least"
        if against == "ci":
            bound = kpi_bound(kpi["ci95"], kpi["baseline"], kpi["target"])
            if not kpi_met(bound, kpi["baseline"], kpi["target"]):
                side = "upper" if kpi["target"] < kpi["baseline"] else "lower"
                lines.append(f"KPI {kpi['kpi']}: {kpi['value']:.1%}, but the {side} bound of its "
                             f"95% CI is {bound:.1%}, not {better} the target {bar:.1%} "
                             f"({shown})")
        elif not kpi_met(kpi["value"], kpi["baseline"], kpi["target"], against):
            lines.append(f"KPI {kpi['kpi']}: {kpi['value']:.1%} against {name} {bar:.1%} "
                         f"(needs {better} {bar:.1%}; {shown})")
    return lines


def _exact(sim) -> dict:
    """The exact expectation beside the Monte Carlo figures, when the model is memoryless."""
    from .exact import NotMemoryless, expectation
    try:
        found = expectation(sim.program, sim.cohort, sim.days)
    except NotMemoryless as exc:
        return {"available": False, "reason": str(exc)}
    return {"available": True, **found}


def _arm_figures(store) -> dict:
    """(experiment, arm) -> figures: the store's, or for counts that keep none per arm (the
    vectorised engine's, which runs no splits with a control), the entry holdout's from the
    runs, outcomes and milestones it counts by group."""
    if hasattr(store, "experiments"):
        return store.experiments
    found = {}
    for group, arm in (("treated", TREATED), ("holdout", HELD_OUT)):
        figures = found[(ENTRY_EXPERIMENT, arm)] = Counter({"runs": store.entered[group]})
        for (ended_group, outcome), n in store.ended.items():
            figures[f"outcome:{outcome}"] += n if ended_group == group else 0
        for (reached_group, name), n in getattr(store, "milestones", Counter()).items():
            figures[f"milestone:{name}"] += n if reached_group == group else 0
    return found


def _entered_customers(store) -> int:
    if hasattr(store, "entered_customers"):
        return store.entered_customers
    return sum(1 for c in store.customers.values() if c.entries)


def _inside(store) -> int:
    """Runs not ended at the horizon."""
    if hasattr(store, "inside"):
        return store.inside
    return sum(len(c.runs) for c in store.customers.values())


# --- several journeys ----------------------------------------------------------------------------

@dataclass
class JourneyView:
    """What ``Results.collect`` reads of one journey of a run: its counts and definitions."""

    store: object
    program: object
    cohort: object
    seed: int
    days: float
    customers: list
    staff: dict


def results_of(tally, programs, cohort, seed: int, days: float, customers: list):
    """``Results`` of a run's tally (one journey), or ``MultiResults`` (several)."""
    found = []
    for program in programs:
        roles = set(program.roles) | {s.params["role"] for s in program.steps.values()
                                      if s.kind == "handoff"}
        staff = {role: queue for role, queue in tally.staff.items() if role in roles}
        found.append(Results.collect(JourneyView(tally.journeys[program.journey_id], program,
                                                 cohort, seed, days, customers, staff)))
    if len(found) == 1:
        found[0].behaviour = behaviour_report(tally, cohort)
        return found[0]
    return MultiResults.combine(found, tally, cohort, seed, days, customers)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def mean_ci(total: float, squares: float, n: int) -> list[float] | None:
    """The 95% interval of a mean from the sum and the sum of squares of ``n`` values (the
    normal approximation, with the sample variance); None with fewer than two values."""
    if n < 2:
        return None
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = Z95 * math.sqrt(variance / n)
    return [mean - half, mean + half]


def behaviour_report(tally, cohort) -> dict:
    """What the cohort's behaviour model drew, to read its figures back: per response, how
    often it was triggered (a matching message or event), how often it fired (its ``p``, with
    a Wilson interval) and the events it gave (its ``count``: the mean per response, with a
    normal interval); per event, how many happened by the horizon and to how many customers."""
    segments = {segment.name: segment for segment in cohort.segments}
    responses = []
    for (name, index), figures in sorted(tally.behaviour.items()):
        response = segments[name].responses[index]
        fired, triggers, events = figures["fired"], figures["triggers"], figures["events"]
        responses.append({"segment": name, "event": response.event, "after": response.after,
                          "p": response.p, "triggers": triggers, "fired": fired,
                          "rate": fired / triggers if triggers else None,
                          "ci95": list(wilson(fired, triggers)), "events": events,
                          "events_per_response": events / fired if fired else None,
                          "events_per_response_ci95": mean_ci(events, figures["events_sq"],
                                                              fired)})
    events = {event: {"count": count, "customers": tally.reached[event],
                      "per_customer": _ratio(count, tally.reached[event]),
                      "per_cohort_customer": _ratio(count, tally.customers)}
              for event, count in sorted(tally.events.items())}
    return {"responses": responses, "events": events}


@dataclass
class MultiResults:
    """One cohort through several journeys at once: each journey's ``Results`` and the
    combined figures (every customer's messages from all journeys, policies, overlap)."""

    cohort: str
    seed: int
    days: float
    customers: int
    journeys: list[Results]
    combined: dict
    engine: str = "reference"
    paths: dict = field(default_factory=dict)  # customers per engine path, and why (vector engine)

    @classmethod
    def combine(cls, journeys: list[Results], tally, cohort, seed, days,
                customers) -> "MultiResults":
        per_customer = messages_per_customer([j.sent_to for j in tally.journeys.values()], customers)
        total = sum(k * n for k, n in per_customer.items())
        policies = Counter()
        for results in journeys:
            policies.update(results.policies)
        rows = [{"journey": r.journey, "title": r.title, "runs": r.entered["runs"],
                 "holdout": r.entered["holdout"],
                 "customers_entered": r.customers - r.entered["customers_not_entered"],
                 "converted": r.conversion["converted"], "conversion": r.conversion["rate"],
                 "still_inside": r.still_inside, "messages": r.messages["total"],
                 "opt_outs": r.policies["opt_outs"], "cap_skips": r.policies["cap_skips"]}
                for r in journeys]
        combined = {"journeys": rows,
                    "messages": {"total": total,
                                 "per_customer_mean": total / len(customers) if len(customers) else 0.0,
                                 "per_customer": {str(k): v for k, v in
                                                  sorted(per_customer.items())}},
                    "policies": dict(policies),
                    "customers_by_journeys_entered": {
                        str(k): v for k, v in sorted(tally.overlap.items())},
                    "behaviour": behaviour_report(tally, cohort)}
        return cls(cohort.name, seed, days, cohort.size, journeys, combined)

    @property
    def kpis(self) -> list[dict]:
        """Every journey's KPIs, named ``journey/kpi`` (for ``--fail-under``)."""
        return [{**k, "kpi": f"{r.journey}/{k['kpi']}"} for r in self.journeys for k in r.kpis]

    def to_dict(self) -> dict:
        return {"format": "journeylang.simulation.multi/1", "cohort": self.cohort,
                "seed": self.seed, "days": self.days, "customers": self.customers,
                "engine": self.engine, "paths": self.paths, "combined": self.combined,
                "journeys": {r.journey: r.to_dict() for r in self.journeys}}

    def write(self, folder: str | Path) -> list[Path]:
        """``summary.json`` and ``journeys.csv`` (one row per journey) in ``folder``, and each
        journey's own report in ``folder/<journey>/``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "summary.json", folder / "journeys.csv"]
        written[0].write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
        rows = self.combined["journeys"]
        with written[1].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        for results in self.journeys:
            results.write(folder / results.journey)
            written.append(folder / results.journey)
        return written
