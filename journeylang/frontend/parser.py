"""DSL frontend, parsing layer: the Lark (LALR) parser of grammar/journey.lark and its errors
as JL001 diagnostics; the model builder is in text.py."""
from __future__ import annotations

from contextvars import ContextVar
from functools import cache

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from ..diagnostics import Diagnostic, Severity, Span
from ..resources import grammar_text
from . import Comment
from .lexer import SharedContextualLexer
from .parser_cache import QuickLoadLALR, load_parser

SYNTAX = "JL001"

_comment_sink: ContextVar[list | None] = ContextVar("comment_sink", default=None)


def _on_comment(token: Token) -> Token:
    sink = _comment_sink.get()
    if sink is not None:
        sink.append(token)
    return token


# Lark's options for the grammar; the parser also gets the contextual lexer of lexer.py and
# a table that reads back quickly from the cache
OPTIONS = dict(parser="lalr", propagate_positions=True,
               start=["start", "expr", "schedule", "fragment_file"],
               maybe_placeholders=True, lexer_callbacks={"COMMENT": _on_comment})
PLUGINS = {"ContextualLexer": SharedContextualLexer, "LALR_Parser": QuickLoadLALR}


@cache
def parser() -> Lark:
    """The LALR parser of the grammar (from the user's cache folder when it holds it)."""
    return load_parser(grammar_text(), **OPTIONS, _plugins=PLUGINS)


def parse(text: str, start: str, on_comment, file: str):
    tokens: list[Token] = []
    reset = _comment_sink.set(tokens)
    try:
        return parser().parse(text, start=start)
    finally:
        _comment_sink.reset(reset)
        for token in tokens if on_comment else ():
            on_comment(Comment(str(token), Span(file, token.line, token.column,
                                                token.end_line, token.end_column)))


# --- syntax errors -------------------------------------------------------------------------

_FRIENDLY = {
    "NAME": "a name", "STRING": "a quoted string", "LONG_STRING": "a quoted string",
    "INT": "a whole number", "NUMBER": "a number", "DURATION": "a duration such as 30m, 2h or 7d",
    "TIME": "a time of day such as 09:30", "PERCENT": "a percentage such as 5%",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)", "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/' or '%'", "$END": "end of file",
}


def _describe(terminal: str) -> str:
    if terminal in _FRIENDLY:
        return _FRIENDLY[terminal]
    try:
        pattern = parser().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return f"'{pattern.value}'" if pattern.type == "str" else terminal


def _expected(names) -> str:
    # `$name` is for fragment authors: listing it would only confuse a journey's author
    described = sorted({_describe(name) for name in names if name != "PARAM_REF"})
    if len(described) > 8:
        described = described[:8] + ["..."]
    return ", ".join(described)


def syntax_diagnostic(exc: UnexpectedInput, file: str, base_line: int = 1,
                      base_column: int = 1) -> Diagnostic:
    """Turn a Lark error into a JL001 diagnostic with the expected tokens."""
    line, column = exc.line if exc.line > 0 else 1, exc.column if exc.column > 0 else 1
    span = shift(file, base_line, base_column, line, column, line, column + 1)
    hint = None
    if isinstance(exc, UnexpectedCharacters):
        message = f"unexpected character {exc.char!r}"
        expected = exc.allowed or ()
    elif isinstance(exc, UnexpectedEOF):
        message = "unexpected end of file"
        expected = exc.expected
    else:
        token = exc.token
        shown = "end of file" if token.type == "$END" else repr(str(token))
        message = f"unexpected {shown}"
        expected = exc.expected
        if token.type != "$END" and token.end_column:
            span = shift(file, base_line, base_column, line, column, token.end_line, token.end_column)
        previous = [t for t in getattr(exc, "token_history", None) or [] if t is not None]
        if str(token) == ":" and previous and previous[-1].type != "NAME":
            hint = f"'{previous[-1]}' is a keyword and cannot name a step; choose another label"
    if expected:
        message += f"; expected {_expected(expected)}"
    return Diagnostic(SYNTAX, Severity.ERROR, message, span, hint=hint)


def shift(file, base_line, base_column, line, column, end_line, end_column) -> Span:
    """Place a position inside an embedded snippet (a YAML condition) into its file."""
    col = column + base_column - 1 if line == 1 else column
    end_col = end_column + base_column - 1 if end_line == 1 else end_column
    return Span(file, line + base_line - 1, col, end_line + base_line - 1, end_col)
