"""Language server: our diagnostics as LSP diagnostics (positions in the client's units)."""
from __future__ import annotations

from lsprotocol import types

from ..diagnostics import Diagnostic, Severity
from ..lint.reference import rule_url
from .positions import Lines

SOURCE = "journeylang"
_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error,
             Severity.WARNING: types.DiagnosticSeverity.Warning,
             Severity.INFO: types.DiagnosticSeverity.Information}


def to_lsp(diagnostic: Diagnostic, lines: Lines, path: str, uri: str) -> types.Diagnostic:
    """``diagnostic`` found in the document at ``path``; one found in another file (a fragment
    it uses) is shown at the top of the document and names its place."""
    diagnostic = diagnostic.for_people()
    span = diagnostic.span
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    if span.file != path:
        message = f"{span}: {message}"
        where = types.Range(types.Position(0, 0), types.Position(0, 0))
    else:
        where = lines.range(span)
    related = [types.DiagnosticRelatedInformation(types.Location(uri, lines.range(r.span)),
                                                  r.message)
               for r in diagnostic.related if r.span.file == path]
    return types.Diagnostic(range=where, message=message, severity=_SEVERITY[diagnostic.severity],
                            code=diagnostic.code, source=SOURCE,
                            code_description=_rule_link(diagnostic.code),
                            related_information=related or None)


def _rule_link(code: str) -> types.CodeDescription | None:
    """A link to the rule's section of the rule reference, when the docs are at hand."""
    url = rule_url(code)
    return types.CodeDescription(href=url) if url else None
