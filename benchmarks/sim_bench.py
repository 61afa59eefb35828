"""Simulator benchmark: the vectorised engine against a SimPy model of the same journey.

    pip install -e '.[bench]'                            # simpy
    python benchmarks/sim_bench.py                       # 1,000,000 customers, 2 shards
    python benchmarks/sim_bench.py --customers 200000 --shards 1 --profile
    python benchmarks/sim_bench.py --shards 1 --simpy-customers 0 --reference-customers 0

The journey (written below) has 30 steps in 3 stages: 9 sends on two channels, waits, two
wait-for blocks with timeouts, a branch, a split, tags, a handoff, with a cap, quiet hours, a
consent policy and a 10% holdout. The cohort has two segments with responses to messages,
baseline orders, opt-outs and fatigue. In one run it times, over 90 days:

(a) the vectorised engine (``journeylang.sim.vector``) on ``--customers`` customers, in
    ``--shards`` local processes (sampling, every step, counting and the Results);
(b) the same journey as a straightforward SimPy model (``simpy_model.py``: one process per
    customer) on ``--simpy-customers`` customers; its rate is extrapolated to the large cohort,
    which is fair to SimPy (its cost per customer does not fall with more customers);
(a') unless ``--no-bound``, a hand-written numpy bound of the same journey
    (``numpy_bound.py``) on ``--customers`` customers in this process, every figure checked
    against the engine's within sampling error, and the engine's time as a ratio to it (CPU
    time, the shards' processes included, and wall time). Target: within 2x;
(c) the reference engine (the runtime's executor) on ``--reference-customers`` customers;
(d) with ``--examples``: every bundled example (``examples/cohorts/X.cohort.yaml`` with its
    journey ``examples/X.*``) with its cohort at ``--customers`` customers on the vectorised
    engine, each one's customers/s with its ratio to the SimPy model (b) of the benchmark
    journey and to the benchmark journey's speed (a), measured in the same run, in wall time and
    in CPU time (this process and the shards' processes: the figure to read on a shared
    machine, where wall time counts the other jobs too); with ``--pair``, the benchmark journey
    is timed again right before each example and the CPU ratio is to that run (the machine's
    load moves between the first run and a late example, and with it the CPU a run takes).
    An example that
    has a SimPy model of its own journey and cohort (``simpy_examples.py``: ``checkin_streak``,
    ``points_ladder``, ``weekly_community_activity``, ``live_stream_reminders``) has it timed
    too, on ``--example-simpy-customers`` customers (5,000 by default; extrapolated as (b) is),
    its figures (runs, messages, outcomes, policies, milestones) checked against the engine's
    within sampling error, and the engine's ratio to it reported in a column of its own ("x its
    own SimPy model"): an example whose customers take many more items than the benchmark
    journey's costs SimPy more too, so that ratio is the one the SimPy target is about where
    there is one. Targets: at least 20x SimPy, and within 3x of the benchmark journey (ratio
    to it at least 0.33). Each example's items per customer are counted too: the events and
    timers the runtime takes for a customer, over the days simulated (the reference engine, on
    ``--items-customers`` customers), and with them the CPU ratio per item, which compares
    journeys whose customers take very different numbers of items (a daily check-in
    programme's against the benchmark journey's eight or nine).

    python benchmarks/sim_bench.py --examples                 # 1,000,000 customers each
    python benchmarks/sim_bench.py --examples --only cart_recovery --customers 200000

An example without a bundled cohort, or with another cohort, is timed with ``--cohort
NAME=FILE`` (e.g. the equivalence tests' reacting cohort of ``complaint_escalation`` in
``benchmarks/cohorts/``):

    python benchmarks/sim_bench.py --examples --customers 100000 --only complaint_escalation \
        --cohort complaint_escalation=benchmarks/cohorts/complaint_escalation.cohort.yaml
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from journeylang import api  # noqa: E402
from journeylang.frontend import parse_source  # noqa: E402
from journeylang.sim import Simulation, load_cohort, parse_cohort  # noqa: E402
from journeylang.sim.shard import simulate_sharded  # noqa: E402
from journeylang.sim.vector import VectorSimulation  # noqa: E402
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


def cohort_of(size: int):
    cohort = parse_cohort(COHORT, "bench.cohort.yaml")
    cohort.size = size
    return cohort


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the shards' processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, customers: int, run, clocks: dict | None = None) -> float:
    cpu, started = cpu_seconds(), time.perf_counter()
    summary = run()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    print(f"{label:<34} {customers:>9,} customers  {seconds:7.2f} s  "
          f"{customers / seconds:>9,.0f} customers/s  CPU {cpu:6.2f} s   {summary}")
    if clocks is not None:
        clocks.update(wall=seconds, cpu=cpu)
    return customers / seconds


def vector(args, compiled, kept: dict) -> str:
    cohort = cohort_of(args.customers)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        results = VectorSimulation(compiled, cohort, args.seed, args.days).run()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    elif args.shards == 1:
        results = VectorSimulation(compiled, cohort, args.seed, args.days).run()
    else:
        results = simulate_sharded(compiled, cohort, args.seed, args.days, shards=args.shards)
    kept["results"] = results
    return _figures(results)


def bound(args, engine_results, engine_clocks: dict) -> None:
    """The hand-written numpy bound on as many customers, its figures against the engine's."""
    import numpy_bound
    start = cohort_of(1).start
    clocks: dict = {}
    holder = {}

    def run():
        holder["figures"] = numpy_bound.run(args.customers, args.seed, start)
        return f"messages {holder['figures']['messages']:,}"
    timed("numpy bound (1 process)", args.customers, run, clocks)
    worst, lines = numpy_bound.agreement(holder["figures"], numpy_bound.engine_figures(engine_results),
                                         numpy_bound.spread(args.customers, start))
    print("bound against engine, each figure (z: difference over its sampling spread):")
    print("\n".join(lines))
    print(f"figures compared: {len(lines)}; largest |z| {worst:.2f} "
          f"({'agree' if worst < 4 else 'DISAGREE'} within sampling error: |z| < 4)")
    print(f"engine / numpy bound: CPU {engine_clocks['cpu'] / clocks['cpu']:.2f}x, "
          f"wall {engine_clocks['wall'] / clocks['wall']:.2f}x")


