"""`journey lsp`: the language server over stdio (needs the `lsp` extra: pygls)."""
from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from .console import INTERRUPTED, examples, quiet_option


@click.command("lsp", epilog=examples(
    "journey lsp                          # started by an editor, speaks LSP on stdin/stdout",
    "nvim: vim.lsp.start({ name = 'journeylang', cmd = { 'journey', 'lsp' } })"))
@quiet_option
def lsp_command() -> None:
    """Run the language server on standard input/output (for editors).

    Completion, hover, go to definition, references, rename, document symbols, formatting,
    code actions and diagnostics for .journey and YAML journeys; see docs/authoring.md.
    """
    try:
        from ..lsp import serve
    except ImportError as exc:
        raise click.ClickException(
            f"journey lsp needs pygls ({exc.name} is missing): "
            "install the lsp extra: pip install '.[lsp]' in your journeylang clone") from None
    serve(on_interrupt=_end_interrupted)


def _end_interrupted() -> NoReturn:
    """Ctrl-C while serving: say so and end the process at once, with exit status 130."""
    sys.stderr.write("\ninterrupted\n")
    sys.stderr.flush()
    os._exit(INTERRUPTED)
