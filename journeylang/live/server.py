"""Live stage: starting and stopping the processes: `journey serve` (uvicorn serving the app,
with the applier, and optionally a delivery worker) and `journey deliver`.

Everything that can be wrong with the configuration, the journeys or the state is found
before the service listens: the process exits with the reason instead of starting half-broken.
SIGTERM (and Ctrl-C) stop it gracefully: no new connections, the requests under way are
answered once their events are committed, the applier finishes its turn.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import threading

from ..api import load_tables
from ..runtime.database import describe
from .config import ConfigError, LiveConfig

log = logging.getLogger("journeylang.serve")


def setup_logging(level: int = logging.INFO) -> None:
    """Plain lines on stderr: time, level, what happened (counts and ids, never customer data)."""
    root = logging.getLogger("journeylang")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def journeys_of(config: LiveConfig) -> list:
    """The compiled journeys the configuration names (JourneyError or TablesError when one
    does not compile)."""
    return [load_tables(path) for path in config.journeys]


def build_service(config: LiveConfig, tables: list):
    """A service ready to start: the state opened (as applier, or standby behind another)."""
    from .app import Service
    if not config.auth.get("tokens") and not config.auth.get("hmac_secret"):
        raise ConfigError(f"{config.path}: auth: set tokens_env or hmac_secret_env: the service "
                          f"accepts no request without credentials")
    service = Service(config, tables)
    service.applier.lead(wait=1.0)
    if service.applier.runtime is not None and not service.applier.runtime.programs:
        log.warning("the state %s has no journeys: events are recorded but start nothing "
                    "(list journey files under 'journeys')", describe(config.state))
    return service


# The applier keeps every customer it has seen in memory (acyclic: reference counting frees
# it), and the cyclic collector's full passes rescan that growing cache again and again: a
# third of the applier's time with the default thresholds (measured). Young objects are still
# collected often; full collections become rare.
GC_THRESHOLDS = (200_000, 20, 50)


def serve(config: LiveConfig, tables: list, deliver: bool = False) -> None:
    import uvicorn
    from .app import create_app
    service = build_service(config, tables)
    gc.freeze()  # what start-up made (modules, journeys) is never garbage
    gc.set_threshold(*GC_THRESHOLDS)
    if deliver:
        service.on_stop.append(_worker_thread(config))
    options = config.serve
    server = uvicorn.Server(uvicorn.Config(
        create_app(service), host=options["host"], port=options["port"], log_config=None,
        access_log=options["access_log"], timeout_graceful_shutdown=int(options["shutdown_grace"]),
        lifespan="on", server_header=False))
    log.info("serving on http://%s:%d (state %s)", options["host"], options["port"],
             describe(config.state))
    # uvicorn stops gracefully on SIGTERM, then raises it again for the handler it found: a
    # handler of ours makes that the end of a normal exit (status 0), not a death by signal
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _worker_thread(config: LiveConfig):
    """A delivery worker on a thread of its own; returns the function that stops it."""
    from .deliver import Worker
    worker = Worker(config)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(worker.run(stop))
        finally:
            loop.run_until_complete(worker.close())
            loop.close()

    thread = threading.Thread(target=run, name="journeylang-deliver", daemon=True)
    thread.start()

    def halt() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(config.serve["shutdown_grace"])
    return halt


def deliver(config: LiveConfig, once: bool = False, metrics_port: int | None = None):
    """Run a delivery worker until SIGTERM or Ctrl-C (``once``: until nothing is due)."""
    from .deliver import Worker
    worker = Worker(config)
    if metrics_port is not None:
        from prometheus_client import start_http_server
        start_http_server(metrics_port, registry=worker.metrics.registry)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await worker.run(stop, once=once)
        finally:
            await worker.close()
    log.info("delivering the outbox of %s: %s", describe(config.state),
             ", ".join(f"{r.section} ({r.adapter})" for r in config.routes))
    return asyncio.run(main())
