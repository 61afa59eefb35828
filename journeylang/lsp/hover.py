"""Language server: hover. Under a diagnostic, the docs of its rule; on a name, what it is: a
step's summary and where it leads, a template's texts and a preview, a fragment's signature."""
from __future__ import annotations

from lsprotocol import types

from .. import ast
from ..expand import Library
from ..lint import REGISTRY
from ..lint.reference import explain
from ..sandbox import RenderError
from ..templates import MessageTemplate, TemplateSet
from ..units import format_duration
from ..views.model import summarize
from .analysis import Analysis
from .positions import Lines
from .symbols import (ATTRIBUTE, CHANNEL, EVENT, FRAGMENT, JOURNEY, OUTCOME, PARAMETER, ROLE,
                      SEGMENT, STAGE, STEP, TEMPLATE, Symbol, symbol_at)


def hover(analysis: Analysis, lines: Lines, position: types.Position) -> types.Hover | None:
    parts = _rule_docs(analysis, lines, position)
    symbol = symbol_at(analysis.index, lines, position)
    if symbol is not None:
        described = describe(symbol, analysis)
        if described:
            parts.insert(0, described)
    if not parts:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(parts)),
                       range=lines.range(symbol.span) if symbol is not None else None)


def _rule_docs(analysis: Analysis, lines: Lines, position: types.Position) -> list[str]:
    """The docs of every rule with a diagnostic under the cursor (each rule once)."""
    found = []
    for diagnostic in analysis.diagnostics or ():
        if diagnostic.span.file != analysis.source.name or diagnostic.code in found:
            continue
        where = lines.range(diagnostic.span)
        if _inside(position, where) and diagnostic.code in REGISTRY:
            found.append(diagnostic.code)
    return [_rule_markdown(code) for code in found]


def _inside(position: types.Position, where: types.Range) -> bool:
    at = (position.line, position.character)
    return (where.start.line, where.start.character) <= at <= (where.end.line, where.end.character)


def _rule_markdown(code: str) -> str:
    rule = REGISTRY[code]
    body = explain(code).split("\n", 2)[-1].strip()
    return f"**{code} {rule.name}** ({rule.severity}): {rule.summary}\n\n{_rst_to_markdown(body)}"


def _rst_to_markdown(text: str) -> str:
    """The rule docstrings' ``code`` and ``Bad::`` blocks, as Markdown."""
    out, block = [], False
    for line in text.split("\n"):
        if block and line and not line.startswith(" "):
            out.append("```")
            block = False
        if line.rstrip().endswith("::"):
            out += [line.rstrip()[:-1], "```journey"]
            block = True
            continue
        out.append(line[4:] if block and line.startswith("    ") else line.replace("``", "`"))
    if block:
        out.append("```")
    return "\n".join(out)


# --- names ---------------------------------------------------------------------------------------

def describe(symbol: Symbol, analysis: Analysis) -> str | None:
    describer = _DESCRIBERS.get(symbol.kind)
    return describer(symbol.name, analysis) if describer else None


def _step(name: str, analysis: Analysis) -> str | None:
    journey = analysis.model
    for stage, step in journey.steps() if journey else ():
        if step.name == name:
            stage_text = f"`{stage.name}`" + (f" ({stage.title})" if stage.title else "")
            leads = ", ".join(f"`{target}`" + (f" ({why})" if why else "")
                              for why, target in _leads_to(step))
            return (f"**step `{name}`**: {summarize(step)}\n\nstage {stage_text}"
                    + (f"\n\nleads to {leads}" if leads else ""))
    return None


def _leads_to(step: ast.Step) -> list[tuple[str, str]]:
    """(why, target) for the places a step names; the following step is not named."""
    found = []
    if isinstance(step, ast.WaitEvent):
        found += [(arm.event, arm.target or "the following step") for arm in step.arms]
        if step.within is not None:
            found.append(("timeout", step.next or "the following step"))
    elif isinstance(step, ast.Branch):
        found += [("when", arm.target) for arm in step.arms]
        found += [("else", step.default)] if step.default else []
    elif isinstance(step, ast.Split):
        found += [(f"{arm.name} {arm.percent:g}%", "holdout" if arm.holdout else arm.target)
                  for arm in step.arms]
    elif isinstance(step, ast.Goto):
        found.append(("", step.target))
    elif isinstance(step, ast.SequentialStep) and step.next:
        found.append(("", step.next))
    return [(why, str(target)) for why, target in found]


def _stage(name: str, analysis: Analysis) -> str | None:
    journey = analysis.model
    for stage in journey.stages if journey else ():
        if stage.name == name:
            steps = ", ".join(f"`{s.name}`" for s in stage.steps)
            kpis = "".join(f"\n\nKPI `{k.name}`: {k.event} within {format_duration(k.within)}, "
                           f"baseline {k.baseline:g}%, target {k.target:g}%" for k in stage.kpis)
            return (f"**stage `{name}`**" + (f": {stage.title}" if stage.title else "")
                    + f"\n\n{len(stage.steps)} step(s): {steps}{kpis}")
    return None


