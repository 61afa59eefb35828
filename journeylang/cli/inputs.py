"""Where a command's journey comes from: a file, or standard input (``-``) named by
``--stdin-filename``."""
from __future__ import annotations

import click

from ..diagnostics import JourneyError
from ..frontend import Document, parse_file, parse_source
from ..source import Source

STDIN = "-"
DEFAULT_STDIN_NAME = "stdin.journey"


def stdin_filename_option(command):
    return click.option(
        "--stdin-filename", "stdin_filename", metavar="NAME",
        help="With - (standard input): the file name the text stands for. Its suffix picks the "
             f"syntax (.journey or .yaml) and its folder the configuration; default "
             f"{DEFAULT_STDIN_NAME}.")(command)


def journey_argument(name: str = "file"):
    """A journey file argument that also takes ``-`` for standard input."""
    return click.argument(name, type=click.Path(exists=True, dir_okay=False, allow_dash=True))


def check_stdin_use(paths, stdin_filename: str | None) -> None:
    """Usage errors: ``-`` given twice, or ``--stdin-filename`` without ``-``."""
    dashes = sum(path == STDIN for path in paths)
    if dashes > 1:
        raise click.UsageError("standard input (-) can be read only once")
    if stdin_filename is not None and not dashes:
        raise click.UsageError("--stdin-filename names standard input: give - as the file")


def read_stdin(stdin_filename: str | None) -> Source:
    """The text on standard input, named ``stdin_filename`` (raises JourneyError when it is
    not UTF-8)."""
    raw = click.get_binary_stream("stdin").read()
    return Source.decode(stdin_filename or DEFAULT_STDIN_NAME, raw)


def parse_input(path: str, stdin_filename: str | None = None, parse=parse_source) -> Document:
    """The file at ``path``, or standard input when ``path`` is ``-``, read by ``parse``
    (a journey by default)."""
    check_stdin_use((path,), stdin_filename)
    if path != STDIN:
        return parse_file(path, parse)
    try:
        source = read_stdin(stdin_filename)
    except JourneyError as exc:
        return Document(Source(stdin_filename or DEFAULT_STDIN_NAME, ""), None, exc.diagnostics)
    return parse(source)
