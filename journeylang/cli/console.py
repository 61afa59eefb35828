"""Terminal conventions shared by every command: colour, --quiet, notes and errors, Ctrl-C."""
from __future__ import annotations

import importlib
import os
import sys

import click
from click.utils import make_default_short_help

from ..collector import end_now, long_lived, start_up
from ..compiled_methods import kept_between_runs
from .commands import COMMANDS

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def colour_from_environment(environ=os.environ) -> bool | None:
    """True with FORCE_COLOR (any value but empty or 0), False with NO_COLOR (any non-empty
    value), else None: click colours a terminal and strips colour from pipes and files."""
    force = environ.get("FORCE_COLOR")
    if force is not None and force.strip().lower() not in ("", "0", "false"):
        return True
    if environ.get("NO_COLOR"):
        return False
    return None


class Finished(SystemExit):
    """``sys.exit(code)`` from a command whose output is all written and that keeps nothing
    open (no database, no file being written, no thread): when the command is its process's
    whole program, the process ends at once (``collector.end_now``)."""


class JourneyGroup(click.Group):
    """The ``journey`` group: colour from the environment, exit 130 on Ctrl-C (no traceback).

    Its commands are listed in ``commands.COMMANDS`` and a command's module is imported only
    when the command runs (or shows its own help).

    Called as a function, as the console script and ``python -m journeylang.cli`` do, the
    group is the program of its process: the garbage collector spares what start-up makes
    (``collector.start_up``), and when it was called without arguments (it read the
    process's command line) a command that ends with ``Finished`` ends the process. Click's
    test runner calls ``main.main()`` instead, which leaves the collector and the process
    alone."""

    def __call__(self, *args, **kwargs):
        with start_up() as first:
            try:
                return super().__call__(*args, **kwargs)
            except Finished as done:
                if first and not args and kwargs.get("args") is None and \
                        kwargs.get("standalone_mode", True):
                    end_now(done.code)
                raise

    def list_commands(self, ctx) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx, name: str):
        if name not in self.commands and name in COMMANDS:
            entry = COMMANDS[name]
            with long_lived(), kept_between_runs(entry.module):
                module = importlib.import_module(f"{__package__}.{entry.module}")
            self.add_command(getattr(module, entry.function), name)
        return self.commands.get(name)

    def format_commands(self, ctx, formatter) -> None:
        """The command list of ``--help``, as click writes it, from the summaries in COMMANDS
        (without importing any command)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, make_default_short_help(COMMANDS[name].summary, limit)
                 if name not in self.commands else self.commands[name].get_short_help_str(limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(self, info_name, args, parent=None, **extra):
        extra.setdefault("color", colour_from_environment())
        return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(INTERRUPTED)


def _set_quiet(ctx: click.Context, _param, value: bool) -> bool:
    ctx.meta["journeylang.quiet"] = value
    return value


def quiet_option(command):
    """``--quiet/-q``: only results and errors, no progress, summaries or notes."""
    return click.option("--quiet", "-q", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_quiet,
                        help="Print only results and errors: no summaries, progress or notes.")(
        command)


def is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("journeylang.quiet"))


def note(message: str, colour: str | None = None) -> None:
    """A message about what a command did (on stderr); --quiet silences it."""
    if not is_quiet():
        click.echo(click.style(message, fg=colour) if colour else message, err=True)


def warn(message: str) -> None:
    """Something the user should know even with --quiet (on stderr)."""
    click.echo(click.style("warning:", fg="yellow", bold=True) + f" {message}", err=True)


def error(message: str) -> None:
    click.echo(click.style("error:", fg="red", bold=True) + f" {message}", err=True)


def fail(message: str, code: int = 1):
    """Print ``error: message`` on stderr and exit with ``code``."""
    error(message)
    sys.exit(code)


def examples(*lines: str) -> str:
    """A command's usage examples for its --help (kept as written, not re-wrapped)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)
