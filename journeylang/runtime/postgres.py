"""Runtime persistence: the state on a PostgreSQL server (psycopg 3), shared by many processes.

The same tables and statements as the SQLite file (sql.py). One process at a time applies events
and fires timers: it holds a session advisory lock, which the server releases when that process
or its connection dies, so another one can take over. Any number of processes add events to
the inbox and deliver the outbox beside it (runtime/queues.py).
"""
from __future__ import annotations

import time
import zlib

from .database import PostgresDatabase, StoreBusy, StoreError, database_errors
from .sql import SqlStore, Write, prepare, upsert_set

LOCK_WAIT = 3.0  # seconds
# one applier per schema: a server may hold several states, each in its own schema
_LOCK_KEY = "hashtext(current_schema() || '.journeylang.applier')"


class PostgresStore(SqlStore):
    """Durable state in a PostgreSQL database (the schema of the connection's search path)."""

    keeps_seen = False     # the events table has a unique index on ids: ask it per batch
    ordered_inbox = False  # several processes add to the inbox at once

    def __init__(self, url: str, cache_limit: int = 500_000, lock_wait: float = LOCK_WAIT,
                 dedup_window: int | None = None):
        """``dedup_window`` is accepted for the SQLite store's sake: here applied event ids are
        looked up in the events table's unique index, none are kept in memory."""
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

    def _submit(self, writes) -> None:
        try:
            with self.db.transaction():
                for write in writes:
                    if write.rows:
                        self._write(write)
        except database_errors() as exc:
            raise StoreError(f"{self.where}: writing the state failed: {exc}") from None

    def _write(self, write: Write) -> None:
        """Rows in bulk: COPY for appends, COPY into a staging table then one INSERT ... ON
        CONFLICT for upserts (one UPDATE ... FROM for updates), one DELETE ... = ANY for
        deletes: a statement per table and commit, not per row (the server's work per
        statement was most of the cost)."""
        conn, rows = self.db.conn, write.finished()
        if write.mode == "append":
            _copy(conn, write.table, write.columns, rows)
        elif write.mode == "upsert":
            stage = f"stage_{write.table}"  # (created in this transaction when it is not yet)
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {write.table}) "
                         f"ON COMMIT DELETE ROWS")
            _copy(conn, stage, write.columns, rows)
            conn.execute(f"INSERT INTO {write.table} ({write.columns}) SELECT {write.columns} "
                         f"FROM {stage} ON CONFLICT ({write.key}) DO UPDATE SET "
                         f"{upsert_set(write.columns, write.key, write.keep)}")
            conn.execute(f"DELETE FROM {stage}")  # a table may have two upserts in a commit
        elif write.mode == "update":
            stage = f"stage_{write.table}_{zlib.crc32(write.columns.encode()):08x}"
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                         f"SELECT {write.columns}, {write.key} FROM {write.table} WITH NO DATA")
            _copy(conn, stage, f"{write.columns}, {write.key}", rows)
            sets = ", ".join(f"{c} = s.{c}" for c in write.columns.split(", "))
            conn.execute(f"UPDATE {write.table} SET {sets} FROM {stage} AS s "
                         f"WHERE {write.table}.{write.key} = s.{write.key}")
            conn.execute(f"DELETE FROM {stage}")
        elif write.mode == "delete":
            conn.execute(f"DELETE FROM {write.table} WHERE {write.key} = ANY(%s)",
                         ([row[0] for row in rows],))
        else:
            self.db.executemany(write.sql, rows)

    def close(self) -> None:
        self.db.close()  # the advisory lock goes with the session


def _copy(conn, table: str, columns: str, rows: list) -> None:
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _lock(db: PostgresDatabase, wait: float) -> None:
    deadline = time.monotonic() + wait
    while not db.execute(f"SELECT pg_try_advisory_lock({_LOCK_KEY})").fetchone()[0]:
        if time.monotonic() > deadline:
            raise StoreBusy(f"{db.name}: in use by another journey process (it applies the "
                             f"events of this state)")
        time.sleep(0.05)
