"""Language server: formatting a .journey document with the project's formatter (`journey fmt`)."""
from __future__ import annotations

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError

from ..printer import FormatError
from ..printer.format import format_document
from .analysis import Analysis
from .positions import Lines


def format_edits(analysis: Analysis, lines: Lines) -> list[types.TextEdit]:
    """One edit replacing the text with its formatted form ([] when it is formatted already,
    or for YAML, which fmt leaves as it is). A text fmt refuses (syntax errors, or a change of
    meaning) is an error the editor shows, and nothing changes."""
    if analysis.source.is_yaml or analysis.fragment_file:
        return []
    try:
        text = format_document(analysis.document)
    except FormatError as exc:
        raise JsonRpcInternalError(f"journey fmt: {exc}") from None
    if text == analysis.source.text:
        return []
    return [types.TextEdit(lines.whole(), text)]
