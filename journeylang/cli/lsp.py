"""`journey lsp`: the language server over stdio (needs the `lsp` extra: pygls)."""
from __future__ import annotations

import click

from . import main


@main.command("lsp")
def lsp_command() -> None:
    """Run the language server on standard input/output (for editors)."""
    try:
        from ..lsp import serve
    except ImportError as exc:
        raise click.ClickException(
            f"journey lsp needs pygls ({exc.name} is missing): "
            "install the lsp extra: pip install '.[lsp]' in your journeylang clone") from None
    serve()