def _template(name: str, analysis: Analysis) -> str | None:
    journey = analysis.model or ast.Journey("")
    templates = TemplateSet.for_journey(journey, analysis.source.name)
    texts = templates.locales(name)
    if not texts:
        return None
    out = [f"**template `{name}`**"]
    for locale, source in texts.items():
        where = "" if source.inline else f" ({source.span.file})"
        out.append(f"*{locale or 'default'}*{where}:\n```jinja\n{source.text}\n```")
    first = next(iter(texts.values()))
    variables = templates.variables(first)
    if variables:
        out.append("reads " + ", ".join(f"`{v}`" for v in variables))
    out.append("preview:\n\n> " + preview(first, variables).replace("\n", "\n> "))
    return "\n\n".join(out)


def preview(source, variables: list[str]) -> str:
    """The template rendered with each variable shown as ‹its name›."""
    context: dict = {}
    for dotted in variables:
        holder, parts = context, dotted.split(".")
        for part in parts[:-1]:
            holder = holder.setdefault(part, {}) if isinstance(holder.get(part, {}), dict) else {}
        holder.setdefault(parts[-1], f"‹{dotted}›")
    try:  # in the sandbox, under its limits: a hover never hangs the server
        return MessageTemplate(source.text).render(context)
    except RenderError:  # a template with errors: its text as written (the lint says why)
        return source.text


def _fragment(name: str, analysis: Analysis) -> str | None:
    fragment = Library.for_file(analysis.source.name).fragments.get(name)
    if fragment is None:
        return None
    params = ", ".join(f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default}")
                       for p in fragment.params)
    return (f"**fragment `{name}`**" + (f": {fragment.title}" if fragment.title else "")
            + f"\n```journey\nuse {name} with {{ ... }}\nfragment {name}({params})\n```\n"
            f"{len(fragment.steps)} step(s), from `{fragment.span.file}`")


def _role(name: str, analysis: Analysis) -> str | None:
    journey = analysis.model
    role = next((r for r in journey.roles if r.name == name), None) if journey else None
    handoffs = len(analysis.index.occurrences(ROLE, name)) - (role is not None)
    if role is None:
        return f"**role `{name}`**: not declared ({handoffs} handoff(s))"
    return (f"**role `{name}`**: capacity {role.capacity} per {format_duration(role.per)}; "
            f"{handoffs} handoff(s)")


def _event(name: str, analysis: Analysis) -> str:
    uses = len(analysis.index.occurrences(EVENT, name))
    emitted = analysis.index.definitions(EVENT, name)
    config = analysis.config
    declared = ("declared in the configuration's schema" if config.events and name in config.events
                else "an opt-out event" if name in config.opt_out_events else "")
    return (f"**event `{name}`**: named {uses} time(s) here"
            + (", emitted by this journey" if emitted else "") + (f"; {declared}" if declared else ""))


def _channel(name: str, analysis: Analysis) -> str:
    config, journey = analysis.config, analysis.model
    known = "configured" if name in config.channels else "**not configured**"
    consent = journey is not None and name in journey.policy.consent
    limit = config.channel_limits.get(name)
    if name == "sms":
        limit = f"{config.sms_segments} SMS segment(s) (by encoding: GSM-7 160/153, UCS-2 70/67)"
    elif limit:
        limit = f"{limit} characters"
    return (f"**channel `{name}`**: {known}" + ("; needs consent" if consent else "")
            + (f"; messages up to {limit}" if limit else ""))


def _outcome(name: str, analysis: Analysis) -> str:
    standard = name in ast.STANDARD_OUTCOMES
    return f"**outcome `{name}`**: " + ("a standard outcome" if standard else "declared by the journey")


def _attribute(name: str, analysis: Analysis) -> str:
    config = analysis.config
    state = ("no schema is configured" if config.attributes is None else
             "declared in the schema" if config.knows_attribute(name) else "**not declared**")
    return f"**attribute `{name}`**: {state}"


def _segment(name: str, analysis: Analysis) -> str:
    found = next((s for s in analysis.config.segments if s.name == name), None)
    if found is None:
        return f"**segment `{name}`**: **not declared** in the configuration"
    return (f"**segment `{name}`** ({found.file}):\n```journey\n{found.text}\n```")


def _parameter(name: str, analysis: Analysis) -> str:
    return f"**parameter `{name}`**"


def _journey(name: str, analysis: Analysis) -> str:
    journey = analysis.model
    if journey is None:
        return f"**journey `{name}`**"
    facts = [f"version {journey.version}" if journey.version is not None else "no version",
             f"owner {journey.owner}" if journey.owner else "no owner"]
    return (f"**journey `{name}`**" + (f": {journey.title}" if journey.title else "")
            + f"\n\n{', '.join(facts)}" + (f"\n\n{journey.description}" if journey.description else ""))


_DESCRIBERS = {STEP: _step, STAGE: _stage, TEMPLATE: _template, FRAGMENT: _fragment, ROLE: _role,
               EVENT: _event, CHANNEL: _channel, OUTCOME: _outcome, ATTRIBUTE: _attribute,
               PARAMETER: _parameter, JOURNEY: _journey, SEGMENT: _segment}
