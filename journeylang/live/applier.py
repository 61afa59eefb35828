"""Live stage: the applier: the thread of the ingestion service that runs the journeys.

It takes the state's lock (one applier per state: the others wait as standbys and take over
when it goes), then in turns: applies the events accepted into the inbox, in the order they
came, and fires the timers due on the wall clock, one transaction per turn. Between turns it
sleeps until the next timer is due, new events are committed, or ``poll`` passes (events added
by other processes), so a timer fires well within a second of its due time.
"""
from __future__ import annotations

import logging
import threading
import time

from ..runtime import Runtime, WallClock, open_store
from ..runtime.database import StoreBusy, StoreError, database_errors, describe, describe_error
from .config import LiveConfig
from .metrics import ServeMetrics

log = logging.getLogger("journeylang.serve")
RETRY_AFTER_ERROR = 2.0  # seconds before opening the state again after an error


class Applier:
    def __init__(self, config: LiveConfig, tables: list, metrics: ServeMetrics,
                 on_taken=lambda count: None, clock=time.time):
        self.config, self.tables, self.metrics = config, tables, metrics
        self.on_taken, self.clock = on_taken, clock
        self.batch, self.poll = config.serve["batch"], config.serve["poll"]
        self.runtime: Runtime | None = None
        self.role = "starting"
        self.error: str | None = None
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journeylang-applier", daemon=True)

    # --- leadership ---------------------------------------------------------------------------

    def lead(self, wait: float) -> bool:
        """Open the state as its applier, waiting up to ``wait`` seconds for its lock; False
        when another process holds it. Errors of the state or of the journeys are raised."""
        try:
            store = open_store(self.config.state, lock_wait=wait)
        except StoreBusy:
            if self.role != "standby":
                log.info("another process applies the events of %s: standing by",
                         describe(self.config.state))
            self.role = "standby"
            self.metrics.active.set(0)
            return False
        runtime = Runtime(store, seed=self.config.seed, timezone=self.config.timezone,
                          clock=WallClock())
        try:
            late = runtime.tick()  # what came due while no process applied, then the journeys
            for tables in self.tables:
                runtime.load(tables)
        except BaseException:
            runtime.close()
            raise
        self.runtime, self.role, self.error = runtime, "applier", None
        self.metrics.active.set(1)
        log.info("applying the events of %s: %d journey versions, %d timers pending%s",
                 describe(self.config.state), len(runtime.programs), len(runtime.engine),
                 f" ({late} fired late, due while no process applied)" if late else "")
        return True

    # --- the thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the turn under way, wait for its commit, close the state."""
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.runtime is None and not self._try_lead():
                    continue
                try:
                    self.turn()
                except Exception as exc:  # the state went away, or a bug: never silently
                    self._fail(exc)
        finally:
            self._close()

    def _try_lead(self) -> bool:
        try:
            return self.lead(wait=1.0)
        except Exception as exc:
            self._fail(exc)
            return False

    def turn(self) -> None:
        runtime, now = self.runtime, self.clock()
        due = runtime.engine.peek()
        report = runtime.ingest_inbox(now, self.batch)
        metrics = self.metrics
        if report.read:
            self.on_taken(report.read)
            metrics.applied.inc(report.applied)
            metrics.skipped.inc(report.skipped)
            metrics.apply_lag.observe(max(0.0, now - report.oldest))
        for event_id, error in report.failed:
            log.error("event %s set aside: applying it failed (%s); the events after it "
                      "are applied and its customer's history says so", event_id, error)
        metrics.failed.inc(len(report.failed))
        if report.timers:
            metrics.timers.inc(report.timers)
            if due is not None:
                metrics.timer_lag.observe(max(0.0, self.clock() - due))
        if report.read >= self.batch:
            return  # a backlog: on at once
        following = runtime.engine.peek()
        wait = self.poll if following is None else min(self.poll, following - self.clock())
        if wait > 0:
            self.wake.wait(wait)
        self.wake.clear()

    def _fail(self, exc: Exception) -> None:
        self.error = describe_error(exc)
        if isinstance(exc, (StoreError, *database_errors())):
            log.error("the state %s failed: %s (opening it again in %.0f s; accepted events "
                      "wait in the inbox)", describe(self.config.state), self.error,
                      RETRY_AFTER_ERROR)
        else:
            log.exception("the applier failed (opening the state again in %.0f s; accepted "
                          "events wait in the inbox)", RETRY_AFTER_ERROR)
        self._close()
        self.role = "error"
        self._stop.wait(RETRY_AFTER_ERROR)

    def _close(self) -> None:
        runtime, self.runtime = self.runtime, None
        self.metrics.active.set(0)
        if runtime is None:
            return
        try:
            runtime.store.sync()
        except Exception as exc:  # the commit in flight did not make it: its events wait
            log.error("the last commit failed: %s", describe_error(exc))
        finally:
            runtime.close()
