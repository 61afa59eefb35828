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


# --- requests: each answered from an analysis of the current text ----------------------------------

def _answer(method: str, answer, options=None, nothing=None) -> None:
    """Register ``answer(analysis, lines, params)`` for a request on one document."""
    @server.feature(method, options)
    def handler(ls: JourneyServer, params):
        analysis, lines = ls.current(params.text_document.uri)
        return answer(ls, analysis, lines, params) if analysis is not None else nothing


_answer(types.TEXT_DOCUMENT_COMPLETION,
        lambda ls, a, lines, p: types.CompletionList(is_incomplete=False, items=completions(
            a, ls.analyses.last_good(a.uri), lines, p.position, ls.snippets())),
        types.CompletionOptions(trigger_characters=TRIGGERS))
_answer(types.TEXT_DOCUMENT_HOVER, lambda ls, a, lines, p: hover(a, lines, p.position))
_answer(types.TEXT_DOCUMENT_DEFINITION,
        lambda ls, a, lines, p: definition(a, lines, p.position), nothing=[])
_answer(types.TEXT_DOCUMENT_REFERENCES, lambda ls, a, lines, p: references(
    a, lines, p.position, p.context.include_declaration), nothing=[])
_answer(types.TEXT_DOCUMENT_PREPARE_RENAME,
        lambda ls, a, lines, p: prepare_rename(a, lines, p.position))
_answer(types.TEXT_DOCUMENT_RENAME, lambda ls, a, lines, p: rename(a, lines, p.position,
                                                                     p.new_name))
_answer(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, lambda ls, a, lines, p: (
    [] if a.index is None else fragment_symbols(a, lines) if a.fragment_file
    else document_symbols(a, lines)), nothing=[])
_answer(types.TEXT_DOCUMENT_FORMATTING, lambda ls, a, lines, p: format_edits(a, lines),
        nothing=[])
_answer(types.TEXT_DOCUMENT_CODE_ACTION, lambda ls, a, lines, p: code_actions(a, lines, p),
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]), nothing=[])
