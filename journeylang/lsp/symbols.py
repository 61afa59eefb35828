"""Language server: where each name is defined and used in one document (steps, stages,
templates, roles, events, outcomes, channels, fragments and their parameters, attributes).

The DSL is read from its Lark parse tree (each name's token has its place), YAML from its
composed node tree (each scalar has its marks); a rule or key the tables here do not know is
walked through and contributes nothing.
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass

import yaml
from lark import Token, Tree
from lark.exceptions import LarkError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .. import ast
from ..diagnostics import Span
from ..frontend.parser import parser
from ..frontend.text import is_fragment_file, parse_tree, unquote
from ..source import Source

# a target names a step or, when no step has that name, a stage's first step
STEP, STAGE, TARGET = "step", "stage", "target"
TEMPLATE, ROLE, EVENT, OUTCOME = "template", "role", "event", "outcome"
CHANNEL, FRAGMENT, PARAMETER, ATTRIBUTE, JOURNEY, SEGMENT = (
    "channel", "fragment", "parameter", "attribute", "journey", "segment")


@dataclass(frozen=True)
class Symbol:
    kind: str
    name: str
    span: Span          # the name as written (inside quotes for a quoted name)
    defines: bool = False


class SymbolIndex:
    """Every name in a document, in source order; ``partial`` when read from the tokens of a
    text that does not parse (names may be missing)."""

    def __init__(self, symbols: list[Symbol], partial: bool = False):
        self.partial = partial
        steps = {s.name for s in symbols if s.kind == STEP and s.defines}
        stages = {s.name for s in symbols if s.kind == STAGE and s.defines}
        self.symbols = sorted(
            (dataclasses.replace(s, kind=STAGE if s.name in stages and s.name not in steps
                                 else STEP) if s.kind == TARGET else s for s in symbols),
            key=lambda s: (s.span.line, s.span.column))
        self._by = defaultdict(list)
        for symbol in self.symbols:
            self._by[(symbol.kind, symbol.name)].append(symbol)

    def at(self, line: int, column: int) -> Symbol | None:
        """The symbol under a 1-based line and column (the end of a name counts too, where
        an editor's cursor sits after typing it)."""
        for symbol in self.symbols:
            span = symbol.span
            if span.line == line and span.column <= column <= span.end_column:
                return symbol
        return None

    def occurrences(self, kind: str, name: str) -> list[Symbol]:
        return list(self._by.get((kind, name), ()))

    def definitions(self, kind: str, name: str) -> list[Symbol]:
        return [s for s in self.occurrences(kind, name) if s.defines]

    def names(self, kind: str) -> list[str]:
        return list(dict.fromkeys(s.name for s in self.symbols if s.kind == kind))


def index_document(source: Source, journey: ast.Journey | None) -> SymbolIndex | None:
    """The symbols of a document; for a DSL text that does not parse, those its tokens show
    (partial); None for YAML that does not parse."""
    try:
        found = _yaml_symbols(source) if source.is_yaml else _dsl_symbols(source)
    except (LarkError, yaml.YAMLError, RecursionError):
        return None if source.is_yaml else SymbolIndex(_token_symbols(source), partial=True)
    return SymbolIndex(found + _model_symbols(source, journey))


# --- the DSL -----------------------------------------------------------------------------------

_DSL_RULES = {
    "journey": lambda c: [(JOURNEY, c[0], True)],
    "stage": lambda c: [(STAGE, c[0], True)],
    "label": lambda c: [(STEP, c[0], True)],
    "template": lambda c: [(TEMPLATE, c[0], True)],
    "role": lambda c: [(ROLE, c[0], True)],
    "outcomes": lambda c: [(OUTCOME, t, True) for t in c],
    "entry": lambda c: [(EVENT, c[0], False)],
    "goal": lambda c: [(EVENT, c[1], False)],
    "milestone": lambda c: [(EVENT, c[1], False)],
    "handler": lambda c: [(EVENT, c[0], False)],
    "handler_emit": lambda c: [(EVENT, c[0], True)],
    "jump": lambda c: [(TARGET, c[0], False)],
    "call": lambda c: _call(c),
    "exit_rule": lambda c: [(EVENT, c[0], False), (OUTCOME, c[-1], False)],
    "send": lambda c: _send(c),
    "wait_for": lambda c: [(EVENT, c[0], False)],
    "wait_arm": lambda c: [(EVENT, c[0], False)],
    "escalate": lambda c: [(EVENT, c[1], False)],
    "kpi": lambda c: [(EVENT, c[2], False), (STEP, c[7] if len(c) > 7 else None, False)],
    "emit": lambda c: [(EVENT, c[0], True)],
    "handoff": lambda c: [(ROLE, c[0], False)],
    "exit": lambda c: [(OUTCOME, c[0], False)],
    "arrow": lambda c: [(TARGET, c[0], False)],
    "goto": lambda c: [(TARGET, c[0], False)],
    "timeout": lambda c: [(TARGET, c[0], False)],
    "branch_default": lambda c: [(TARGET, c[0], False)],
    "branch_arm": lambda c: [(TARGET, c[-1], False)],
    "split_arm": lambda c: [(TARGET, c[-1], False)],
    "breach": lambda c: [(TARGET, c[0], False)],
    "use": lambda c: [(FRAGMENT, c[0], False)],
    "use_arg": lambda c: [(PARAMETER, c[0], False)],
    "fragment": lambda c: [(FRAGMENT, c[0], True)],
    "fragment_param": lambda c: [(PARAMETER, c[0], True)],
    "consent": lambda c: [(CHANNEL, t, False) for t in _names(c[0])],
    "cap": lambda c: [(CHANNEL, t, False) for t in _names(c[-1])],
}


def _send(children) -> list:
    """``send [promo|transactional] via CHANNEL, FALLBACK... template NAME``."""
    tokens = [c for c in children[1:] if isinstance(c, Token)]
    return [(CHANNEL, t, False) for t in tokens[:-1]] + [(TEMPLATE, t, False) for t in tokens[-1:]]


def _call(children) -> list:
    """``segment(name)`` names a segment; ``count(event ...)`` and the others an event."""
    function, query = children[0], children[1]
    named = query.children[0] if isinstance(query, Tree) and query.children else None
    return [(SEGMENT if str(function) == "segment" else EVENT, named, False)]


def _names(tree) -> list:
    return list(tree.children) if isinstance(tree, Tree) else []


def _dsl_symbols(source: Source) -> list[Symbol]:
    tree = parse_tree(source.text, "fragment_file" if is_fragment_file(source.text) else "start")
    found, seen = [], set()
    for subtree in tree.iter_subtrees_topdown():
        for kind, token, defines in _DSL_RULES.get(subtree.data, lambda c: [])(subtree.children):
            if isinstance(token, Token) and (token.line, token.column) not in seen:
                seen.add((token.line, token.column))
                found.append(_token_symbol(source.name, kind, token, defines))
    # every other `$name` in a fragment (conditions, params, durations...)
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "PARAM_REF"):
        if (token.line, token.column) not in seen:
            found.append(_token_symbol(source.name, PARAMETER, token, False))
    return found


