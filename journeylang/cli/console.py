"""Terminal conventions shared by every command: colour, --quiet, notes and errors, Ctrl-C."""
from __future__ import annotations

import os
import sys

import click

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


class JourneyGroup(click.Group):
    """The ``journey`` group: colour from the environment, exit 130 on Ctrl-C (no traceback)."""

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
