"""Python's cyclic garbage collector in a `journey` process: start-up's objects spared.

Start-up (importing a command's modules and their libraries, reading the cached parser)
makes some hundred thousand objects that live as long as the process: the collector looked
at every one of them again and again while they were being made, and once more in a full
collection, for nothing (a sixth of the CPU of checking one file). The first `journey`
command of a process runs inside ``start_up()``: no collections until its first
``long_lived()`` block ends; what exists at the end of each such block is frozen
(``gc.freeze``: later collections skip it), and the collector runs as usual after it.
Outside (a program that imports journeylang, the tests, click's test runner, a second
command in the same process) the blocks change nothing.

At its end, a process that is only a `journey` command would free its objects (some 100,000
containers and the code and text they hold) one by one as the interpreter tears its modules
down (about 7 ms after a check of one file):
a command whose output is all written and that keeps nothing open (`check`, `lint`) ends its
process at once instead (``end_now``), after the exit handlers and with its output flushed.
"""
from __future__ import annotations

import atexit
import gc
import os
import sys
from contextlib import contextmanager

_started = False  # whether this process has run a `journey` command
_sparing = False  # inside the first one


@contextmanager
def start_up():
    """The first `journey` command of this process: no collections until its start-up is
    done (the end of its first ``long_lived()`` block). Gives whether this is that command."""
    global _started, _sparing
    if _started or not gc.isenabled():
        yield False
        return
    _started = _sparing = True
    gc.disable()
    try:
        yield True
    finally:
        _sparing = False
        gc.enable()


@contextmanager
def long_lived():
    """A block that makes objects the process keeps to its end (imports, the parser read
    from the cache), and little garbage: during the first `journey` command, collected
    neither in the block nor ever after."""
    if not _sparing:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def end_now(code: int) -> None:
    """End the process with exit status ``code`` without the interpreter's teardown (freeing
    every module and object one by one): the exit handlers (``atexit``) run and the standard
    streams are flushed first, as at a normal exit. Returns, for the caller to exit as usual,
    when another thread is running (the interpreter waits for it) or a stream cannot be
    flushed (the interpreter reports that)."""
    threading = sys.modules.get("threading")  # not imported: no thread was started with it
    if threading is not None and threading.active_count() > 1:
        return
    atexit._run_exitfuncs()  # what the interpreter's exit runs first (and then forgets)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe, a closed stream
        return
    os._exit(code)
