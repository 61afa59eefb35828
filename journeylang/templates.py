"""Message templates: inline texts and ``templates/*.j2`` files, per locale, in a Jinja2 sandbox."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import TemplateSyntaxError, nodes

from .ast import Journey
from .diagnostics import Span
from .limits import MAX_FILE_BYTES, MAX_OUTPUT_CHARS
from .records import record
from .sandbox import RenderError, compile_template, environment, render

TEMPLATE_DIR = "templates"
DEFAULT_LOCALE = None
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][\w]*)(?:\.(?P<locale>[A-Za-z][\w-]*))?\.j2$")


@record
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


@record
class TemplateProblem:
    source: TemplateSource
    message: str
    span: Span


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
            _, problem, line = parse_template(source.text)
            if problem is not None:
                found.append(TemplateProblem(source, problem, source.span_of_line(line)))
        return found

    def variables(self, source: TemplateSource) -> list[str]:
        """Dotted paths a template reads (``customer.name``), in order, without duplicates."""
        return list(_variables(source.text))


@lru_cache(maxsize=4096)
def parse_template(text: str) -> tuple[nodes.Template | None, str | None, int]:
    """(the Jinja2 syntax tree, None, 1), or (None, why it does not parse, its line). The
    rules, the compiler and the renderer read one text's tree again and again: it is parsed
    once (callers never change it)."""
    try:
        return environment().parse(text), None, 1
    except TemplateSyntaxError as exc:
        return None, exc.message or "syntax error", exc.lineno or 1
    except RecursionError:  # Jinja's parser recurses: absurdly deep nesting
        return None, "the template nests too deeply", 1
    except ValueError as exc:  # the lexer's int() of a number of more than 4,300 digits
        return None, str(exc).split(";")[0], 1


def parsed(text: str) -> nodes.Template | None:
    """The Jinja2 syntax tree of a template text; None when it does not parse."""
    return parse_template(text)[0]


def locale_fallbacks(locale: str | None, default: str | None = None) -> tuple[str | None, ...]:
    """The locales to try for ``locale``, best first: itself, its language, the journey's
    default locale and its language, the default text, en."""
    def language(code):
        return (code or "").split("-")[0] or None
    return (locale, language(locale), default, language(default), DEFAULT_LOCALE, "en")


class MessageTemplate:
    """A template text ready to render messages, the runtime's and preview's alike: a text of
    plain data and ``{{ a.b.c }}`` paths is filled without Jinja's per-call context (the common
    case, and fast); any other renders in the sandbox, under its limits. ``render`` raises
    RenderError, never anything else."""

    def __init__(self, text: str):
        self.text = text
        self.pieces = _substitutions(text)
        # the only names a text of substitutions reads (None: any, it needs the whole context)
        self.names = None if self.pieces is None else \
            tuple(dict.fromkeys(p[0] for p in self.pieces if type(p) is tuple))
        self._compiled = None

    def render(self, context: dict) -> str:
        text = None if self.pieces is None else _fill(self.pieces, context)
        if text is None:
            if self._compiled is None:
                self._compiled = compile_template(self.text)
            return render(self._compiled, context)
        if len(text) > MAX_OUTPUT_CHARS:
            raise RenderError(f"over a template limit: a message of more than "
                              f"{MAX_OUTPUT_CHARS:,} characters or items")
        return text


_MISSING = object()


def _substitutions(text: str) -> list | None:
    """A text made only of literal data and ``{{ a.b.c }}`` as pieces (str or path tuple);
    None for anything else."""
    tree = parsed(text)
    if tree is None:
        return None
    pieces: list = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            path = node.data if isinstance(node, nodes.TemplateData) else attribute_path(node)
            if path is None:
                return None
            pieces.append(path if isinstance(path, str) else tuple(path))
    return pieces


def _fill(pieces: list, context: dict) -> str | None:
    """The text, exactly as Jinja renders it; None when a value needs Jinja (not a scalar)."""
    out = []
    for piece in pieces:
        if type(piece) is str:
            out.append(piece)
            continue
        value = context.get(piece[0], _MISSING)
        for part in piece[1:]:
            if value is _MISSING:
                break
            if not isinstance(value, dict):
                return None
            value = value.get(part, _MISSING)
        if value is _MISSING:
            raise RenderError(f"'{'.'.join(piece)}' is undefined")
        if isinstance(value, (dict, list)):
            return None
        out.append(str(value))
    return "".join(out)


def _file_sources(folder: Path) -> list[TemplateSource]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.j2")):
        match = _FILE_NAME.match(path.name)
        if not match:
            continue
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
            # a file past the limit is read no further: JL406 reports its length
            text = raw.decode("utf-8", "ignore" if len(raw) > MAX_FILE_BYTES else "strict")
        except (OSError, UnicodeDecodeError):
            continue
        found.append(TemplateSource(match["name"], match["locale"], text,
                                    Span(str(path), 1, 1, 1, 2), False))
    return found


@lru_cache(maxsize=4096)
def _variables(text: str) -> tuple[str, ...]:
    """The dotted paths a template text reads (several rules ask for the same texts)."""
    tree = parsed(text)
    return () if tree is None else tuple(dict.fromkeys(_paths(tree)))


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
    known = environment().globals  # range, dict, namespace, ...: the sandbox's own names
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in locals_ and name.name not in known \
                and not _used_inattribute_path(tree, name):
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


# the names every template is rendered with, from the customer, the event, the journey and the
# step (``customer``'s ``consent`` mapping is also ``consent``)
_GIVEN = {
    "customer": lambda customer, event, journey_id, step_name: customer,
    "event": lambda customer, event, journey_id, step_name: event or {},
    "consent": lambda customer, event, journey_id, step_name: customer.get("consent") or {},
    "journey": lambda customer, event, journey_id, step_name: {"id": journey_id},
    "step": lambda customer, event, journey_id, step_name: {"name": step_name},
}


def render_context(customer: dict, event: dict | None = None, params: dict | None = None,
                   journey_id: str | None = None, step_name: str | None = None,
                   business: dict | None = None) -> dict:
    """The names a message template is rendered with, by preview and runtime alike.

    ``customer`` (its ``consent`` mapping is also ``consent``), ``event``, ``journey``
    (``{"id": ...}``), ``step`` (``{"name": ...}``), the business objects such as ``cart`` or
    ``order`` (the run's, gathered from its trigger and awaited events; by default the event's
    top-level keys) and, last so they win, the send's params.
    """
    context = dict((event or {}) if business is None else business)
    for name, given in _GIVEN.items():
        context[name] = given(customer, event, journey_id, step_name)
    context.update(params or {})
    return context


def render_names(names, customer: dict, event: dict | None, params: dict, journey_id: str,
                 step_name: str, context: dict, run_vars: dict | None) -> dict:
    """``render_context`` with ``business`` the run's ``context`` under its ``run_vars``, kept to
    ``names`` (a text of substitutions reads nothing else): the same values, without copying
    the business objects and building every name for each message."""
    found = {}
    for name in names:
        if name in params:
            found[name] = params[name]
        elif name in _GIVEN:
            found[name] = _GIVEN[name](customer, event, journey_id, step_name)
        elif run_vars and name in run_vars:
            found[name] = run_vars[name]
        elif name in context:
            found[name] = context[name]
    return found


def estimated_text(text: str, params: dict | None = None) -> str:
    """A rendered text as far as it can be known: a bare ``{{ name }}`` of ``params`` is its
    value, any other expression PLACEHOLDER_LENGTH letters ``x``; ``{% %}`` tags are nothing."""
    params = params or {}

    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else "x" * PLACEHOLDER_LENGTH
    return _EXPRESSION.sub(value, _TAG.sub("", text))
