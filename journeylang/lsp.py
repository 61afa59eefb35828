"""Language server (LSP over stdio, via pygls): lint diagnostics for open journey documents."""
from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import __version__
from .api import ConfigError, LintConfig, check_text, config_for
from .diagnostics import Diagnostic, Severity
from .source import DSL_SUFFIXES, YAML_SUFFIXES

SOURCE = "journeylang"
_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error,
             Severity.WARNING: types.DiagnosticSeverity.Warning,
             Severity.INFO: types.DiagnosticSeverity.Information}

server = LanguageServer("journeylang", __version__)


def lsp_diagnostics(text: str, path: str, uri: str = "") -> list[types.Diagnostic]:
    """Lint ``text`` as the file at ``path`` (its suffix picks the syntax, its folder the config)."""
    try:
        config = config_for(Path(path))
    except ConfigError:  # a broken config must not silence the editor: use the defaults
        config = LintConfig()
    result = check_text(text, path, config)
    return [to_lsp(d, path, uri) for d in result.diagnostics]


def to_lsp(diagnostic: Diagnostic, path: str, uri: str = "") -> types.Diagnostic:
    span = diagnostic.span
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    if span.file != path:  # found in another file (a fragment): say where, at the top
        message = f"{span}: {message}"
        start = end = types.Position(0, 0)
    else:  # our columns count characters; LSP counts UTF-16 units (equal outside astral planes)
        start = types.Position(max(span.line - 1, 0), max(span.column - 1, 0))
        end = types.Position(max(span.end_line - 1, 0), max(span.end_column - 1, 0))
        if (end.line, end.character) < (start.line, start.character):
            end = start
    related = [types.DiagnosticRelatedInformation(types.Location(uri, _range(r.span)), r.message)
               for r in diagnostic.related if uri and r.span.file == path]
    return types.Diagnostic(range=types.Range(start, end), message=message,
                            severity=_SEVERITY[diagnostic.severity], code=diagnostic.code,
                            source=SOURCE, related_information=related or None)


def _range(span) -> types.Range:
    start = types.Position(max(span.line - 1, 0), max(span.column - 1, 0))
    return types.Range(start, types.Position(max(span.end_line - 1, 0),
                                             max(span.end_column - 1, 0)))


def _is_journey(path: str) -> bool:
    return path.lower().endswith(DSL_SUFFIXES + YAML_SUFFIXES)


def publish(ls: LanguageServer, uri: str) -> None:
    path = to_fs_path(uri) or uri
    if not _is_journey(path):
        return
    document = ls.workspace.get_text_document(uri)
    diagnostics = lsp_diagnostics(document.source, path, uri)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=uri, diagnostics=diagnostics, version=document.version))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=params.text_document.uri, diagnostics=[]))


def serve() -> None:
    """Serve LSP over standard input and output until the client says exit."""
    server.start_io()
