"""Where one block of the benchmark journey spends its CPU: the engine's phases beside the
hand-written numpy bound's.

    python benchmarks/sim_phases.py                       # one block of 65,536 customers, 5 runs each
    python benchmarks/sim_phases.py --customers 65536 --runs 5 --block-sizes 1024 4096 65536

Each phase is the CPU time (``time.process_time``) spent inside a few functions of the engine
(``journeylang/sim/vector/``) or of the bound (``numpy_bound.py``), less what their callees
among those functions spent (exclusive time), as the median over ``--runs`` runs of
``--customers`` customers in one process (one block when it is at most 65,536). The wrappers
cost a few microseconds per call (a few hundred calls per block). ``--block-sizes`` also runs
the same customers in blocks of each size: the CPU of a block that does not scale with its
customers (the Python of each pass, a block's set-up) is the difference between sizes.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy_bound  # noqa: E402
import sim_bench  # noqa: E402
from journeylang.sim import vector  # noqa: E402
from journeylang.sim.vector import behaviour, block, book, steps  # noqa: E402

OTHER_STEPS = "steps other than sends executed (grouping, visits, waits, tags, branch, split)"
ENGINE = [   # (owner, function, phase)
    (vector.VectorSimulation, "run", "driver (blocks, reference path)"),
    (block.Block, "__init__", "block set-up (customers sampled, lanes, book)"),
    (behaviour, "arrivals", "arrivals drawn"),
    (behaviour, "baselines", "baseline event streams drawn"),
    (block.Block, "schedule", "each customer's next item found (schedule, Book.first_after)"),
    (block.Block, "_take", "items taken (timers fired, events begun)"),
    (block.Block, "_stages", "events handled (goals, exit rules, waits for events)"),
    (steps, "execute", OTHER_STEPS),
    (steps, "_blocked", "send checks (consent, quiet hours, cap)"),
    (steps, "_deliver", "messages delivered (counts, caps)"),
    (behaviour, "messages", "responses and opt-outs drawn"),
    (block.Block, "commit", "event book (events numbered and added)"),
    (book.Book, "add", "event book (events numbered and added)"),
    (block, "buckets", "holdout and split buckets (blake2b per customer)"),
    (block.Block, "ids", "holdout and split buckets (blake2b per customer)"),
    (block.Block, "end", "runs ended"),
    (block.Block, "finish", "block counted"),
    (vector.VectorSimulation, "_part", "block counted"),
    (vector.VectorSimulation, "results", "results (staff queues settled, report)"),
]
BOUND = [
    (numpy_bound.Cohort, "__init__", "cohort sampled (segments, consent, arrivals, holdout, "
                                     "split, first baseline order)"),
    (numpy_bound.Cohort, "run", "runs' ends counted"),
    (numpy_bound.Cohort, "arrive", "step visits (run ended before the step?)"),
    (numpy_bound.Cohort, "wait", "waits"),
    (numpy_bound.Cohort, "wait_click", "waits for clicks"),
    (numpy_bound.Cohort, "send", "sends (quiet hours, consent, cap)"),
    (numpy_bound.Cohort, "_deliver", "responses and opt-outs drawn"),
]


class Phases:
    """Exclusive CPU time per phase of the wrapped functions."""

    def __init__(self):
        self.spent: Counter = Counter()
        self._stack: list[list[float]] = []

    def wrap(self, owner, name: str, phase: str, replace=setattr) -> None:
        inner = getattr(owner, name) if not isinstance(owner, dict) else owner[name]

        def timed(*args, **kwargs):
            self._stack.append([time.process_time(), 0.0])
            try:
                return inner(*args, **kwargs)
            finally:
                started, children = self._stack.pop()
                spent = time.process_time() - started
                self.spent[phase] += spent - children
                if self._stack:
                    self._stack[-1][1] += spent
        replace(owner, name, timed)


def medians(phases: Phases, run, runs: int) -> tuple[float, dict]:
    totals, found = [], []
    for _ in range(runs):
        phases.spent.clear()
        started = time.process_time()
        run()
        totals.append(time.process_time() - started)
        found.append(dict(phases.spent))
    names = sorted({k for f in found for k in f}, key=lambda k: -statistics.median(
        f.get(k, 0.0) for f in found))
    return statistics.median(totals), {k: statistics.median(f.get(k, 0.0) for f in found)
                                       for k in names}


def show(title: str, total: float, phases: dict) -> None:
    print(f"\n{title}: {total * 1000:.1f} ms CPU (median)")
    for name, spent in phases.items():
        print(f"  {spent * 1000:8.1f} ms  {spent / total:6.1%}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1 << 16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--block-sizes", type=int, nargs="*", default=[],
                        help="also time the same customers in blocks of these sizes")
    args = parser.parse_args()
    compiled, cohort = sim_bench.tables(), sim_bench.cohort_of(args.customers)
    vector.VectorSimulation(compiled, sim_bench.cohort_of(2000), args.seed, 90).run()   # warm
    sizes = {}
    for size in args.block_sizes:   # before the wrappers
        sizes[size] = statistics.median(_cpu(lambda: vector.VectorSimulation(
            compiled, cohort, args.seed, 90, block=size).run()) for _ in range(args.runs))
    engine = Phases()
    for owner, name, phase in ENGINE:
        engine.wrap(owner, name, phase)
    for kind in list(steps._KINDS):   # the step kinds, called through their table
        engine.wrap(steps._KINDS, kind, "sends (the step, channels)" if kind == "send"
                    else OTHER_STEPS, replace=dict.__setitem__)
    total, phases = medians(engine, lambda: vector.VectorSimulation(
        compiled, cohort, args.seed, 90).run(), args.runs)
    show(f"engine, {args.customers:,} customers in one process", total, phases)
    bound = Phases()
    for owner, name, phase in BOUND:
        bound.wrap(owner, name, phase)
    start = cohort.start
    total_b, phases_b = medians(bound, lambda: numpy_bound.run(args.customers, args.seed, start),
                                args.runs)
    show(f"numpy bound, {args.customers:,} customers", total_b, phases_b)
    print(f"\nengine / bound (CPU, these runs): {total / total_b:.2f}x")
    if sizes:
        print(f"\n{args.customers:,} customers in blocks of each size (no wrappers), CPU:")
        for size, spent in sizes.items():
            print(f"  blocks of {size:>7,}: {spent:.3f} s  ({-(-args.customers // size)} blocks)")


def _cpu(run) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


if __name__ == "__main__":
    main()
