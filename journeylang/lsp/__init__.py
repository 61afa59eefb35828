"""Language server (LSP over stdio, via pygls): diagnostics as you type, completion, hover,
definition, references, rename, document symbols, formatting and quick fixes for journeys.

One idea per module: positions (UTF-16), analysis (debounced, off the event loop), symbols
(where names are defined and used), and one module per feature; server.py wires them.
"""
from __future__ import annotations

import signal


def serve() -> None:
    """Serve LSP over standard input and output until the client says exit.

    pygls ends quietly on Ctrl-C; the interrupt is raised again here so that the command exits
    130 like every other command, not 0 as if the client had asked it to stop."""
    from .server import server

    interrupted = []

    def on_interrupt(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        server.start_io()
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
