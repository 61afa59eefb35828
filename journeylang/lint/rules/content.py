"""Content rules (JL72x): the wording of template texts, against a rulebook."""
from __future__ import annotations

from ...ast import Send
from ...diagnostics import Severity
from ..placement import span_at, text_offsets
from ..registry import Issue, LintContext, rule
from ..wording import active_rules, find_hits


@rule("JL721", "wording", Severity.WARNING,
      "A template's text uses wording that the rulebook flags (absolute claims, pressure, "
      "induced sharing, or the operator's own lists).")
def wording(ctx: LintContext):
    """Every text of every template (inline in the journey or a ``templates/*.j2`` file, in
    every locale; a file when the journey sends it) is searched for the phrases of the built-in rulebook
    (``stdlib/content/rulebook.yaml``) and of the rules in ``[tool.journeylang.content]``.
    The built-in categories are ``absolute_claims`` (advertising law forbids "best" or
    "guaranteed"), ``pressure`` ("last chance") and ``induced_sharing`` (rewarding a share
    breaks platform rules: a compliance risk, reported as a warning). Matching ignores case,
    respects word boundaries for Latin-script phrases and skips ``{{ ... }}`` expressions.
    A phrase list applies to its locales (a default text is checked against every list).

    Bad::

        template offer "Guaranteed results, last chance to buy!"

    Good::

        template offer "Rated 4.8 by 2,000 customers. The offer ends on 31 May."
    """
    rules = active_rules(ctx.config.content)
    if not rules:
        return
    # template files may be shared by several journeys: each checks the ones it sends
    sent = {step.template for _, step in ctx.journey.steps() if isinstance(step, Send)}
    for source in ctx.templates.sources:
        if not source.inline and source.name not in sent:
            continue
        hits = find_hits(source.text, source.locale, rules)
        if hits:
            yield from _issues(ctx, source, hits)


def _issues(ctx: LintContext, source, hits):
    file_text = source.text if not source.inline else ctx.file_text(source.span.file)
    offsets = text_offsets(source, file_text) if file_text is not None else None
    locale = f" ({source.locale})" if source.locale else ""
    for hit in hits:
        found = " ".join(source.text[hit.start:hit.end].split())
        if offsets is None:
            span = source.span
        else:
            span = span_at(source.span.file, file_text, offsets[hit.start], offsets[hit.end - 1] + 1)
        yield Issue(f"template '{source.name}'{locale} says \"{found}\": {hit.rule.message}",
                    span, hint=hit.rule.hint, severity=hit.rule.severity)
