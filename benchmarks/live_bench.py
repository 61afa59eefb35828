"""Live ingestion benchmark: `journey serve` over HTTP, several clients, entries per second.

    python benchmarks/live_bench.py                          # SQLite, batches of 100
    python benchmarks/live_bench.py --batch 1 --seconds 20   # one /v1/track call per event
    python benchmarks/live_bench.py --store postgres         # a throwaway local PostgreSQL

Starts `journey serve` on a fresh state with every bundled example journey and posts
cart_abandoned events that all enter examples/cart_recovery.journey (a new customer each:
consent, country and cart value pass its entry condition and audience), from ``--clients``
concurrent connections, for ``--seconds``. Reports the events accepted per second (answered
200: durably in the inbox) and the latency of the answers (p50, p99), then waits until every
accepted event is applied and reports the event-triggered entries per second end to end, and
checks one run per event. The baseline, measured in the same run: the same events applied by
`Runtime.ingest` from a JSON Lines file (what `journey run` does), in this process. The
machine's load average is printed beside the numbers: they are only comparable on an idle one.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from journeylang.runtime.database import connect  # noqa: E402

EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*") if p.suffix in (".journey", ".yaml"))
TOKEN = "bench-token"


def config_file(folder: Path, state: str, port: int, extra: str = "") -> Path:
    path = folder / "live.toml"
    path.write_text(f'state = {json.dumps(state)}\njourneys = {json.dumps(EXAMPLES)}\n'
                    f'timezone = "Asia/Shanghai"\n\n[auth]\ntokens_env = "BENCH_TOKENS"\n\n'
                    f'[serve]\nport = {port}\nmax_backlog = 1000000\n{extra}\n', encoding="utf-8")
    return path


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """`journey serve --config FILE` in a subprocess."""

    def __init__(self, config: Path, port: int, log: Path):
        self.url, self.log = f"http://127.0.0.1:{port}", log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "journeylang.cli", "serve", "--config", str(config)],
            stdout=open(log, "a"), stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, "BENCH_TOKENS": TOKEN, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit("serve did not start")

    def kill(self, sig=signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(60)


def event(n: int, prefix: str) -> dict:
    return {"type": "track", "messageId": f"{prefix}-{n}", "userId": f"{prefix}-c{n}",
            "event": "cart_abandoned",
            "traits": {"name": f"客户{n}", "country": "CN", "consent": {"wecom": True}},
            "properties": {"cart": {"value": 60 + n % 400, "items": "2 items"}}}


def bodies(count: int, batch: int, prefix: str) -> list[tuple[list[str], bytes]]:
    """Request bodies made ahead (the clients then spend their time on HTTP only)."""
    found = []
    for start in range(0, count, batch):
        items = [event(n, prefix) for n in range(start, min(count, start + batch))]
        body = items[0] if batch == 1 else {"batch": items}
        found.append(([i["messageId"] for i in items], json.dumps(body).encode()))
    return found


class Clients:
    """``clients`` keep-alive connections posting the bodies in turn until ``seconds`` pass (or
    stopped); a body not acknowledged goes back in the queue, as a tracking library retries.
    Keeps the ids acknowledged and each answer's latency.

    The connections speak HTTP/1.1 on asyncio streams directly: the clients share the two cores
    with the service, and a full HTTP client library costs more CPU per request than the
    service does (httpx's async client managed about a tenth of the requests per second)."""

    def __init__(self, url: str, work: list, clients: int, batch: int):
        self.host, self.port = url.removeprefix("http://").split(":")
        self.clients = clients
        self.work = deque(work)
        self.path = "/v1/track" if batch == 1 else "/v1/batch"
        self.acked: set[str] = set()
        self.latencies: list[float] = []
        self.refused = self.failed = 0

    async def run(self, seconds: float, stop: asyncio.Event | None = None) -> float:
        stop = stop or asyncio.Event()
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(self._client(deadline, stop) for _ in range(self.clients)))
        return time.perf_counter() - started

    def _request(self, body: bytes) -> bytes:
        return (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def _client(self, deadline: float, stop: asyncio.Event) -> None:
        streams = None
        while time.perf_counter() < deadline and not stop.is_set() and self.work:
            ids, body = self.work.popleft()
            began = time.perf_counter()
            try:
                if streams is None:
                    streams = await asyncio.open_connection(self.host, int(self.port))
                status, retry_after = await _exchange(*streams, self._request(body))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.failed += 1  # the service is gone (a fault test): again later
                self.work.append((ids, body))
                streams = None
                await asyncio.sleep(0.05)
                continue
            if status == 200:
                self.latencies.append(time.perf_counter() - began)
                self.acked.update(ids)
            else:
                self.refused += 1
                self.work.append((ids, body))
                await asyncio.sleep(retry_after)
        if streams is not None:
            streams[1].close()


async def _exchange(reader, writer, request: bytes) -> tuple[int, float]:
    """Send one request, read its answer: the status and Retry-After (seconds)."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readuntil(b"\r\n")).split()[1])
    length, retry_after = 0, 0.1
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "retry-after":
            retry_after = float(value)
    await reader.readexactly(length)
    return status, retry_after


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def drained(state: str) -> bool:
    db = connect(state)
    try:
        return db.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0
    finally:
        db.close()


def count(state: str, sql: str) -> int:
    db = connect(state)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def state_for(store: str, folder: Path):
    """The state to serve, and a function stopping what was started for it."""
    if store == "sqlite":
        return str(folder / "state.sqlite"), lambda: None
    url = os.environ.get("JOURNEYLANG_TEST_POSTGRES")
    import pg
    server = None
    if not url:
        server = pg.Server()
        url = server.url
    return pg.fresh_schema(url), (server.stop if server else (lambda: None))


def baseline(folder: Path, count: int) -> float:
    """Entries per second of `Runtime.ingest` over the same events from a JSON Lines file."""
    from journeylang.api import load_tables
    from journeylang.runtime import Runtime, SqliteStore, read_events
    from journeylang.runtime.events import iso
    events = folder / "baseline.jsonl"
    now = time.time()
    with open(events, "w", encoding="utf-8") as handle:
        for n in range(count):
            raw = event(n, "base")
            handle.write(json.dumps({"id": raw["messageId"], "type": raw["event"],
                                     "customer": raw["userId"], "at": iso(now),
                                     "attributes": raw["traits"], "data": raw["properties"]}) + "\n")
    with Runtime(SqliteStore(folder / "baseline.sqlite"), timezone="Asia/Shanghai") as runtime:
        for path in EXAMPLES:
            runtime.load(load_tables(path))
        started = time.perf_counter()
        report = runtime.ingest(read_events(events))
        seconds = time.perf_counter() - started
        runs = runtime.store.db.execute("SELECT count(*) FROM runs").fetchone()[0]
    assert runs == count, (runs, count)
    return count / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100, help="events per request (1: /v1/track)")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        state, stop_server = state_for(args.store, folder)
        try:
            port = free_port()
            service = Service(config_file(folder, state, port), port, folder / "serve.log")
            work = bodies(int(args.seconds * 40_000), args.batch, "b")
            clients = Clients(service.url, work, args.clients, args.batch)
            load_before = os.getloadavg()
            started = time.perf_counter()
            seconds = asyncio.run(clients.run(args.seconds))
            while not drained(state):
                time.sleep(0.05)
            total = time.perf_counter() - started
            load_after = os.getloadavg()
            runs = count(state, "SELECT count(*) FROM runs")
            service.kill(signal.SIGTERM)
            base = baseline(folder, min(runs, 100_000)) if args.store == "sqlite" else None
        finally:
            stop_server()
    accepted = len(clients.acked)
    print(f"store {args.store}; {args.clients} clients, {args.batch} events per request; "
          f"{os.cpu_count()} cores, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    print(f"accepted {accepted:,} events in {seconds:.1f} s: {accepted / seconds:,.0f} events/s; "
          f"latency p50 {percentile(clients.latencies, 50) * 1000:.1f} ms, "
          f"p99 {percentile(clients.latencies, 99) * 1000:.1f} ms; {clients.refused} refused")
    print(f"applied: {runs:,} event-triggered entries, all applied {total:.1f} s after the "
          f"first request: {runs / total:,.0f} entries/s end to end")
    if base is not None:
        print(f"baseline (Runtime.ingest of the same events from a file, no HTTP): "
              f"{base:,.0f} entries/s; ratio live/baseline {runs / total / base:.2f}")
    if runs != accepted:
        print(f"MISMATCH: {accepted} events accepted, {runs} runs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
