"""DSL frontend, lexing layer: Lark's contextual lexer, with one compiled expression for
every parser state instead of one per state.

Lark's contextual lexer matches, in each parser state, only the terminals that state
accepts: it compiles an alternation of them per state (about 200 for the journey grammar, a
few hundredths of a second at the first parse of every process). The same tokens come out
of one alternation of all the terminals, in Lark's order: where its first match is a
terminal the state accepts, that is the state's match too (every terminal before it failed
here); otherwise the state's own terminals after it are tried one by one. Keywords that a
name pattern also matches are told apart from names by a table instead of an expression.
Where a grammar does not fit these rules (flags on a terminal, bytes input, a keyword
before the name pattern that matches it, a name pattern with a look-ahead), every state
compiles its own expression as Lark does. The expression of the journey grammar's names
(with its range of CJK characters) alone takes a millisecond to compile.

A parser read from the cache also makes each state's lexer only when a text first reaches
that state: a journey file reaches about a hundred of the grammar's 886 states.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from copy import copy

from lark.lexer import BasicLexer, CallChain, ContextualLexer, Scanner, TerminalDef

from ..cache_folder import cached_data


class _AllTerminals:
    """Every terminal of the grammar in Lark's order, and one compiled alternation of them
    but the keywords that an expression terminal also matches (as Lark's own lexer over all
    the terminals has it); each terminal alone, compiled when first needed.

    ``fits``: whether every keyword comes after the expression terminals that match it in
    full (``NAME`` before ``"send"``), and these look neither ahead nor behind (so they also
    match wherever the keyword does), as the states' scanners need."""

    def __init__(self, terminals: list[TerminalDef], flags: int):
        self.rank = {t.name: index for index, t in enumerate(terminals)}
        self._flags = flags
        self._alone: dict[str, re.Pattern] = {}
        self.keywords = self._keyword_table(terminals)
        self.embedded = {k.name for found in self.keywords.values() for k in found}
        self.fits = all(self.rank[t.name] < self.rank[k.name] and _no_assertion(t)
                        for t in terminals if t.pattern.type == "re"
                        for k in self.keywords[t.name])
        self.scanner = Scanner([t for t in terminals if t.name not in self.embedded], flags, re,
                               use_bytes=False)

    def alone(self, terminal: TerminalDef) -> re.Pattern:
        pattern = self._alone.get(terminal.name)
        if pattern is None:
            pattern = self._alone[terminal.name] = re.compile(terminal.pattern.to_regexp(),
                                                              self._flags)
        return pattern

    def match_alone(self, terminal: TerminalDef, text: str, pos: int, end: int) -> str | None:
        """What ``terminal`` alone matches at ``pos`` (None: nothing); a keyword or a
        punctuation mark without flags by comparing the text, not compiled (a state's
        lexer tries its terminals one by one where the shared alternation found a terminal
        it does not accept)."""
        pattern = terminal.pattern
        if pattern.type == "str" and not pattern.flags and not self._flags:
            return pattern.value if text.startswith(pattern.value, pos, end) else None
        match = self.alone(terminal).match(text, pos, end)
        return match.group(0) if match else None

    def _keyword_table(self, terminals: list[TerminalDef]) -> dict[str, list[TerminalDef]]:
        """For each expression terminal, the keywords it matches; kept in the user's cache
        folder, keyed by the terminals: working it out compiles every expression terminal
        alone (a few milliseconds at every start)."""
        by_name = {t.name: t for t in terminals}
        expressions = [t.name for t in terminals if t.pattern.type == "re"]

        def make() -> dict[str, list[str]]:
            return {t.name: [k.name for k in self._keywords(t, terminals)]
                    for t in terminals if t.pattern.type == "re"}

        def valid(table) -> bool:
            return (isinstance(table, dict) and list(table) == expressions
                    and all(name in by_name for found in table.values() for name in found))
        described = repr([(t.name, t.pattern.type, t.pattern.to_regexp(), t.priority)
                          for t in terminals])
        table = cached_data("keywords-", [described, str(self._flags)], make, valid)
        return {name: [by_name[k] for k in found] for name, found in table.items()}

    def _keywords(self, pattern: TerminalDef, terminals) -> list[TerminalDef]:
        """The string terminals that the expression terminal ``pattern`` matches in full,
        at its priority (``NAME`` and ``"send"``), in Lark's order."""
        expression = self.alone(pattern)
        return [t for t in terminals if t.pattern.type == "str" and t.priority == pattern.priority
                and _whole_match(expression, t.pattern.value)]


def _no_assertion(terminal: TerminalDef) -> bool:
    """Whether an expression has no anchor, boundary or look-around (by its text: an
    expression that merely seems to have one counts as having it)."""
    text = terminal.pattern.to_regexp().replace("[^", "[")
    return not any(mark in text for mark in ("(?=", "(?!", "(?<", "\\b", "\\B", "\\A", "\\Z",
                                             "$", "^"))


