"""Python's cyclic garbage collector in a `journey` process: start-up's objects spared.

Start-up (importing a command's modules and their libraries, reading the cached parser)
makes some hundred thousand objects that live as long as the process: the collector looked
at every one of them again and again while they were being made, and once more in a full
collection, for nothing (a sixth of the CPU of checking one file). A `journey` process
calls ``spare_start_up()`` first; each ``long_lived()`` block then runs without collections,
and what exists at its end is frozen (``gc.freeze``: later collections skip it), after
which the collector runs as usual. Without ``spare_start_up()`` (a program that imports
journeylang, the tests, click's test runner) the blocks change nothing.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager

_sparing = False


def spare_start_up() -> None:
    """This process is a `journey` command: no collections until its start-up is done."""
    global _sparing
    _sparing = True
    gc.disable()


@contextmanager
def long_lived():
    """A block that makes objects the process keeps to its end (imports, the parser read
    from the cache), and little garbage: in a `journey` process, collected neither during
    the block nor ever after."""
    if not _sparing:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