_STEP_WORDS = {"send", "wait", "branch", "split", "tag", "untag", "set", "coupon", "handoff",
               "webhook", "emit", "goto", "exit", "use", "escalate"}


def _token_symbols(source: Source) -> list[Symbol]:
    """Names a broken DSL text still shows in its tokens: labels, stages, templates, roles,
    events after `on`/`for`, targets after `->`."""
    tokens = []
    try:
        for token in parser().lex(source.text):
            tokens.append(token)
    except LarkError:
        pass  # the tokens before the first character no token fits
    found = []
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is None or after.type not in ("NAME", "COLON"):
            continue
        named = None
        if token.type == "NAME" and after.type == "COLON" and i + 2 < len(tokens) and \
                str(tokens[i + 2]) in _STEP_WORDS:
            named = (STEP, token, True)
        elif after.type == "NAME" and token.type != "NAME":  # a keyword, then a name
            named = {"stage": (STAGE, after, True), "role": (ROLE, after, True),
                     "journey": (JOURNEY, after, True), "to": (ROLE, after, False),
                     "on": (EVENT, after, False), "for": (EVENT, after, False),
                     "goto": (TARGET, after, False), "->": (TARGET, after, False),
                     "template": (TEMPLATE, after, i < 2 or str(tokens[i - 2]) != "via"),
                     }.get(str(token))
        if named is not None:
            found.append(_token_symbol(source.name, *named))
    return found


def _token_symbol(file: str, kind: str, token: Token, defines: bool) -> Symbol | None:
    text = str(token)
    if token.type == "PARAM_REF":
        kind, text = PARAMETER, text[1:]
        column = token.column + 1
    elif token.type in ("STRING", "LONG_STRING"):
        text, column = unquote(text), token.column + 1
    else:
        column = token.column
    return Symbol(kind, text, Span(file, token.line, column, token.line, column + len(text)),
                  defines)


# --- YAML --------------------------------------------------------------------------------------

_YAML_TARGETS = ("then", "timeout", "else", "goto", "breach")


