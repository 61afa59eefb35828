"""Runtime ingestion benchmark: events per second applied with durable state (SQLite, WAL).

    python benchmarks/runtime_bench.py                          # mixed stream, 100,000 customers
    python benchmarks/runtime_bench.py --stream welcome         # journey-heavy, 50,000 customers
    python benchmarks/runtime_bench.py --stream welcome --against REV   # and the baseline REV
    python benchmarks/runtime_bench.py --stream all             # every example, 50,000 customers
    python benchmarks/runtime_bench.py --customers 20000 --profile

Generates a realistic event stream, writes it as events.jsonl, then times `Runtime.ingest`
reading that file into a fresh state file: parsing, validation, every step, timer and policy,
the outbox, the history, and the commits (synchronous=FULL). Two streams: ``mixed``, a
cart-recovery journey among behaviour events it does not wait for (entries, replies, cart views,
orders, opt-outs; about 7.9 events per customer), and ``welcome``, the journey-heavy
onboarding of examples/welcome_activation.journey (about 5.8 events per customer, most of which
move a run), and ``all``, every bundled example journey loaded at once and the sample events of
every example (examples/events/) replayed for many customers. Printed with the result, from the same run: the rows written per event and how
busy the writer process was (storing those rows alone: the ceiling of the runtime), and with
``--against`` the same ingestion by the code of another git revision (the baseline), run first;
both sides then run in fresh processes.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TREE = "RUNTIME_BENCH_CODE"  # the baseline's code, when this script runs it (--against)
sys.path.insert(0, os.environ.get(_TREE, str(ROOT)))

from journeylang import api  # noqa: E402
from journeylang.runtime import DEFAULT_BATCH, Runtime, SqliteStore, read_events  # noqa: E402
from journeylang.runtime.events import parse_time  # noqa: E402

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


def generate_examples(customers: int, seed: int = 7, behaviour: float = 2.0) -> list[dict]:
    """Every bundled example's sample events (``examples/events/*.jsonl``, 75 customers and
    199 events in all) replayed for about ``customers`` customers, for a runtime with every
    example journey loaded: each replay of a file renames its customers and events and moves
    them by a whole number of days (0 to 13) and up to an hour, so local times stay about
    where the example put them; plus ``behaviour`` behaviour events per customer on average.
    """
    rng = random.Random(seed)
    samples = []
    for path in sorted((ROOT / "examples" / "events").glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        for event in lines:
            event["at"] = parse_time(event["at"])
        samples.append((path.stem, lines, sorted({e["customer"] for e in lines})))
    events, made, replay = [], 0, 0
    while made < customers:
        for stem, lines, people in samples:
            shift = rng.randrange(14) * 86400 + rng.uniform(0, 3600)
            names = {person: f"{stem}-{replay}-{person}" for person in people}
            for event in lines:
                events.append({**event, "id": f"{stem}-{replay}-{event['id']}",
                               "customer": names[event["customer"]], "at": event["at"] + shift})
            for person in people:
                first = min(e["at"] for e in lines if e["customer"] == person) + shift
                for k in range(_poisson(rng, behaviour)):
                    events.append({"id": f"{names[person]}-b{k}", "type": rng.choice(BEHAVIOUR),
                                   "customer": names[person],
                                   "at": first + rng.uniform(0, 14 * 86400),
                                   "data": {"item": rng.randint(1, 500)}})
            made += len(people)
        replay += 1
    events.sort(key=lambda e: (e["at"], e["id"]))
    for event in events:
        event["at"] = iso(event["at"])
    return events


def example_journeys() -> list[Path]:
    """Every bundled example journey."""
    return sorted([*(ROOT / "examples").glob("*.journey"), *(ROOT / "examples").glob("*.yaml")])


# name: (events, the journeys it runs (None: every example), behaviour events per customer,
# default customers)
STREAMS = {"mixed": (generate, ["cart_recovery.journey"], 6.0, 100_000),
           "welcome": (generate_welcome, ["welcome_activation.journey"], 2.45, 50_000),
           "all": (generate_examples, None, 2.0, 50_000)}


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


def _time_the_writer(record: Path) -> None:
    """Make the writer process add up, in ``record``, the wall and CPU time of each commit it
    writes and the rows it inserts, updates and deletes (SQLite's count: a statement may
    write many rows from one, as the applied ids moved to their index): the cost of storing
    the rows alone, which no runtime in front of it can beat (the writer is forked after this,
    so it runs the timed function)."""
    from journeylang.runtime import writer
    plain, totals = writer.write, [0.0, 0.0, 0]

    def timed(db, job):
        started, cpu, changes = time.perf_counter(), time.process_time(), db.total_changes
        plain(db, job)
        totals[0] += time.perf_counter() - started
        totals[1] += time.process_time() - cpu
        totals[2] += db.total_changes - changes
        record.write_text(" ".join(map(str, totals)))

    writer.write = timed


def ingest(events_file: Path, state: Path, batch: int, journeys: list) -> dict:
    """Ingest the file into a fresh state with ``journeys`` (compiled) loaded: the report,
    times, and what the writer did."""
    record = state.with_suffix(".writer")
    _time_the_writer(record)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Runtime(SqliteStore(state), seed=1) as runtime:
        for tables in journeys:
            runtime.load(tables)
        started, cpu = time.perf_counter(), time.process_time()
        report = runtime.ingest(read_events(events_file), batch)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        outbox = runtime.store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    # the writer process, ended by the runtime's close: all its CPU (receiving and decoding
    # its jobs too, which the busy time leaves out)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    busy, busy_cpu, rows = record.read_text().split()
    return {"read": report.read, "applied": report.applied, "timers": report.timers,
            "batches": report.batches, "seconds": seconds, "cpu": cpu, "outbox": outbox,
            "writer": float(busy), "writer_cpu": float(busy_cpu), "rows": int(rows),
            "writer_process": process}


def checkout(revision: str, folder: Path) -> Path:
    """The code of ``revision`` (a git revision of this repository) in ``folder/baseline``:
    the package, its grammar and stdlib, compiled."""
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "journeylang",
                              "grammar", "stdlib"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    # compiled before, as this checkout's modules are: else what the ingestion imports on its
    # way (templates, policies) is compiled inside the baseline's timing
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True)
    return tree


def baseline(revision: str, args, events_file: Path, folder: Path) -> dict:
    """The same ingestion with the code of ``revision``, in a fresh process that imports that
    code."""
    tree = checkout(revision, folder)
    return in_fresh_process(args, events_file, folder / "baseline.sqlite", tree)


def in_fresh_process(args, events_file: Path, state: Path, tree: Path | None = None) -> dict:
    """The ingestion by this script again, in a fresh process importing the code of ``tree``
    (this checkout's when None): with ``--against`` both sides run so, since the process that
    generated the events carries their garbage and measured a few per cent slower than a
    fresh one on the same code."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", _TREE)}
    if tree is not None:
        env[_TREE] = str(tree)
    journey = ["--journey", str(args.journey)] if args.journey else []
    batch = ["--batch", str(args.batch)] if args.batch else []  # else that code's default
    found = subprocess.run([sys.executable, __file__, "--stream", args.stream, *journey,
                            *batch, "--ingest", str(events_file), str(state)],
                           capture_output=True, text=True, env=env, cwd=tree or ROOT)
    if found.returncode != 0:
        raise SystemExit(f"the ingestion by {tree or ROOT} failed:\n{found.stderr}")
    return json.loads(found.stdout.splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", choices=sorted(STREAMS), default="mixed")
    parser.add_argument("--customers", type=int, default=None,
                        help="default: 100,000 (mixed), 50,000 (welcome, all)")
    parser.add_argument("--batch", type=int, default=None,
                        help="events per transaction (default: the runtime's, the baseline's "
                             "own with --against)")
    parser.add_argument("--behaviour", type=float, default=None,
                        help="behaviour events per customer the journey does not wait for (0: journey events only)")
    parser.add_argument("--profile", action="store_true", help="run under cProfile, print the top 25")
    parser.add_argument("--journey", type=Path, default=None,
                        help="run this journey instead of the stream's")
    parser.add_argument("--against", metavar="REVISION",
                        help="also ingest the same events with the code of this git revision "
                             "(the baseline), first, and print the ratio")
    parser.add_argument("--ingest", nargs=2, type=Path, metavar=("EVENTS", "STATE"),
                        help=argparse.SUPPRESS)  # the baseline's run: print its figures as JSON
    args = parser.parse_args(argv)
    make, names, behaviour, customers = STREAMS[args.stream]
    args.customers = args.customers or customers
    args.behaviour = behaviour if args.behaviour is None else args.behaviour
    paths = [args.journey] if args.journey else \
        [ROOT / "examples" / name for name in names] if names else example_journeys()
    journeys = []
    for path in paths:
        compiled = api.compile_file(path, compiled_at="2026-01-01T00:00:00Z")
        if not compiled.ok:
            print(f"{path} does not compile", file=sys.stderr)
            return 1
        journeys.append(compiled.tables)
    # a journey's versions in order: the last one loaded is the one new customers enter
    journeys.sort(key=lambda t: (t.journey_id, t.journey["version"] or 0))
    batch = args.batch or DEFAULT_BATCH
    if args.ingest:
        print(json.dumps({**ingest(*args.ingest, batch, journeys), "batch": batch}))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        events_file, state = folder / "events.jsonl", folder / "state.sqlite"
        events = make(args.customers, behaviour=args.behaviour)
        write(events, events_file)
        del events  # the runtime's memory only, from here on
        before = baseline(args.against, args, events_file, folder) if args.against else None
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        if args.against and not args.profile:
            run = in_fresh_process(args, events_file, state)
        else:
            run = ingest(events_file, state, batch, journeys)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        size = sum(os.path.getsize(p) for p in folder.glob("state.sqlite*"))
    read, seconds = run["read"], run["seconds"]
    shown = paths[0].name if len(paths) == 1 else f"{len(paths)} example journeys"
    print(f"stream {args.stream} ({shown}): customers {args.customers:,}; events "
          f"{read:,} ({run['applied']:,} applied); timers fired {run['timers']:,}; outbox rows "
          f"{run['outbox']:,}; batches {run['batches']} of {batch:,}; state {size / 1e6:.0f} MB")
    print(f"ingested in {seconds:.2f} s ({run['cpu']:.2f} s CPU in the runtime's process, "
          f"{run['cpu'] / read * 1e6:.1f} µs per event): {read / seconds:,.0f} events/s "
          f"({(read + run['timers']) / seconds:,.0f} events+timers/s)")
    print(f"rows written {run['rows']:,}: {run['rows'] / read:.2f} per event; the writer "
          f"process busy {run['writer']:.2f} s ({run['writer_cpu']:.2f} s CPU, "
          f"{run['writer_cpu'] / read * 1e6:.1f} µs per event; {run['writer_process']:.2f} s "
          f"for the whole process): storing alone "
          f"would reach {read / run['writer']:,.0f} events/s (the runtime's ceiling), the "
          f"runtime reaches {run['writer'] / seconds:.2f} of it")
    if before is not None:
        print(f"baseline {args.against} (batches of {before.get('batch', batch):,}): "
              f"{before['seconds']:.2f} s ({before['cpu']:.2f} s CPU, "
              f"{before['cpu'] / before['read'] * 1e6:.1f} µs per event, writer "
              f"{before['writer_cpu']:.2f} s CPU, "
              f"{before['writer_cpu'] / before['read'] * 1e6:.1f} µs per event), "
              f"{before['read'] / before['seconds']:,.0f}"
              f" events/s, {before['rows'] / before['read']:.2f} rows per event")
        print(f"ratio to the baseline: wall time {before['seconds'] / seconds:.2f}x, CPU of the "
              f"runtime's process {before['cpu'] / run['cpu']:.2f}x, of the writer's "
              f"{before['writer_cpu'] / run['writer_cpu']:.2f}x, rows "
              f"{before['rows'] / run['rows']:.2f}x")
        print(f"the writer process in all (its jobs decoded too): {run['writer_process']:.2f} s "
              f"CPU, baseline {before['writer_process']:.2f} s; both processes "
              f"{(run['cpu'] + run['writer_process']) / read * 1e6:.1f} µs per event, baseline "
              f"{(before['cpu'] + before['writer_process']) / before['read'] * 1e6:.1f} µs: "
              f"{(before['cpu'] + before['writer_process']) / (run['cpu'] + run['writer_process']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
