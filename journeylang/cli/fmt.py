"""`journey fmt`: rewrite .journey files in the canonical layout, comments kept."""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..api import journey_files, parse
from ..frontend import Document
from ..frontend.text import is_fragment_file
from ..printer import FormatError
from ..printer.format import format_document
from ..source import DSL_SUFFIXES
from .console import error, examples, note, quiet_option
from .inputs import STDIN, check_stdin_use, parse_input, stdin_filename_option
from .render import SourceLines, render


@click.command("fmt", epilog=examples(
    "journey fmt journeys/                          # rewrite what is not formatted",
    "journey fmt --check journeys/                  # CI: exit 1 when a file would change",
    "journey fmt --diff welcome.journey             # show the change, write nothing",
    "journey fmt - --stdin-filename j.journey < j.journey > formatted.journey"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a file would change.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print a unified diff of the changes.")
@stdin_filename_option
@quiet_option
def fmt_command(paths: tuple[str, ...], check: bool, show_diff: bool,
                stdin_filename: str | None) -> None:
    """Format .journey files (or the folders that hold them) in place; - formats standard
    input to standard output.

    A file is rewritten only when its text changes and the new text reads back to the
    same journey; files with syntax errors are left alone (exit 1).
    """
    check_stdin_use(paths, stdin_filename)
    files = [p for p in journey_files([p for p in paths if p != STDIN])
             if p.suffix.lower() in DSL_SUFFIXES]
    if not files and STDIN not in paths:
        raise click.UsageError("no .journey files found in the given paths")
    tally = {"changed": 0, "failed": 0, "skipped": 0, "unchanged": 0}
    if STDIN in paths:
        tally[_format_stdin(stdin_filename, check, show_diff)] += 1
    for path in files:
        tally[_format_file(path, check, show_diff)] += 1
    verb = "would be reformatted" if check or show_diff else "reformatted"
    note(f"{tally['changed']} file(s) {verb}, {tally['unchanged']} unchanged"
         + (f", {tally['failed']} with errors" if tally["failed"] else "")
         + (f", {tally['skipped']} fragment file(s) skipped" if tally["skipped"] else ""))
    sys.exit(1 if tally["failed"] or (check and tally["changed"]) else 0)


def _formatted(document: Document) -> str | None:
    """The formatted text, or None after printing why it cannot be formatted."""
    try:
        return format_document(document)
    except FormatError as exc:
        sources = SourceLines({document.source.name: document.source.text})
        for diagnostic in exc.diagnostics:
            click.echo(render(diagnostic, sources), err=True)
        error(str(exc))
        return None


def _format_file(path: Path, check: bool, show_diff: bool) -> str:
    document = parse(path)
    if document.journey is None and is_fragment_file(document.source.text):
        note(f"{path} is a fragment file: fmt formats journeys and leaves it as it is")
        return "skipped"
    text = _formatted(document)
    if text is None:
        return "failed"
    if text == document.source.text:
        return "unchanged"
    if show_diff:
        _diff(document, text)
    if check or show_diff:
        note(f"would reformat {path}", "yellow")
    else:
        Path(path).write_bytes(text.encode("utf-8"))
        note(f"reformatted {path}")
    return "changed"


def _format_stdin(stdin_filename: str | None, check: bool, show_diff: bool) -> str:
    """Standard input: the formatted text on standard output (only the diff with --diff,
    nothing with --check)."""
    document = parse_input(STDIN, stdin_filename)
    text = _formatted(document)
    if text is None:
        return "failed"
    changed = text != document.source.text
    if show_diff and changed:
        _diff(document, text)
    elif not check and not show_diff:
        click.echo(text, nl=False)
    if changed and (check or show_diff):
        note(f"would reformat {document.source.name}", "yellow")
    return "changed" if changed else "unchanged"


def _diff(document: Document, text: str) -> None:
    name = document.source.name
    click.echo("".join(difflib.unified_diff(
        document.source.text.splitlines(keepends=True), text.splitlines(keepends=True),
        f"{name} (original)", f"{name} (formatted)")), nl=False)
