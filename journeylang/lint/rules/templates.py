"""Template rules (JL4xx): templates exist, parse, and read only variables that exist."""
from __future__ import annotations

from ...ast import Send
from ...diagnostics import Related, Severity
from ...templates import estimated_length
from ..registry import Issue, LintContext, rule
from .names import did_you_mean

# the names a template is rendered with, beside the send's own params
CONTEXT_ROOTS = ("customer", "event", "consent", "journey", "step")


def _sends(ctx: LintContext):
    return [step for _, step in ctx.journey.steps() if isinstance(step, Send)]


@rule("JL401", "template-not-found", Severity.ERROR, "A send uses a template that is not defined.")
def template_not_found(ctx: LintContext):
    """A template is defined inline (``template name "..."``) or as a file
    ``templates/<name>.j2`` (``templates/<name>.<locale>.j2`` per locale) beside the journey.

    Bad::

        send via wecom template welcom

    Good::

        template welcome "Hi {{ customer.name }}"
        send via wecom template welcome
    """
    known = ctx.templates.names()
    for send in _sends(ctx):
        if send.template not in known:
            yield Issue(f"template '{send.template}' is not defined", send.span,
                        hint=did_you_mean(send.template, known)
                        or f"define it with `template {send.template} \"...\"` or in "
                           f"templates/{send.template}.j2")


@rule("JL402", "template-syntax-error", Severity.ERROR, "A template is not valid Jinja2.")
def template_syntax_error(ctx: LintContext):
    """Templates use Jinja2 syntax: ``{{ customer.name }}``, ``{% if ... %}...{% endif %}``.

    Bad::

        template hi "Hi {{ customer.name"

    Good::

        template hi "Hi {{ customer.name }}"
    """
    for problem in ctx.templates.problems():
        locale = f" ({problem.source.locale})" if problem.source.locale else ""
        yield Issue(f"template '{problem.source.name}'{locale}: {problem.message}", problem.span)


@rule("JL403", "template-unknown-variable", Severity.ERROR,
      "A template reads a variable that its sends do not provide or the schema does not declare.")
def template_unknown_variable(ctx: LintContext):
    """A template is rendered with ``customer``, ``event``, ``consent``, ``journey``,
    ``step``, the event's business objects (``cart``, ``order``, ...), the run-local variables
    (``var streak = 0``) and the params of the send (``with { code: "X" }``). A bare name must be a param of every send that uses the
    template, or rendering fails. With a declared schema, dotted paths must be in it.

    Bad::

        template coupon "Use code {{ code }}"
        send via sms template coupon            # no `code` param

    Good::

        send via sms template coupon with { code: "SAVE10" }
    """
    users: dict[str, list[Send]] = {}
    for send in _sends(ctx):
        users.setdefault(send.template, []).append(send)
    for source in ctx.templates.sources:
        for variable in ctx.templates.variables(source):
            yield from _check_variable(ctx, source, variable, users.get(source.name, []))


def _check_variable(ctx, source, variable, senders):
    root = variable.split(".")[0]
    if (root in CONTEXT_ROOTS or root in {v.name for v in ctx.journey.variables}) \
            and "." not in variable:
        return  # a context name or a run-local variable
    if "." not in variable:
        for send in senders:
            if variable not in {p.name for p in send.params}:
                yield Issue(f"template '{source.name}' uses {{{{ {variable} }}}}, but send "
                            f"'{send.name}' does not pass it", send.span,
                            hint=f"add `with {{ {variable}: ... }}` to the send",
                            related=(Related(source.span, "the template"),))
        return
    if root == "customer" and not ctx.config.knows_attribute(variable):
        yield Issue(f"template '{source.name}' uses {variable}, which the schema does not declare",
                    source.span, hint=did_you_mean(variable, ctx.config.attributes or ()))


@rule("JL404", "unused-template", Severity.WARNING, "An inline template is never sent.")
def unused_template(ctx: LintContext):
    """A template defined in the journey that no send uses is dead text that still has to
    be translated and reviewed. (Files in ``templates/`` may be shared by several journeys
    and are not reported.)

    Bad: ``template old_offer "..."`` with no ``send ... template old_offer``.

    Good: delete it, or send it.
    """
    used = {send.template for send in _sends(ctx)}
    for template in ctx.journey.templates:
        if template.name not in used:
            yield Issue(f"template '{template.name}' is never used", template.span,
                        hint="remove it or use it in a send")


@rule("JL405", "channel-length-limit", Severity.WARNING,
      "A message is likely longer than its channel allows.")
def channel_length_limit(ctx: LintContext):
    """Some channels cut or split long messages (an SMS segment holds 70 Chinese characters).
    ``channel_limits`` in the configuration sets the limit per channel (default: sms 70).
    The rendered length is estimated: a ``{{ name }}`` the send passes as a param counts as
    that value, any other ``{{ ... }}`` as 8 characters, ``{% ... %}`` tags as nothing.
    Every locale of the template is checked, on every channel of a send with fallback
    channels.

    Bad::

        template reminder "Hi {{ customer.name }}, your order ... (90 characters)"
        send via sms template reminder

    Good: shorten the text, or send it on a channel without a limit (wecom).
    """
    limits = ctx.config.channel_limits
    for send in _sends(ctx):
        params = {p.name: p.value for p in send.params}
        for channel in send.channels:
            limit = limits.get(channel)
            if limit is None:
                continue
            for locale, source in ctx.templates.locales(send.template).items():
                length = estimated_length(source.text, params)
                if length > limit:
                    shown = f" ({locale})" if locale else ""
                    yield Issue(f"template '{send.template}'{shown} is about {length} characters, "
                                f"over the {channel} limit of {limit}", send.span,
                                hint="shorten the text or raise channel_limits in the "
                                     "configuration",
                                related=(Related(source.span, "the template"),))
