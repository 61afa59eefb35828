"""`journey simulate`: run a synthetic cohort through a journey on a virtual clock."""
from __future__ import annotations

import sys
import time

import click

from ..api import ConfigError
from ..compile import TablesError
from ..runtime import RuntimeSetupError
from ..sim import CohortError, Simulation, load_cohort
from . import main
from .run import fail, load_all

PROGRESS_FROM = 20_000  # customers: smaller runs finish before a bar would help


@main.command("simulate")
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
def simulate_command(journey, cohort, seed, days, timezone, out, progress) -> None:
    """Simulate a COHORT of customers through JOURNEY (a journey file or compiled tables)."""
    try:
        people = load_cohort(cohort)
    except CohortError as exc:
        fail(str(exc))
    try:
        (tables,) = load_all((journey,))
        sim = Simulation(tables, people, seed, days, timezone)
    except (ConfigError, TablesError, RuntimeSetupError) as exc:
        fail(str(exc))
    started = time.perf_counter()
    steps = int(-(-days // 1))
    if progress or (progress is None and people.size >= PROGRESS_FROM):
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
        click.echo(f"wrote {', '.join(p.name for p in written)} to {out}", err=True)


def _summary(results, seconds: float) -> None:
    conv = results.conversion
    rate = "n/a" if conv["rate"] is None else f"{conv['rate']:.1%} (95% CI {conv['ci95'][0]:.1%}-{conv['ci95'][1]:.1%})"
    lines = [f"{results.journey} x {results.cohort}: {results.customers:,} customers, seed "
             f"{results.seed}, {results.days:g} days ({results.customers / seconds:,.0f} customers/s)",
             f"entered: {results.entered['treated']:,} runs, holdout {results.entered['holdout']:,}; "
             f"ended {results.exited:,}, still inside {results.still_inside:,}",
             f"goal conversion: {conv['converted']:,} / {conv['runs']:,} = {rate}"]
    if results.uplift:
        up = results.uplift
        lines.append(f"holdout uplift: {up['absolute']:+.1%} (95% CI {up['ci95'][0]:+.1%} to "
                     f"{up['ci95'][1]:+.1%}); holdout converts {up['holdout']['rate'] or 0:.1%}")
    if results.exact.get("available"):
        lines.append(f"exact expectation (absorbing Markov chain): {results.exact['conversion']:.1%}")
    lines.append("funnel: " + " -> ".join(f"{f['stage']} {f['runs']:,}" for f in results.funnel))
    pol = results.policies
    lines.append(f"messages: {results.messages['total']:,} ({results.messages['per_customer_mean']:.2f} "
                 f"per customer); opt-outs {pol['opt_outs']:,}, cap skips {pol['cap_skips']:,}, "
                 f"quiet-hour deferrals {pol['quiet_deferrals']:,}")
    ttc = results.time_to_convert
    if ttc["count"]:
        lines.append(f"time to convert: median {ttc['median_hours']:.1f} h, p90 {ttc['p90_hours']:.1f} h")
    click.echo("\n".join(lines))
