"""Command line: click only; arguments in, rendered output out."""
from __future__ import annotations

import click

from .. import __version__
from .console import JourneyGroup, examples


@click.group(cls=JourneyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=examples("journey new cart_recovery            # scaffold a journey",
                             "journey check journeys/              # check a folder",
                             "journey lint journeys/ --format sarif > out.sarif",
                             "journey simulate j.journey --cohort c.cohort.yaml --out report/",
                             "journey run --tables j.journey --events events.jsonl",
                             "journey COMMAND --help               # a command's options"))
@click.version_option(__version__, prog_name="journey")
def main() -> None:
    """journeylang: write customer journeys as files, check, simulate and compile them.

    Colour: on a terminal; NO_COLOR turns it off, FORCE_COLOR on. Ctrl-C exits 130.
    """


if __name__ == "__main__":
    main()
