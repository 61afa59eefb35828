"""Language server (LSP over stdio, via pygls): diagnostics as you type, completion, hover,
definition, references, rename, document symbols, formatting and quick fixes for journeys.

One idea per module: positions (UTF-16), analysis (debounced, off the event loop), symbols
(where names are defined and used), and one module per feature; server.py wires them.
"""
from __future__ import annotations

import signal
from typing import Callable, NoReturn


def serve(on_interrupt: Callable[[], NoReturn]) -> None:
    """Serve LSP over standard input and output until the client says exit.

    Ctrl-C calls ``on_interrupt`` from the signal handler, which must end the process there.
    A KeyboardInterrupt would not stop the server while its client keeps the pipe open: the
    reader thread sits in a read of standard input that nothing interrupts, and both the
    server's shutdown and Python's exit wait for that thread. The server keeps nothing to
    save: every answer is written and flushed as it is sent."""
    from .server import server

    previous = signal.signal(signal.SIGINT, lambda signum, frame: on_interrupt())
    try:
        server.start_io()
    finally:
        signal.signal(signal.SIGINT, previous)
