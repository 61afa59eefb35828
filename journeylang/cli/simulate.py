"""`journey simulate`: run a synthetic cohort through a journey on a virtual clock."""
from __future__ import annotations

import sys
import time

import click

from ..api import ConfigError, journey_files
from ..compile import TablesError
from ..limits import MAX_DURATION
from ..runtime import RuntimeSetupError
from ..sim import CohortError, SimulationError, load_cohort
from ..sim.headline import FAIL, PASS, WARN, headline
from ..sim.reach import cohort_warnings
from ..sim.report import MultiResults, missed_kpis, reference_path_lines
from ..sim.engine import ENGINES, EngineError, simulation_for
from ..sim.shard import ShardError, coupled_reason, default_shards, simulate_sharded
from .console import error, examples, fail, is_quiet, note, quiet_option, warn
from .run import load_all

PROGRESS_FROM = 20_000  # customers: smaller runs finish before a bar would help
_COLOURS = {FAIL: "red", WARN: "yellow", PASS: "green"}
_MARKS = {FAIL: "FAIL", WARN: "WARN", PASS: "OK"}


@click.command("simulate", epilog=examples(
    "journey simulate examples/cart_recovery.journey --cohort examples/cohorts/cart_recovery.cohort.yaml",
    "journey simulate j.journey --cohort c.cohort.yaml --seed 7 --days 30 --out report/",
    "journey simulate j.journey --cohort c.cohort.yaml --fail-under target    # CI: KPIs",
    "journey simulate j.journey --cohort c.cohort.yaml --fail-under ci        # ...surely",
    "journey simulate journeys/ --cohort c.cohort.yaml    # every journey of a folder, together",
    "journey simulate j.json --cohort big.cohort.yaml --engine vector --shards 2"))
@click.argument("journeys", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--cohort", "cohort", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Cohort file (YAML): segments, attributes and behaviour (docs/simulation.md).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed: the same cohort, journey and seed give the same results.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True, max=MAX_DURATION // 86400),
              default=90, show_default=True, help="Horizon in days after the cohort's start.")
@click.option("--timezone", default="UTC", show_default=True,
              help="Time zone of customers without one in the cohort.")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Write summary.json, report.html and CSV files (steps, flows, funnel, time to convert) here.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on for cohorts of 20,000 customers or more).")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="vector (numpy; a customer it cannot run takes the reference path in the "
                   "same run), reference (the runtime's executor) or auto (vector unless every "
                   "customer would take the reference path).")
@click.option("--shards", type=click.IntRange(min=1), default=None,
              help="Run in this many local processes (results unchanged; either engine). "
                   "Default: the machine's cores, as many as the cohort can use (1 below 65,536 "
                   "customers on the vectorised engine, 20,000 a shard on the reference engine).")
@click.option("--fail-under", "fail_under", type=click.Choice(["target", "baseline", "ci"]),
              is_flag=False, flag_value="target", default=None,
              help="Exit 1 when a KPI misses its target (`baseline`: its baseline; `ci`: when "
                   "the bound of its 95% interval does not reach the target): for CI.")