def _whole_match(expression: re.Pattern, text: str) -> bool:
    match = expression.match(text)
    return match is not None and match.group(0) == text


class _StateScanner:
    """What Lark's ``Scanner`` of one state's terminals does, from the shared alternation.

    The shared alternation's first match is the first of all the terminals to match here
    (a keyword it leaves out cannot come before it: the expression terminal that matches
    the keyword matches here too, and comes first); so the state's own match is that match
    when the state accepts it, else the first of the state's terminals after it to match."""

    def __init__(self, shared: _AllTerminals, terminals: list[TerminalDef]):
        self.shared = shared
        self.terminals = terminals  # in Lark's order
        self.ranks = [shared.rank[t.name] for t in terminals]
        self.allowed_types = {t.name for t in terminals}

    def match(self, text, pos):
        for expression in self.shared.scanner._mres:  # as Scanner.match, one call less
            found = expression.match(text.text, pos, text.end)
            if found:
                break
        else:
            return None  # nothing the state accepts matches here
        kind = found.lastgroup
        if kind in self.allowed_types:
            return found.group(0), kind
        for terminal in self.terminals[bisect_right(self.ranks, self.shared.rank[kind]):]:
            found = self.shared.match_alone(terminal, text.text, pos, text.end)
            if found is not None:
                return found, terminal.name
        return None


class _Keyword:
    """Turns a name token into the keyword it spells, when the state accepts that keyword
    (Lark's ``UnlessCallback``, from a table)."""

    def __init__(self, keywords: dict[str, str]):
        self.keywords = keywords

    def __call__(self, token):
        kind = self.keywords.get(token.value)
        if kind is not None:
            token.type = kind
        return token


class _StateLexer(BasicLexer):
    """Lark's lexer of one parser state, scanning with the shared alternation."""

    shared: _AllTerminals | None = None

    def _build_scanner(self):
        if self.shared is None or self.use_bytes or any(t.pattern.flags for t in self.terminals):
            return super()._build_scanner()
        names = {t.name for t in self.terminals}
        self.callback, embedded = {}, set()
        for pattern in self.terminals:
            if pattern.pattern.type != "re":
                continue
            keywords = [t for t in self.shared.keywords[pattern.name] if t.name in names]
            if keywords:
                table: dict[str, str] = {}
                for keyword in keywords:
                    table.setdefault(keyword.pattern.value, keyword.name)
                self.callback[pattern.name] = _Keyword(table)
                embedded.update(t.name for t in keywords)
        for kind, function in self.user_callbacks.items():  # as Lark chains them
            if kind in self.callback:
                self.callback[kind] = CallChain(self.callback[kind], function,
                                                lambda t, kind=kind: t.type == kind)
            else:
                self.callback[kind] = function
        return _StateScanner(self.shared, [t for t in self.terminals if t.name not in embedded])


class SharedContextualLexer(ContextualLexer):
    """Lark's contextual lexer whose states share one compiled alternation of the grammar's
    terminals (the parser's ``_plugins={"ContextualLexer": SharedContextualLexer}``). A
    parser read from the cache makes a state's lexer when a text first reaches the state;
    a parser built from the grammar makes them all at once, checking each terminal, as Lark
    does."""

    BasicLexer = _StateLexer

    def __init__(self, conf, states, always_accept=()):
        if conf.use_bytes or conf.re_module is not re:
            super().__init__(conf, states, always_accept)
            return  # every state compiles its own expression, as in Lark
        if not conf.skip_validation:
            super().__init__(conf, states, always_accept)
            self._share(_AllTerminals(self.root_lexer.terminals, conf.g_regex_flags),
                        self.lexers.values())
            return
        root_conf = copy(conf)
        root_conf.terminals = list(conf.terminals)
        self.root_lexer = self.BasicLexer(root_conf)
        shared = _AllTerminals(self.root_lexer.terminals, conf.g_regex_flags)
        if not shared.fits:
            super().__init__(conf, states, always_accept)
            return
        self._share(shared, ())
        extra = set(conf.ignore) | set(always_accept)
        by_terminals: dict[frozenset, _StateLexer] = {}

        def lexer_for(accepts) -> _StateLexer:
            key = frozenset(accepts)
            lexer = by_terminals.get(key)
            if lexer is None:
                state_conf = copy(root_conf)
                state_conf.terminals = [conf.terminals_by_name[name] for name in key | extra
                                        if name in conf.terminals_by_name]
                lexer = by_terminals[key] = self.BasicLexer(state_conf)
                lexer.shared = shared
            return lexer

        self.lexers = _ByState(states, lexer_for)

    def _share(self, shared: _AllTerminals, lexers) -> None:
        if shared.fits:
            for lexer in (*lexers, self.root_lexer):
                lexer.shared = shared


class _ByState(dict):
    """Each parser state's lexer, made when first asked for."""

    def __init__(self, states, make):
        super().__init__()
        self._states, self._make = states, make

    def __missing__(self, state):
        lexer = self[state] = self._make(self._states[state])
        return lexer