def _yaml_value(path: tuple, key: str) -> tuple[str, bool] | None:
    """What the scalar under ``key`` names, at ``path`` (keys, '[]' for list entries)."""
    parent, grand = (path[-1] if path else None), path[-2:] if len(path) >= 2 else path
    rules = [
        (not path and key == "journey", (JOURNEY, True)),
        (not path and key == "fragment", (FRAGMENT, True)),
        (grand == ("stages", "[]") and key == "stage", (STAGE, True)),
        (grand == ("steps", "[]") and key == "name", (STEP, True)),
        (grand == ("roles", "[]") and key == "name", (ROLE, True)),
        (grand in (("milestones", "[]"), ("handlers", "[]")) and key == "on", (EVENT, False)),
        (key in _YAML_TARGETS, (TARGET, False)),
        (parent == "send" and key == "template", (TEMPLATE, False)),
        (key == "via", (CHANNEL, False)),
        (parent == "policy" and key == "consent", (CHANNEL, False)),
        (parent == "cap" and key == "on", (CHANNEL, False)),
        (parent == "handoff" and key == "to", (ROLE, False)),
        (parent == "wait" and key == "for", (EVENT, False)),
        (grand == ("on", "[]") and key == "event", (EVENT, False)),
        (key == "on" and (parent == "entry" or grand in (("goals", "[]"), ("exits", "[]"),
                                                         ("kpis", "[]"))), (EVENT, False)),
        (parent == "escalate" and key == "until", (EVENT, False)),
        (key == "emit" or parent == "emit" and key == "event", (EVENT, True)),
        (key == "exit" or grand == ("exits", "[]") and key == "as", (OUTCOME, False)),
        (not path and key == "outcomes", (OUTCOME, True)),
        (key == "use" or parent == "use" and key == "fragment", (FRAGMENT, False)),
        (grand == ("kpis", "[]") and key == "at", (STEP, False)),
        (path[-3:] == ("migrations", "[]", "steps")
         or grand == ("migrations", "[]") and key == "other", (TARGET, False)),
    ]
    return next((found for matches, found in rules if matches), None)


def _yaml_symbols(source: Source) -> list[Symbol]:
    root = yaml.compose(source.text, Loader=yaml.SafeLoader)
    found: list[Symbol] = []
    _walk_yaml(root, (), source.name, found)
    return found


def _walk_yaml(node, path: tuple, file: str, found: list) -> None:
    if isinstance(node, SequenceNode):
        for child in node.value:
            if _is_ref(child):
                found.append(_scalar_symbol(file, PARAMETER, child, False))
            _walk_yaml(child, (*path, "[]"), file, found)
        return
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        if path and path[-1] in ("templates",):
            found.append(_scalar_symbol(file, TEMPLATE, key, True))
        if path and path[-1] == "with" and len(path) >= 2 and path[-2] == "use":
            found.append(_scalar_symbol(file, PARAMETER, key, False))
        if path == ("params",):  # a fragment file's parameters
            found.append(_scalar_symbol(file, PARAMETER, key, True))
        named = _yaml_value(path, key.value)
        if _is_ref(value):
            found.append(_scalar_symbol(file, PARAMETER, value, False))  # a fragment's `$name`
        elif named is not None:
            kind, defines = named
            for scalar in [value] if isinstance(value, ScalarNode) else (
                    value.value if isinstance(value, SequenceNode) else []):
                if isinstance(scalar, ScalarNode) and scalar.value:
                    found.append(_scalar_symbol(file, kind, scalar, defines))
        _walk_yaml(value, (*path, key.value), file, found)


_REF = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*\Z")


def _is_ref(node) -> bool:
    """Whether a node is a fragment's ``$name`` (unquoted)."""
    return isinstance(node, ScalarNode) and not node.style and _REF.match(node.value) is not None


def _scalar_symbol(file: str, kind: str, node: ScalarNode, defines: bool) -> Symbol:
    mark = node.start_mark
    name = node.value[1:] if kind == PARAMETER and _REF.match(node.value) else node.value
    column = mark.column + 1 + (node.style in ('"', "'")) + (len(node.value) - len(name))
    line = mark.line + 1
    return Symbol(kind, name, Span(file, line, column, line, column + len(name)), defines)


# --- attributes (and segments in YAML conditions), from the model --------------------------------

def _model_symbols(source: Source, journey) -> list[Symbol]:
    """Every attribute path conditions read or ``set`` writes, from the model's spans; in
    YAML also the segments conditions name (the DSL's come from its tree)."""
    found: list[Symbol] = []

    def walk(node):
        if isinstance(node, ast.Path) and node.span.line:
            found.append(Symbol(ATTRIBUTE, node.dotted, node.span))
        elif isinstance(node, ast.SegmentRef) and source.is_yaml and node.span.line:
            found.extend(_name_in(source, node.span, node.name, SEGMENT))
        elif dataclasses.is_dataclass(node):
            for field in dataclasses.fields(node):
                walk(getattr(node, field.name))
        elif isinstance(node, tuple):
            for item in node:
                walk(item)

    if journey is not None:
        walk(journey)
    return found


def _name_in(source: Source, span: Span, name: str, kind: str) -> list[Symbol]:
    """``name`` where it is written inside ``span`` (on its first line)."""
    line = source.line_text(span.line)
    column = line.find(name, max(span.column - 1, 0))
    if column < 0:
        return []
    return [Symbol(kind, name, Span(span.file, span.line, column + 1, span.line,
                                    column + 1 + len(name)))]


def symbol_at(index: SymbolIndex | None, lines, position) -> Symbol | None:
    """The symbol under an LSP position (``lines``: the document's positions.Lines)."""
    if index is None:
        return None
    return index.at(position.line + 1, lines.column(position) + 1)
