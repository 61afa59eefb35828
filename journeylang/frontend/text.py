"""DSL frontend: Lark (LALR) parse of ``.journey`` text, then a transformer to the model."""
from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from functools import lru_cache

from lark import Token, v_args
from lark.exceptions import UnexpectedInput, VisitError

from .. import ast
from ..diagnostics import Diagnostic, Severity, Span
from ..source import Source, has_surrogate, join_surrogates
from ..limits import MAX_NESTING
from ..units import parse_duration, parse_number, parse_percent, parse_time, parse_whole
from . import Comment, Document
from .parser import parse as _parse
from .parser import parser, shift, syntax_diagnostic
from .text_ops import OperationsBuilder
from .text_program import ProgramBuilder

BAD_VALUE = "JL002"
TOO_LARGE = "JL005"


def parse_text(source: Source) -> Document:
    """Parse a ``.journey`` file into a Document."""
    comments: list[Comment] = []
    builder = ModelBuilder(source.name)
    try:
        tree = _parse(source.text, "start", comments.append, source.name)
        journey = builder.transform(tree).children[0]
    except UnexpectedInput as exc:
        return Document(source, None, [syntax_diagnostic(exc, source.name)], comments)
    except VisitError as exc:  # a bug in the builder, never bad input: surface the original
        raise exc.orig_exc from None
    return Document(source, journey, builder.diagnostics, comments)


def parse_fragments(source: Source) -> tuple[list[ast.Fragment], list[Diagnostic]]:
    """Parse a fragment file (``fragment name(params) { ... }`` declarations)."""
    builder = ModelBuilder(source.name)
    try:
        tree = _parse(source.text, "fragment_file", None, source.name)
        return list(builder.transform(tree).children), builder.diagnostics
    except UnexpectedInput as exc:
        return [], [syntax_diagnostic(exc, source.name)]
    except VisitError as exc:
        raise exc.orig_exc from None


def parse_tree(text: str, start: str = "start"):
    """The Lark parse tree of a whole ``.journey`` text (for tools that need token positions,
    such as the formatter placing comments); ``start="fragment_file"`` for a fragment file.
    Raises lark's UnexpectedInput on bad input."""
    return parser().parse(text, start=start)


_FRAGMENT_FILE = re.compile(r"\A(\s|#[^\n]*(\n|\Z))*fragment\b")


def is_fragment_file(text: str) -> bool:
    """Whether a ``.journey`` text declares fragments (stdlib/, fragments/) rather than a journey."""
    return _FRAGMENT_FILE.match(text) is not None


def parse_condition(text: str, file: str, line: int = 1, column: int = 1):
    """Parse a condition written at ``line``/``column`` of ``file``; returns (expr, diagnostics)."""
    return _parse_snippet(text, "expr", file, line, column)


def parse_schedule(text: str, file: str, line: int = 1, column: int = 1):
    """Parse a schedule (``wednesday at 20:00``) placed like ``parse_condition``."""
    return _parse_snippet(text, "schedule", file, line, column)


def _parse_snippet(text: str, start: str, file: str, line: int, column: int):
    builder = ModelBuilder(file, line, column)
    try:
        tree = _snippet_tree(text, start)
        return builder.transform(tree), builder.diagnostics
    except UnexpectedInput as exc:
        return None, [syntax_diagnostic(exc, file, line, column)]


@lru_cache(maxsize=4096)
def _snippet_tree(text: str, start: str):
    """The parse tree of a condition or schedule. Journeys repeat the same conditions
    (``consent.wecom``, a tier test) in file after file; the tree's positions are relative to
    the snippet and the builder places them, so one tree serves every place it is written."""
    return _parse(text, start, None, "<snippet>")


