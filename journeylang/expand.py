"""Expansion: replace each ``use`` step by its fragment's steps (hoisting the fragment's
variables and event handlers into the journey), each ``segment(name)`` by the segment's
condition, then each escalation ladder by its primitive steps (ladders.py); after parsing,
before the graph."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cache, cached_property
from pathlib import Path

from . import ast
from .diagnostics import Diagnostic, Related, Severity, Span
from .ladders import expand_ladders
from .limits import MAX_NESTING
from .records import record
from .resources import resource_dir
from .source import DSL_SUFFIXES, YAML_SUFFIXES, Source
from .units import parse_duration

UNKNOWN_FRAGMENT, UNKNOWN_PARAMETER, MISSING_PARAMETER = "JL601", "JL602", "JL603"
PARAMETER_TYPE, FRAGMENT_DEFINITION, RECURSIVE_USE = "JL604", "JL605", "JL606"
UNKNOWN_SEGMENT, SEGMENT_DEFINITION, TOO_LARGE = "JL607", "JL608", "JL005"
FRAGMENT_DIR = "fragments"  # local fragments beside a journey, found before the stdlib


@cache
def _name_pattern() -> re.Pattern:
    """A name (template, event, step): compiled when a fragment's argument is first checked
    (its range of CJK characters takes a few milliseconds to compile)."""
    return re.compile(r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*\Z")


# which parameter type a field of a step takes when written as ``$name``
_FIELD_TYPES = {"duration": "duration", "within": "duration", "expires": "duration",
                "after": "duration",
                "channel": "channel", "template": "template", "event": "event",
                "target": "step", "next": "step", "default": "step"}
_EXPR_NODES = (ast.Compare, ast.Binary, ast.Unary, ast.Not, ast.BoolOp, ast.In, ast.ListExpr)
_EXPR_FIELDS = {"condition", "audience"}


@dataclass
class Library:
    """The fragments a journey can use, by name; a local fragment hides a stdlib one."""

    fragments: dict[str, ast.Fragment] = field(default_factory=dict)
    problems: dict[str, list[Diagnostic]] = field(default_factory=dict)  # by fragment name

    def add_folder(self, folder: Path) -> None:
        for fragment, problems in _read_folder(folder):
            if fragment.name not in self.fragments:
                self.fragments[fragment.name] = fragment
                self.problems[fragment.name] = problems

    @classmethod
    def for_file(cls, journey_file: str | None) -> "Library":
        library = cls()
        if journey_file:
            library.add_folder(Path(journey_file).parent / FRAGMENT_DIR)
        library.add_folder(resource_dir("stdlib"))
        return library


def stdlib_fragments() -> dict[str, ast.Fragment]:
    """Every stdlib fragment by name."""
    library = Library()
    library.add_folder(resource_dir("stdlib"))
    return library.fragments


def _read_folder(folder: Path) -> list[tuple[ast.Fragment, list[Diagnostic]]]:
    """The fragments of a folder's fragment files, DSL (``*.journey``) and YAML."""
    if not folder.is_dir():
        return []
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())
                  if p.is_file() and p.suffix.lower() in DSL_SUFFIXES + YAML_SUFFIXES)
    return _read_folder_cached(folder, stamp)


@cache
def _read_folder_cached(folder: Path, stamp) -> list[tuple[ast.Fragment, list[Diagnostic]]]:
    from .frontend import parse_fragment_file
    found = []
    for name, _ in stamp:
        fragments, problems = parse_fragment_file(Source.read(folder / name))
        if not fragments and problems:
            found.append((ast.Fragment(Path(name).stem, span=problems[0].span), problems))
        for fragment in fragments:
            found.append((fragment, problems + _definition_problems(fragment)))
    return found


def _definition_problems(fragment: ast.Fragment) -> list[Diagnostic]:
    """Unknown parameter types and defaults that do not fit their type."""
    found = []
    for param in fragment.params:
        if param.type not in ast.PARAM_TYPES:
            found.append(_error(FRAGMENT_DEFINITION, f"parameter '{param.name}' has unknown type "
                                f"'{param.type}'", param.span,
                                hint="types: " + ", ".join(ast.PARAM_TYPES)))
        elif not param.required and param.default is not None:
            problem = type_problem(param.type, param.default, ast.CHANNELS)
            if problem:
                found.append(_error(FRAGMENT_DEFINITION, f"the default of '{param.name}' {problem}",
                                    param.span))
    return found


