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


from . import check as _check  # noqa: E402,F401  (registers the commands)
from . import rules as _rules  # noqa: E402,F401
from . import compile as _compile, run as _run, status as _status  # noqa: E402,F401
from . import graph as _graph  # noqa: E402,F401
from . import schema as _schema  # noqa: E402,F401
from . import lsp as _lsp  # noqa: E402,F401
from . import fmt as _fmt  # noqa: E402,F401
from . import convert as _convert  # noqa: E402,F401
from . import new as _new, preview as _preview  # noqa: E402,F401
from . import simulate as _simulate  # noqa: E402,F401
from . import live as _live  # noqa: E402,F401
from . import diff as _diff  # noqa: E402,F401

if __name__ == "__main__":
    main()
