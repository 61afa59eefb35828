"""Language server (LSP over stdio, via pygls): diagnostics as you type, completion, hover,
definition, references, rename, document symbols, formatting and quick fixes for journeys.

One idea per module: positions (UTF-16), analysis (debounced, off the event loop), symbols
(where names are defined and used), and one module per feature; server.py wires them.
"""
from __future__ import annotations


def serve() -> None:
    """Serve LSP over standard input and output until the client says exit."""
    from .server import server
    server.start_io()