def type_problem(kind: str, value, channels) -> str | None:
    """Why ``value`` is not a ``kind`` (None when it is)."""
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"must be a number, got {value!r}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if not isinstance(value, str):
        return f"must be a {_TYPE_WORDS[kind]}, got {value!r}"
    if kind == "duration":
        try:
            parse_duration(value)
        except ValueError:
            return f"must be a duration such as 30m, 2h or 7d, got {value!r}"
    elif kind == "channel" and value not in channels:
        return f"must be a channel ({', '.join(channels)}), got {value!r}"
    elif kind in ("template", "event", "step") and not _name_pattern().match(value):
        return f"must be a {_TYPE_WORDS[kind]}, got {value!r}"
    return None


_TYPE_WORDS = {"channel": "channel name", "duration": "duration", "template": "template name",
               "string": "string", "event": "event name", "step": "step name",
               "number": "number", "bool": "boolean"}


def _error(code, message, span, hint=None, related=()) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint, tuple(related))


# --- expansion -----------------------------------------------------------------------------

@record
class UseSite:
    """One expanded ``use``: its prefix, where it is written and the fragment's file."""

    prefix: str
    fragment: str
    span: Span
    fragment_file: str


@dataclass
class Expansion:
    """The journey with every ``use`` inlined, what went wrong, and where each use was."""

    journey: ast.Journey | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    uses: list[UseSite] = field(default_factory=list)

    def relate(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Give each diagnostic inside a fragment's file the ``use`` site(s) it came from."""
        return [self._related(d) for d in diagnostics]

    def _related(self, diagnostic: Diagnostic) -> Diagnostic:
        sites = [u for u in self.uses if u.fragment_file == diagnostic.span.file]
        if not sites or any(r.message.startswith("expanded from") for r in diagnostic.related):
            return diagnostic
        named = [u for u in sites if f"'{u.prefix}." in diagnostic.message]
        extra = tuple(Related(u.span, f"expanded from `use {u.fragment}` here")
                      for u in named or sites)
        return replace(diagnostic, related=diagnostic.related + extra)


def expand(journey: ast.Journey | None, library: Library | None = None,
           channels=ast.CHANNELS, segments=(), journey_file: str | None = None) -> Expansion:
    """Inline every ``use`` and ``segment(...)`` of ``journey`` (``segments``: the configured
    ``SegmentText``s); diagnostics for bad uses, unknown segments and ``$refs`` outside
    fragments. Without a ``library``, the fragments beside ``journey_file`` and the stdlib's
    are read when the journey uses one."""
    if journey is None:
        return Expansion(None)
    expander = _Expander(library, tuple(channels), journey_file)
    stages = tuple(replace(stage, steps=expander.steps(stage.steps, stage.name, ()))
                   for stage in journey.stages)
    templates = journey.templates + expander.templates(journey)
    expanded = replace(journey, stages=stages, templates=templates,
                       variables=journey.variables + tuple(expander.variables),
                       handlers=journey.handlers + tuple(expander.handlers))
    expanded = _Substitution({}, None, expander.report).node(expanded)  # stray `$refs`
    expanded = _retarget(expanded, expander.entries)
    expanded = _Segments(segments, expander.report).node(expanded)
    expanded = expand_ladders(expanded, expander.report)
    return Expansion(expanded, expander.diagnostics, expander.uses)


def expand_document(document, channels=ast.CHANNELS, segments=()) -> Expansion:
    """Expand a parsed Document, finding local fragments beside its file."""
    return expand(document.journey, None, channels, segments, document.source.name)


class _Expander:
    def __init__(self, library: Library | None, channels, journey_file: str | None = None):
        if library is not None:
            self.library = library
        self.channels, self.journey_file = channels, journey_file
        self.diagnostics: list[Diagnostic] = []
        self.uses: list[UseSite] = []
        self.entries: dict[str, str] = {}  # use label -> first expanded step
        self.used_templates: dict[str, ast.Template] = {}
        self.variables: list[ast.Variable] = []   # hoisted from fragments
        self.handlers: list[ast.Handler] = []
        self._counts: dict[str, int] = {}
        self._reported: set[str] = set()

    @cached_property
    def library(self) -> Library:
        """The fragments, read at the first ``use``."""
        return Library.for_file(self.journey_file)

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def steps(self, steps, scope: str, stack: tuple[str, ...]) -> tuple[ast.Step, ...]:
        out: list[ast.Step] = []
        for step in steps:
            if isinstance(step, ast.Use):
                out += self.use(step, stack)
            else:
                out.append(step)
        return tuple(out)

    def prefix(self, use: ast.Use) -> str:
        if not use.is_auto_named:
            return use.name
        count = self._counts[use.fragment] = self._counts.get(use.fragment, 0) + 1
        return use.fragment if count == 1 else f"{use.fragment}_{count}"

    def use(self, use: ast.Use, stack: tuple[str, ...]) -> list[ast.Step]:
        fragment = self.library.fragments.get(use.fragment)
        if fragment is None:
            hint = difflib.get_close_matches(use.fragment, self.library.fragments, n=1)
            self.report(_error(UNKNOWN_FRAGMENT, f"unknown fragment '{use.fragment}'", use.span,
                               hint=f"did you mean '{hint[0]}'?" if hint else
                               "fragments: " + ", ".join(sorted(self.library.fragments))))
            return []
        if use.fragment in stack:
            self.report(_error(RECURSIVE_USE, f"fragment '{use.fragment}' uses itself "
                               f"({' -> '.join(stack + (use.fragment,))})", use.span))
            return []
        site = Related(use.span, f"expanded from `use {use.fragment}` here")
        if self._fragment_problems(fragment, site):
            return []
        values = self.arguments(use, fragment)
        if values is None:
            return []
        prefix = self.prefix(use)
        self.uses.append(UseSite(prefix, use.fragment, use.span, fragment.span.file))
        substitution = _Substitution(values, site, self.report)
        body = tuple(substitution.node(step) for step in fragment.steps)
        body = self.steps(body, prefix, stack + (use.fragment,))
        local = {step.name for step in body}
        renamed = [_prefixed(step, prefix, fragment.name, local) for step in body]
        if renamed:
            self.entries[prefix] = renamed[0].name
        self._collect_templates(fragment, renamed)
        self.variables += substitution.node(fragment.variables)
        targets = {name: _renamed(name, prefix, fragment.name) for name in local}
        self.handlers += _retarget(substitution.node(fragment.handlers), targets)
        return renamed

    def _fragment_problems(self, fragment: ast.Fragment, site: Related) -> bool:
        problems = self.library.problems.get(fragment.name, [])
        if fragment.name not in self._reported:
            self._reported.add(fragment.name)
            self.diagnostics += [replace(p, related=p.related + (site,)) for p in problems]
        return any(p.severity is Severity.ERROR for p in problems)

    def arguments(self, use: ast.Use, fragment: ast.Fragment) -> dict | None:
        declared = {p.name: p for p in fragment.params}
        values, ok = {}, True
        for arg in use.args:
            param = declared.get(arg.name)
            if param is None:
                close = difflib.get_close_matches(arg.name, declared, n=1)
                self.report(_error(UNKNOWN_PARAMETER, f"fragment '{fragment.name}' has no "
                                   f"parameter '{arg.name}'", arg.span or use.span,
                                   hint=f"did you mean '{close[0]}'?" if close else
                                   "parameters: " + ", ".join(declared) if declared else None,
                                   related=[Related(fragment.span, "the fragment")]))
                ok = False
                continue
            problem = type_problem(param.type, arg.value, self.channels)
            if problem:
                self.report(_error(PARAMETER_TYPE, f"'{arg.name}' {problem}", arg.span or use.span,
                                   related=[Related(param.span, f"'{param.name}' is declared "
                                                                f"as {param.type} here")]))
                ok = False
            values[arg.name] = (param.type, arg.value)
        for param in fragment.params:
            if param.name in values:
                continue
            if param.required:
                self.report(_error(MISSING_PARAMETER, f"`use {fragment.name}` needs parameter "
                                   f"'{param.name}' ({param.type})", use.span,
                                   hint=f"add `with {{ {param.name}: ... }}`",
                                   related=[Related(param.span, "declared here")]))
                ok = False
            else:
                values[param.name] = (param.type, param.default)
        return values if ok else None

    def _collect_templates(self, fragment: ast.Fragment, steps) -> None:
        sent = {s.template for s in steps if isinstance(s, ast.Send)}
        for template in fragment.templates:
            if template.name in sent:
                self.used_templates.setdefault(template.name, template)

    def templates(self, journey: ast.Journey) -> tuple[ast.Template, ...]:
        """Fragment templates that expanded sends use and the journey does not define itself."""
        own = {t.name for t in journey.templates}
        return tuple(t for name, t in self.used_templates.items() if name not in own)


def _prefixed(step: ast.Step, prefix: str, fragment: str, local: set[str]) -> ast.Step:
    """Rename a fragment step to ``prefix.name`` and its targets inside the fragment likewise."""
    targets = {name: _renamed(name, prefix, fragment) for name in local}
    return replace(_retarget(step, targets), name=_renamed(step.name, prefix, fragment))


def _renamed(name: str, prefix: str, fragment: str) -> str:
    """A fragment's step name as expanded: ``prefix.name`` (``fragment.3`` -> ``prefix.3``)."""
    if name.startswith(fragment + ".") and name[len(fragment) + 1:].isdigit():
        name = name[len(fragment) + 1:]
    return f"{prefix}.{name}"


@cache
def _child_fields(cls) -> tuple[str, ...]:
    """The names of a model node class's fields that may hold nodes (not its span)."""
    return tuple(f.name for f in fields(cls) if f.name != "span")


def _same_or_new(items: tuple, new: list) -> tuple:
    """``items`` itself when no item changed (the walkers copy only what they change)."""
    return items if all(a is b for a, b in zip(items, new)) else tuple(new)


def _retarget(node, names: dict[str, str]):
    """Replace step targets (``next``, ``target``, ``default``) found in ``names``."""
    if isinstance(node, tuple):
        return _same_or_new(node, [_retarget(item, names) for item in node])
    if not isinstance(node, ast.Node) or not names:
        return node
    changes = {}
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if name in ("next", "target", "default") and isinstance(value, str) and value in names:
            changes[name] = names[value]
        elif isinstance(value, (tuple, ast.Node)):
            new = _retarget(value, names)
            if new is not value:
                changes[name] = new
    return replace(node, **changes) if changes else node


_OPERATORS = (ast.ListExpr, ast.Unary, ast.Binary, ast.Compare, ast.In, ast.Not, ast.BoolOp,
              ast.History)  # each is one level of nesting; paths, literals and tags are none
MAX_SEGMENT_CHAIN = 8           # segments using segments using segments ...
MAX_INLINED_NODES = 10_000      # a condition's nodes once its segments are inlined


class _Segments:
    """Replaces ``segment(name)`` by the named segment's condition (parsed where it is
    written, in the configuration file), reporting unknown and circular segments, chains
    deeper than MAX_SEGMENT_CHAIN, and conditions that inlining makes deeper than MAX_NESTING
    or larger than MAX_INLINED_NODES (a segment used twice by one used twice by ... doubles
    at every step): past those, compile and run would refuse what check accepted."""

    def __init__(self, segments, report):
        self.texts = {s.name: s for s in segments}
        self.report = report
        self.expanded: dict[str, ast.Expr | None] = {}  # each segment inlined once, shared

    def node(self, node, stack: tuple[str, ...] = (), in_condition: bool = False):
        if isinstance(node, ast.SegmentRef):
            inlined = self.segment(node, stack)
            return inlined if in_condition else self.bounded(inlined, node.span)
        if isinstance(node, tuple):
            return _same_or_new(node, [self.node(item, stack, in_condition) for item in node])
        if not (is_dataclass(node) and isinstance(node, ast.Node)):
            return node
        operator = isinstance(node, _OPERATORS)
        changes = {}
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, (tuple, ast.Node)):
                new = self.node(value, stack, in_condition or operator)
                if new is not value:
                    changes[name] = new
        if not changes:
            return node
        changed = replace(node, **changes)
        return self.bounded(changed, node.span) if operator and not in_condition else changed

    def segment(self, ref: ast.SegmentRef, stack: tuple[str, ...]) -> ast.Expr:
        text = self.texts.get(ref.name)
        if text is None:
            close = difflib.get_close_matches(ref.name, self.texts, n=1)
            self.report(_error(UNKNOWN_SEGMENT, f"unknown segment '{ref.name}'", ref.span,
                               hint=f"did you mean '{close[0]}'?" if close else
                               "declare it under [tool.journeylang.segments] in "
                               ".journeylang.toml" + (": " + ", ".join(sorted(self.texts))
                                                      if self.texts else "")))
            return ast.Literal(False, span=ref.span)
        if ref.name in stack:
            self.report(_error(SEGMENT_DEFINITION, f"segment '{ref.name}' refers to itself "
                               f"({' -> '.join(stack + (ref.name,))})", ref.span,
                               hint="a segment may use other segments, never itself"))
            return ast.Literal(False, span=ref.span)
        if len(stack) >= MAX_SEGMENT_CHAIN:
            self.report(_error(SEGMENT_DEFINITION, f"segments use one another more than "
                               f"{MAX_SEGMENT_CHAIN} deep ({' -> '.join(stack + (ref.name,))})",
                               ref.span, hint="write the condition of a deeper segment out"))
            return ast.Literal(False, span=ref.span)
        if ref.name not in self.expanded:
            from .frontend.text import parse_condition
            expr, problems = parse_condition(text.text, text.file, text.line, text.column)
            for problem in problems:
                self.report(replace(problem, code=SEGMENT_DEFINITION,
                                    message=f"segment '{ref.name}': {problem.message}",
                                    related=(Related(ref.span, "the segment is used here"),)))
            self.expanded[ref.name] = None if expr is None else \
                self.node(expr, stack + (ref.name,), in_condition=True)
        expanded = self.expanded[ref.name]
        return ast.Literal(False, span=ref.span) if expanded is None else expanded

    def bounded(self, condition: ast.Expr, span: Span) -> ast.Expr:
        """``condition`` (a whole condition with its segments inlined), or False and an error
        when it nests too deep or has too many nodes."""
        depth, size = _measure(condition)
        if depth <= MAX_NESTING and size <= MAX_INLINED_NODES:
            return condition
        what = (f"nests {depth} operations inside one another (at most {MAX_NESTING})"
                if depth > MAX_NESTING else f"has {size:,} terms (at most {MAX_INLINED_NODES:,})")
        self.report(_error(TOO_LARGE, f"with its segments inlined, this condition {what}", span,
                           hint="segments are copied where they are used: use fewer segments "
                                "inside segments, or write a simpler one"))
        return ast.Literal(False, span=span)


