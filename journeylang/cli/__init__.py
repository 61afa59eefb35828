"""Command line: click only; arguments in, rendered output out."""
from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="journey")
def main() -> None:
    """journeylang: write customer journeys as files, check, simulate and compile them."""


from . import check as _check  # noqa: E402,F401  (registers the commands)
from . import rules as _rules  # noqa: E402,F401

if __name__ == "__main__":
    main()