@quiet_option
def simulate_command(journeys, cohort, seed, days, timezone, out, progress, engine, shards,
                     fail_under) -> None:
    """Simulate a COHORT of customers through JOURNEYS: a journey file or compiled tables, or
    several (or a folder of them), run together on one runtime (caps count across them and
    emitted events reach them all)."""
    try:
        people = load_cohort(cohort)
    except CohortError as exc:
        fail(str(exc))
    paths = [str(p) for p in journey_files(journeys)] or list(journeys)
    try:
        loaded = load_all(tuple(paths))
        tables = loaded[0] if len(loaded) == 1 else loaded
        sim = simulation_for(tables, people, seed, days, timezone=timezone, engine=engine)
    except (ConfigError, TablesError, RuntimeSetupError, EngineError, CohortError) as exc:
        fail(str(exc))
    for warning in cohort_warnings(people, loaded):
        warn(str(warning))
    if fail_under is not None and not any(t.rows["kpis"] for t in loaded):
        named = ", ".join(t.journey_id for t in loaded)  # said before a long run
        fail(f"--fail-under: journey {named} declares no KPIs" if len(loaded) == 1 else
             f"--fail-under: none of the journeys {named} declares KPIs")
    if sim.engine_note is not None and engine == "auto":
        note(f"the reference engine runs this simulation: the vectorised engine cannot "
             f"({sim.engine_note})")
    started = time.perf_counter()
    steps = sim.blocks() if sim.engine == "vector" else int(-(-days // 1))
    if shards is None:
        shards = default_shards(sim)
    elif shards > 1 and (coupled := coupled_reason(sim)) is not None:
        note(f"--shards {shards}: this run takes one process ({coupled})")
        shards = 1
    try:
        if shards > 1:
            results = simulate_sharded(tables, people, seed, days, shards=shards,
                                       timezone=timezone, engine=engine)
        elif progress or (progress is None and people.size >= PROGRESS_FROM and not is_quiet()):
            with click.progressbar(length=steps, label=f"simulating {people.size:,} customers",
                                   file=sys.stderr) as bar:
                results = sim.run(lambda done: bar.update(1))
        else:
            results = sim.run()
    except (ShardError, EngineError, SimulationError) as exc:
        fail(str(exc))
    seconds = time.perf_counter() - started
    if isinstance(results, MultiResults):
        _multi_summary(results, seconds)
    else:
        _summary(results, seconds)
    if out:
        try:
            written = results.write(out)
        except OSError as exc:
            fail(f"cannot write {out}: {exc}")
        note(f"wrote {', '.join(p.name for p in written)} to {out}")
    if fail_under is not None:
        _check_kpis(results, fail_under)


def _check_kpis(results, against: str) -> None:
    """``--fail-under``: exit 1 naming every KPI that misses its target (or baseline)."""
    missed = missed_kpis(results, against)
    goal = "baseline" if against == "baseline" else "target"
    if missed:
        for line in missed:
            error(line)
        fail(f"{len(missed)} of {len(results.kpis)} KPI(s) below their {goal}"
             + (" with 95% confidence" if against == "ci" else ""))
    note(f"all {len(results.kpis)} KPI(s) reach their {goal}"
         + (" with 95% confidence" if against == "ci" else ""), "green")


def _multi_summary(results, seconds: float) -> None:
    """Per journey, then the combined figures; each journey's own summary follows."""
    click.echo(f"{len(results.journeys)} journeys x {results.cohort}: {results.customers:,} "
               f"customers, seed {results.seed}, {results.days:g} days ({results.engine} engine, "
               f"{results.customers / seconds:,.0f} customers/s)")
    for line in reference_path_lines(results.paths):
        click.echo(line)
    combined = results.combined
    for row in combined["journeys"]:
        click.echo(f"  {row['journey']}: {row['runs']:,} runs of {row['customers_entered']:,} "
                   f"customers, converted {_pct(row['conversion'])}, {row['messages']:,} "
                   f"messages, {row['cap_skips']:,} cap skips, {row['opt_outs']:,} opt-outs")
    messages = combined["messages"]
    several = sum(v for k, v in combined["customers_by_journeys_entered"].items() if int(k) > 1)
    click.echo(f"combined: {messages['total']:,} messages ({messages['per_customer_mean']:.2f} "
               f"per customer); {several:,} customers in several journeys")
    for journey in results.journeys:
        click.echo("")
        _summary(journey, seconds, header=False)


def _summary(results, seconds: float, header: bool = True) -> None:
    conv = results.conversion
    rate = "n/a" if conv["rate"] is None else f"{conv['rate']:.1%} (95% CI {conv['ci95'][0]:.1%}-{conv['ci95'][1]:.1%})"
    journey = f"{results.title} ({results.journey})" if results.title else results.journey
    lines = [f"{journey} x {results.cohort}: {results.customers:,} customers, seed "
             f"{results.seed}, {results.days:g} days ({results.engine} engine, "
             f"{results.customers / seconds:,.0f} customers/s)" if header else f"{journey}:",
             *(reference_path_lines(results.paths) if header else ()),
             f"entered: {results.entered['treated']:,} runs, holdout {results.entered['holdout']:,}; "
             f"ended {results.exited:,}, still inside {results.still_inside:,}"
             + _kept_out(results),
             f"goal conversion: {conv['converted']:,} / {conv['runs']:,} = {rate}"]
    if results.uplift:
        up = results.uplift
        lines.append(f"holdout uplift: {up['absolute']:+.1%} (95% CI {up['ci95'][0]:+.1%} to "
                     f"{up['ci95'][1]:+.1%}); holdout converts {up['holdout']['rate'] or 0:.1%}")
    if results.exact.get("available"):
        lines.append(f"exact expectation (absorbing Markov chain): {results.exact['conversion']:.1%}")
    lines.append("runs per stage: " + ", ".join(
        f"{f.get('title') or f['stage']} {f['runs']:,}" for f in results.funnel))
    pol = results.policies
    lines.append(f"messages: {results.messages['total']:,} ({results.messages['per_customer_mean']:.2f} "
                 f"per customer); opt-outs {pol['opt_outs']:,}, cap skips {pol['cap_skips']:,}, "
                 f"quiet-hour deferrals {pol['quiet_deferrals']:,}" + _other_skips(pol))
    ttc = results.time_to_convert
    if ttc["count"]:
        lines.append(f"time to convert: median {ttc['median_hours']:.1f} h, p90 {ttc['p90_hours']:.1f} h")
    lines += _operations(results)
    click.echo("\n".join(lines))
    for finding in headline(results):
        click.echo(click.style(f"{_MARKS[finding.level]} {finding.text}",
                               fg=_COLOURS[finding.level], bold=finding.level == FAIL))


def _other_skips(policies: dict) -> str:
    """The sends skipped for want of consent, or because the customer had opted out, when
    there were any (else nothing: most runs have none)."""
    parts = [f"{what} {policies[key]:,}" for key, what in (
        ("consent_skips", "consent skips"), ("opted_out_skips", "skipped as opted out"))
        if policies.get(key)]
    return "".join(f", {part}" for part in parts)


def _kept_out(results) -> str:
    """"; 12 of 200 customers never entered", when some never did (the entry's condition or
    audience, re-entry, or an entry event they never had kept them out)."""
    outside = results.entered["customers_not_entered"]
    return f"; {outside:,} of {results.customers:,} customers never entered" if outside else ""


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _operations(results) -> list[str]:
    """KPI, staff and promo lines, for journeys that declare them."""
    lines = []
    for m in getattr(results, "milestones", ()):
        held = m["holdout"]
        versus = "" if not held else f"; holdout {_pct(held['rate'])} of {held['runs']:,}"
        median = "" if m["median_hours"] is None else f", median {m['median_hours']:.1f} h after entry"
        lines.append(f"milestone {m['milestone']}: {m['reached']:,} of {m['runs']:,} runs = "
                     f"{_pct(m['rate'])} (95% CI {_pct(m['ci95'][0])}-{_pct(m['ci95'][1])})"
                     f"{median}{versus}")
    ignored = sum(step.get("ignored", 0) for step in results.steps)
    handled = getattr(results, "handled", {})
    if ignored or handled:
        lines.append(f"events: {sum(handled.values()):,} taken by handlers, {ignored:,} ignored "
                     f"where the run was (see steps.csv)")
    undelivered = getattr(results, "undelivered", {})
    if undelivered:
        lines.append("events that reached no run (no run had their correlation key): "
                     + ", ".join(f"{event} {n:,}" for event, n in undelivered.items()))
    for k in getattr(results, "kpis", ()):
        verdict = {None: "no data", True: click.style("met", fg="green"),
                   False: click.style("missed", fg="red", bold=True)}[k["met"]]
        still = (f"; {k['open']:,} windows still open ({k.get('hits_open', 0):,} already hit, "
                 f"not counted)" if k.get("open") else "")
        lines.append(f"KPI {k['kpi']}: {_pct(k['value'])} of {k['observations']:,} closed windows "
                     f"(95% CI {_pct(k['ci95'][0])}-{_pct(k['ci95'][1])}); baseline "
                     f"{_pct(k['baseline'])}, target {_pct(k['target'])}: {verdict}{still}")
    for r in getattr(results, "staff", ()):
        wait = "n/a" if r["mean_wait_hours"] is None else \
            f"{r['mean_wait_hours']:.1f} h mean, {r['p90_wait_hours']:.1f} h p90"
        lines.append(f"staff {r['role']}: {r['handoffs']:,} handoffs, wait {wait}, max queue "
                     f"{r['max_queue']:,}, SLA breach rate {_pct(r['breach_rate'])}")
    promo = getattr(results, "promo", None) or {}
    if promo.get("promo") or promo.get("budget") is not None:
        budget = "no budget" if promo["budget"] is None else f"budget {_pct(promo['budget'])}"
        lines.append(f"promo sends: {promo['promo']:,} of {promo['sends']:,} = "
                     f"{_pct(promo['share'])} ({budget})")
    lines += experiment_lines(getattr(results, "experiments", ()))
    return lines


def p_text(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def experiment_lines(experiments) -> list[str]:
    """Each experiment's arms, then each arm against the control on every metric."""
    lines = []
    for experiment in experiments:
        name = ("entry holdout" if experiment["stage"] is None
                else f"split {experiment['experiment']}")
        arms = ", ".join(f"{a['arm']}{' (held out)' if a['holdout'] else ''} {a['runs']:,}"
                         for a in experiment["arms"])
        lines.append(f"experiment {name}: {arms} runs; control {experiment['control']}")
        rates = {(a["arm"], metric): measured for a in experiment["arms"]
                 for metric, measured in a["metrics"].items()}
        for c in experiment["comparisons"]:
            if c["difference"] is None:
                continue
            arm = rates[(c["arm"], c["metric"])]
            control = rates[(experiment["control"], c["metric"])]
            verdict = "significant" if c["significant"] else "not significant"
            small = ", small sample" if c["small_sample"] else ""
            lines.append(f"  {c['metric']}: {c['arm']} {_pct(arm['rate'])} vs "
                         f"{experiment['control']} {_pct(control['rate'])}: {c['difference']:+.1%} "
                         f"(95% CI {c['ci95'][0]:+.1%} to {c['ci95'][1]:+.1%}, "
                         f"{p_text(c['p_value'])}, {verdict}{small})")
    return lines
