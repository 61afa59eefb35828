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
"""
from __future__ import annotations

import gc
from contextlib import contextmanager

_started = False  # whether this process has run a `journey` command
_sparing = False  # inside the first one


@contextmanager
def start_up():
    """The first `journey` command of this process: no collections until its start-up is
    done (the end of its first ``long_lived()`` block)."""
    global _started, _sparing
    if _started or not gc.isenabled():
        yield
        return
    _started = _sparing = True
    gc.disable()
    try:
        yield
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
