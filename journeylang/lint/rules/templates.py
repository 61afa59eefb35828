"""Template rules (JL4xx): templates exist, parse, and read only variables that exist."""
from __future__ import annotations

from ...ast import Send
from ...diagnostics import Related, Severity
from ...sms import SEGMENT_SIZES, sms_length
from ...template_limits import limit_problems
from ...templates import estimated_text
from ..registry import Issue, LintContext, Rule, register, rule
from .names import did_you_mean

RENDER_ERROR = "JL407"

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
      "A message costs more SMS segments, or is longer, than its channel allows.")
def channel_length_limit(ctx: LintContext):
    """An SMS is billed per segment, and the segment size depends on the encoding: a text
    all in the GSM-7 alphabet holds 160 characters in one segment and 153 per segment of a
    longer message (the extension characters ``^ { } \\ [ ~ ] | €`` count twice); one
    character outside it (any Chinese character, an emoji, a curly quote) sends the whole
    message as UCS-2, 70 characters in one segment and 67 per segment. A send on sms is
    reported when its text costs more segments than ``channel_limits.sms.segments`` in the
    configuration allows (default 1). Other channels can limit characters
    (``channel_limits = { push = 100 }``).

    The rendered text is estimated: a ``{{ name }}`` the send passes as a param counts as
    that value, any other ``{{ ... }}`` as 8 GSM-7 characters (a customer's name in Chinese
    makes the message UCS-2: its estimate is then low), ``{% ... %}`` tags as nothing. Every
    locale of the template is checked, on every channel of a send with fallback channels.

    Bad::

        template reminder {
          zh: "亲爱的{{ customer.name }}，您的订单……(80 个汉字)"
        }
        send via sms template reminder      # 2 UCS-2 segments per message

    Good: shorten the text to one segment, send it on a channel without a limit (wecom), or
    allow more segments: ``channel_limits = { sms = { segments = 2 } }``.
    """
    for send in _sends(ctx):
        params = {p.name: p.value for p in send.params}
        for channel in send.channels:
            for locale, source in ctx.templates.locales(send.template).items():
                text = estimated_text(source.text, params)
                problem = (_sms_cost(text, ctx.config.sms_segments) if channel == "sms" else
                           _too_long(text, channel, ctx.config.channel_limits.get(channel)))
                if problem:
                    shown = f" ({locale})" if locale else ""
                    yield Issue(f"template '{send.template}'{shown} {problem[0]}", send.span,
                                hint=problem[1], related=(Related(source.span, "the template"),))


def _sms_cost(text: str, limit: int) -> tuple[str, str] | None:
    """What is wrong with ``text`` as an SMS allowed ``limit`` segments, and the hint."""
    length = sms_length(text)
    if length.segments <= limit:
        return None
    single, part = SEGMENT_SIZES[length.encoding]
    why = f", as {length.first_wide!r} is not in GSM-7" if length.first_wide else ""
    return (f"is about {length.units} {length.encoding} characters{why}: {length.segments} SMS "
            f"segments per message, over the limit of {limit}",
            f"{length.encoding} holds {single} characters in one segment, {part} per segment of "
            "a longer message: shorten the text, or allow more segments with "
            "`channel_limits = { sms = { segments = N } }` in the configuration")


def _too_long(text: str, channel: str, limit: int | None) -> tuple[str, str] | None:
    if limit is None or len(text) <= limit:
        return None
    return (f"is about {len(text)} characters, over the {channel} limit of {limit}",
            "shorten the text or raise channel_limits in the configuration")


@rule("JL406", "template-limit", Severity.ERROR,
      "A template would go past a limit of the sandbox it renders in.")
def template_limit(ctx: LintContext):
    """Templates render in a sandbox with limits (docs/language.md, "19. Limits"): a template is
    at most 100,000 characters, a message and any text or list built while rendering it at
    most 100,000 characters or items, a render at most 100,000 loop iterations and 0.25 s.
    A message that goes past one fails (the outbox and the history say why); this rule
    reports what can be told before any render: a template that is too long, constants that
    are too large, and ``include``, ``import`` or ``extends``, which cannot work in a
    message template.

    Bad::

        template banner "{{ '=' * 1000000 }} Sale!"
        template wide "{{ customer.name|center(10**9) }}"

    Good::

        template banner "==== Sale! ===="
    """
    for source in ctx.templates.sources:
        locale = f" ({source.locale})" if source.locale else ""
        for line, message in limit_problems(source.text):
            yield Issue(f"template '{source.name}'{locale}: {message}",
                        source.span_of_line(line))


register(Rule(RENDER_ERROR, "template-render-error", Severity.ERROR,
              "A template cannot be rendered with the given customer and event (preview).",
              "`journey preview` renders a message exactly as `journey run` does; when the\n"
              "template fails with the given --customer and --event (a missing variable, a\n"
              "division by zero, a resource limit), the failure is this diagnostic, at the\n"
              "template's line. At run time the same failure fails that one message: its outbox\n"
              "row has status 'failed' and the error, and the history records it."))
