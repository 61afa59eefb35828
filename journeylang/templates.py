"""Message templates: inline texts and ``templates/*.j2`` files, per locale, in a Jinja2 sandbox."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from .ast import Journey
from .diagnostics import Span

TEMPLATE_DIR = "templates"
DEFAULT_LOCALE = None
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][\w]*)(?:\.(?P<locale>[A-Za-z][\w-]*))?\.j2$")


@dataclass(frozen=True)
class TemplateSource:
    """One text of one template: where it was written and how to place its lines in that file."""

    name: str
    locale: str | None
    text: str
    span: Span          # the declaration (inline) or line 1 of the file
    inline: bool

    def span_of_line(self, lineno: int) -> Span:
        """The file position of 1-based line ``lineno`` of the template text."""
        line = self.span.line + lineno - 1
        column = self.span.column if (self.inline and lineno == 1) else 1
        return Span(self.span.file, line, column, line, column + 1)


@dataclass(frozen=True)
class TemplateProblem:
    source: TemplateSource
    message: str
    span: Span


@cache
def environment() -> SandboxedEnvironment:
    """The one sandbox every template is parsed and rendered in (runtime included)."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class TemplateSet:
    """Every template a journey can use, by name and locale."""

    def __init__(self, sources: list[TemplateSource]):
        self.sources = sources
        self._by_name: dict[str, dict[str | None, TemplateSource]] = {}
        for source in sources:
            self._by_name.setdefault(source.name, {}).setdefault(source.locale, source)

    @classmethod
    def for_journey(cls, journey: Journey, journey_file: str | None = None) -> "TemplateSet":
        sources = [TemplateSource(t.name, text.locale, text.text, text.span or t.span, True)
                   for t in journey.templates for text in t.texts]
        if journey_file:
            sources += _file_sources(Path(journey_file).parent / TEMPLATE_DIR)
        return cls(sources)

    def names(self) -> set[str]:
        return set(self._by_name)

    def locales(self, name: str) -> dict[str | None, TemplateSource]:
        return self._by_name.get(name, {})

    def pick(self, name: str, locale: str | None = None,
             default: str | None = None) -> TemplateSource | None:
        """The text for ``locale``, falling back to its language, the journey's ``default``
        locale, the default text, en, then any text."""
        texts = self._by_name.get(name)
        if not texts:
            return None
        for candidate in locale_fallbacks(locale, default):
            if candidate in texts:
                return texts[candidate]
        return next(iter(texts.values()))

    def problems(self) -> list[TemplateProblem]:
        """Jinja2 syntax errors, placed in the journey or template file."""
        found = []
        for source in self.sources:
            try:
                environment().parse(source.text)
            except TemplateSyntaxError as exc:
                found.append(TemplateProblem(source, exc.message or "syntax error",
                                             source.span_of_line(exc.lineno or 1)))
        return found

    def variables(self, source: TemplateSource) -> list[str]:
        """Dotted paths a template reads (``customer.name``), in order, without duplicates."""
        return list(_variables(source.text))


def locale_fallbacks(locale: str | None, default: str | None = None) -> tuple[str | None, ...]:
    """The locales to try for ``locale``, best first: itself, its language, the journey's
    default locale and its language, the default text, en."""
    def language(code):
        return (code or "").split("-")[0] or None
    return (locale, language(locale), default, language(default), DEFAULT_LOCALE, "en")


def render(source: TemplateSource, context: dict) -> str:
    """Render a template text; a missing variable raises jinja2.UndefinedError."""
    return environment().from_string(source.text).render(context)


def _file_sources(folder: Path) -> list[TemplateSource]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.j2")):
        match = _FILE_NAME.match(path.name)
        if not match:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.append(TemplateSource(match["name"], match["locale"], text,
                                    Span(str(path), 1, 1, 1, 2), False))
    return found


@lru_cache(maxsize=4096)
def _variables(text: str) -> tuple[str, ...]:
    """The dotted paths a template text reads (several rules ask for the same texts)."""
    try:
        tree = environment().parse(text)
    except TemplateSyntaxError:
        return ()
    return tuple(dict.fromkeys(_paths(tree)))


def _paths(tree: nodes.Node):
    """Outermost attribute chains over a variable: ``customer.name``, ``event['x']``."""
    locals_ = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    chained = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        parts = attribute_path(node)
        if parts and id(node) not in chained and parts[0] not in locals_:
            inner = node.node
            while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
                chained.add(id(inner))
                inner = inner.node
            yield ".".join(parts)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in locals_ and not _used_inattribute_path(tree, name):
            yield name.name


def attribute_path(node) -> list[str] | None:
    """``customer.cart['value']`` as ``["customer", "cart", "value"]``; None when not a plain path."""
    parts = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return [node.name] + parts[::-1]


def _used_inattribute_path(tree, name) -> bool:
    return any(_root(n) is name for n in tree.find_all((nodes.Getattr, nodes.Getitem)))


def _root(node):
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        node = node.node
    return node


# --- one context for preview and runtime, and length estimates for channel limits ------------

PLACEHOLDER_LENGTH = 8  # characters a `{{ ... }}` is counted as when its value is unknown
_EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)


def render_context(customer: dict, event: dict | None = None, params: dict | None = None,
                   journey_id: str | None = None, step_name: str | None = None,
                   business: dict | None = None) -> dict:
    """The names a message template is rendered with, by preview and runtime alike.

    ``customer`` (its ``consent`` mapping is also ``consent``), ``event``, ``journey``
    (``{"id": ...}``), ``step`` (``{"name": ...}``), the business objects such as ``cart`` or
    ``order`` (the run's, gathered from its trigger and awaited events; by default the event's
    top-level keys) and, last so they win, the send's params.
    """
    event = event or {}
    context = dict(event if business is None else business)
    context.update(customer=customer, event=event, consent=customer.get("consent") or {},
                   journey={"id": journey_id}, step={"name": step_name})
    context.update(params or {})
    return context


def estimated_length(text: str, params: dict | None = None) -> int:
    """The length of a rendered text: a bare ``{{ name }}`` of ``params`` counts as its value,
    any other expression as PLACEHOLDER_LENGTH characters; ``{% %}`` tags count as nothing."""
    params = params or {}

    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else "x" * PLACEHOLDER_LENGTH
    return len(_EXPRESSION.sub(value, _TAG.sub("", text)))
