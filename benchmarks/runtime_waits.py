"""Where the runtime's process waits: wall and CPU time around the commit and its waits.

    python benchmarks/runtime_waits.py                          # mixed stream, 100,000 customers
    python benchmarks/runtime_waits.py --against 7f2c51c        # and that revision's code, alternating
    python benchmarks/runtime_waits.py --stream welcome --customers 10000 --rounds 3

Ingests the stream (as runtime_bench.py generates it) into a fresh state file and times, in
the runtime's process, the store's commit (wall and thread CPU), the encoding of the writer's
job, the hand-over of a commit to the writer (``_submit``: encoding, waiting for the writer's
answers, sending), each wait for the writer's answer (between batches and at the end), and
the final wait of ``ingest``. Each ingestion runs in a fresh process; with ``--against``
the baseline's code and this checkout's alternate, the baseline first in each round.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TREE = "RUNTIME_BENCH_CODE"
sys.path.insert(0, os.environ.get(_TREE, str(ROOT)))
sys.path.insert(0, str(ROOT / "benchmarks"))

import runtime_bench  # noqa: E402


def _timed(totals: dict, name: str, function, waits: list | None = None):
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.perf_counter() - wall
            total = totals.setdefault(name, [0.0, 0.0, 0])
            total[0] += spent
            total[1] += time.thread_time() - cpu
            total[2] += 1
            if waits is not None:
                waits.append(spent)
    return timed


def measure(events_file: Path, stream: str, batch: int | None) -> dict:
    """One ingestion with the timers in place (the code on ``sys.path``)."""
    from journeylang import api
    from journeylang.runtime import DEFAULT_BATCH, Runtime, SqliteStore, read_events
    from journeylang.runtime import runtime as runtime_module, sql, store, writer
    totals, waits = {}, []
    process_writer = writer.ProcessWriter
    if hasattr(process_writer, "_receive"):  # one answer at a time
        process_writer._receive = _timed(totals, "waits", process_writer._receive, waits)
    else:  # the code that waited for the one commit in flight
        plain = process_writer.wait

        def wait(self):
            if self._pending:
                return _timed(totals, "waits", plain, waits)(self)
        process_writer.wait = wait
    writer.encode_job = _timed(totals, "encode", writer.encode_job)
    store.SqliteStore._submit = _timed(totals, "submit", store.SqliteStore._submit)
    sql.SqlStore.commit = _timed(totals, "commit", sql.SqlStore.commit)
    runtime_module.Runtime._stored = _timed(totals, "end", runtime_module.Runtime._stored)
    _, names, _, _ = runtime_bench.STREAMS[stream]
    paths = [ROOT / "examples" / name for name in names] if names else runtime_bench.example_journeys()
    journeys = sorted((api.compile_file(p, compiled_at="2026-01-01T00:00:00Z").tables for p in paths),
                      key=lambda t: (t.journey_id, t.journey["version"] or 0))
    with tempfile.TemporaryDirectory() as folder:
        with Runtime(SqliteStore(Path(folder) / "state.sqlite"), seed=1) as runtime:
            for tables in journeys:
                runtime.load(tables)
            wall, cpu = time.perf_counter(), time.process_time()
            report = runtime.ingest(read_events(events_file), batch or DEFAULT_BATCH)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"read": report.read, "wall": wall, "cpu": cpu, "totals": totals, "waits": waits,
            "load": os.getloadavg()[0]}


def _in_fresh_process(args, events_file: Path, tree: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", _TREE)}
    if tree is not None:
        env[_TREE] = str(tree)
    batch = ["--batch", str(args.batch)] if args.batch else []
    found = subprocess.run([sys.executable, __file__, "--stream", args.stream, *batch,
                            "--measure", str(events_file)], capture_output=True, text=True,
                           env=env, cwd=tree or ROOT)
    if found.returncode != 0:
        raise SystemExit(f"the ingestion by {tree or ROOT} failed:\n{found.stderr}")
    return json.loads(found.stdout.splitlines()[-1])


def _show(name: str, run: dict) -> None:
    read, totals = run["read"], run["totals"]
    end = totals.get("end", [0.0, 0.0, 0])[0]
    waits = sum(run["waits"])
    print(f"{name}: {read:,} events, wall {run['wall']:.2f} s, CPU {run['cpu']:.2f} s "
          f"({run['wall'] / read * 1e6:.1f} / {run['cpu'] / read * 1e6:.1f} µs per event), "
          f"{read / run['wall']:,.0f} events/s, load {run['load']:.2f} at the end")
    print(f"  waiting for the writer between batches {waits - end:.2f} s, at the end {end:.2f} s; "
          f"longest waits (ms): {sorted(round(w * 1000) for w in run['waits'])[-6:]}")
    for key, label in (("commit", "the commit in all"), ("submit", "handing it over (_submit)"),
                       ("encode", "encoding the job")):
        wall, cpu, _ = totals.get(key, [0.0, 0.0, 0])
        print(f"  {label}: wall {wall:.2f} s, CPU {cpu:.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", choices=sorted(runtime_bench.STREAMS), default="mixed")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--against", metavar="REVISION")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.stream, args.batch)))
        return 0
    make, _, behaviour, customers = runtime_bench.STREAMS[args.stream]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        events_file = folder / "events.jsonl"
        runtime_bench.write(make(args.customers or customers, behaviour=behaviour), events_file)
        tree = runtime_bench.checkout(args.against, folder) if args.against else None
        for round_ in range(1, args.rounds + 1):
            if tree is not None:
                _show(f"round {round_}, {args.against}", _in_fresh_process(args, events_file, tree))
            _show(f"round {round_}, this code", _in_fresh_process(args, events_file, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
