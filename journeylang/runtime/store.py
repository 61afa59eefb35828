"""Runtime persistence: the state file on stdlib sqlite3 (WAL), the embedded default store.

One runtime writes a state file at a time (a lock file beside it keeps others out); the SQL of
each commit runs in a forked writer process while the next batch is applied (writer.py).
Delivery workers and the live service's intake open the file beside it, for their own tables'
rows (the outbox's delivery columns, the inbox), in short transactions of their own.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .database import SqliteDatabase, StoreBusy, StoreError, is_postgres
from .applied import DEFAULT_WINDOW
from .sql import SqlStore, prepare
from .writer import WriteError, make_writer

LOCK_WAIT = 3.0  # seconds


class SqliteStore(SqlStore):
    """Durable state in one SQLite file; one writer at a time (a lock file guards it)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL", cache_limit: int = 500_000,
                 writer_process: bool = True, lock_wait: float = LOCK_WAIT,
                 dedup_window: int = DEFAULT_WINDOW):
        self.path = Path(path)
        self._lock = _lock(self.path, lock_wait)
        try:
            db = SqliteDatabase(self.path)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {synchronous}")
            db.execute("PRAGMA cache_size = -65536")
            db.execute("PRAGMA busy_timeout = 10000")  # delivery workers write the outbox too
            prepare(db, str(self.path))
            super().__init__(db, str(self.path), cache_limit, dedup_window)
        except sqlite3.DatabaseError as exc:
            self._unlock()
            raise StoreError(f"{self.path}: not a journeylang state file ({exc})") from None
        except StoreError:  # damaged: the file is left as it is, and free for the next try
            if getattr(self, "db", None) is not None:
                self.db.close()
            self._unlock()
            raise
        self._writer = make_writer(self.db.conn, self.path, synchronous, writer_process)
        self.in_flight = self._writer.depth

    def _submit(self, writes) -> None:
        try:
            self._writer.submit([(write.sql, write.rows, write.packed) for write in writes
                                 if write.rows])
        except WriteError as exc:
            raise StoreError(f"{self.path}: writing the state failed: {exc}") from None

    def _wait(self) -> None:
        try:
            self._writer.wait()
        except WriteError as exc:
            raise StoreError(f"{self.path}: writing the state failed: {exc}") from None

    def _abandon(self) -> None:
        try:
            self._writer.wait()
        except WriteError:
            pass  # that commit is not in the file: forgetting it is the point

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self.db.close()
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def open_store(target, **options):
    """The store of a state: a PostgreSQL URL (``postgresql://...``), else a SQLite file."""
    if is_postgres(target):
        from .postgres import PostgresStore
        return PostgresStore(target, **{k: v for k, v in options.items()
                                        if k in ("cache_limit", "lock_wait", "dedup_window")})
    return SqliteStore(target, **options)


def _lock(path: Path, wait: float = LOCK_WAIT) -> int | None:
    """An exclusive lock beside the state file: two writers would each cache stale state.
    It is keyed on the file itself (symlinks resolved), not on the name it was given."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(f"{path.resolve()}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the lock file: {exc.strerror or exc}") from None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            # the writer process of a run that just died may still finish its transaction
            if time.monotonic() > deadline:
                os.close(handle)
                raise StoreBusy(f"{path}: in use by another journey run") from None
            time.sleep(0.05)
