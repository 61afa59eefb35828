"""Live stage: the ingestion service's writes to the inbox, as group commits on a thread of
their own: the events of every request waiting are added in one transaction, and each request
is answered once that transaction is committed (never before: an acknowledged event is
durable). Requests beyond ``max_pending`` waiting events are refused (the caller retries)."""
from __future__ import annotations

import asyncio
import logging
import threading
import time

from ..runtime.database import StoreError, database_errors, describe, describe_error
from ..runtime.events import Event
from ..runtime.queues import Inbox, connect_queues, reconnect

log = logging.getLogger("journeylang.serve")
BACKLOG_EVERY = 1.0  # seconds between counts of the inbox (other processes add to it too)


class Busy(Exception):
    """Too many events wait to be committed, or the service is stopping."""


class Committer:
    def __init__(self, state: str, max_pending: int, on_commit=lambda new: None):
        self.state, self.max_pending, self.on_commit = state, max_pending, on_commit
        self._items: list[tuple[list[Event], float, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._waiting = 0  # events in _items
        self._cond = threading.Condition()
        self._closing = False
        self.backlog = 0   # events in the inbox, not yet applied (as last counted, plus added)
        self.error: str | None = None
        self._db = connect_queues(state)  # here: a state that cannot be reached fails start-up
        self._inbox = Inbox(self._db)
        self.backlog = self._inbox.backlog()
        self._thread = threading.Thread(target=self._run, name="journeylang-committer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, events: list[Event], received: float) -> asyncio.Future:
        """A future set once ``events`` are committed (to the number new to the inbox)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._cond:
            if self._closing:
                raise Busy("stopping")
            if self._waiting + len(events) > self.max_pending and self._waiting:
                raise Busy("too many events waiting to be committed")
            self._items.append((events, received, future, loop))
            self._waiting += len(events)
            self._cond.notify()
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is waiting, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        self._db.close()

    def taken(self, count: int) -> None:
        """The applier took ``count`` events out of the inbox."""
        self.backlog = max(0, self.backlog - count)

    def _run(self) -> None:
        counted = time.monotonic()
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait(BACKLOG_EVERY)
                    if time.monotonic() - counted >= BACKLOG_EVERY:
                        break
                items, self._items, self._waiting = self._items, [], 0
                closing = self._closing
            if time.monotonic() - counted >= BACKLOG_EVERY:
                counted = time.monotonic()
                self._count()
            if items:
                self._commit(items)
            elif closing:
                return

    def _commit(self, items) -> None:
        try:
            new = self._inbox.add((event, received) for events, received, _, _ in items
                                  for event in events)
            outcome, self.error = None, None
        except database_errors() as exc:
            new, outcome = 0, exc
            self.error = describe_error(exc)
            log.error("adding %d events to the inbox of %s failed: %s (the requests are refused)",
                      sum(len(i[0]) for i in items), describe(self.state), self.error)
            self._reconnect()
        self.backlog += new
        for _, _, future, loop in items:
            loop.call_soon_threadsafe(_settle, future, outcome, new)
        if new:
            self.on_commit(new)

    def _count(self) -> None:
        try:
            self.backlog = self._inbox.backlog()
            self.error = None
        except database_errors() as exc:
            self.error = describe_error(exc)
            self._reconnect()

    def _reconnect(self) -> None:
        try:
            self._db = reconnect(self._db, self.state)
            self._inbox = Inbox(self._db)
        except (StoreError, *database_errors()) as exc:
            self.error = describe_error(exc)  # tried again at the next commit or count


def _settle(future: asyncio.Future, error, new: int) -> None:
    if future.done():
        return  # the request was given up (the client went away)
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(new)
