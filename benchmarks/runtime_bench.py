"""Runtime ingestion benchmark: events per second applied with durable state (SQLite, WAL).

    python benchmarks/runtime_bench.py                      # 100,000 customers
    python benchmarks/runtime_bench.py --customers 20000 --profile

Generates a realistic event stream for a cart-recovery journey (entries, replies, cart views,
orders, opt-outs; about 2.7 events per customer, in time order), writes it as events.jsonl,
then times `Runtime.ingest` reading that file into a fresh state file: parsing, validation,
every step, timer and policy, the outbox, the history, and the commits (synchronous=FULL).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeylang import api  # noqa: E402
from journeylang.runtime import DEFAULT_BATCH, Runtime, SqliteStore, read_events  # noqa: E402

JOURNEY = ROOT / "examples" / "cart_recovery.journey"
START = 1_772_409_600.0  # 2026-03-02T00:00:00Z
ZONES = ["Asia/Shanghai", "Asia/Singapore", "Asia/Shanghai", None]


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def generate(customers: int, seed: int = 7, behaviour: float = 6.0) -> list[dict]:
    """Events for ``customers`` customers over about four days, sorted by time.

    Per customer: one ``cart_abandoned`` (the journey's trigger; about 55% pass its entry
    condition and audience), the journey's own events (replies, cart views, orders, opt-outs),
    and on average ``behaviour`` behaviour events the journey does not wait for (product views,
    message reads, app opens; one in five updates a profile attribute), as a customer data
    platform forwards them.
    """
    rng = random.Random(seed)
    events = []
    for n in range(customers):
        cid, t0 = f"c{n:06d}", START + rng.uniform(0, 3 * 86400)
        attributes = {"name": f"Customer {n}", "country": rng.choice(["CN", "SG", "CN", "US"]),
                      "consent": {"wecom": rng.random() < 0.9, "sms": rng.random() < 0.6}}
        zone = rng.choice(ZONES)
        if zone:
            attributes["timezone"] = zone
        value = round(rng.lognormvariate(4.6, 0.7), 2)
        events.append({"id": f"{cid}-1", "type": "cart_abandoned", "customer": cid, "at": t0,
                       "attributes": attributes, "data": {"cart": {"value": value, "items": "2 items"}}})
        roll = rng.random()
        if roll < 0.2:
            events.append({"id": f"{cid}-2", "type": "replied", "customer": cid,
                           "at": t0 + rng.uniform(3600, 20 * 3600)})
        elif roll < 0.7:
            events.append({"id": f"{cid}-2", "type": "cart_viewed", "customer": cid,
                           "at": t0 + rng.uniform(3600, 30 * 3600), "data": {"count": rng.randint(1, 3)}})
        roll = rng.random()
        if roll < 0.15:
            events.append({"id": f"{cid}-3", "type": "order_paid", "customer": cid,
                           "at": t0 + rng.uniform(1800, 3 * 86400),
                           "data": {"order": {"source": "cart", "total": value}}})
        elif roll < 0.18:
            events.append({"id": f"{cid}-3", "type": "unsubscribed", "customer": cid,
                           "at": t0 + rng.uniform(1800, 2 * 86400)})
        for k in range(_poisson(rng, behaviour)):
            kind = rng.choice(BEHAVIOUR)
            event = {"id": f"{cid}-b{k}", "type": kind, "customer": cid,
                     "at": START + rng.uniform(-86400, 4 * 86400), "data": {"item": rng.randint(1, 500)}}
            if rng.random() < 0.2:
                event["attributes"] = {"last_seen_item": event["data"]["item"]}
            events.append(event)
    events.sort(key=lambda e: (e["at"], e["id"]))
    for event in events:
        event["at"] = iso(event["at"])
    return events


BEHAVIOUR = ["product_viewed", "message_read", "app_opened", "product_viewed", "search"]


def generate_welcome(customers: int, seed: int = 7, behaviour: float = 2.45) -> list[dict]:
    """A journey-heavy stream for ``examples/welcome_activation.journey``: new contacts over two
    weeks, most of whose events move their run (about 5.8 events per customer).

    Per customer: one ``contact_added`` (87% with WeCom consent, 60% SMS; some staff and test
    accounts the audience leaves out; four time zones), the agents' ``handoff_resolved`` for the
    day-0 handoff (80%) and for a later one (50%), ``trial_claimed`` (45%, sometimes twice),
    ``offer_clicked`` (30%), ``order_paid`` (18%), ``unsubscribed`` (2%) or ``contact_deleted``
    (1%), and ``behaviour`` behaviour events on average that the journey does not wait for.
    """
    rng = random.Random(seed)
    events = []

    def add(cid, kind, at, data=None, attributes=None, suffix=""):
        event = {"id": f"{cid}-{kind}{suffix}", "type": kind, "customer": cid, "at": at}
        if data:
            event["data"] = data
        if attributes:
            event["attributes"] = attributes
        events.append(event)

    for n in range(customers):
        cid, t0 = f"w{n:06d}", START + rng.uniform(0, 14 * 86400)
        zone = rng.choice(ZONES)
        attributes = {"name": f"客户{n}", "locale": rng.choice(["zh", "zh", "zh", "en"]),
                      "consent": {"wecom": rng.random() < 0.87, "sms": rng.random() < 0.6}}
        if zone:
            attributes["timezone"] = zone
        roll = rng.random()
        if roll < 0.01:
            attributes["tags"] = ["staff"]
        elif roll < 0.02:
            attributes["tags"] = ["test_account"]
        add(cid, "contact_added", t0, {"channel": rng.choice(["qr", "video_coupon", "store"])},
            attributes)
        if rng.random() < 0.8:
            add(cid, "handoff_resolved", t0 + rng.uniform(600, 60 * 3600),
                {"role": "dedicated_agent"})
        if rng.random() < 0.45:
            claimed = t0 + rng.uniform(20 * 3600, 3 * 86400)
            add(cid, "trial_claimed", claimed)
            if rng.random() < 0.2:
                add(cid, "trial_claimed", claimed + rng.uniform(600, 86400), suffix="2")
        if rng.random() < 0.3:
            add(cid, "offer_clicked", t0 + rng.uniform(7 * 86400, 10 * 86400))
        if rng.random() < 0.5:
            add(cid, "handoff_resolved", t0 + rng.uniform(7 * 86400, 9 * 86400),
                {"role": "dedicated_agent"}, suffix="2")
        if rng.random() < 0.18:
            add(cid, "order_paid", t0 + rng.uniform(3600, 14 * 86400),
                {"order": {"id": f"o{n}", "total": round(rng.lognormvariate(4.4, 0.6), 2)}})
        roll = rng.random()
        if roll < 0.02:
            add(cid, "unsubscribed", t0 + rng.uniform(3600, 10 * 86400))
        elif roll < 0.03:
            add(cid, "contact_deleted", t0 + rng.uniform(3600, 10 * 86400))
        for k in range(_poisson(rng, behaviour)):
            add(cid, rng.choice(BEHAVIOUR), t0 + rng.uniform(0, 14 * 86400),
                {"item": rng.randint(1, 500)}, suffix=f"{k}")
    events.sort(key=lambda e: (e["at"], e["id"]))
    for event in events:
        event["at"] = iso(event["at"])
    return events


STREAMS = {"mixed": (generate, "cart_recovery.journey", 6.0),
           "welcome": (generate_welcome, "welcome_activation.journey", 2.45)}


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def write(events: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")


def ingest(events_file: Path, state: Path, batch: int, tables):
    with Runtime(SqliteStore(state), seed=1) as runtime:
        runtime.load(tables)
        started, cpu = time.perf_counter(), time.process_time()
        report = runtime.ingest(read_events(events_file), batch)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        outbox = runtime.store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return report, seconds, cpu, outbox


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", choices=sorted(STREAMS), default="mixed")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help="events per transaction (default: the runtime's)")
    parser.add_argument("--behaviour", type=float, default=None,
                        help="behaviour events per customer the journey does not wait for (0: journey events only)")
    parser.add_argument("--profile", action="store_true", help="run under cProfile, print the top 25")
    parser.add_argument("--journey", type=Path, default=None)
    args = parser.parse_args(argv)
    make, journey, behaviour = STREAMS[args.stream]
    args.customers = args.customers or (100_000 if args.stream == "mixed" else 50_000)
    args.behaviour = behaviour if args.behaviour is None else args.behaviour
    args.journey = args.journey or ROOT / "examples" / journey
    compiled = api.compile_file(args.journey, compiled_at="2026-01-01T00:00:00Z")
    if not compiled.ok:
        print(f"{args.journey} does not compile", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        events_file, state = Path(folder) / "events.jsonl", Path(folder) / "state.sqlite"
        events = make(args.customers, behaviour=args.behaviour)
        write(events, events_file)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        del events  # the runtime's memory only, from here on
        report, seconds, cpu, outbox = ingest(events_file, state, args.batch, compiled.tables)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        size = os.path.getsize(state) + os.path.getsize(f"{state}-wal") if os.path.exists(f"{state}-wal") \
            else os.path.getsize(state)
    print(f"customers {args.customers:,}; events {report.read:,} ({report.applied:,} applied); "
          f"timers fired {report.timers:,}; outbox rows {outbox:,}; batches {report.batches} "
          f"of {args.batch}; state {size / 1e6:.0f} MB")
    print(f"ingested in {seconds:.2f} s ({cpu:.2f} s CPU): {report.read / seconds:,.0f} events/s "
          f"({(report.read + report.timers) / seconds:,.0f} events+timers/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
