"""CPU time of one block of the vectorised engine, in this process: the benchmark journey and
bundled examples (each with its cohort), one block each, in turn, ``--repeat`` times; each
example's CPU against the benchmark journey's of the same round, and the medians.

    python benchmarks/sim_block_cpu.py weekly_community_activity live_stream_reminders
    python benchmarks/sim_block_cpu.py checkin_streak --customers 20000 --repeat 5

A block's CPU is the engine's cost per customer without the shards' processes, the
counting of the results across blocks or the machine's other jobs in the wall time: the
figure to compare two versions of the engine by, alternating their runs on a shared machine.
The process keeps freed memory as a shard's worker does (``keep_freed_memory``), so a block
pays the page faults the million pays, not those of a process that gives memory back;
``--give-back`` measures without it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sim_bench  # noqa: E402  (puts the repository first on the path)
from journeylang import api  # noqa: E402
from journeylang.sim import load_cohort  # noqa: E402
from journeylang.sim.shard import keep_freed_memory  # noqa: E402
from journeylang.sim.vector import BLOCK, VectorSimulation  # noqa: E402


def block_cpu(tables, cohort, seed: int) -> float:
    started = time.process_time()
    VectorSimulation(tables, cohort, seed, 90.0, block=max(cohort.size, 1)).run()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", nargs="+", help="bundled examples with a cohort")
    parser.add_argument("--customers", type=int, default=BLOCK, help="customers of the block")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--give-back", action="store_true",
                        help="freed memory given back to the system (not as a shard's worker)")
    args = parser.parse_args()
    if not args.give_back and not keep_freed_memory():
        print("this C library keeps no freed memory (no mallopt): blocks pay fresh pages")
    runs = [("benchmark journey", sim_bench.tables(), sim_bench.cohort_of(args.customers))]
    for name, journey, cohort_file in sim_bench.example_pairs(args.examples):
        cohort = load_cohort(cohort_file)
        cohort.size = args.customers
        runs.append((name, api.load_tables(journey), cohort))
    times = {name: [] for name, _, _ in runs}
    for round_ in range(args.repeat):
        for name, tables, cohort in runs:
            times[name].append(block_cpu(tables, cohort, args.seed))
        print(f"round {round_ + 1}: " + ", ".join(f"{name} {times[name][-1]:.3f} s"
                                                  for name, _, _ in runs), flush=True)
    bench = times["benchmark journey"]
    print(f"\n| one block of {args.customers:,} customers | CPU, each round | median "
          "| x benchmark journey (CPU), each round | median |")
    print("| --- | --- | --- | --- | --- |")
    for name, _, _ in runs:
        ratios = [b / t for b, t in zip(bench, times[name])]
        print(f"| {name} | {', '.join(f'{t:.3f}' for t in times[name])} "
              f"| {statistics.median(times[name]):.3f} s | {', '.join(f'{r:.3f}' for r in ratios)} "
              f"| {statistics.median(ratios):.3f} |")


if __name__ == "__main__":
    main()
