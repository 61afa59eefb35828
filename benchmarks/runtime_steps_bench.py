"""Runtime step semantics benchmark: the CPU time of applying events and firing timers, alone.

    python benchmarks/runtime_steps_bench.py --stream welcome --customers 10000 --against REV
    python benchmarks/runtime_steps_bench.py --stream mixed --customers 30000 --against REV

The streams of ``runtime_bench.py`` (the same generators, journeys and seed), applied by
``Runtime.ingest`` to an in-memory store: every step, timer, policy, rendered message and history
entry, without the SQL store, its commits and the writer process (``runtime_bench.py`` measures
those). The events are read and validated before the clock starts. With ``--against REV`` the
code of another git revision (the baseline) runs the same events in a subprocess of its own,
alternating with this code ``--repeat`` times; printed: each run's CPU time per event, the
medians and their ratio, and whether both produced the same history, outbox and event notes (a
digest of them: the same semantics give the same digest).
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TREE = "RUNTIME_BENCH_CODE"  # the code to run (this script's tree, or the baseline's)
sys.path.insert(0, os.environ.get(_TREE, str(ROOT)))
sys.path.insert(1, str(ROOT / "benchmarks"))

import runtime_bench  # noqa: E402  (its generators and streams)


def apply(events_file: Path, stream: str, journey: Path | None) -> dict:
    """Ingest the file into a fresh in-memory runtime with the code on ``sys.path``: CPU
    seconds, counts and a digest of what it recorded."""
    from journeylang import api
    from journeylang.runtime import MemoryStore, Runtime, read_events
    _, names, _, _ = runtime_bench.STREAMS[stream]
    paths = [journey] if journey else \
        [ROOT / "examples" / name for name in names] if names else runtime_bench.example_journeys()
    tables = [api.compile_file(p, compiled_at="2026-01-01T00:00:00Z").tables for p in paths]
    tables.sort(key=lambda t: (t.journey_id, t.journey["version"] or 0))
    events = list(read_events(events_file))
    runtime = Runtime(MemoryStore(), seed=1)
    for table in tables:
        runtime.load(table)
    gc.collect()
    cpu = time.process_time()
    report = runtime.ingest(iter(events))
    cpu = time.process_time() - cpu
    store = runtime.store
    digest = hashlib.sha256()
    for row in store.history_rows:
        digest.update(repr(row).encode())
    for action in store.outbox_rows:
        digest.update(repr((action.id, action.at, action.customer, action.kind, action.channel,
                            action.template, action.locale, action.text, action.payload,
                            action.due, action.status)).encode())
    digest.update(repr(sorted(store.notes.items())).encode())
    return {"cpu": cpu, "read": report.read, "timers": report.timers,
            "history": len(store.history_rows), "outbox": len(store.outbox_rows),
            "digest": digest.hexdigest()}


def run_tree(tree: Path | None, args, events_file: Path) -> dict:
    """``apply`` in a subprocess with the code of ``tree`` (None: this tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[_TREE] = str(tree or ROOT)
    journey = ["--journey", str(args.journey)] if args.journey else []
    found = subprocess.run([sys.executable, __file__, "--stream", args.stream, *journey,
                            "--apply", str(events_file)],
                           capture_output=True, text=True, env=env, cwd=tree or ROOT)
    if found.returncode != 0:
        raise SystemExit(f"the run with {tree or ROOT} failed:\n{found.stderr}")
    return json.loads(found.stdout.splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", choices=sorted(runtime_bench.STREAMS), default="mixed")
    parser.add_argument("--customers", type=int, default=None,
                        help="default: 10,000 (welcome, all), 30,000 (mixed)")
    parser.add_argument("--journey", type=Path, default=None,
                        help="run this journey instead of the stream's")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each code (default 3)")
    parser.add_argument("--against", metavar="REVISION",
                        help="also run the code of this git revision (the baseline), alternating")
    parser.add_argument("--apply", type=Path, metavar="EVENTS",
                        help=argparse.SUPPRESS)  # one run: print its figures as JSON
    args = parser.parse_args(argv)
    if args.apply:
        print(json.dumps(apply(args.apply, args.stream, args.journey)))
        return 0
    make, _, behaviour, _ = runtime_bench.STREAMS[args.stream]
    customers = args.customers or (30_000 if args.stream == "mixed" else 10_000)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        events_file = folder / "events.jsonl"
        runtime_bench.write(make(customers, behaviour=behaviour), events_file)
        baseline = runtime_bench.checkout(args.against, folder) if args.against else None
        runs: dict[str, list[dict]] = {"baseline": [], "now": []}
        for number in range(1, args.repeat + 1):
            load = os.getloadavg()[0]
            if baseline is not None:
                runs["baseline"].append(run_tree(baseline, args, events_file))
            runs["now"].append(run_tree(None, args, events_file))
            shown = " / ".join(f"{r[-1]['cpu'] / r[-1]['read'] * 1e6:.1f}"
                               for r in (runs["baseline"], runs["now"]) if r)
            print(f"run {number} (load {load:.2f}): µs of CPU per event"
                  f"{', baseline / now' if baseline is not None else ''}: {shown}")
    now = runs["now"][-1]
    median = statistics.median(r["cpu"] for r in runs["now"])
    print(f"stream {args.stream}: customers {customers:,}; events {now['read']:,}; timers fired "
          f"{now['timers']:,}; history entries {now['history']:,}; actions {now['outbox']:,}")
    print(f"median CPU {median:.2f} s, {median / now['read'] * 1e6:.1f} µs per event")
    if runs["baseline"]:
        before = statistics.median(r["cpu"] for r in runs["baseline"])
        same = all(r["digest"] == now["digest"] for r in runs["baseline"] + runs["now"])
        print(f"baseline {args.against}: median CPU {before:.2f} s, "
              f"{before / now['read'] * 1e6:.1f} µs per event; ratio {before / median:.2f}x; "
              f"same history, outbox and notes: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
