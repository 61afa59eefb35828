"""Peak memory of the vectorised engine by cohort size: is it flat in the number of customers?

    python benchmarks/sim_memory.py                                   # benchmark journey, checkin_streak
    python benchmarks/sim_memory.py --runs bench:100000 bench:1000000 checkin_streak:100000

Each run is one process (a fresh interpreter, one shard: the engine's blocks one after
another in it), which reports its peak resident set size (``getrusage``'s ``ru_maxrss``) and
its resident size just before the simulation starts (Python, numpy, the compiled journey and
cohort), so the difference is what the run itself holds at its peak: the arrays of one block,
what the counts keep, and the results. The peak is taken twice: once every block is counted
(``VectorSimulation.count``), and with the results (``results``: the staff queues settled over
every handoff, the report). Memory flat in customers means that difference does not
grow with the cohort (beyond a few bytes per customer the results need).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEFAULT = ["bench:100000", "bench:1000000", "bench:2000000",
           "checkin_streak:100000", "checkin_streak:1000000"]


def _resident_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one(name: str, customers: int, seed: int, days: float) -> dict:
    """In this process: one run of ``name`` (``bench`` or a bundled example) at ``customers``."""
    sys.path[:0] = [str(ROOT), str(HERE)]
    from journeylang import api
    from journeylang.sim import load_cohort
    from journeylang.sim.vector import VectorSimulation
    if name == "bench":
        import sim_bench
        tables, cohort = sim_bench.tables(), sim_bench.cohort_of(customers)
    else:
        from sim_bench import example_pairs
        (_, journey, cohort_file), = example_pairs([name])
        tables, cohort = api.load_tables(journey), load_cohort(cohort_file)
        cohort.size = customers
    before = _resident_kib()
    cpu, wall = time.process_time(), time.perf_counter()
    sim = VectorSimulation(tables, cohort, seed, days)
    part = sim.count()
    counted = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = sim.results(part)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"run": name, "customers": customers, "before_mib": before / 1024,
            "counted_mib": counted / 1024, "peak_mib": peak / 1024, "cpu_s": cpu,
            "wall_s": wall, "messages": results.messages["total"],
            "handoffs": sum(role["handoffs"] for role in results.staff)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=DEFAULT, help="name:customers ...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, customers = args.one.split(":")
        print(json.dumps(one(name, int(customers), args.seed, args.days)))
        return
    print("| run | customers | before (MiB) | peak while counting (MiB) | peak with the results "
          "(MiB) | peak - before (MiB) | CPU (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for spec in args.runs:
        out = subprocess.run([sys.executable, __file__, "--one", spec, "--seed", str(args.seed),
                              "--days", str(args.days)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {r['run']} | {r['customers']:,} | {r['before_mib']:.0f} | {r['counted_mib']:.0f} | "
              f"{r['peak_mib']:.0f} | {r['peak_mib'] - r['before_mib']:.0f} | {r['cpu_s']:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