def reference(args, compiled) -> str:
    return _figures(Simulation(compiled, cohort_of(args.reference_customers), args.seed, args.days).run())


def _figures(results) -> str:
    return (f"runs {results.entered['runs']:,}, messages {results.messages['total']:,}, "
            f"conversion {results.conversion['rate']:.1%}")


def simpy_model(args) -> str:
    from simpy_model import Model
    model = Model(args.simpy_customers, args.days, args.seed)
    outcomes = model.run()
    treated = sum(outcomes.values())
    return f"ended runs {treated:,}, messages {model.messages:,}"


def items_per_customer(compiled, cohort, args) -> float:
    """Items (events and timers) the runtime takes per customer of ``cohort`` over the days
    simulated: those its engine hands to its handler in the reference engine, on
    ``--items-customers`` customers."""
    cohort.size = args.items_customers
    sim = Simulation(compiled, cohort, args.seed, args.days)
    engine, handle, taken = sim.runtime.engine, sim.runtime.engine.handler, [0]

    def handler(item, sequence: int) -> None:
        taken[0] += 1
        handle(item, sequence)
    engine.handler = handler
    sim.run()
    return taken[0] / args.items_customers


def example_pairs(only: list[str] | None = None,
                  cohorts: dict[str, Path] | None = None) -> list[tuple[str, Path, Path]]:
    """(name, journey file, cohort file) of every bundled example that has a cohort, and of
    those ``cohorts`` gives one (name -> cohort file)."""
    found = []
    bundled = {p.name.removesuffix(".cohort.yaml"): p
               for p in (ROOT / "examples" / "cohorts").glob("*.cohort.yaml")}
    for stem, cohort in sorted({**bundled, **(cohorts or {})}.items()):
        if only and stem not in only:
            continue
        journey, = [p for p in (ROOT / "examples").glob(f"{stem}.*") if p.is_file()]
        found.append((stem, journey, cohort))
    return found


