"""Fault test: `journey serve` killed with kill -9 under load, again and again; every event it
acknowledged is applied exactly once.

    python benchmarks/live_fault.py                       # SQLite, 5 kills
    python benchmarks/live_fault.py --store postgres --kills 10

Clients post batches of entry events (a new customer each) while the service is killed with
SIGKILL at a random moment and started again; clients send again what was not acknowledged
(as a tracking library does), so at the end every event has been acknowledged at least once,
some more than once. Then it checks, in the state: no event id applied twice, every
acknowledged event applied, one run per customer (an event applied twice would enter twice).
Exit status 1 when any check fails.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from live_bench import (Clients, Service, bodies, config_file, count, drained, free_port,
                        state_for)

from journeylang.runtime.database import connect


def run_load(clients: Clients, stop: threading.Event) -> threading.Thread:
    def target():
        async def until_stopped():
            done = asyncio.Event()

            async def watch():
                while not stop.is_set():
                    await asyncio.sleep(0.05)
                done.set()
            watcher = asyncio.create_task(watch())
            await clients.run(3600, done)
            watcher.cancel()
        asyncio.run(until_stopped())
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def check(state: str, acked: set[str]) -> list[str]:
    db = connect(state)
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM events")]
        per_customer = [r[0] for r in db.execute("SELECT count(*) FROM runs GROUP BY customer")]
    finally:
        db.close()
    problems = []
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} events applied twice")
    lost = acked - set(ids)
    if lost:
        problems.append(f"{len(lost)} acknowledged events not applied")
    if any(n != 1 for n in per_customer):
        problems.append("a customer entered more than once")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        state, stop_server = state_for(args.store, folder)
        try:
            port = free_port()
            config = config_file(folder, state, port)
            log = folder / "serve.log"
            work = bodies(args.events, 50, "f")
            service = Service(config, port, log)
            clients = Clients(service.url, work, args.clients, 50)
            stop = threading.Event()
            thread = run_load(clients, stop)
            under_load = 0
            for kill in range(args.kills):
                time.sleep(rng.uniform(0.5, 3.0))
                before, loaded = len(clients.acked), bool(clients.work)
                service.kill()
                under_load += loaded
                print(f"kill -9 #{kill + 1}: {before:,} events acknowledged so far"
                      f"{'' if loaded else ' (the load was over)'}", flush=True)
                service = Service(config, port, log)
            while clients.work:  # the clients send again what was not acknowledged
                time.sleep(0.1)
            stop.set()
            thread.join()
            while not drained(state):
                time.sleep(0.1)
            service.kill()
            problems = check(state, clients.acked)
            events = count(state, "SELECT count(*) FROM events")
        finally:
            stop_server()
    print(f"{args.kills} kills ({under_load} under load); {len(clients.acked):,} events acknowledged "
          f"({clients.failed:,} requests failed with the service down and were sent again); "
          f"{events:,} applied")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("every acknowledged event applied exactly once; no event applied twice")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
