"""Wording checks for JL721: the built-in rulebook, the configured rules, phrase matching."""
from __future__ import annotations

import re
from functools import cache

from ..cache_folder import cached_data
from ..config import SEVERITIES, ContentConfig, WordingRule
from ..records import record
from ..resources import resource_dir

RULEBOOK = ("content", "rulebook.yaml")
# Jinja2 markup is masked with a character that is neither a word character nor a space,
# so variable names never match and a phrase never spans an expression
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_MASK = "\x00"
_LATIN = "0-9A-Za-z_\u00c0-\u024f"


@cache
def _latin_char(flags: int = 0) -> re.Pattern:
    """A Latin letter or digit; with re.IGNORECASE as in a phrase's expression (compiled
    when a phrase is, not at every start: the case-insensitive class takes a few tenths
    of a millisecond)."""
    return re.compile(f"[{_LATIN}]", flags)


@record
class Hit:
    """A phrase found in a text: where (character offsets) and by which rule."""

    start: int
    end: int
    rule: WordingRule


@cache
def builtin_rules() -> dict[str, tuple[WordingRule, ...]]:
    """The rulebook's rules by category: one rule per category and locale."""
    path = resource_dir("stdlib").joinpath(*RULEBOOK)
    book = _read_rulebook(path.read_text(encoding="utf-8"))
    return {name: tuple(_category_rules(name, category))
            for name, category in book["categories"].items()}


def _read_rulebook(text: str) -> dict:
    """The rulebook's YAML ``text`` as data, kept in the user's cache folder (keyed by the
    text) in Python's own marshal form, so that a check need not import a YAML parser."""
    def parse() -> dict:
        import yaml
        return yaml.safe_load(text)
    return cached_data("rulebook-", [text], parse,
                       valid=lambda book: isinstance(book, dict) and "categories" in book)


def _category_rules(name: str, category: dict):
    allowed = category.get("allow", {})
    for locale, phrases in category["phrases"].items():
        yield WordingRule(name, tuple(phrases), (locale,), SEVERITIES[category["severity"]],
                          category["message"], category.get("hint"),
                          tuple(allowed.get(locale, ())))


def active_rules(content: ContentConfig) -> tuple[WordingRule, ...]:
    """The built-in categories the configuration enables, then the operator's own rules."""
    book = builtin_rules() if content.builtin else {}
    chosen = [rule for name in content.categories for rule in book.get(name, ())]
    return tuple(chosen) + content.rules


def applies(rule: WordingRule, locale: str | None) -> bool:
    """A default text (no locale) meets every list; a locale meets lists of it or its language."""
    if locale is None or not rule.locales:
        return True
    language = re.split(r"[-_]", locale)[0].lower()
    return any(wanted.lower() in (locale.lower(), language) for wanted in rule.locales)


def find_hits(text: str, locale: str | None, rules) -> list[Hit]:
    """Every phrase of ``rules`` applying to ``locale`` in ``text``, in order, no overlaps."""
    masked = mask_jinja(text)
    occurs = _may_occur(masked)
    hits = []
    for rule in rules:
        if applies(rule, locale):
            allowed = [m.span() for p in rule.allow if occurs(p)
                       for m in phrase_pattern(p).finditer(masked)]
            hits += [Hit(m.start(), m.end(), rule) for p in rule.phrases if occurs(p)
                     for m in phrase_pattern(p).finditer(masked)
                     if not any(a <= m.start() and m.end() <= b for a, b in allowed)]
    return _without_overlaps(hits)


def _may_occur(text: str):
    """Whether a phrase can match in ``text`` (False: it cannot; True: it may), so that the
    expressions of the phrases a text cannot hold are never compiled (a rulebook's phrases
    took 41 compiles at every check). Where every letter of the text and of the phrase's
    pieces (between runs of white space and apostrophes) with a case is ASCII, ignoring case
    means lower case on both sides, so a piece missing from the text rules the phrase out;
    anywhere else (``ſ`` matches ``s``) the phrase may match."""
    if not all(char.isascii() or _caseless(char) for char in text):
        return lambda phrase: True
    lowered = text.lower()
    return lambda phrase: all(piece in lowered for piece in _pieces(phrase) or ())


def _caseless(char: str) -> bool:
    return char.lower() == char and char.upper() == char


@cache
def _pieces(phrase: str) -> tuple[str, ...] | None:
    """A phrase's pieces in lower case; None when one has a letter with a case beyond ASCII."""
    pieces = "".join(" " if char.isspace() or char in "'’" else char for char in phrase).split()
    if not all(char.isascii() or _caseless(char) for piece in pieces for char in piece):
        return None
    return tuple(piece.lower() for piece in pieces)


def _without_overlaps(hits: list[Hit]) -> list[Hit]:
    """Keep the first (then longest) hit where hits overlap."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


def mask_jinja(text: str) -> str:
    """``text`` with each Jinja2 expression, tag and comment masked, offsets kept."""
    return _JINJA.sub(lambda m: _MASK * len(m.group(0)), text)


@cache
def phrase_pattern(phrase: str) -> "Phrase":
    """Case-insensitive; spaces match any run of white space; an apostrophe either quote;
    an end that is a Latin letter or digit must sit on a word boundary."""
    parts = []
    for char in phrase.strip():
        if char.isspace():
            if parts and parts[-1] != r"\s+":
                parts.append(r"\s+")
        elif char in "'’":
            parts.append("['’]")
        else:
            parts.append(re.escape(char))
    return Phrase(re.compile("".join(parts), re.IGNORECASE),
                  bool(_latin_char().match(phrase.strip()[0])),
                  bool(_latin_char().match(phrase.strip()[-1])))


class Phrase:
    """A phrase's expression, and whether its start and its end must sit on a word boundary.

    The boundaries are checked here rather than written into the expression as look-arounds
    (``(?<![0-9A-Za-z_À-ɏ])``): compiled case-insensitively, each such class costs a
    millisecond, twice for every phrase of the rulebook at every check. An expression made
    of characters and runs of white space can match in one way only where it starts, so
    trying the next start after a match that fails a boundary finds what the look-arounds
    would."""

    def __init__(self, body: re.Pattern, word_start: bool, word_end: bool):
        self.body, self.word_start, self.word_end = body, word_start, word_end

    def finditer(self, text: str):
        """The matches in ``text``, as ``re.finditer`` of the expression with its
        boundaries would give them."""
        position = 0
        while (match := self.body.search(text, position)) is not None:
            start, end = match.span()
            if (self.word_start and start > 0 and _latin_char(re.I).match(text, start - 1)) \
                    or (self.word_end and _latin_char(re.I).match(text, end)):
                position = start + 1
                continue
            yield match
            position = end

    def search(self, text: str):
        """The first match in ``text``, or None."""
        return next(self.finditer(text), None)
