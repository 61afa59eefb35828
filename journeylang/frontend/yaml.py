"""YAML frontend: compose ``.yaml`` journeys with PyYAML and lower the node tree to the model.

The walk is schema-driven: the tables at the end map each key to a model field and a
converter; the generic node reading and reporting is in yaml_reader.py.
"""
from __future__ import annotations

import difflib
from contextlib import suppress
from dataclasses import replace

import yaml
from yaml.nodes import MappingNode, SequenceNode

from .. import ast
from ..diagnostics import Diagnostic, Severity, Span
from ..source import Source
from ..units import parse_duration, parse_percent, parse_time
from . import Document
from .text import parse_condition
from .yaml_reader import (STRUCTURE, YAML_SYNTAX, NodeReader, Skip, describe, is_numeric,
                          keys_of)


def parse_yaml(source: Source) -> Document:
    """Parse a YAML journey into a Document; bad input gives diagnostics, never exceptions."""
    try:
        root = _compose(source.text)
    except yaml.YAMLError as exc:
        return Document(source, None, [_syntax_diagnostic(exc, source)])
    except RecursionError:  # PyYAML composes recursively: absurdly deep nesting
        return Document(source, None, [Diagnostic(YAML_SYNTAX, Severity.ERROR,
                                                  "invalid YAML: nested too deeply",
                                                  Span.point(source.name, 1, 1))])
    builder = _Builder(source)
    journey = builder.journey(root)  # what could be read: unusable items are left out
    return Document(source, journey, sorted(builder.diagnostics, key=Diagnostic.sort_key))