def _measure(expr: ast.Expr) -> tuple[int, int]:
    """An expression's nesting (in operators) and its number of nodes as a tree, without
    recursion; a subtree shared by several parents is measured once and counted each time."""
    measured: dict[int, tuple[int, int]] = {}
    pending = [(expr, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in measured:
            continue
        children = _sub_expressions(node)
        if not children_done:
            pending.append((node, True))
            pending.extend((child, False) for child in children if id(child) not in measured)
            continue
        depth = max((measured[id(child)][0] for child in children), default=0)
        size = 1 + sum(measured[id(child)][1] for child in children)
        measured[id(node)] = (depth + isinstance(node, _OPERATORS), size)
    return measured[id(expr)]


def _sub_expressions(node) -> list:
    children = []
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, ast.Node):
            children.append(value)
        elif isinstance(value, tuple):
            children.extend(item for item in value if isinstance(item, ast.Node))
    return children


class _Substitution:
    """Replaces ``$name`` references with argument values, checking each fits its place."""

    def __init__(self, values: dict, site: Related | None, report):
        self.values, self.site, self.report = values, site, report

    def node(self, node, place: str | None = None, parent=None):
        if isinstance(node, ast.ParamRef):
            return self.ref(node, place, parent)
        if isinstance(node, tuple):
            return _same_or_new(node, [self.node(item, place, parent) for item in node])
        if not (is_dataclass(node) and isinstance(node, ast.Node)):
            return node
        changes = {}
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if not isinstance(value, (tuple, ast.Node)):
                continue
            new = self.node(value, _FIELD_TYPES.get(name, name), node)
            if new is not value:
                changes[name] = new
        return replace(node, **changes) if changes else node

    def ref(self, ref: ast.ParamRef, place: str | None, parent):
        related = (self.site,) if self.site else ()
        if ref.name not in self.values:
            where = "is not a parameter of this fragment" if self.site else \
                "is only allowed inside a fragment"
            self.report(_error(UNKNOWN_PARAMETER, f"${ref.name} {where}", ref.span,
                               related=related))
            return self._wrap(f"${ref.name}" if place not in ("duration",) else 0, place,
                              parent, ref)
        kind, value = self.values[ref.name]
        expected = place if place in _TYPE_WORDS else None
        if expected and kind != expected:
            self.report(_error(FRAGMENT_DEFINITION, f"${ref.name} is a {kind} parameter, but a "
                               f"{_TYPE_WORDS[expected]} is expected here", ref.span,
                               related=related))
        elif kind == "duration" and place == "duration" and isinstance(value, str):
            value = parse_duration(value)
        elif place == "value" and isinstance(parent, ast.Coupon) and kind == "number":
            value = float(value)
        return self._wrap(value, place, parent, ref)

    @staticmethod
    def _wrap(value, place, parent, ref: ast.ParamRef):
        """In a condition a reference becomes a literal; elsewhere the plain value."""
        in_expr = isinstance(parent, _EXPR_NODES) or place in _EXPR_FIELDS or (
            isinstance(parent, ast.SetAttribute) and place == "value")
        return ast.Literal(value, span=ref.span) if in_expr else value
