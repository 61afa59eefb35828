"""The output of `journey check` and `journey lint`, written file by file as each is checked:
memory stays flat in the number of files. Text and GitHub annotations are printed at once;
JSON, SARIF and JUnit are one document each, so they keep the diagnostics (never the parsed
files) until the end."""
from __future__ import annotations

from collections import Counter

import click

from ..api import CheckResult
from ..diagnostics import Diagnostic, Severity
from .console import note
from .formats import FORMATTERS, github_lines
from .render import SourceLines, render, summary


class Report:
    """A lint run's output in one format; ``add`` each file's diagnostics, then ``finish``."""

    def __init__(self, output_format: str = "text"):
        self.output_format = output_format
        self.counts: Counter[Severity] = Counter()
        self.files = 0
        self._kept: list[Diagnostic] = []   # for the formats that print one document
        self._names: list[str] = []
        self._printed = False

    def add(self, result: CheckResult) -> None:
        """One checked file (its source for the excerpts, its diagnostics sorted); nothing of
        it but what the format needs is kept."""
        source, diagnostics = result.document.source, result.diagnostics
        self.files += 1
        self.counts.update(d.severity for d in diagnostics)
        if self.output_format == "text":
            sources = SourceLines({source.name: source.text})
            for diagnostic in diagnostics:
                click.echo(render(diagnostic, sources))
        elif self.output_format == "github":
            if diagnostics:
                click.echo("\n".join(github_lines(diagnostics)))
                self._printed = True
        else:
            self._kept += diagnostics
            self._names.append(source.name)

    def finish(self) -> None:
        """Print what comes last: the summary line, or the whole document."""
        if self.output_format == "text":
            note(summary(self.counts, self.files))
        elif self.output_format == "github":
            if not self._printed:
                click.echo("")
        else:
            click.echo(FORMATTERS[self.output_format](self._kept, self._names))

    @property
    def errors(self) -> int:
        return self.counts[Severity.ERROR]

    @property
    def warnings(self) -> int:
        return self.counts[Severity.WARNING]