def _compose(text: str):
    """The node tree, read by libyaml when PyYAML has it (several times faster); a file it
    rejects is read again by the pure-Python loader, whose errors the diagnostics are built on."""
    if FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=FAST_LOADER)
        except (yaml.YAMLError, RecursionError):
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _syntax_diagnostic(exc: yaml.YAMLError, source: Source) -> Diagnostic:
    """Turn a PyYAML error into a JL003 diagnostic at its mark."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark else source.position(
        getattr(exc, "position", 0))  # a ReaderError (a control character) has an offset only
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    hint = context and (context + (f" at line {where.line + 1}, column {where.column + 1}"
                                   if where else ""))
    return Diagnostic(YAML_SYNTAX, Severity.ERROR, f"invalid YAML: {problem.removeprefix('but ')}",
                      Span.point(source.name, line, column), hint=hint)


def _quiet_times(text: str):
    """``"22:00-08:00"`` -> (start, end); ValueError with a readable message."""
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"invalid quiet hours {text!r}: write two times of day, e.g. 22:00-08:00")
    return parse_time(parts[0]), parse_time(parts[1])


class _Builder(NodeReader):
    """Lowers a composed YAML journey to the model, collecting diagnostics."""

    def duration(self, node, what: str) -> int:
        hint = "a bare number has no unit; write e.g. 30s, 30m or 30h" if is_numeric(node) else None
        return self.unit(parse_duration, "a duration such as 30m, 2h or 7d", node, what, hint, 0)

    def time(self, node, what: str, fallback=Skip):
        return self.unit(parse_time, 'a time of day such as "09:30"', node, what, None, fallback)

    def wait_time(self, node, what: str):
        return self.time(node, what, ast.WaitUntil.time)

    def percent(self, node, what: str, fallback=0.0) -> float:
        """``5%`` or a bare number ``5``."""
        number = self.value(node, what) if is_numeric(node) else None
        return self.unit(lambda text: parse_percent(text if number is None else number),
                         "a percentage such as 5%", node, what, None, fallback)

    def holdout(self, node, what: str) -> float:
        return self.percent(node, what, Skip)

    def quiet_text(self, node, what: str) -> ast.QuietHours:
        start, end = self.unit(_quiet_times, 'quiet hours such as "22:00-08:00"', node, what)
        return ast.QuietHours(start, end, span=self.span(node))

    def condition(self, node, what: str) -> ast.Expr:
        """Parse a condition with the DSL grammar, placed where its text sits in the file."""
        text = self.scalar(node, what, "a condition")
        start, end = node.start_mark, node.end_mark
        line, column = start.line + 1, start.column + 1 + (node.style in ('"', "'"))
        newline = self.source.text.find("\n", start.index, end.index)
        if node.style in ("|", ">") and newline >= 0:
            # parse the block's raw lines: same tokens (newlines are blanks to the grammar),
            # and every line keeps its columns
            text, line, column = self.source.text[newline + 1:end.index], line + 1, 1
        expr, problems = parse_condition(text, self.source.name, line, column)
        self.diagnostics.extend(problems)
        if expr is None:
            raise Skip
        return expr

    # --- free-keyed mappings ----------------------------------------------------------------

    def params(self, node, what: str) -> tuple[ast.Param, ...]:
        """``{name: literal, ...}`` -> Params in written order."""
        found, built = self.fields(node, what, what, None), []
        for key, value in found.values.items():
            with suppress(Skip):
                name = self.name(found.keys[key], f"parameter '{key}' in {what}")
                built.append(ast.Param(name, self.value(value, f"'{key}' in {what}"),
                                       span=self.span(found.keys[key], value)))
        return tuple(built)

    def templates(self, node, what: str) -> tuple[ast.Template, ...]:
        found, built = self.fields(node, what, "templates", None), []
        for key, value in found.values.items():
            with suppress(Skip):
                built.append(self.template(found.keys[key], value, f"template '{key}'"))
        return tuple(built)

    def template(self, key, node, what: str) -> ast.Template:
        """A string is the default-locale text; a mapping gives one text per locale, in order."""
        name = self.name(key, f"the name of {what}")
        if isinstance(node, MappingNode):
            found = self.fields(node, what, what, None)
            texts = tuple(ast.TemplateText(self.name(key, f"locale '{locale}' in {what}"),
                                           self.text(text, f"'{locale}' in {what}"),
                                           span=self.span(key, text))
                          for (locale, key), text in zip(found.keys.items(), found.values.values()))
        else:
            texts = (ast.TemplateText(None, self.text(node, what), span=self.span(node)),)
        return ast.Template(name, texts, span=self.span(key, node))

    # --- journey, stages and steps -------------------------------------------------------------

    def journey(self, root) -> ast.Journey | None:
        """The whole file; None when it has no usable journey id."""
        start = "a YAML journey starts with 'journey: <id>'"
        if root is None:
            self.diagnostics.append(Diagnostic(STRUCTURE, Severity.ERROR,
                                               f"the file is empty; {start}",
                                               Span.point(self.source.name, 1, 1)))
        elif not isinstance(root, MappingNode):
            self.report(STRUCTURE, "the top level must be a mapping with a 'journey' key, "
                                   f"got {describe(root)}", root, hint=start)
        elif "journey" not in keys_of(root):
            close = difflib.get_close_matches("journey", keys_of(root), n=1)
            hint = f"did you mean 'journey' instead of '{close[0]}'?" if close else start
            self.report(STRUCTURE, "missing required key 'journey' at the top level", root, hint)
        else:
            return self.optional(_JOURNEY, root, "the file")
        return None

    def journey_id(self, node, what: str) -> str:
        if isinstance(node, MappingNode):
            self.wrong(node, "'journey'", "the journey's id (a name)",
                       hint="put title, stages and the other keys beside 'journey', not under it")
        return self.name(node, "'journey'")

    def reentry_text(self, node, what: str) -> ast.Reentry:
        """``never``, ``always`` or ``after 30d``."""
        expected = "never, always or after <duration> (e.g. after 30d)"
        words = self.scalar(node, what, expected).split()
        if words in (["never"], ["always"]):
            return ast.Reentry(words[0], span=self.span(node))
        if len(words) != 2 or words[0] != "after":
            self.wrong(node, what, expected)
        seconds = self.unit(lambda _: parse_duration(words[1]), expected, node, what, None, 0)
        return ast.Reentry("after", seconds, span=self.span(node))

    def stage(self, node, what: str) -> ast.Stage:
        found = self.fields(node, what, "stage", ("stage", "title", "steps"), ("stage",))
        if found.missing:
            raise Skip
        name = self.name(found.values["stage"], "'stage' in stage")
        title = self.optional(_Builder.text, found.values.get("title"), "'title' in stage")
        steps = self.optional(lambda _, n, w: self.steps(n, w, name), found.values.get("steps"),
                              f"'steps' in stage '{name}'", ())
        return ast.Stage(name, title, steps, span=self.span(node))

    def steps(self, node, what: str, stage: str) -> tuple[ast.Step, ...]:
        if not isinstance(node, SequenceNode):
            self.wrong(node, what, "a list of steps")
        built = []
        for index, child in enumerate(node.value):
            with suppress(Skip):
                built.append(self.step(child, stage, index))
        return tuple(built)

    def step(self, node, stage: str, index: int) -> ast.Step:
        """One step mapping: exactly one kind key, plus optional ``name`` and ``then``."""
        what = f"step {index + 1} of stage '{stage}'"
        found = self.fields(node, what, what, (*_STEP_KINDS, "name", "then"))
        kinds = [key for key in found.values if key in _STEP_KINDS]
        if not kinds:
            if not found.unknown:
                self.report(STRUCTURE, f"{what} has no step kind", node,
                            hint="expected one of: " + ", ".join(_STEP_KINDS))
            raise Skip
        for extra in kinds[1:]:
            self.report(STRUCTURE, f"{what} has more than one step kind: '{kinds[0]}' and "
                                   f"'{extra}'", found.keys[extra],
                        hint="write each step as its own list entry")
        body = _STEP_KINDS[kinds[0]](self, found.values[kinds[0]], f"'{kinds[0]}' in {what}")
        name = self.optional(_Builder.name, found.values.get("name"), f"'name' in {what}")
        changes = {"name": name or ast.auto_step_name(stage, index), "span": self.span(node)}
        then = found.keys.get("then")
        if then and isinstance(body, ast.SequentialStep) and not isinstance(body, ast.WaitEvent):
            changes["next"] = self.optional(_Builder.name, found.values["then"],
                                            f"'then' in {what}")
        elif then:  # as in the DSL, where these steps take no ``-> target`` suffix
            self.report(STRUCTURE, f"'then' is not allowed on a {kinds[0]} step",
                        found.keys["then"], hint=_NO_THEN[kinds[0]])
        return replace(body, **changes)

    def wait(self, node, what: str) -> ast.Step:
        """``{until: ...}``, ``{for: event, ...}`` or ``{on: [arms], ...}``."""
        form = next((key for key in _WAIT_FORMS if key in keys_of(node)), None)
        if form is None:
            found = self.fields(node, what, "wait", ("until", "for", "on", "where", "within",
                                                     "then", "timeout"))
            if not found.unknown:
                self.report(STRUCTURE, f"{what} needs one of 'until', 'for' or 'on'", node)
            raise Skip
        return _WAIT_FORMS[form](self, node, what)

    def branch(self, node, what: str) -> ast.Branch:
        """``[{when: cond, then: step}, ..., {else: step}]``; the else entry comes last."""
        if not isinstance(node, SequenceNode):
            self.wrong(node, what, "a list of 'when' and 'else' entries")
        arms, default = [], None
        for i, child in enumerate(node.value):
            entry = f"entry {i + 1} of {what}"
            if "else" not in keys_of(child):
                with suppress(Skip):
                    arms.append(_BRANCH_ARM(self, child, entry))
                continue
            found = self.fields(child, entry, "branch else", ("else",))
            default = self.optional(_Builder.name, found.values["else"], "'else' in branch")
            if i != len(node.value) - 1:
                self.report(STRUCTURE, "'else' must be the last entry of a branch",
                            found.keys["else"])
        return ast.Branch("", arms=tuple(arms), default=default)

    def set_step(self, node, what: str) -> ast.SetAttribute:
        """``{attribute: path, value: literal}`` or ``{attribute: path, expr: "..."}``."""
        step = _SET(self, node, what)
        if ("value" in keys_of(node)) == ("expr" in keys_of(node)):
            self.report(STRUCTURE, "set needs exactly one of 'value' (a literal) or 'expr' "
                                   "(an expression)", node)
            raise Skip
        return step


# --- the schema -------------------------------------------------------------------------------

def _record(context: str, make, spec: dict, **fixed):
    """A converter reading a mapping by a key table: key -> (model field, converter, required)."""
    return lambda builder, node, what: builder.record(node, what, context, make, spec, fixed)


def _each(convert):
    """A converter for a list of entries read by ``convert``."""
    return lambda builder, node, what: builder.items(node, what, convert)


def _one_or_many(convert):
    """A converter for one value or a list of them, giving a tuple."""
    def read(builder, node, what):
        if isinstance(node, SequenceNode):
            return builder.items(node, what, convert)
        return (convert(builder, node, what),)
    return read


def _either(short, full):
    """A converter for a scalar shorthand (``short``) or a mapping (``full``)."""
    return lambda builder, node, what: (full if isinstance(node, MappingNode) else short)(
        builder, node, what)


def _short(make, field: str, convert):
    """A step written as its one value, e.g. ``goto: done``."""
    return lambda builder, node, what: make("", **{field: convert(builder, node, what)})


def _wait_for(event, condition=None, target=None, span=ast.NO_SPAN, **rest) -> ast.WaitEvent:
    """``wait: {for: event, where, then, within, timeout}``: a wait with one event arm."""
    return ast.WaitEvent(arms=(ast.EventArm(event, condition, target, span=span),), **rest)


B = _Builder
_NAMES = _one_or_many(B.name)
_WHERE = ("condition", B.condition, False)
_CAP = _record("cap", ast.Cap, {"messages": ("messages", B.integer, True),
                                "per": ("per", B.duration, True),
                                "on": ("channels", _NAMES, False)})
_POLICY = _record("policy", ast.Policy, {
    "cap": ("caps", _one_or_many(_CAP), False),
    "quiet": ("quiet", _either(B.quiet_text, _record("quiet", ast.QuietHours, {
        "from": ("start", B.time, True), "to": ("end", B.time, True)})), False),
    "consent": ("consent", _NAMES, False), "holdout": ("holdout", B.holdout, False)})
_JOURNEY = _record("journey", ast.Journey, {
    "journey": ("id", B.journey_id, True), "title": ("title", B.text, False),
    "version": ("version", B.integer, False), "owner": ("owner", B.text, False),
    "description": ("description", B.text, False),
    "entry": ("entry", _record("entry", ast.Entry, {"on": ("event", B.name, True),
                                                    "where": _WHERE}), False),
    "audience": ("audience", B.condition, False),
    "reentry": ("reentry", _either(B.reentry_text, _record("reentry", ast.Reentry, {
        "after": ("after", B.duration, True)}, mode="after")), False),
    "goals": ("goals", _each(_record("goal", ast.Goal, {
        "name": ("name", B.name, True), "on": ("event", B.name, True), "where": _WHERE,
        "within": ("within", B.duration, False)})), False),
    "exits": ("exits", _each(_record("exit", ast.ExitRule, {
        "on": ("event", B.name, True), "as": ("outcome", B.name, True), "where": _WHERE})), False),
    "outcomes": ("outcomes", _NAMES, False), "policy": ("policy", _POLICY, False),
    "templates": ("templates", B.templates, False), "stages": ("stages", _each(B.stage), False)})

_THEN, _TIMEOUT = ("target", B.name, False), ("next", B.name, False)
_WITHIN = ("within", B.duration, False)
_WAIT_FORMS = {
    "until": _record("wait with 'until'", ast.WaitUntil, {"until": ("time", B.wait_time, True)},
                     name=""),
    "for": _record("wait with 'for'", _wait_for, {
        "for": ("event", B.name, True), "where": _WHERE, "then": _THEN, "within": _WITHIN,
        "timeout": _TIMEOUT}, name=""),
    "on": _record("wait with 'on'", ast.WaitEvent, {
        "on": ("arms", _each(_record("wait arm", ast.EventArm, {
            "event": ("event", B.name, True), "where": _WHERE, "then": _THEN})), True),
        "within": _WITHIN, "timeout": _TIMEOUT}, name=""),
}
_BRANCH_ARM = _record("branch arm", ast.BranchArm, {"when": ("condition", B.condition, True),
                                                    "then": ("target", B.name, True)})
_SET = _record("set", ast.SetAttribute, {"attribute": ("attribute", B.path, True),
                                         "value": ("value", B.literal, False),
                                         "expr": ("value", B.condition, False)}, name="")
_PARAMS = ("params", B.params, False)

# one converter per step kind; a step-level ``then`` sets ``next`` on sequential steps
_STEP_KINDS = {
    "send": _record("send", ast.Send, {"via": ("channel", B.name, True),
                                       "template": ("template", B.text, True),
                                       "params": _PARAMS}, name=""),
    "wait": _either(_short(ast.Wait, "duration", B.duration), B.wait),
    "branch": B.branch,
    "split": _short(ast.Split, "arms", _each(_record("split arm", ast.SplitArm, {
        "arm": ("name", B.name, True), "percent": ("percent", B.percent, True),
        "then": ("target", B.name, True)}))),
    "tag": _short(ast.Tag, "tags", _one_or_many(B.text)),
    "untag": _short(ast.Untag, "tags", _one_or_many(B.text)),
    "set": B.set_step,
    "coupon": _either(_short(ast.Coupon, "code", B.text), _record("coupon", ast.Coupon, {
        "code": ("code", B.text, True), "value": ("value", B.number, False),
        "expires": ("expires", B.duration, False)}, name="")),
    "handoff": _record("handoff", ast.Handoff, {"to": ("role", B.name, True), "within": _WITHIN,
                                                "note": ("note", B.text, False)}, name=""),
    "webhook": _either(_short(ast.Webhook, "url", B.text),
                       _record("webhook", ast.Webhook, {"url": ("url", B.text, True)}, name="")),
    "emit": _either(_short(ast.Emit, "event", B.name), _record("emit", ast.Emit, {
        "event": ("event", B.name, True), "params": _PARAMS}, name="")),
    "goto": _short(ast.Goto, "target", B.name),
    "exit": _short(ast.Exit, "outcome", B.name),
    # ``use: winback`` or ``use: {fragment: winback, with: {channel: sms}}``; expand.py inlines it
    "use": _either(_short(ast.Use, "fragment", B.name), _record("use", ast.Use, {
        "fragment": ("fragment", B.name, True), "with": ("args", B.params, False)}, name="")),
}
_NO_THEN = {
    "branch": "its arms name the next steps", "split": "its arms name the next steps",
    "goto": "it already names the next step", "exit": "the journey ends here",
    "use": "the fragment's steps continue with the step after the use",
    "wait": "inside 'wait', 'then' is where the event leads and 'timeout' where the timeout leads",
}
del B
