"""Runtime persistence: who runs the SQL of a commit, in this process or in a writer process.

The rows of a commit are plain values and packed JSON values taken in the runtime's process;
writing them (the JSON text of the packed values, binding, B-tree work, WAL, fsync) is half the
cost of ingestion. A writer process does it on the other core while the runtime applies the
next batch: one transaction in the works at a time, committed in order, each one whole or not
at all. The job travels as one message (packing.py). A thread cannot do this: binding holds
the GIL and SQLite releases it per row, so the two threads convoy (measured: no gain).

The runtime sends a job without waiting for the one before it to be in the file: the job waits
in the socket's buffer while the writer finishes the one before, so a slow commit (one that
moves applied ids to their index) holds the runtime up only when a third job is ready. After a
failed job the writer writes nothing until the runtime has heard of it (and rolls back): a job
sent behind a failed one was built on state that is not in the file.
"""
from __future__ import annotations

import multiprocessing
import os
import socket
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

    depth = 1  # commits not known to be in the file after ``submit``, at most

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


_RESUME = b"resume"  # the runtime heard of a failed job: write the jobs it sends from now on
_BUFFER = 8 << 20    # bytes of the socket's buffer asked for: a job sent ahead waits there


class ProcessWriter:
    """A forked process that writes the jobs it is sent. It inherits the state file's lock, so
    a restart after a crash waits until the last transaction in flight is finished."""

    depth = 2  # jobs sent and not known to be in the file, at most: the one written, the next

    def __init__(self, path: Path, synchronous: str):
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        _buffer(self._conn, socket.SO_SNDBUF)
        _buffer(child, socket.SO_RCVBUF)
        self.process = context.Process(target=_serve, args=(str(path), synchronous, child, self._conn),
                                       name="journeylang-writer", daemon=True)
        self.process.start()
        child.close()
        self._sent = 0  # jobs sent whose outcome is not known yet

    def submit(self, job: Job) -> None:
        """Send a job once every job sent before it but the last is in the file; WriteError
        if one is not (this job is then not sent)."""
        data = encode_job(job)  # while the writer stores the jobs before it
        while self._sent >= self.depth:
            self._receive()
        try:
            self._conn.send_bytes(data)
        except OSError as exc:
            raise WriteError(f"the writer process is gone ({exc})") from None
        self._sent += 1

    def wait(self) -> None:
        """Block until every job sent is in the file; WriteError if one is not."""
        while self._sent:
            self._receive()

    def _receive(self) -> None:
        """The outcome of the oldest job sent. A failed job is raised once the writer has
        answered every job sent after it (it wrote none of them) and been told to go on."""
        status, message = self._outcome()
        if status == "ok":
            return
        while self._sent:
            self._outcome()  # refused: sent behind the failed job
        try:
            self._conn.send_bytes(_RESUME)
        except OSError:
            pass  # gone: the next job sent says so
        raise WriteError(message)

    def _outcome(self) -> tuple[str, str | None]:
        try:
            found = self._conn.recv()
        except (EOFError, OSError):
            self._sent = 0
            raise WriteError("the writer process stopped") from None
        self._sent -= 1
        return found

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


def _buffer(conn, option: int) -> None:
    """Ask for a socket buffer that holds a whole job (the system may give less)."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.setsockopt(socket.SOL_SOCKET, option, _BUFFER)
    except OSError:
        pass  # not a socket: a job sent ahead waits for the writer to read it


def _serve(path: str, synchronous: str, conn, parent_end) -> None:
    parent_end.close()  # else the pipe never reports the parent's death
    parent = os.getppid()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.execute("PRAGMA cache_size = -65536")
    refusing = False  # a job failed: write none until the runtime has heard of it
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return  # the runtime is gone: what it committed is in the file, nothing else
            if not data:
                return
            if data == _RESUME:
                refusing = False
                continue
            if os.getppid() != parent:
                return  # the runtime died: a job it sent ahead is applied again on restart
            reply = ("refused", None)
            if not refusing:
                try:
                    write(db, decode_job(data))
                    reply = ("ok", None)
                except Exception as exc:  # reported to the runtime, which rolls back
                    reply = ("error", f"{type(exc).__name__}: {exc}")
                    refusing = True
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
