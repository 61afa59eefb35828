"""Live stage: the delivery worker: leases due outbox rows and hands them to channel adapters.

At least once to the provider: a row is leased (so no other worker takes it), sent, and its
result recorded with the events reporting it in one transaction; a worker that dies leaves
the row to be leased again when its lease runs out, and the action id, sent as the
provider's idempotency key, lets the provider drop the repeat. Failed attempts are tried again
with exponential backoff and jitter, up to ``max_attempts``; then the row is a dead letter
(status ``dead``, ``journey deliver --requeue-dead`` puts it back). Several workers, on one
machine or many, share the rows; each row is sent by one of them at a time.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from ..runtime.channels import DEAD, DELIVERED, FAILED, QUEUED, SENT
from ..runtime.database import StoreError, database_errors, describe, describe_error
from ..runtime.queues import Leased, Outbox, Result, connect_queues, receipt, reconnect
from ..semantics import MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_SENT
from .adapters import ADAPTERS, RETRY, Adapter, Outcome
from .config import ConfigError, LiveConfig, Route
from .metrics import DeliverMetrics

log = logging.getLogger("journeylang.deliver")


@dataclass
class Turn:
    """What one pass over the routes did."""

    leased: int = 0
    results: Counter = field(default_factory=Counter)


class Worker:
    """Delivers the outbox of ``config.state`` through the adapters of ``config.routes``."""

    def __init__(self, config: LiveConfig, metrics: DeliverMetrics | None = None, clock=time.time,
                 jitter=random.random):
        if not config.routes:
            raise ConfigError(f"{config.path}: no [channels.NAME] or [actions.KIND] tables: "
                              f"nothing to deliver")
        self.config, self.clock, self.jitter = config, clock, jitter
        self.metrics = metrics or DeliverMetrics()
        self.options = config.deliver
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leases = 0
        self.client = _http_client()
        self.adapters: dict[str, tuple[Route, Adapter]] = {
            route.section: (route, ADAPTERS[route.adapter](route, self.client))
            for route in config.routes}
        self.db = connect_queues(config.state)
        self.outbox = Outbox(self.db)

    # --- running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None, once: bool = False) -> Turn:
        """Deliver until ``stop`` is set (or, ``once``, until nothing is due now)."""
        stop = stop or asyncio.Event()
        total, failures = Turn(), 0
        self.warn_unrouted()
        while not stop.is_set():
            try:
                turn = await self.turn()
                failures = 0
            except database_errors() as exc:
                failures += 1
                log.error("the state %s cannot be reached: %s (trying again)",
                          describe(self.config.state), describe_error(exc))
                await _sleep(stop, min(30.0, self.options["poll"] * 2 ** failures))
                self._reconnect()
                continue
            total.leased += turn.leased
            total.results.update(turn.results)
            if turn.leased == 0:
                if once:
                    break
                await _sleep(stop, self.options["poll"])
        return total

    async def turn(self) -> Turn:
        """Lease and deliver one batch per route; record each batch's results at once."""
        turn = Turn()
        for route, adapter in self.adapters.values():
            lease_end = self.clock() + self.options["lease"]
            rows = self._lease(route, lease_end)
            if not rows:
                continue
            turn.leased += len(rows)
            limit = asyncio.Semaphore(self.options["concurrency"])
            results = await asyncio.gather(*(self._one(route, adapter, row, limit, lease_end)
                                             for row in rows))
            done = [(row, result) for row, result in zip(rows, results) if result is not None]
            recorded = self.outbox.finish(done)
            for row, result in done:
                outcome = result.status if row.id in recorded else "lease lost"
                turn.results[outcome] += 1
                self.metrics.results.labels(route.section, outcome).inc()
            self._log(route, rows, done, recorded)
        self.metrics.outbox(self.outbox.depth(), self.clock())
        return turn

    def _lease(self, route: Route, until: float) -> list[Leased]:
        self._leases += 1
        return self.outbox.lease(route.kind, route.channel, self.options["batch"], self.clock(),
                                 until, f"{self.name}:{self._leases}")

    async def _one(self, route: Route, adapter: Adapter, row: Leased, limit,
                   lease_end: float) -> Result | None:
        async with limit:
            started = self.clock()
            if lease_end - started < route.retry["timeout"]:
                return None  # too little of the lease left: the row is leased again later
            outcome = self._expired(route, row, started)
            if outcome is None:
                try:
                    outcome = await (adapter.poll(row) if row.status == SENT else adapter.send(row))
                except Exception as exc:  # a network error or a bug: a failed attempt
                    outcome = Outcome(RETRY, error=describe_error(exc))
            self.metrics.seconds.labels(route.section).observe(self.clock() - started)
            return self.result(route, row, outcome, self.clock())

    def _expired(self, route: Route, row: Leased, now: float) -> Outcome | None:
        age, limit = now - row.at, route.retry["max_age"]
        if row.status != SENT and limit is not None and age > limit:
            return Outcome(FAILED, error=f"expired: queued {age:.0f} s ago (max_age {limit:.0f} s)")
        return None

    # --- what to record -----------------------------------------------------------------------

    def result(self, route: Route, row: Leased, outcome: Outcome, now: float) -> Result:
        """The row's new state after ``outcome``, with the events reporting it (messages)."""
        first_send = row.status != SENT
        events = []
        if outcome.result in (SENT, DELIVERED):
            if first_send:
                events.append((MESSAGE_SENT, {"provider_id": outcome.provider_id}))
            if outcome.result == DELIVERED:
                events.append((MESSAGE_DELIVERED, {"provider_id": outcome.provider_id}))
            poll = now + outcome.poll_after if outcome.result == SENT and outcome.poll_after \
                else None
            found = Result(outcome.result, poll, now if first_send else None, outcome.provider_id,
                           outcome.error)
        elif outcome.result == RETRY and not first_send:  # asking about a sent message failed
            found = Result(SENT, now + self.backoff(route, 1, outcome.retry_after), error=outcome.error)
        elif outcome.result == RETRY and row.attempts < route.retry["max_attempts"]:
            found = Result(QUEUED, now + self.backoff(route, row.attempts, outcome.retry_after),
                           error=outcome.error)
        else:
            status = DEAD if outcome.result == RETRY else FAILED
            reason = outcome.error or "failed"
            if status == DEAD:
                reason = f"gave up after {row.attempts} attempts: {reason}"
            events.append((MESSAGE_FAILED, {"reason": reason}))
            found = Result(status, None, None, None, reason)
        if row.kind == "message":
            found.receipts = tuple(receipt(row, kind, now, **detail) for kind, detail in events)
        return found

    def backoff(self, route: Route, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter: ``backoff * 2^(attempts-1)`` capped at
        ``max_backoff``, a random half to all of it (so failed rows do not come back in step);
        at least the provider's Retry-After."""
        retry = route.retry
        ceiling = min(retry["max_backoff"], retry["backoff"] * 2 ** max(0, attempts - 1))
        delay = ceiling * (0.5 + 0.5 * self.jitter())
        return max(delay, retry_after or 0.0)

    # --- telling the operator -----------------------------------------------------------------

    def _log(self, route: Route, rows, done, recorded) -> None:
        counts = Counter(result.status for row, result in done if row.id in recorded)
        lost = len(done) - len(recorded)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        log.info("%s: %d leased: %s%s", route.section, len(rows), summary or "none finished",
                 f"; {lost} lease(s) ran out, left to another attempt" if lost else "")
        for row, result in done:
            if row.id in recorded and result.status in (DEAD, FAILED):
                log.warning("%s: action %d %s: %s", route.section, row.id, result.status,
                            result.error)

    def warn_unrouted(self) -> None:
        """Rows waiting for a channel or kind no route takes: said once at start-up."""
        routed = {(r.kind, r.channel or "") for r in self.config.routes} | \
                 {(r.kind, "") for r in self.config.routes if r.kind != "message"}
        waiting = Counter()
        for kind, channel, status, count, _ in self.outbox.depth():
            if (kind, channel) not in routed and (kind, "") not in routed:
                waiting[(kind, channel)] += count
        for (kind, channel), count in sorted(waiting.items()):
            what = f"{kind} on channel {channel}" if channel else kind
            log.warning("%d outbox rows (%s) have no adapter in %s: they wait until one is "
                        "configured", count, what, self.config.path)

    def _reconnect(self) -> None:
        try:
            self.db = reconnect(self.db, self.config.state)
            self.outbox = Outbox(self.db)
        except (StoreError, *database_errors()) as exc:
            log.error("reconnecting failed: %s", describe_error(exc))

    async def close(self) -> None:
        for _, adapter in self.adapters.values():
            await adapter.close()
        await self.client.aclose()
        self.db.close()


def _http_client():
    import httpx
    return httpx.AsyncClient(headers={"User-Agent": "journeylang-deliver"},
                             limits=httpx.Limits(max_connections=100))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