# --- tree to model -------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def unquote(token: str) -> str:
    if token.startswith('"""'):
        return textwrap.dedent(token[3:-3]).strip("\n")
    text = _ESCAPE.sub(_unescape, token[1:-1])
    return join_surrogates(text) if "\\u" in token else text  # \ud83d\ude00 as JSON has it


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if len(code) == 5 else _ESCAPES.get(code, code)


@v_args(meta=True, inline=True)
class ModelBuilder(OperationsBuilder, ProgramBuilder):
    """Builds model nodes bottom-up; bad literal values become diagnostics, not exceptions."""

    _unquote = staticmethod(unquote)

    def __init__(self, file: str, base_line: int = 1, base_column: int = 1):
        super().__init__()
        self.file, self.base_line, self.base_column = file, base_line, base_column
        self.diagnostics: list[Diagnostic] = []
        self._depths: dict[int, tuple[int, ast.Expr]] = {}  # id -> (nesting, the node itself)

    def span(self, where) -> Span:
        if isinstance(where, Token):
            return shift(self.file, self.base_line, self.base_column, where.line, where.column,
                          where.end_line, where.end_column)
        if getattr(where, "empty", True):
            return ast.NO_SPAN
        return shift(self.file, self.base_line, self.base_column, where.line, where.column,
                      where.end_line, where.end_column)

    def _value(self, convert, token, fallback):
        try:
            return convert(str(token))
        except ValueError as exc:
            self.diagnostics.append(Diagnostic(BAD_VALUE, Severity.ERROR, str(exc), self.span(token)))
            return fallback

    def STRING(self, token):
        """A string token; one whose escapes give half a surrogate pair is reported (it is not
        a character, and no file could hold it) and read with U+FFFD in its place."""
        if "\\u" in token and has_surrogate(unquote(token)):
            self.diagnostics.append(Diagnostic(
                BAD_VALUE, Severity.ERROR, "invalid escape: a \\u escape of half a surrogate "
                "pair is not a character", self.span(token),
                hint="write the character itself (files are UTF-8), or both halves of the pair"))
            fixed = "".join("\ufffd" if has_surrogate(c) else c for c in unquote(token))
            return token.update(value=fixed.replace("\\", "\\\\").join('""'))
        return token

    def duration(self, token):
        if token.type == "PARAM_REF":
            return self.ref(token)
        return self._value(parse_duration, token, 0)

    def ref(self, token):
        """A ``$name`` token as a ParamRef; any other token as its text."""
        if token.type == "PARAM_REF":
            return ast.ParamRef(str(token)[1:], span=self.span(token))
        return str(token)

    # fragments and their use
    def fragment(self, meta, name, *items):
        params, title, steps = [], None, []
        declared: dict[str, list] = {"templates": [], "variables": [], "handlers": []}
        for item in items:
            if isinstance(item, ast.FragmentParam):
                params.append(item)
            elif isinstance(item, Token):
                title = unquote(item)
            elif isinstance(item, tuple):
                declared[item[0]].append(item[1])
            elif isinstance(item, ast.Step):
                steps.append(item)
        steps = [step if step.name else replace(step, name=ast.auto_step_name(str(name), i))
                 for i, step in enumerate(steps)]
        return ast.Fragment(str(name), title, tuple(params), tuple(declared["templates"]),
                            tuple(steps), tuple(declared["variables"]),
                            tuple(declared["handlers"]), span=self.span(meta))

    def fragment_param(self, meta, name, kind, default):
        return ast.FragmentParam(str(name), str(kind), default.value if default else None,
                                 default is None, span=self.span(meta))

    def use(self, meta, fragment, args):
        return ast.Use("", fragment=str(fragment), args=args or ())

    def use_args(self, meta, *args):
        return tuple(a for a in args if a is not None)

    def use_arg(self, meta, name, value):
        return ast.Param(str(name), value.value, span=self.span(meta))

    def word(self, meta, token):
        return ast.Literal(str(token), span=self.span(meta))

    def param_ref(self, meta, token):
        return self.ref(token)

    # journey-level
    def journey(self, meta, name, title, version, *items):
        fields: dict = {"goals": [], "milestones": [], "exits": [], "outcomes": [], "roles": [],
                        "templates": [], "stages": [], "handlers": [], "attributes": [],
                        "variables": [], "migrations": []}
        for key, value in items:
            if isinstance(fields.get(key), list):
                fields[key].extend(value if key == "outcomes" else [value])
            else:
                fields[key] = value
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        version = self.count(version, "version") if version else None
        return ast.Journey(str(name), title=unquote(title) if title else None, version=version,
                           span=self.span(meta), **fields)

    def owner(self, meta, value):
        return "owner", unquote(value)

    def description(self, meta, value):
        return "description", unquote(value)

    def entry(self, meta, event, where):
        return "entry", ast.Entry(str(event), where, span=self.span(meta))

    def audience(self, meta, expr):
        return "audience", expr

    def reentry(self, meta, mode):
        if mode.type in ("NEVER", "ALWAYS"):
            return "reentry", ast.Reentry(str(mode), span=self.span(meta))
        return "reentry", ast.Reentry("after", self.duration(mode), span=self.span(meta))

    def correlate(self, meta, path):
        return "correlate", ast.Correlation(path.parts, span=self.span(meta))

    def goal(self, meta, name, event, where, within):
        return "goals", ast.Goal(str(name), str(event), where, within, span=self.span(meta))

    def milestone(self, meta, name, event, where, within):
        return "milestones", ast.Milestone(str(name), str(event), where, within,
                                           span=self.span(meta))

    def exit_rule(self, meta, event, where, outcome):
        return "exits", ast.ExitRule(str(event), str(outcome), where, span=self.span(meta))

    def outcomes(self, meta, *names):
        return "outcomes", [str(n) for n in names]

    def policy(self, meta, *items):
        fields: dict = {"caps": []}
        for key, value in items:
            if key == "caps":
                fields["caps"].append(value)
            else:
                fields[key] = value
        fields["caps"] = tuple(fields["caps"])
        return "policy", ast.Policy(span=self.span(meta), **fields)

    def cap(self, meta, count, per, channels):
        if isinstance(per, Token):
            return "caps", ast.Cap(self.count(count, "cap"), self.period(per), channels or (),
                                   span=self.span(meta))
        return "caps", ast.Cap(self.count(count, "cap"), ast.CALENDAR_UNITS[per], channels or (),
                               calendar=per,
                               span=self.span(meta))

    def quiet(self, meta, start, end):
        times = [self._value(parse_time, t, None) for t in (start, end)]
        if None in times:
            return "quiet", None
        return "quiet", ast.QuietHours(times[0], times[1], span=self.span(meta))

    def consent(self, meta, channels):
        return "consent", channels

    def holdout(self, meta, percent):
        return "holdout", self._value(parse_percent, percent, None)

    def template(self, meta, name, *texts):
        if len(texts) == 1 and isinstance(texts[0], Token):
            texts = (ast.TemplateText(None, unquote(texts[0]), span=self.span(texts[0])),)
        return "templates", ast.Template(str(name), tuple(texts), span=self.span(meta))

    def locale_text(self, meta, locale, text):
        return ast.TemplateText(str(locale), unquote(text), span=self.span(meta))

    def stage(self, meta, name, title, *items):
        steps = [item for item in items if isinstance(item, ast.Step)]
        named = tuple(step if step.name else replace(step, name=ast.auto_step_name(str(name), i))
                      for i, step in enumerate(steps))
        kpis = tuple(item for item in items if isinstance(item, ast.Kpi))
        return "stages", ast.Stage(str(name), unquote(title) if title else None, named, kpis,
                                   span=self.span(meta))

    # steps: each body builds its step with an empty name; `step` adds the label and span
    def step(self, meta, label, body):
        return replace(body, name=str(label) if label else "", span=self.span(meta))

    def label(self, meta, name):
        return name

    def send(self, meta, kind, *rest):
        *channels, template, params, arrow = rest
        name = unquote(template) if template.type == "STRING" else self.ref(template)
        channels = [self.ref(c) for c in channels]
        return ast.Send("", next=arrow, channel=channels[0], template=name,
                        params=params or (), promo=kind is not None and kind.type == "PROMO",
                        transactional=kind is not None and kind.type == "TRANSACTIONAL",
                        fallback=tuple(channels[1:]))

    def wait(self, meta, duration, arrow):
        return ast.Wait("", next=arrow, duration=self.duration(duration))

    def wait_until(self, meta, time, arrow):
        moment = self._value(parse_time, time, None)
        return ast.WaitUntil("", next=arrow, **({"time": moment} if moment else {}))

    def wait_for(self, meta, event, where, within, arrow, timeout):
        arm = ast.EventArm(self.ref(event), where, arrow, span=self.span(event))
        return ast.WaitEvent("", next=timeout, arms=(arm,), within=within)

    def wait_block(self, meta, within, *arms_and_timeout):
        *arms, timeout = arms_and_timeout
        return ast.WaitEvent("", next=timeout, arms=tuple(arms), within=within)

    def wait_arm(self, meta, event, where, arrow):
        return ast.EventArm(self.ref(event), where, arrow, span=self.span(meta))

    def timeout(self, meta, target):
        return self.ref(target)

    def branch(self, meta, *arms_and_default):
        *arms, default = arms_and_default
        return ast.Branch("", arms=tuple(arms), default=default)

    def branch_arm(self, meta, condition, target):
        return ast.BranchArm(condition, self.ref(target), span=self.span(meta))

    def branch_default(self, meta, target):
        return self.ref(target)

    def split(self, meta, *arms):
        return ast.Split("", arms=tuple(arms))

    def split_arm(self, meta, name, percent, target):
        held = isinstance(target, Token) and target.type == "HOLDOUT"
        return ast.SplitArm(str(name), self._value(parse_percent, percent, 0.0),
                            None if held else self.ref(target), held, span=self.span(meta))

    def tag(self, meta, tags, arrow):
        return ast.Tag("", next=arrow, tags=tags)

    def untag(self, meta, tags, arrow):
        return ast.Untag("", next=arrow, tags=tags)

    def set(self, meta, path, value, arrow):
        return ast.SetAttribute("", next=arrow, attribute=path.dotted, value=value)

    def coupon(self, meta, code, value, expires, arrow):
        code = self.ref(code) if code.type == "PARAM_REF" else unquote(code)
        return ast.Coupon("", next=arrow, code=code, value=value, expires=expires)

    def coupon_value(self, meta, number):
        return self.ref(number) if number.type == "PARAM_REF" else float(self._number(number))

    def coupon_expires(self, meta, duration):
        return self.duration(duration)

    def handoff(self, meta, role, within, note, arrow):
        return ast.Handoff("", next=arrow, role=self.ref(role), within=within, note=note)

    def note(self, meta, text):
        return unquote(text)

    def webhook(self, meta, url, arrow):
        url = self.ref(url) if url.type == "PARAM_REF" else unquote(url)
        return ast.Webhook("", next=arrow, url=url)

    def emit(self, meta, event, params, arrow):
        return ast.Emit("", next=arrow, event=self.ref(event), params=params or ())

    def goto(self, meta, target):
        return ast.Goto("", target=self.ref(target))

    def exit(self, meta, outcome):
        return ast.Exit("", outcome=self.ref(outcome))

    # shared pieces
    def where(self, meta, expr):
        return expr

    def within(self, meta, duration):
        return self.duration(duration)

    def arrow(self, meta, target):
        return self.ref(target)

    def params(self, meta, *params):
        return tuple(p for p in params if p is not None)

    def param(self, meta, name, value):
        value = self.ref(value) if isinstance(value, Token) else value.value
        return ast.Param(str(name), value, span=self.span(meta))

    def name_list(self, meta, *names):
        return tuple(str(n) for n in names)

    def string_list(self, meta, *strings):
        return tuple(self.ref(s) if s.type == "PARAM_REF" else unquote(s) for s in strings)

    # conditions: each node notes how deeply it nests; past MAX_NESTING the expression is
    # reported once and replaced, so no later stage walks a tree deep enough to overflow
    def _nested(self, node: ast.Expr, *operands) -> ast.Expr:
        depth = 1
        for operand in operands:
            below = self._depths.get(id(operand))
            if below is not None and below[0] > MAX_NESTING:
                return self._noted(node, below[0])  # already reported further down
            depth = max(depth, 1 + (below[0] if below else 0))
        if depth > MAX_NESTING:
            self.diagnostics.append(Diagnostic(
                TOO_LARGE, Severity.ERROR, f"this expression nests more than {MAX_NESTING} "
                "operations inside one another", node.span,
                hint="each operator of a chain such as a + b + c counts as one level, and so "
                     "does each 'not', list or parenthesis; split the expression"))
            return self._noted(ast.Literal(False, span=node.span), depth)
        return self._noted(node, depth)

    def _noted(self, node: ast.Expr, depth: int) -> ast.Expr:
        if depth > MAX_NESTING and not isinstance(node, ast.Literal):
            node = ast.Literal(False, span=node.span)
        self._depths[id(node)] = (depth, node)
        return node

    def expr(self, meta, *operands):
        return self._nested(ast.BoolOp("or", operands, span=self.span(meta)), *operands)

    def and_expr(self, meta, *operands):
        return self._nested(ast.BoolOp("and", operands, span=self.span(meta)), *operands)

    def not_op(self, meta, operand):
        return self._nested(ast.Not(operand, span=self.span(meta)), operand)

    def compare(self, meta, left, op, right):
        return self._nested(ast.Compare(str(op), left, right, span=self.span(meta)), left, right)

    def in_op(self, meta, item, collection):
        return self._nested(ast.In(item, collection, span=self.span(meta)), item, collection)

    def not_in_op(self, meta, item, collection):
        return self._nested(ast.In(item, collection, negated=True, span=self.span(meta)), item,
                            collection)

    def has_tag(self, meta, tag):
        return ast.HasTag(unquote(tag), span=self.span(meta))

    def exists(self, meta, path):
        return ast.Exists(path, span=self.span(meta))

    def binary(self, meta, left, op, right):
        return self._nested(ast.Binary(str(op), left, right, span=self.span(meta)), left, right)

    def neg(self, meta, operand):
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)):
            return ast.Literal(-operand.value, span=self.span(meta))
        return self._nested(ast.Unary("-", operand, span=self.span(meta)), operand)

    def negative_number(self, meta, number):
        return ast.Literal(-self._number(number), span=self.span(meta))

    def number(self, meta, token):
        return ast.Literal(self._number(token), span=self.span(meta))

    def _number(self, token) -> int | float:
        return self._value(parse_number, token, 0)

    def string(self, meta, token):
        return ast.Literal(unquote(token), span=self.span(meta))

    def true(self, meta):
        return ast.Literal(True, span=self.span(meta))

    def false(self, meta):
        return ast.Literal(False, span=self.span(meta))

    def null(self, meta):
        return ast.Literal(None, span=self.span(meta))

    def list_expr(self, meta, *items):
        items = tuple(i for i in items if i is not None)
        return self._nested(ast.ListExpr(items, span=self.span(meta)), *items)

    def path(self, meta, *names):
        return ast.Path(tuple(str(n) for n in names), span=self.span(meta))

    def duration_literal(self, meta, token):
        return ast.Duration(self._value(parse_duration, token, 0), span=self.span(meta))
