"""The DSL parser kept on disk between runs: building the LALR tables of grammar/journey.lark
takes about 0.3 s, loading them from the user's cache folder a few hundredths.

The cache file's name is a hash of the grammar text, the Lark version, the Python version, the
parser options and the form of the saved table (see ``cache_folder``); a file that cannot be
read (truncated, corrupt, from an incompatible Lark) is built again and replaced.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef
from lark.parsers.lalr_analysis import IntParseTable, Reduce, Shift
from lark.parsers.lalr_parser import LALR_Parser, _Parser
from lark.utils import SerializeMemoizer

from ..cache_folder import cached_path, write_atomically
from ..collector import long_lived

PREFIX, SUFFIX = "grammar-", ".lark"
TABLE_FORM = 4  # of the saved file (see save) and QuickLoadLALR's table: a change gets a new file


def cache_file(grammar: str, options: dict) -> Path | None:
    """Where the parser of ``grammar`` built with ``options`` is cached (None: nowhere)."""
    described = sorted((name, repr(value)) for name, value in options.items()
                       if name != "lexer_callbacks")  # functions: restored by name on load
    return cached_path(PREFIX, [grammar, lark.__version__, repr(described), str(TABLE_FORM)],
                       SUFFIX)


def load_parser(grammar: str, **options) -> Lark:
    """``Lark(grammar, **options)``, read from the cache when it holds it, else built (and
    cached for the next run)."""
    path = cache_file(grammar, options)
    with long_lived():
        parser = _read(path) if path is not None else None
    if parser is None:
        parser = Lark(grammar, **options)
        if path is not None:
            write_atomically(path, lambda handle: save(parser, handle))
    return parser


def save(parser: Lark, handle: IO[bytes]) -> None:
    """What ``parser.save`` writes, but the grammar's rules and terminals as pickled objects
    instead of Lark's nested dictionaries: ``Lark.load`` takes them as they are, where it
    would rebuild each rule, symbol and terminal from its dictionary in Python (a third of
    the time of reading the parser)."""
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    objects = SerializeMemoizer.deserialize(memo, {"Rule": Rule, "TerminalDef": TerminalDef}, {})
    _RulePickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump({"data": data, "memo": objects})


class _RulePickler(pickle.Pickler):
    """Saves a rule as the call that makes it, so that its hash (kept in the rule, and made
    from its symbols' names) is worked out again in the process that reads it. Equal symbols
    and equal rule options are saved once, where Lark's rules hold copies of their own (the
    journey grammar's 530 rules: 2,679 symbols, 238 of them distinct): a third less to read.
    Lark reads symbols and options without changing them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared: dict = {}

    def reducer_override(self, obj):
        if type(obj) is Rule:
            return Rule, (self._symbol(obj.origin), [self._symbol(s) for s in obj.expansion],
                          obj.order, obj.alias, self._options(obj.options))
        return NotImplemented

    def _symbol(self, symbol):
        return self._shared.setdefault(
            (type(symbol), symbol.name, getattr(symbol, "filter_out", None)), symbol)

    def _options(self, options):
        return self._shared.setdefault(
            (type(options), options.keep_all_tokens, options.expand1, options.priority,
             options.template_source, tuple(options.empty_indices)), options)


def _read(path: Path) -> Lark | None:
    try:
        with open(path, "rb") as handle:
            parser = Lark.load(handle)
    except Exception:  # missing, unreadable or not a parser: build it again  # noqa: BLE001
        return None
    return parser if isinstance(parser, Lark) else None


class QuickLoadLALR(LALR_Parser):
    """Lark's LALR parser, whose table is saved as one whole number per action (a state to
    shift to, or a reduction's rule by its number among the rules saved with it) and read
    back with one lookup per action, instead of a small dictionary per reduction read by
    Lark's general deserialisation: a third of the time, the same table. Given to the parser
    as ``_plugins={"LALR_Parser": QuickLoadLALR}``."""

    def serialize(self, memo=None) -> dict:
        table = self._parse_table
        if not isinstance(table, IntParseTable):  # states as item sets: a debugging build
            return super().serialize(memo)
        tokens: dict[str, int] = {}
        actions = {state: {tokens.setdefault(token, len(tokens)):
                           target.serialize(memo)["@"] * 2 + 1 if action is Reduce else target * 2
                           for token, (action, target) in moves.items()}
                   for state, moves in table.states.items()}
        return {"tokens": list(tokens), "actions": actions, "start_states": table.start_states,
                "end_states": table.end_states}

    @classmethod
    def deserialize(cls, data, memo, callbacks, debug=False):
        if "actions" not in data:
            return super().deserialize(data, memo, callbacks, debug)
        parser = cls.__new__(cls)
        parser._parse_table = _read_table(data, memo)
        parser.parser = _Parser(parser._parse_table, callbacks, debug)
        return parser


def _read_table(data: dict, memo: dict) -> IntParseTable:
    tokens = data["tokens"]
    states = {state: {tokens[token]: (Reduce, memo[code >> 1]) if code & 1 else (Shift, code >> 1)
                      for token, code in moves.items()}
              for state, moves in data["actions"].items()}
    return IntParseTable(states, data["start_states"], data["end_states"])
