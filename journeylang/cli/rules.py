"""`journey rules` and `journey explain`: the rule registry from the command line."""
from __future__ import annotations

import click

from ..lint import REGISTRY
from ..lint.reference import explain, rules_markdown
from ..lint.rules.names import did_you_mean
from .console import examples, quiet_option


@click.command("rules", epilog=examples(
    "journey rules                        # code, default severity, name, summary",
    "journey rules | grep JL3             # the policy rules",
    "journey rules --markdown > docs/rules.md"))
@click.option("--markdown", is_flag=True, help="Print the reference as Markdown (docs/rules.md).")
@quiet_option
def rules_command(markdown: bool) -> None:
    """List every rule: code, default severity, summary."""
    if markdown:
        click.echo(rules_markdown(), nl=False)
        return
    for code in sorted(REGISTRY):
        rule = REGISTRY[code]
        click.echo(f"{code}  {str(rule.severity):7}  {rule.name:28}  {rule.summary}")


@click.command("explain", epilog=examples("journey explain JL201", "journey explain jl505"))
@click.argument("code")
@quiet_option
def explain_command(code: str) -> None:
    """Print the documentation of one rule (its code: JL201)."""
    text = explain(code)
    if text is None:
        hint = did_you_mean(code.upper(), REGISTRY)
        raise click.UsageError(f"no rule {code}" + (f"; {hint}" if hint else "")
                               + " (`journey rules` lists them)")
    click.echo(text, nl=False)
