"""Migration benchmark: how long loading a new version takes when it moves the runs in flight.

    python benchmarks/migration_bench.py                     # 20,000 customers
    python benchmarks/migration_bench.py --customers 100000

Runs the bundled example pair: examples/refill_nudge_v1.journey takes one order per customer
over 20 days into a fresh state file (SQLite, WAL, synchronous=FULL); at day 26, with runs
waiting at every step of version 1, examples/refill_nudge.journey (version 2, `migrate from
version 1`) is loaded: every run is checked, then moved, stopped or kept in one transaction.
The baseline, in the same run and on a copy of the same state file: loading version 2 without
its migration (the runs stay, as before migrations existed).
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeylang import api  # noqa: E402
from journeylang.compile import compile_journey  # noqa: E402
from journeylang.runtime import Event, Runtime, SqliteStore  # noqa: E402

OLD, NEW = ROOT / "examples" / "refill_nudge_v1.journey", ROOT / "examples" / "refill_nudge.journey"
START = 1_772_380_800.0  # 2026-03-02T00:00:00+08:00
DAY = 86400.0


def events(customers: int):
    for n in range(customers):
        at = START + DAY * 20 * n / customers
        yield Event(f"e{n}", "order_paid", f"c{n:06d}", at,
                    {"name": f"会员{n}", "timezone": "Asia/Shanghai", "consent": {"wecom": True}},
                    {"order": {"total": 89}})


def without_migration():
    """Version 2's tables, its `migrate` block removed (the baseline's load)."""
    text = re.sub(r"\n  migrate from version 1 \{.*?\n  \}\n", "\n", NEW.read_text(encoding="utf-8"),
                  flags=re.S)
    result = api.check_text(text, "refill_nudge.journey")
    return compile_journey(result.journey, text, "refill_nudge.journey", "2026-01-01T00:00:00Z")


def timed_load(db: Path, tables) -> tuple[float, list]:
    with Runtime(SqliteStore(db)) as runtime:
        started = time.perf_counter()
        runtime.load(tables)
        return time.perf_counter() - started, runtime.migrated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="migration-bench-"))
    try:
        db = folder / "state.sqlite"
        with Runtime(SqliteStore(db)) as runtime:
            runtime.load(api.load_tables(OLD))
            runtime.ingest(events(args.customers))
            runtime.advance(START + 26 * DAY)
        copy = folder / "copy.sqlite"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{db}{suffix}").exists():
                shutil.copy(f"{db}{suffix}", f"{copy}{suffix}")
        baseline, _ = timed_load(copy, without_migration())
        seconds, summary = timed_load(db, api.load_tables(NEW))
        moved = sum(row[5] + row[6] + row[7] for row in summary)
        print(f"{args.customers:,} customers; {moved:,} runs of version 1 placed "
              f"({', '.join(f'{n} {what}' for n, what in zip(summary[0][5:], ('moved', 'stopped', 'kept')))})")
        print(f"load with the migration: {seconds:.2f} s ({moved / seconds:,.0f} runs/s); "
              f"baseline, the same load without it: {baseline:.2f} s; ratio {seconds / baseline:.1f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
