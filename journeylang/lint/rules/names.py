"""Name rules (JL1xx): duplicate and undefined names."""
from __future__ import annotations

import difflib

from ...ast import Send
from ...diagnostics import Related, Severity
from ..registry import Issue, LintContext, rule


def did_you_mean(name: str, candidates, cutoff: float = 0.6) -> str | None:
    """A hint naming the closest known name, if one is close enough."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=cutoff)
    return f"did you mean '{close[0]}'?" if close else None


@rule("JL101", "duplicate-step", Severity.ERROR, "Two steps have the same name.")
def duplicate_step(ctx: LintContext):
    """Step names must be unique across the journey, since gotos and branches name them.

    Bad::

        stage a { remind: send via wecom template "t1" }
        stage b { remind: send via sms template "t2" }

    Good: give each step its own label (``remind_wecom``, ``remind_sms``).
    """
    first = {}
    for _, step in ctx.journey.steps():
        if step.name in first and not step.is_auto_named:  # auto names clash only via JL103
            yield Issue(f"step '{step.name}' is defined twice", step.span,
                        hint="rename one of them",
                        related=(Related(first[step.name].span, "first defined here"),))
        else:
            first[step.name] = step


@rule("JL102", "undefined-target", Severity.ERROR,
      "A goto, branch, split or wait points at a step or stage that does not exist.")
def undefined_target(ctx: LintContext):
    """Every target after ``->`` or ``goto`` must name a step (its label) or a stage.

    Bad::

        goto thank_you      # no step or stage is called thank_you

    Good::

        goto thanks
    """
    known = [s.name for _, s in ctx.journey.steps()] + [s.name for s in ctx.journey.stages]
    for step, target in ctx.graph.unresolved:
        yield Issue(f"'{target.name}' is not a step or stage of this journey", target.span,
                    hint=did_you_mean(target.name, known))


@rule("JL103", "duplicate-stage", Severity.ERROR, "Two stages have the same name.")
def duplicate_stage(ctx: LintContext):
    """Stage names must be unique: gotos, reports and funnels refer to stages by name.

    Bad: two ``stage remind { ... }`` blocks. Good: merge them or rename one.
    """
    first = {}
    for stage in ctx.journey.stages:
        if stage.name in first:
            yield Issue(f"stage '{stage.name}' is defined twice", stage.span,
                        related=(Related(first[stage.name].span, "first defined here"),))
        else:
            first.setdefault(stage.name, stage)


@rule("JL105", "duplicate-declaration", Severity.ERROR,
      "A template, goal, milestone, role, KPI, attribute or variable is declared twice, or a "
      "template has two texts for a locale.")
def duplicate_declaration(ctx: LintContext):
    """Templates, goals, milestones, roles, KPIs, attributes and variables are looked up by
    name (sends name templates, handoffs roles, conditions attributes and variables, reports
    goals, milestones and KPIs), and a template's texts by locale, so a second declaration
    would silently hide the first. Goals and milestones are both conversions in reports: a
    milestone cannot be named like a goal. (A fragment used twice declares its variables once.)

    Bad::

        role advisor capacity 80 per 1d
        role advisor capacity 40 per 1d
        template hi { zh: "你好" zh: "您好" }

    Good: one declaration per name (KPI names are unique across the journey's stages), one
    text per locale.
    """
    journey = ctx.journey
    kpis = [kpi for stage in journey.stages for kpi in stage.kpis]
    conversions = [("goal", goal) for goal in journey.goals] + \
        [("milestone", milestone) for milestone in journey.milestones]
    groups = [[("template", t) for t in journey.templates], conversions,
              [("role", r) for r in journey.roles], [("KPI", k) for k in kpis],
              [("attribute", a) for a in journey.attributes],
              [("variable", v) for v in {(v, v.span): v for v in journey.variables}.values()]]
    for items in groups:
        first = {}
        for kind, item in items:
            if item.name not in first:
                first[item.name] = (kind, item)
                continue
            earlier, original = first[item.name]
            what = f"{kind} '{item.name}' is declared twice" if kind == earlier else \
                f"{kind} '{item.name}' is named like {earlier} '{item.name}'"
            yield Issue(what, item.span, hint="remove one declaration or rename it",
                        related=(Related(original.span, "first declared here"),))
    for template in journey.templates:
        texts = {}
        for text in template.texts:
            if text.locale in texts:
                shown = text.locale or "the default locale"
                yield Issue(f"template '{template.name}' has two texts for {shown}", text.span,
                            hint="keep one; the first would be sent and the second never",
                            related=(Related(texts[text.locale].span, "first text"),))
            else:
                texts[text.locale] = text


@rule("JL104", "unknown-channel", Severity.ERROR, "A send or policy names a channel that does not exist.")
def unknown_channel(ctx: LintContext):
    """Channels are: wecom, group, sms, email, push, miniprogram, official_account, call,
    unless the configuration's ``channels`` list replaces them.

    Bad::

        send via wechat template "hello"

    Good::

        send via wecom template "hello"
    """
    channels = ctx.config.channels
    for _, step in ctx.journey.steps():
        for channel in step.channels if isinstance(step, Send) else ():
            if channel not in channels:
                yield Issue(f"unknown channel '{channel}'", step.span,
                            hint=_channel_hint(channel, channels))
    policy = ctx.journey.policy
    named = list(policy.consent) + [c for cap in policy.caps for c in cap.channels]
    for channel in dict.fromkeys(named):
        if channel not in channels:
            yield Issue(f"unknown channel '{channel}' in policy", policy.span,
                        hint=_channel_hint(channel, channels))


def _channel_hint(channel: str, channels) -> str:
    return (did_you_mean(channel, channels, cutoff=0.5)
            or f"channels are: {', '.join(channels)} (add more with `channels` in the config)")
