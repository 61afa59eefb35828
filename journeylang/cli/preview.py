"""`journey preview`: render a send step's message as the runtime would."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..api import ConfigError, check_document, config_for
from ..ast import Send
from ..diagnostics import Diagnostic, Severity
from ..lint.rules.names import did_you_mean
from ..lint.rules.templates import RENDER_ERROR
from ..sandbox import RenderError
from ..templates import MessageTemplate, TemplateSet, render_context
from .console import examples, quiet_option
from .inputs import journey_argument, parse_input, stdin_filename_option
from .render import SourceLines, render


def load_json(path: str, what: str) -> dict:
    """A JSON object from a file; bad JSON is a usage error with its line and column."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON in {what}: "
                               f"{exc.msg}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise click.UsageError(f"{path}: cannot read {what}: {reason}") from None
    if not isinstance(data, dict):
        raise click.UsageError(f"{path}: {what} must be a JSON object, got {type(data).__name__}")
    return data


def missing_variable(variables: list[str], context: dict) -> str | None:
    """The first dotted path a template reads that the context does not have."""
    for dotted in variables:
        value = context
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return dotted
            value = value[part]
    return None


def _fail(diagnostics, sources: SourceLines) -> None:
    for diagnostic in diagnostics:
        click.echo(render(diagnostic, sources), err=True)
    sys.exit(1)


@click.command("preview", epilog=examples(
    "journey preview examples/cart_recovery.journey nudge --customer ann.json",
    "journey preview j.journey offer --customer c.json --event cart.json --locale zh",
    "journey preview - nudge --stdin-filename j.journey --customer c.json < j.journey"))
@journey_argument("journey")
@click.argument("step")
@click.option("--customer", "customer_file", required=True, type=click.Path(dir_okay=False),
              help="The customer profile as a JSON object (consent under 'consent').")
@click.option("--event", "event_file", type=click.Path(dir_okay=False),
              help="The triggering event as a JSON object (cart, order, ... at the top level).")
@click.option("--locale", help="The customer's locale, e.g. zh or en (falls back by language).")
@stdin_filename_option
@quiet_option
def preview_command(journey, step, customer_file, event_file, locale, stdin_filename) -> None:
    """Render the message that send step STEP of JOURNEY (- reads standard input) sends to a
    customer.

    The text is rendered exactly as `journey run` renders it, under the same limits; a
    template that fails is reported as a diagnostic (exit 1).
    """
    customer = load_json(customer_file, "--customer")
    event = load_json(event_file, "--event") if event_file else {}
    document = parse_input(journey, stdin_filename)
    journey = document.source.name
    sources = SourceLines({journey: document.source.text})
    try:
        result = check_document(document, config_for(Path(journey)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    model = result.journey
    if model is None:
        _fail(result.diagnostics, sources)
    steps = {s.name: s for _, s in model.steps()}
    send = steps.get(step)
    if send is None:
        hint = did_you_mean(step, steps) or ""
        raise click.UsageError(f"no step '{step}' in {journey}" + (f"; {hint}" if hint else ""))
    if not isinstance(send, Send):
        raise click.UsageError(f"step '{step}' is a {send.kind} step, not a send")
    templates = TemplateSet.for_journey(model, journey)
    wanted = locale or customer.get("locale")
    source = templates.pick(send.template, wanted if isinstance(wanted, str) else None,
                            model.locale)
    if source is None:
        _fail([Diagnostic("JL401", Severity.ERROR, f"template '{send.template}' is not defined",
                          send.span)], sources)
    context = render_context(customer, event, {p.name: p.value for p in send.params},
                             model.id, send.name)
    try:
        click.echo(MessageTemplate(source.text).render(context))
    except RenderError as exc:
        name = missing_variable(templates.variables(source), context) \
            if "undefined" in exc.message or "has no attribute" in exc.message else None
        what = f"missing variable '{name}'" if name else exc.message
        _fail([Diagnostic(RENDER_ERROR, Severity.ERROR,
                          f"template '{send.template}' cannot be rendered: {what}",
                          source.span_of_line(exc.line or 1))], sources)
