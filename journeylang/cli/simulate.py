"""`journey simulate`: run a synthetic cohort through a journey on a virtual clock."""
from __future__ import annotations

import sys
import time

import click

from ..api import ConfigError
from ..compile import TablesError
from ..runtime import RuntimeSetupError
from ..sim import CohortError, load_cohort
from ..sim.headline import FAIL, PASS, WARN, headline
from ..sim.report import missed_kpis
from ..sim.engine import ENGINES, EngineError, simulation_for
from ..sim.shard import ShardError, simulate_sharded
from . import main
from .console import error, examples, fail, is_quiet, note, quiet_option
from .run import load_all

PROGRESS_FROM = 20_000  # customers: smaller runs finish before a bar would help
_COLOURS = {FAIL: "red", WARN: "yellow", PASS: "green"}
_MARKS = {FAIL: "FAIL", WARN: "WARN", PASS: "OK"}


@main.command("simulate", epilog=examples(
    "journey simulate examples/cart_recovery.journey --cohort examples/cohorts/cart_recovery.cohort.yaml",
    "journey simulate j.journey --cohort c.cohort.yaml --seed 7 --days 30 --out report/",
    "journey simulate j.journey --cohort c.cohort.yaml --fail-under target    # CI: KPIs",
    "journey simulate j.json --cohort big.cohort.yaml --engine vector --shards 2"))
@click.argument("journey", type=click.Path(exists=True))
@click.option("--cohort", "cohort", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Cohort file (YAML): segments, attributes and behaviour (docs/simulation.md).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed: the same cohort, journey and seed give the same results.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=90, show_default=True,
              help="Horizon in days after the cohort's start.")
@click.option("--timezone", default="UTC", show_default=True,
              help="Time zone of customers without one in the cohort.")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Write summary.json, report.html and CSV files (steps, flows, funnel, time to convert) here.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on for cohorts of 20,000 customers or more).")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="vector (numpy, a subset of journeys), reference (the runtime's executor) or "
                   "auto (vector when it supports the journey and cohort).")
@click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run the vectorised engine in this many local processes (results unchanged).")
@click.option("--fail-under", "fail_under", type=click.Choice(["target", "baseline"]),
              is_flag=False, flag_value="target", default=None,
              help="Exit 1 when a KPI misses its target (or with `baseline`, its baseline): for CI.")
@quiet_option
def simulate_command(journey, cohort, seed, days, timezone, out, progress, engine, shards,
                     fail_under) -> None:
    """Simulate a COHORT of customers through JOURNEY (a journey file or compiled tables)."""
    try:
        people = load_cohort(cohort)
    except CohortError as exc:
        fail(str(exc))
    try:
        (tables,) = load_all((journey,))
        sim = simulation_for(tables, people, seed, days, timezone=timezone,
                             engine="vector" if shards > 1 else engine)
    except (ConfigError, TablesError, RuntimeSetupError, EngineError) as exc:
        fail(str(exc))
    if fail_under is not None and not tables.rows["kpis"]:
        fail(f"--fail-under: journey {tables.journey_id} declares no KPIs")  # before a long run
    started = time.perf_counter()
    steps = sim.blocks() if sim.engine == "vector" else int(-(-days // 1))
    if shards > 1:
        try:
            results = simulate_sharded(tables, people, seed, days, shards=shards, timezone=timezone)
        except ShardError as exc:
            fail(str(exc))
    elif progress or (progress is None and people.size >= PROGRESS_FROM and not is_quiet()):
        with click.progressbar(length=steps, label=f"simulating {people.size:,} customers",
                               file=sys.stderr) as bar:
            results = sim.run(lambda done: bar.update(1))
    else:
        results = sim.run()
    seconds = time.perf_counter() - started
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
    if missed:
        for line in missed:
            error(line)
        fail(f"{len(missed)} of {len(results.kpis)} KPI(s) below their {against}")
    note(f"all {len(results.kpis)} KPI(s) reach their {against}", "green")


def _summary(results, seconds: float) -> None:
    conv = results.conversion
    rate = "n/a" if conv["rate"] is None else f"{conv['rate']:.1%} (95% CI {conv['ci95'][0]:.1%}-{conv['ci95'][1]:.1%})"
    journey = f"{results.title} ({results.journey})" if results.title else results.journey
    lines = [f"{journey} x {results.cohort}: {results.customers:,} customers, seed "
             f"{results.seed}, {results.days:g} days ({results.engine} engine, "
             f"{results.customers / seconds:,.0f} customers/s)",
             f"entered: {results.entered['treated']:,} runs, holdout {results.entered['holdout']:,}; "
             f"ended {results.exited:,}, still inside {results.still_inside:,}",
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
                 f"quiet-hour deferrals {pol['quiet_deferrals']:,}")
    ttc = results.time_to_convert
    if ttc["count"]:
        lines.append(f"time to convert: median {ttc['median_hours']:.1f} h, p90 {ttc['p90_hours']:.1f} h")
    lines += _operations(results)
    click.echo("\n".join(lines))
    for finding in headline(results):
        click.echo(click.style(f"{_MARKS[finding.level]} {finding.text}",
                               fg=_COLOURS[finding.level], bold=finding.level == FAIL))


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
    for k in getattr(results, "kpis", ()):
        verdict = {None: "no data", True: click.style("met", fg="green"),
                   False: click.style("missed", fg="red", bold=True)}[k["met"]]
        lines.append(f"KPI {k['kpi']}: {_pct(k['value'])} of {k['observations']:,} (95% CI "
                     f"{_pct(k['ci95'][0])}-{_pct(k['ci95'][1])}); baseline {_pct(k['baseline'])}, "
                     f"target {_pct(k['target'])}: {verdict}")
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
    return lines
