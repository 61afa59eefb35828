"""Language server: the pygls server and its features, each answered by its own module."""
from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from .actions import code_actions
from .analysis import Analyses, Analysis, is_journey_file
from .completion import completions
from .diagnostics import to_lsp
from .formatting import format_edits
from .hover import hover
from .navigation import definition, prepare_rename, references, rename
from .outline import document_symbols, fragment_symbols
from .positions import Lines

TRIGGERS = [" ", ">", ".", ":", "{", ","]


class JourneyServer(LanguageServer):
    """pygls' server with the analyses of the open journey documents."""

    def __init__(self):
        super().__init__("journeylang", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses = Analyses(self.publish)

    def lines(self, analysis: Analysis) -> Lines:
        return Lines(analysis.source.text, self.workspace.position_codec)

    def publish(self, analysis: Analysis) -> None:
        lines = self.lines(analysis)
        found = [to_lsp(d, lines, analysis.source.name, analysis.uri)
                 for d in analysis.diagnostics or ()]
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=analysis.uri, diagnostics=found, version=analysis.version))

    def current(self, uri: str) -> tuple[Analysis, Lines] | tuple[None, None]:
        analysis = self.analyses.current(uri)
        return (analysis, self.lines(analysis)) if analysis is not None else (None, None)

    def snippets(self) -> bool:
        completion = getattr(self.client_capabilities.text_document, "completion", None)
        item = getattr(completion, "completion_item", None)
        return bool(getattr(item, "snippet_support", False))


server = JourneyServer()


def _path(uri: str) -> str:
    return to_fs_path(uri) or uri


# --- documents -------------------------------------------------------------------------------------

@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: JourneyServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    if is_journey_file(_path(document.uri)):
        ls.analyses.opened(document.uri, _path(document.uri), document.text, document.version)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: JourneyServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    ls.analyses.changed(document.uri, document.source, document.version)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: JourneyServer, params: types.DidSaveTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    ls.analyses.saved(document.uri, document.source, document.version)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: JourneyServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.analyses.closed(params.text_document.uri)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=params.text_document.uri, diagnostics=[]))


@server.feature(types.SHUTDOWN)
def shutdown(ls: JourneyServer, params) -> None:
    ls.analyses.shutdown()


# --- requests --------------------------------------------------------------------------------------

@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=TRIGGERS))
def completion(ls: JourneyServer, params: types.CompletionParams):
    analysis, lines = ls.current(params.text_document.uri)
    if analysis is None:
        return None
    return types.CompletionList(is_incomplete=False, items=completions(
        analysis, ls.analyses.last_good(analysis.uri), lines, params.position, ls.snippets()))


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: JourneyServer, params: types.HoverParams):
    analysis, lines = ls.current(params.text_document.uri)
    return hover(analysis, lines, params.position) if analysis else None


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: JourneyServer, params: types.DefinitionParams):
    analysis, lines = ls.current(params.text_document.uri)
    return definition(analysis, lines, params.position) if analysis else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: JourneyServer, params: types.ReferenceParams):
    analysis, lines = ls.current(params.text_document.uri)
    if analysis is None:
        return None
    return references(analysis, lines, params.position, params.context.include_declaration)


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: JourneyServer, params: types.PrepareRenameParams):
    analysis, lines = ls.current(params.text_document.uri)
    return prepare_rename(analysis, lines, params.position) if analysis else None


@server.feature(types.TEXT_DOCUMENT_RENAME)
def on_rename(ls: JourneyServer, params: types.RenameParams):
    analysis, lines = ls.current(params.text_document.uri)
    return rename(analysis, lines, params.position, params.new_name) if analysis else None


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_document_symbol(ls: JourneyServer, params: types.DocumentSymbolParams):
    analysis, lines = ls.current(params.text_document.uri)
    if analysis is None or analysis.index is None:
        return []
    if analysis.fragment_file:
        return fragment_symbols(analysis, lines)
    return document_symbols(analysis, lines)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: JourneyServer, params: types.DocumentFormattingParams):
    analysis, lines = ls.current(params.text_document.uri)
    return format_edits(analysis, lines) if analysis else None


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
def on_code_action(ls: JourneyServer, params: types.CodeActionParams):
    analysis, lines = ls.current(params.text_document.uri)
    return code_actions(analysis, lines, params) if analysis else None
