"""The DSL parser's contextual lexer, whose parser states share one compiled expression,
splits any text as Lark's own contextual lexer does: the same trees, tokens, comments and
syntax errors, on every bundled and fixture journey and on edited ones."""
from __future__ import annotations

import io
import marshal
from functools import cache

import pytest
from hypothesis import given, settings, strategies as st
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from journeylang.frontend import lexer, parser as dsl
from journeylang.frontend.parser_cache import load_parser
from journeylang.resources import grammar_text, resource_dir

from conftest import EXAMPLES, ROOT

FILES = sorted([*EXAMPLES.glob("*.journey"), *resource_dir("stdlib").rglob("*.journey"),
                *(ROOT / "tests" / "fixtures").rglob("*.journey")])
STARTS = ("start", "fragment_file", "expr", "schedule")


@cache
def lark_own():
    """The same grammar and options with Lark's contextual lexer."""
    return load_parser(grammar_text(), **dsl.OPTIONS)


@cache
def ours() -> dict[str, Lark]:
    """The parser with the shared lexer as built from the grammar (a lexer for every state
    at once) and as read back from a saved copy (a state's lexer when first needed)."""
    built = Lark(grammar_text(), **dsl.OPTIONS, _plugins=dsl.PLUGINS)
    saved = io.BytesIO()
    built.save(saved)
    saved.seek(0)
    return {"built": built, "read back": Lark.load(saved)}


def outcome(parser, text: str, start: str):
    """Everything a parse gives the frontend: the tree and each token with its place, the
    comments, or the error and its JL001 diagnostic."""
    comments = []
    reset = dsl._comment_sink.set(comments)
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as exc:
        expected = exc.allowed if isinstance(exc, UnexpectedCharacters) else exc.expected
        return ("error", type(exc).__name__, exc.line, exc.column, sorted(expected or ()),
                getattr(getattr(exc, "token", None), "type", None),
                dsl.syntax_diagnostic(exc, "t.journey"))
    finally:
        dsl._comment_sink.reset(reset)
    tokens = [(t.type, str(t), t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column)
              for t in tree.scan_values(lambda value: isinstance(value, Token))]
    return "tree", tree, tokens, [(c.type, str(c), c.line, c.column) for c in comments]


def same_outcomes(text: str) -> None:
    for start in STARTS:
        expected = outcome(lark_own(), text, start)
        for how, parser in ours().items():
            assert outcome(parser, text, start) == expected, (how, start)


def test_the_dsl_parser_has_the_shared_lexer_made_state_by_state_when_read_back():
    assert type(dsl.parser().parser.lexer) is lexer.SharedContextualLexer
    built, read_back = ours()["built"].parser.lexer, ours()["read back"].parser.lexer
    assert type(built.lexers) is dict and type(read_back.lexers) is lexer._ByState
    assert all(state.shared is not None for state in built.lexers.values())
    same_outcomes((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"))
    assert 0 < len(read_back.lexers) < len(built.lexers)  # only the states texts reached


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_and_fixture_journey(path):
    same_outcomes(path.read_text(encoding="utf-8"))


def _keywords() -> list[str]:
    return sorted(t.pattern.value for t in lark_own().terminals if t.pattern.type == "str")


PIECES = st.sampled_from(_keywords()) | st.sampled_from([
    "name", "顾客", "x_1", "30m", "7d", "09:30", "5%", "12", "1.5", "-", '"text"', '"""long"""',
    "{", "}", "(", ")", "[", "]", "->", ";", ",", ".", ":", "=", "==", "$param", "# note\n",
    "\n", " ", "\t", "@", "中文", "9" * 30]) | st.text(max_size=3)


@st.composite
def edited(draw):
    """A bundled journey with a few pieces inserted, deleted or replaced."""
    text = draw(st.sampled_from(FILES)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 12)))
        text = text[:start] + draw(PIECES | st.just("")) + text[end:]
    return text


@settings(max_examples=300, deadline=None)
@given(edited())
def test_edited_journeys(text):
    same_outcomes(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECES, max_size=12).map(" ".join))
def test_runs_of_keywords_names_and_punctuation(text):
    same_outcomes(text)


def test_the_bundled_journeys_take_both_ways_of_matching(monkeypatch):
    """Most tokens are the shared expression's first match; some need a state's own
    terminals tried one by one (a keyword where only a name fits, say)."""
    one_by_one = []
    search = lexer.bisect_right
    monkeypatch.setattr(lexer, "bisect_right",
                        lambda *args: one_by_one.append(args) or search(*args))
    for path in FILES:
        if path.parent == EXAMPLES:
            same_outcomes(path.read_text(encoding="utf-8"))
    assert one_by_one


@pytest.mark.parametrize("grammar, texts", [
    # a name pattern that looks ahead: where `on` is a keyword, it may not match
    ('start: "on" NAME | NAME NAME\nNAME: /[a-z]+(?!x)/\n%ignore " "\n', ["on a", "a b", "onx a"]),
    # a keyword that comes before the pattern that matches it in full (the same width)
    ('start: "abc" WORD | WORD\nWORD: /a.c/\n%ignore " "\n', ["abc abc", "axc", "abc"]),
])
def test_a_grammar_that_does_not_fit_gets_lark_s_own_scanners(grammar, texts):
    built = Lark(grammar, parser="lalr", _plugins=dsl.PLUGINS)
    saved = io.BytesIO()
    built.save(saved)
    saved.seek(0)
    read_back = Lark.load(saved)
    own = Lark(grammar, parser="lalr")
    for shared in (built, read_back):
        assert all(state.shared is None for state in shared.parser.lexer.lexers.values())
        for text in texts:
            assert outcome(shared, text, "start") == outcome(own, text, "start")


def _names(table) -> dict[str, list[str]]:
    return {name: [k.name for k in found] for name, found in table.items()}


def test_the_keyword_table_is_kept_in_the_cache_folder(tmp_path, monkeypatch):
    terminals = dsl.parser().parser.lexer.root_lexer.terminals
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", "")  # no cache: worked out
    worked_out = _names(lexer._AllTerminals(terminals, 0).keywords)
    monkeypatch.setenv("JOURNEYLANG_CACHE_DIR", str(tmp_path))
    assert any(worked_out.values())  # NAME spells keywords
    first = lexer._AllTerminals(terminals, 0)
    [cached] = tmp_path.glob("keywords-*")
    assert _names(first.keywords) == worked_out
    assert _names(lexer._AllTerminals(terminals, 0).keywords) == worked_out  # read back
    for damaged in (b"", b"\x00garbage", marshal.dumps({"NAME": ["NO_SUCH_TERMINAL"]})):
        cached.write_bytes(damaged)
        assert _names(lexer._AllTerminals(terminals, 0).keywords) == worked_out
        assert marshal.loads(cached.read_bytes()) == worked_out  # made again, replaced
    other = [t for t in terminals if t.name != "NAME"]  # other terminals: another file
    lexer._AllTerminals(other, 0)
    assert len(list(tmp_path.glob("keywords-*"))) == 2
