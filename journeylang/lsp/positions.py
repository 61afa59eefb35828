"""Language server: positions. Our spans count characters (code points) from 1; LSP counts
UTF-16 code units from 0 (or what the client negotiated): convert between the two on the
document's own lines (only '\\n' ends a line, as for the parsers)."""
from __future__ import annotations

import bisect

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..diagnostics import Span

UTF16 = PositionCodec()  # what LSP means when a client says nothing


class Lines:
    """A document's lines and its position encoding."""

    def __init__(self, text: str, codec: PositionCodec = UTF16):
        self.text, self.codec = text, codec
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def line(self, number: int) -> str:
        """0-based line ``number`` ('' past the end)."""
        return self.lines[number] if 0 <= number < len(self.lines) else ""

    def position(self, line: int, column: int) -> types.Position:
        """A 1-based (line, character column) as an LSP position."""
        text = self.line(line - 1)
        column = max(0, min(column - 1, len(text)))
        return types.Position(max(line - 1, 0), self.codec.client_num_units(text[:column]))

    def range(self, span: Span) -> types.Range:
        start = self.position(span.line, span.column)
        end = self.position(span.end_line, span.end_column)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start, end)

    def column(self, position: types.Position) -> int:
        """The 0-based character column of an LSP position on its line."""
        text = self.line(position.line)
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return index
            units += self.codec.client_num_units(char)
        return len(text)

    def offset(self, position: types.Position) -> int:
        """The character offset into the text of an LSP position."""
        if position.line >= len(self.lines):
            return len(self.text)
        return self.starts[max(position.line, 0)] + self.column(position)

    def at(self, offset: int) -> types.Position:
        """The LSP position of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return self.position(line + 1, offset - self.starts[line] + 1)

    def whole(self) -> types.Range:
        """The range of the whole text."""
        return types.Range(types.Position(0, 0), self.at(len(self.text)))
