"""`journey serve` and `journey deliver`: the live service and the delivery worker."""
from __future__ import annotations

import logging

import click

from ..compile import TablesError
from ..runtime import RuntimeSetupError, StoreError
from .console import examples, fail, is_quiet, note, quiet_option
from .run import load_all


def _live():
    """The live modules, or a clear exit when the live extra is not installed."""
    try:
        from ..live import config, server
    except ImportError as exc:
        fail(f"the live service needs the 'live' extra ({exc.name} is missing): "
             f"pip install 'journeylang[live]'")
    return config, server


def _config(path: str, host=None, port=None):
    config_module, _ = _live()
    try:
        config = config_module.load_config(path)
    except config_module.ConfigError as exc:
        fail(str(exc))
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        config.serve.update(overrides)
    return config


def _logging(server) -> None:
    """Service logs on stderr; --quiet keeps warnings and errors only."""
    server.setup_logging(logging.WARNING if is_quiet() else logging.INFO)


@click.command("serve", epilog=examples(
    "JOURNEY_TOKENS=demo-token journey serve --config examples/live/demo.toml --deliver",
    "journey serve --config live.toml --host 0.0.0.0 --port 8080"))
@click.option("--config", "path", required=True, type=click.Path(dir_okay=False),
              help="The live configuration (TOML): state, journeys, credentials, channels.")
@click.option("--host", default=None, help="Listen on this address (default: the file's, else 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Listen on this port.")
@click.option("--deliver", "with_deliver", is_flag=True,
              help="Also run a delivery worker in this process.")
@quiet_option
def serve_command(path, host, port, with_deliver) -> None:
    """Serve the ingestion API: events in over HTTP, journeys applied, timers fired on time.

    Endpoints: POST /v1/track, /v1/identify, /v1/batch, /v1/events, /v1/receipts;
    GET /health, /metrics. Stops gracefully on SIGTERM.
    """
    config = _config(path, host, port)
    config_module, server = _live()
    _logging(server)
    tables = load_all(config.journeys)
    try:
        server.serve(config, tables, deliver=with_deliver)
    except (config_module.ConfigError, StoreError, RuntimeSetupError, TablesError) as exc:
        fail(str(exc))


@click.command("deliver", epilog=examples(
    "journey deliver --config live.toml --metrics-port 9101",
    "journey deliver --config live.toml --once            # what is due now, then exit",
    "journey deliver --config live.toml --requeue-dead --channel sms"))
@click.option("--config", "path", required=True, type=click.Path(dir_okay=False),
              help="The live configuration (TOML): state and channel adapters.")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--requeue-dead", is_flag=True,
              help="Put the dead letters back in the queue (with --channel: of one channel), then exit.")
@click.option("--channel", default=None, help="With --requeue-dead: only this channel.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Serve Prometheus metrics on this port.")
@quiet_option
def deliver_command(path, once, requeue_dead, channel, metrics_port) -> None:
    """Deliver the outbox: lease due rows, send them through the channel adapters, report the
    results as events (message_sent, message_delivered, message_failed).

    Several workers may run at once, on one machine or many: each row goes to one of them.
    Stops gracefully on SIGTERM.
    """
    config = _config(path)
    config_module, server = _live()
    _logging(server)
    try:
        if requeue_dead:
            _requeue(config, channel)
            return
        turn = server.deliver(config, once=once, metrics_port=metrics_port)
    except (config_module.ConfigError, StoreError) as exc:
        fail(str(exc))
    done = ", ".join(f"{n} {status}" for status, n in sorted(turn.results.items())) or "nothing"
    note(f"delivered: {done}")


def _requeue(config, channel) -> None:
    import time
    from ..runtime.queues import Outbox, connect_queues
    db = connect_queues(config.state)
    try:
        count = Outbox(db).requeue(channel=channel, now=time.time())
    finally:
        db.close()
    note(f"{count} dead letters back in the queue")
