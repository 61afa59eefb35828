"""`journey check` and `journey lint`: check journey files, print diagnostics, exit 0/1/2."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..api import (ConfigError, CheckResult, TablesError, check, check_document, config_for,
                   journey_files)
from ..config import load_config
from ..frontend import parse_journey_or_fragments
from .console import Finished, examples, quiet_option, warn
from .formats import FORMATTERS
from .inputs import STDIN, check_stdin_use, parse_input, stdin_filename_option
from .report import Report

_FORMATS = ["text", *FORMATTERS]


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def run_checks(paths, output_format="text", config_path=None, select=(), ignore=(),
               max_warnings=None, stdin_filename=None, against=()) -> None:
    """Check ``paths`` (``-``: standard input) and exit: 0 clean, 1 errors (or too many
    warnings), 2 usage errors. ``against``: earlier versions to check migrations with.
    Each file's diagnostics are written as soon as it is checked (see ``Report``)."""
    check_stdin_use(paths, stdin_filename)
    files = journey_files([p for p in paths if p != STDIN])
    if not files and STDIN not in paths:
        raise click.UsageError("no journey files (.journey, .yaml, .yml) found in the given paths")
    report = Report(output_format)
    try:
        fixed = load_config(Path(config_path)) if config_path else None
        configs = [fixed or config_for(path) for path in files]  # a bad one before any output
        if STDIN in paths:
            report.add(_check_stdin(stdin_filename, fixed, select, ignore, against))
        for path, config in zip(files, configs):
            report.add(check(path, _narrowed(config, select, ignore), against))
    except (ConfigError, TablesError) as exc:
        raise click.UsageError(str(exc)) from None
    report.finish()
    too_many = max_warnings is not None and report.warnings > max_warnings
    if too_many and output_format == "text":
        warn(f"too many warnings: {report.warnings} > --max-warnings {max_warnings}")
    raise Finished(1 if report.errors or too_many else 0)


def _check_stdin(stdin_filename, fixed, select, ignore, against=()) -> CheckResult:
    """Check the text on standard input as the file ``stdin_filename`` (default config: the
    one nearest that name)."""
    document = parse_input(STDIN, stdin_filename, parse_journey_or_fragments)
    config = fixed or config_for(Path(document.source.name))
    return check_document(document, _narrowed(config, select, ignore), against)


def _narrowed(config, select, ignore):
    if select:
        config = replace(config, select=select)
    if ignore:
        config = replace(config, ignore=config.ignore + ignore)
    return config


_paths = click.argument("paths", nargs=-1, required=True,
                        type=click.Path(exists=True, allow_dash=True))
_against = click.option(
    "--against", "against", multiple=True, type=click.Path(exists=True),
    help="Earlier versions to check a migration with: compiled tables, journey files, a "
         "folder of them, or a state file (every version it holds). Repeatable.")


@click.command("check", epilog=examples(
    "journey check examples/                       # every journey below a folder",
    "journey check welcome.journey vip_care.yaml",
    "cat j.journey | journey check - --stdin-filename journeys/j.journey",
    "journey check -q journeys/ && echo clean      # no summary line",
    "journey check cart_v2.journey --against cart.state.sqlite   # its migration, too"))
@_paths
@_against
@stdin_filename_option
@quiet_option
def check_command(paths: tuple[str, ...], against: tuple[str, ...],
                  stdin_filename: str | None) -> None:
    """Check journey files (.journey, .yaml) or the folders that hold them; - reads standard
    input.

    Prints each problem with its location, code, source line, caret and hint; exits 0 when
    there are no errors, 1 when there are, 2 on a usage error.
    """
    run_checks(paths, stdin_filename=stdin_filename, against=against)


@click.command("lint", epilog=examples(
    "journey lint journeys/ --format github --max-warnings 0",
    "journey lint journeys/ --format sarif > journeylang.sarif",
    "journey lint journeys/ --select JL2,JL301 --ignore JL505",
    "journey lint - --stdin-filename journeys/j.yaml --format json < j.yaml"))
@_paths
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Use this configuration file instead of the nearest one.")
@click.option("--select", multiple=True, help="Run only these codes or prefixes (JL2,JL301).")
@click.option("--ignore", multiple=True, help="Skip these codes or prefixes.")
@click.option("--max-warnings", type=click.IntRange(min=0), default=None,
              help="Fail when there are more warnings than this.")
@_against
@stdin_filename_option
@quiet_option
def lint_command(paths, output_format, config_path, select, ignore, max_warnings, against,
                 stdin_filename) -> None:
    """Lint journeys for CI: every rule, machine-readable output, configurable; - reads
    standard input."""
    run_checks(paths, output_format, config_path, _split_codes(select), _split_codes(ignore),
               max_warnings, stdin_filename, against)
