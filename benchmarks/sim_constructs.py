"""Customers/s of a bundled example rewritten with constructs that once sent every customer to
the reference path, on both engines in one run.

complaint_escalation with its cohort, where the journey tags an open complaint by a `set` of
the profile's tags, copies the complaint's visibility into its context with a `set` that the
crisis branch reads, and its goal reads the correlation key a rating inherits. Each engine
runs in this process (no shards); each figure is the median of ``--repeats`` runs, by CPU time.

    PYTHONPATH=$PWD python3 benchmarks/sim_constructs.py --customers 100000
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeylang import api  # noqa: E402
from journeylang.frontend import parse_source  # noqa: E402
from journeylang.sim import load_cohort, simulate  # noqa: E402
from journeylang.source import Source  # noqa: E402

# (what the example says, what the rewritten journey says instead)
REWRITES = (
    ('    opened: tag "open_complaint"\n',
     '    opened: set customer.tags = ["open_complaint"]\n'),
    ('      when event.visibility == "public" or',
     '      when visibility == "public" or'),
    ("    set customer.open_complaints = 1\n",
     "    set customer.open_complaints = 1\n    set visibility = event.visibility\n"),
    ("goal satisfied on csat_submitted where event.score >= 4 within 14d",
     "goal satisfied on csat_submitted where event.score >= 4 and event.ticket exists within 14d"),
)


def rewritten_tables():
    text = (ROOT / "examples" / "complaint_escalation.journey").read_text(encoding="utf-8")
    for old, new in REWRITES:
        assert old in text, old
        text = text.replace(old, new)
    result = api.compile_document(parse_source(Source("complaint_escalation.journey", text)),
                                  compiled_at="2026-01-01T00:00:00Z")
    assert result.ok, [f"{d.span}: {d.message}" for d in result.check.diagnostics]
    return result.tables


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def race(tables, cohort, args, label: str = "") -> None:
    """Run ``cohort`` through ``tables`` on each engine in turn, ``args.repeats`` times, and
    print each run and the medians (customers per CPU second)."""
    prefix = f"{label} " if label else ""
    rates: dict[str, list[float]] = {"vector": [], "reference": []}
    for _ in range(args.repeats):
        for engine in rates:
            cpu, wall = cpu_seconds(), time.perf_counter()
            results = simulate(tables, cohort, seed=args.seed, days=args.days, engine=engine)
            cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
            paths = getattr(results, "paths", None) or {}
            rates[engine].append(cohort.size / cpu)
            print(f"{prefix}{engine:<10} {cohort.size:>9,} customers  CPU {cpu:7.2f} s  "
                  f"wall {wall:7.2f} s"
                  f"  {cohort.size / cpu:>9,.0f} customers/s (CPU)  engine {results.engine}"
                  f"  reference path {paths.get('reference', '-')}", flush=True)
    vector, reference = (statistics.median(rates[e]) for e in ("vector", "reference"))
    print(f"{prefix}median: vector {vector:,.0f} customers/s, reference {reference:,.0f} "
          f"customers/s, x{vector / reference:.1f}; load average {os.getloadavg()[0]:.1f}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = load_cohort(ROOT / "examples" / "cohorts" / "complaint_escalation.cohort.yaml")
    cohort.size = args.customers
    race(rewritten_tables(), cohort, args)


if __name__ == "__main__":
    main()
