"""Simulator benchmark: customers per second through a ~30-step journey over 90 days.

    python benchmarks/sim_bench.py                       # 50,000 customers
    python benchmarks/sim_bench.py --customers 10000 --profile

The journey (written below) has 30 steps in 3 stages: 9 sends on two channels, waits, two
wait-for blocks with timeouts, a branch, a split, tags, a handoff, with a cap, quiet hours, a
consent policy and a 10% holdout. The cohort has two segments with responses to messages,
baseline orders, opt-outs and fatigue. What is timed is ``Simulation.run``: sampling the
customers, queueing their events, and the runtime's executor applying every event and timer
on a virtual clock with a counting store (no rows kept, no rendering).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeylang import api  # noqa: E402
from journeylang.frontend import parse_source  # noqa: E402
from journeylang.sim import Simulation, parse_cohort  # noqa: E402
from journeylang.source import Source  # noqa: E402

JOURNEY = """journey bench "Benchmark: thirty steps" version 1 {
  owner "bench"
  entry on joined where consent.wecom
  reentry never
  goal bought on order_paid within 30d
  exit on unsubscribed as opted_out
  policy {
    cap 3 messages per 1d
    quiet 22:00-08:00
    consent wecom, sms
    holdout 10%
  }
  template t1 "Hi {{ customer.name }}"
  template t2 "Guide"
  template t3 "Tip"
  template t4 "Offer"
  template t5 "Reminder"
  stage welcome "Welcome" {
    send via wecom template t1
    tag "new"
    wait 1h
    send via wecom template t2
    wait for clicked within 2d -> engaged timeout -> nudge
    nudge: send via sms template t5
    wait 1d
    engaged: tag "engaged"
    wait until 10:00
    send via wecom template t3
  }
  stage offer "Offer" {
    branch {
      when has tag "engaged" -> split_it
      else -> plain
    }
    plain: send via wecom template t4
    wait 2d
    goto follow
    split_it: split {
      a 50% -> arm_a
      b 50% -> arm_b
    }
    arm_a: send via wecom template t4 -> waited
    arm_b: send via sms template t4
    waited: wait for clicked within 3d -> hot timeout -> follow
    hot: handoff to agent within 4h note "Clicked the offer"
    wait 1d
  }
  stage follow "Follow-up" {
    follow: wait 3d
    send via wecom template t5
    wait 7d
    send via wecom template t3
    wait 1d
    send via sms template t2
    tag "loyal"
    untag "new"
    tag "done"
    exit completed
  }
}
"""

COHORT = """
cohort: bench
size: 1
arrival: 14d
segments:
  - name: new
    weight: 0.7
    attributes: {name: {categorical: {Ann: 1, Bo: 1}}}
    timezone: {Asia/Shanghai: 0.8, Asia/Singapore: 0.2}
    consent: {wecom: 0.9, sms: 0.6}
    behaviour:
      responses:
        - {event: clicked, p: 0.2, delay: {exponential: {mean: 8h}}}
        - {event: order_paid, after: {template: t4}, p: 0.1, delay: {lognormal: {median: 1d, sigma: 1}}}
      baseline: [{event: order_paid, per_day: 0.003}]
      opt_out: 0.02
      fatigue: 0.9
  - name: active
    weight: 0.3
    attributes: {name: Eve}
    timezone: Asia/Shanghai
    consent: {wecom: 1.0, sms: 0.8}
    behaviour:
      responses:
        - {event: clicked, p: 0.35, delay: {exponential: {mean: 4h}}}
        - {event: order_paid, p: 0.05, delay: {lognormal: {median: 12h, sigma: 1}}}
      baseline: [{event: order_paid, per_day: 0.01}]
      opt_out: 0.01
      fatigue: 0.95
"""


def tables():
    result = api.compile_document(parse_source(Source("bench.journey", JOURNEY)),
                                  compiled_at="2026-01-01T00:00:00Z")
    assert result.ok, [f"{d.span}: {d.message}" for d in result.check.diagnostics]
    return result.tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    compiled = tables()
    cohort = parse_cohort(COHORT, "bench.cohort.yaml")
    cohort.size = args.customers
    sim = Simulation(compiled, cohort, args.seed, args.days)
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    results = sim.run()
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    print(f"journey: {len(compiled.rows['steps'])} steps; customers: {args.customers:,}; "
          f"days: {args.days:g}; seed {args.seed}")
    print(f"runs {results.entered['runs']:,} (holdout {results.entered['holdout']:,}), "
          f"messages {results.messages['total']:,}, conversion {results.conversion['rate']:.1%}, "
          f"still inside {results.still_inside:,}")
    print(f"time: {seconds:.2f} s, {args.customers / seconds:,.0f} customers/s")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