def examples(args, bench_rate: float, bench_cpu: float, simpy_rate: float | None,
             bench_items: float | None) -> None:
    """Every example with its cohort at ``--customers`` customers; a line each, then a table.
    An example with a SimPy model of its own (``simpy_examples.py``) has that model timed on
    ``--example-simpy-customers`` customers in the same run, and its figures checked against
    the engine's. ``bench_cpu``: the benchmark journey's CPU seconds at ``--customers``;
    ``bench_items``: its items per customer (None: not counted)."""
    from simpy_examples import MODELS
    rows = []
    bench_tables = tables() if args.pair else None
    for name, journey, cohort_file in example_pairs(args.only, dict(args.cohort)):
        cohort = load_cohort(cohort_file)
        cohort.size = args.customers
        compiled = api.load_tables(journey)
        holder = {}

        def run():
            results = simulate_sharded(compiled, cohort, args.seed, args.days, shards=args.shards)
            holder["results"] = results
            return _figures(results) + f", reference path {results.paths.get('reference', 0):,}"
        if args.pair:
            paired: dict = {}
            timed("benchmark journey (paired)", args.customers,
                  lambda: vector(args, bench_tables, {}), paired)
            bench_cpu = paired["cpu"]
        clocks: dict = {}
        rate = timed(f"example {name}", args.customers, run, clocks)
        own = None
        if name in MODELS and args.example_simpy_customers and name not in dict(args.cohort):
            own = own_model(args, name, MODELS[name], holder["results"])
        items = items_per_customer(compiled, load_cohort(cohort_file), args) \
            if bench_items else None
        rows.append((name, rate, clocks["cpu"], bench_cpu / clocks["cpu"], own,
                     holder["results"].paths.get("reference", 0), items))
    print("\n| example | customers/s | CPU | x SimPy model of the benchmark journey "
          "| its own SimPy model, customers/s | x its own SimPy model | x benchmark journey "
          "| x benchmark journey (CPU) | reference path | items per customer "
          "| x benchmark journey per item (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rate, cpu, ratio, own, reference, items in rows:
        simpy = f"{rate / simpy_rate:,.1f}" if simpy_rate else "-"
        mine = f"{own:,.0f} | {rate / own:,.1f}" if own else "- | -"
        per_item = f"{items:,.1f} | {ratio * items / bench_items:.2f}" if items else "- | -"
        print(f"| {name} | {rate:,.0f} | {cpu:.2f} s | {simpy} | {mine} | {rate / bench_rate:.2f} "
              f"| {ratio:.3f} | {reference:,} | {per_item} |")


def own_model(args, name: str, model, results) -> float:
    """The example's own SimPy model on ``--example-simpy-customers`` customers: its rate, its
    figures against the engine's (on ``--customers``)."""
    import simpy_examples
    holder = {}

    def run():
        holder["figures"] = model(args.example_simpy_customers, args.days, args.seed).run()
        return f"runs {holder['figures']['runs'][0]:,}, messages {holder['figures']['messages'][0]:,}"
    rate = timed(f"SimPy model of {name}", args.example_simpy_customers, run)
    simpy_examples.report(holder["figures"], args.example_simpy_customers,
                          simpy_examples.engine_figures(results), args.customers)
    return rate


def _named_file(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected NAME=FILE with an existing FILE, got {text!r}")
    return name, Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=2,
                        help="local processes for the vector engine (1: in this process)")
    parser.add_argument("--bound", action=argparse.BooleanOptionalAction, default=True,
                        help="time the hand-written numpy bound too, and check its figures")
    parser.add_argument("--simpy-customers", type=int, default=20_000, help="0: skip SimPy")
    parser.add_argument("--reference-customers", type=int, default=20_000, help="0: skip")
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true",
                        help="profile the vector engine in this process (one shard) and print the top")
    parser.add_argument("--examples", action="store_true",
                        help="also run every bundled example with its cohort at --customers")
    parser.add_argument("--only", nargs="*", help="with --examples: these examples (names)")
    parser.add_argument("--pair", action="store_true",
                        help="with --examples: time the benchmark journey again right before "
                             "each example, for its CPU ratio")
    parser.add_argument("--example-simpy-customers", type=int, default=5_000,
                        help="with --examples: customers of each example's own SimPy model "
                             "(0: skip them)")
    parser.add_argument("--items-customers", type=int, default=1_000,
                        help="with --examples: customers on which each journey's items per "
                             "customer are counted (0: not counted)")
    parser.add_argument("--cohort", action="append", default=[], type=_named_file,
                        metavar="NAME=FILE", help="with --examples: the cohort of example NAME")
    args = parser.parse_args()
    compiled = tables()
    print(f"journey: {len(compiled.rows['steps'])} steps; {args.days:g} days; seed {args.seed}")
    kept, clocks = {}, {}
    fast = timed(f"vector engine ({args.shards} shards)", args.customers,
                 lambda: vector(args, compiled, kept), clocks)
    if args.bound:
        bound(args, kept["results"], clocks)
    slow = None
    if args.simpy_customers:
        slow = timed("SimPy model", args.simpy_customers, lambda: simpy_model(args))
        print(f"SimPy extrapolated to {args.customers:,} customers: {args.customers / slow:,.0f} s; "
              f"vector engine / SimPy: {fast / slow:,.1f}x")
    if args.examples:
        bench_items = items_per_customer(compiled, cohort_of(1), args) \
            if args.items_customers else None
        if bench_items:
            print(f"benchmark journey: {bench_items:.1f} items per customer")
        examples(args, fast, clocks["cpu"], slow, bench_items)
    if args.reference_customers:
        ref = timed("reference engine (executor)", args.reference_customers,
                    lambda: reference(args, compiled))
        print(f"vector engine / reference engine: {fast / ref:,.1f}x")


if __name__ == "__main__":
    main()
