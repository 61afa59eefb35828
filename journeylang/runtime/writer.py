"""Runtime persistence: who runs the SQL of a commit, in this process or in a writer process.

The rows of a commit are plain values and packed JSON values taken in the runtime's process;
writing them (the JSON text of the packed values, binding, B-tree work, WAL, fsync) is half the
cost of ingestion. A writer process does it on the other core while the runtime applies the
next batch: one transaction in flight at most, committed in order, each one whole or not at
all. The job travels as one pickled message (packing.py). A thread cannot do this: binding
holds the GIL and SQLite releases it per row, so the two threads convoy (measured: no gain).
"""
from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from .packing import Job, decode_job, encode_job, finish


class WriteError(Exception):
    """A commit that did not reach the file; the file still holds the commits before it."""


def write(db: sqlite3.Connection, job: Job) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows, packed in job:
            if rows:
                db.executemany(sql, finish(rows, packed))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class InlineWriter:
    """Writes in the caller's process, before ``submit`` returns."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def submit(self, job: Job) -> None:
        try:
            write(self.db, job)
        except sqlite3.Error as exc:
            raise WriteError(str(exc)) from exc

    def wait(self) -> None:
        pass

    def close(self) -> None:
        pass


class ProcessWriter:
    """A forked process that writes the jobs it is sent. It inherits the state file's lock, so
    a restart after a crash waits until the last transaction in flight is finished."""

    def __init__(self, path: Path, synchronous: str):
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(str(path), synchronous, child, self._conn),
                                       name="journeylang-writer", daemon=True)
        self.process.start()
        child.close()
        self._pending = False

    def submit(self, job: Job) -> None:
        self.wait()
        try:
            self._conn.send_bytes(encode_job(job))
        except OSError as exc:
            raise WriteError(f"the writer process is gone ({exc})") from None
        self._pending = True

    def wait(self) -> None:
        """Block until the job in flight is in the file; WriteError if it is not."""
        if not self._pending:
            return
        self._pending = False
        try:
            status, message = self._conn.recv()
        except (EOFError, OSError):
            raise WriteError("the writer process stopped") from None
        if status != "ok":
            raise WriteError(message)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            try:
                self._conn.send_bytes(b"")  # an empty job: stop
            except OSError:
                pass
            self._conn.close()
            self.process.join(timeout=30)


def _serve(path: str, synchronous: str, conn, parent_end) -> None:
    parent_end.close()  # else the pipe never reports the parent's death
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute("PRAGMA cache_size = -65536")
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return  # the runtime is gone: what it committed is in the file, nothing else
            if not data:
                return
            try:
                write(db, decode_job(data))
                reply = ("ok", None)
            except Exception as exc:  # reported to the runtime, which rolls back
                reply = ("error", f"{type(exc).__name__}: {exc}")
            try:
                conn.send(reply)
            except OSError:
                return
    finally:
        db.close()


def make_writer(db: sqlite3.Connection, path: Path, synchronous: str, process: bool):
    if process and "fork" in multiprocessing.get_all_start_methods():
        return ProcessWriter(path, synchronous)
    return InlineWriter(db)
