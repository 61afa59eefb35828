"""`journey check` and `journey lint`: check journey files, print diagnostics, exit 0/1/2."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from ..api import ConfigError, check, config_for, journey_files
from ..config import load_config
from ..diagnostics import Severity, has_errors
from . import main
from .formats import FORMATTERS
from .render import SourceLines, render, summary

_FORMATS = ["text", *FORMATTERS]


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def run_checks(paths, output_format="text", config_path=None, select=(), ignore=(),
               max_warnings=None, quiet=False) -> None:
    """Check ``paths`` and exit: 0 clean, 1 errors (or too many warnings), 2 usage errors."""
    files = journey_files(paths)
    if not files:
        raise click.UsageError("no journey files (.journey, .yaml, .yml) found in the given paths")
    try:
        fixed = load_config(Path(config_path)) if config_path else None
        results = [check(path, _narrowed(fixed or config_for(path), select, ignore))
                   for path in files]
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    everything = [d for r in results for d in r.diagnostics]
    names = [str(path) for path in files]
    if output_format == "text":
        sources = SourceLines({r.document.source.name: r.document.source.text for r in results})
        for diagnostic in everything:
            click.echo(render(diagnostic, sources))
        if not quiet:
            click.echo(summary(everything, len(files)), err=True)
    else:
        click.echo(FORMATTERS[output_format](everything, names))
    warnings = sum(d.severity is Severity.WARNING for d in everything)
    too_many = max_warnings is not None and warnings > max_warnings
    if too_many and output_format == "text":
        click.echo(f"too many warnings: {warnings} > --max-warnings {max_warnings}", err=True)
    sys.exit(1 if has_errors(everything) or too_many else 0)


def _narrowed(config, select, ignore):
    if select:
        config = replace(config, select=select)
    if ignore:
        config = replace(config, ignore=config.ignore + ignore)
    return config


_paths = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))


@main.command("check")
@_paths
@click.option("--quiet", "-q", is_flag=True, help="Print only diagnostics, no summary line.")
def check_command(paths: tuple[str, ...], quiet: bool) -> None:
    """Check journey files (.journey, .yaml) or the folders that hold them."""
    run_checks(paths, quiet=quiet)


@main.command("lint")
@_paths
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Use this configuration file instead of the nearest one.")
@click.option("--select", multiple=True, help="Run only these codes or prefixes (JL2,JL301).")
@click.option("--ignore", multiple=True, help="Skip these codes or prefixes.")
@click.option("--max-warnings", type=click.IntRange(min=0), default=None,
              help="Fail when there are more warnings than this.")
@click.option("--quiet", "-q", is_flag=True, help="No summary line (text format).")
def lint_command(paths, output_format, config_path, select, ignore, max_warnings, quiet) -> None:
    """Lint journeys for CI: every rule, machine-readable output, configurable."""
    run_checks(paths, output_format, config_path, _split_codes(select), _split_codes(ignore),
               max_warnings, quiet)
