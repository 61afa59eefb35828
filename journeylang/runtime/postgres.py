"""Runtime persistence: the state on a PostgreSQL server (psycopg 3), shared by many processes.

The same tables and statements as the SQLite file (sql.py). One process at a time applies events
and fires timers: it holds a session advisory lock, which the server releases when that process
or its connection dies, so another one can take over. Any number of processes add events to
the inbox and deliver the outbox beside it (runtime/queues.py).
"""
from __future__ import annotations

import time

from .database import PostgresDatabase, StoreBusy, StoreError, database_errors
from .sql import SqlStore, prepare

LOCK_WAIT = 3.0  # seconds
# one applier per schema: a server may hold several states, each in its own schema
_LOCK_KEY = "hashtext(current_schema() || '.journeylang.applier')"


class PostgresStore(SqlStore):
    """Durable state in a PostgreSQL database (the schema of the connection's search path)."""

    keeps_seen = False     # the events table has a unique index on ids: ask it per batch
    ordered_inbox = False  # several processes add to the inbox at once

    def __init__(self, url: str, cache_limit: int = 500_000, lock_wait: float = LOCK_WAIT):
        db = PostgresDatabase(url)
        try:
            _lock(db, lock_wait)
            prepare(db, db.name)
            db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id)")
            super().__init__(db, db.name, cache_limit)
        except database_errors() as exc:
            db.close()
            raise StoreError(f"{db.name}: {exc}") from None
        except BaseException:
            db.close()
            raise

    def _submit(self, job) -> None:
        try:
            self.db.run_job(job)
        except database_errors() as exc:
            raise StoreError(f"{self.where}: writing the state failed: {exc}") from None

    def sync(self) -> None:
        """Commits are in when ``commit`` returns: nothing to wait for."""

    def close(self) -> None:
        self.db.close()  # the advisory lock goes with the session


def _lock(db: PostgresDatabase, wait: float) -> None:
    deadline = time.monotonic() + wait
    while not db.execute(f"SELECT pg_try_advisory_lock({_LOCK_KEY})").fetchone()[0]:
        if time.monotonic() > deadline:
            raise StoreBusy(f"{db.name}: in use by another journey process (it applies the "
                             f"events of this state)")
        time.sleep(0.05)
