"""YAML frontend: compose ``.yaml`` journeys (and fragment files) with PyYAML and lower the
node tree to the model.

The walk is schema-driven: the tables at the end map each key to a model field and a
converter; the generic node reading and reporting is in yaml_reader.py. The JSON Schema is
generated from these tables (journeylang/schema.py): a key added here is in it at once, and a
test asks for its description and example in yaml_docs.py.
"""
from __future__ import annotations

import difflib
import re
from contextlib import suppress
from dataclasses import replace

import yaml
from yaml.nodes import MappingNode, SequenceNode

from .. import ast
from ..diagnostics import Diagnostic, Severity, Span
from ..source import Source
from ..units import parse_duration, parse_percent, parse_period, parse_time
from . import Document
from . import yaml_shapes as shapes
from .yaml_ops import RUNG_ACTIONS, OperationsReader
from .yaml_program import HANDLER_ACTIONS, make_cap, make_handler, make_send
from .yaml_reader import (STRUCTURE, TOO_LARGE, YAML_SYNTAX, Skip, describe, each, either,
                          is_numeric, exactly_one, keys_of, one_or_many, parameter_or, record,
                          scan, short)
from .yaml_shapes import WORD, Converter, accepts, shape_only


def parse_yaml(source: Source) -> Document:
    """Parse a YAML journey into a Document; bad input gives diagnostics, never exceptions."""
    readable, root, found = _read(source)
    if not readable:
        return Document(source, None, found)
    builder = _Builder(source, found)
    journey = builder.journey(root)  # what could be read: unusable items are left out
    return Document(source, journey, sorted(builder.diagnostics, key=Diagnostic.sort_key))


def parse_yaml_fragments(source: Source) -> tuple[list[ast.Fragment], list[Diagnostic]]:
    """Parse a YAML fragment file (``fragment: name`` beside its params, templates, vars,
    handlers and steps: the DSL's ``fragment name(params) { ... }``)."""
    readable, root, found = _read(source, "a fragment file")
    if not readable:
        return [], found
    builder = _Builder(source, found)
    fragment = builder.fragment(root)
    return [fragment] if fragment else [], sorted(builder.diagnostics, key=Diagnostic.sort_key)


_FRAGMENT_FILE = re.compile(r"\A(\s|#[^\n]*(\n|\Z)|---[^\n]*\n)*fragment\s*:")


def is_yaml_fragment_file(text: str) -> bool:
    """Whether a YAML text is a fragment file (its first key is ``fragment``)."""
    return _FRAGMENT_FILE.match(text) is not None


def _read(source: Source, kind: str = "a journey file"):
    """(whether the text composes, the node tree, what was found on the way): the scan's
    findings (tags), or the diagnostics that say why there is no tree."""
    found = scan(source.text, source.name, FAST_LOADER or yaml.SafeLoader, kind)
    if any(d.code == TOO_LARGE for d in found):
        return False, None, found  # composing it would recurse or expand too far
    try:
        return True, _compose(source.text), found
    except yaml.YAMLError as exc:
        return False, None, [_syntax_diagnostic(exc, source)]
    except RecursionError:  # PyYAML composes recursively: absurdly deep nesting
        return False, None, [Diagnostic(YAML_SYNTAX, Severity.ERROR,
                                        "invalid YAML: nested too deeply",
                                        Span.point(source.name, 1, 1))]


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


class _Builder(OperationsReader):
    """Lowers a composed YAML journey to the model, collecting diagnostics."""

    @accepts(shapes.DURATION)
    def duration(self, node, what: str) -> int:
        hint = "a bare number has no unit; write e.g. 30s, 30m or 30h" if is_numeric(node) else None
        return self.unit(parse_duration, "a duration such as 30m, 2h or 7d", node, what, hint, 0)

    @accepts(shapes.DURATION)
    def period(self, node, what: str) -> int:
        """The period a count is taken over: a duration longer than 0."""
        hint = "a bare number has no unit; write e.g. 30s, 30m or 30h" if is_numeric(node) else None
        return self.unit(parse_period, "a duration such as 30m, 2h or 7d", node, what, hint, 1)

    @accepts(shapes.TIME)
    def time(self, node, what: str, fallback=Skip):
        return self.unit(parse_time, 'a time of day such as "09:30"', node, what, None, fallback)

    @accepts(shapes.TIME)
    def wait_time(self, node, what: str):
        return self.time(node, what, ast.WaitUntil.time)

    @accepts(shapes.PERCENT)
    def percent(self, node, what: str, fallback=0.0) -> float:
        """``5%`` or a bare number ``5``."""
        number = self.value(node, what) if is_numeric(node) else None
        return self.unit(lambda text: parse_percent(text if number is None else number),
                         "a percentage such as 5%", node, what, None, fallback)

    @accepts(shapes.PERCENT)
    def optional_percent(self, node, what: str) -> float:
        return self.percent(node, what, Skip)

    @accepts(shapes.QUIET)
    def quiet_text(self, node, what: str) -> ast.QuietHours:
        start, end = self.unit(_quiet_times, 'quiet hours such as "22:00-08:00"', node, what)
        return ast.QuietHours(start, end, span=self.span(node))

    # --- free-keyed mappings ----------------------------------------------------------------

    @accepts(lambda: shapes.MapOf("params", shapes.NAME, _LITERAL_OR_REF))
    def params(self, node, what: str) -> tuple[ast.Param, ...]:
        """``{name: literal, ...}`` -> Params in written order."""
        found, built = self.fields(node, what, what, None), []
        for key, value in found.values.items():
            with suppress(Skip):
                name = self.name(found.keys[key], f"parameter '{key}' in {what}")
                built.append(ast.Param(name, _LITERAL_OR_REF(self, value, f"'{key}' in {what}"),
                                       span=self.span(found.keys[key], value)))
        return tuple(built)

    @accepts(lambda: shapes.MapOf("templates", shapes.NAME, _TEMPLATE))
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

    def top_level(self, root, key: str, start: str) -> bool:
        """Whether the file's top level is a mapping (``key`` names what it must hold);
        ``start`` says how the file starts."""
        if root is None:
            self.diagnostics.append(Diagnostic(STRUCTURE, Severity.ERROR,
                                               f"the file is empty; {start}",
                                               Span.point(self.source.name, 1, 1)))
        elif not isinstance(root, MappingNode):
            self.report(STRUCTURE, f"the top level must be a mapping with a '{key}' key, "
                                   f"got {describe(root)}", root, hint=start)
        return isinstance(root, MappingNode)

    def journey(self, root) -> ast.Journey | None:
        """The whole file; None when it has no usable journey id."""
        start = "a YAML journey starts with 'journey: <id>'"
        if not self.top_level(root, "journey", start):
            return None
        if "journey" in keys_of(root):
            return self.optional(_JOURNEY, root, "the file")
        close = difflib.get_close_matches("journey", keys_of(root), n=1)
        hint = f"did you mean 'journey' instead of '{close[0]}'?" if close else start
        if "fragment" in keys_of(root):
            hint = ("this is a fragment file: journeys use it (`use: NAME`) from a "
                    "fragments/ folder beside them")
        self.report(STRUCTURE, "missing required key 'journey' at the top level", root, hint)
        return None

    def fragment(self, root) -> ast.Fragment | None:
        """A fragment file; None when it has no usable name."""
        if not self.top_level(root, "fragment", "a YAML fragment file starts with "
                                                "'fragment: <name>'"):
            return None
        found = self.fields(root, "the file", "fragment", tuple(_FRAGMENT), ("fragment",))
        name = self.optional(_Builder.name, found.values.get("fragment"), "'fragment'")
        if name is None:
            return None
        where = f"fragment '{name}'"
        values = {field: self.optional(convert, found.values.get(key), f"'{key}' in {where}")
                  for key, (field, convert, _) in _FRAGMENT.items()
                  if key not in ("fragment", "steps")}
        values["steps"] = self.optional(lambda _, n, w: self.steps(n, w, name),
                                        found.values.get("steps"), f"'steps' in {where}")
        return ast.Fragment(name, span=self.span(root),
                            **{k: v for k, v in values.items() if v is not None})

    @accepts(lambda: shapes.MapOf("params", shapes.NAME, shapes.AnyOf((shapes.PARAM_TYPE,
                                                                       _FRAGMENT_PARAM))))
    def fragment_params(self, node, what: str) -> tuple[ast.FragmentParam, ...]:
        """``{channel: {type: channel, default: wecom}, reply_event: event}``: a parameter
        with a default, or one that every use must give (its type alone)."""
        found, built = self.fields(node, what, "params", None), []
        for key, value in found.values.items():
            with suppress(Skip):
                name = self.name(found.keys[key], f"parameter '{key}' in {what}")
                where = f"parameter '{key}'"
                if isinstance(value, MappingNode):
                    spec = self.fields(value, where, "fragment parameter", ("type", "default"),
                                       ("type",))
                    if spec.missing:
                        raise Skip
                    kind = self.name(spec.values["type"], f"'type' of {where}")
                    required = "default" not in spec.values
                    default = None if required else \
                        self.value(spec.values["default"], f"'default' of {where}")
                else:
                    kind, required, default = self.name(value, f"the type of {where}"), True, None
                built.append(ast.FragmentParam(name, kind, default, required,
                                               span=self.span(found.keys[key], value)))
        return tuple(built)

    @accepts(shapes.NAME)
    def journey_id(self, node, what: str) -> str:
        if isinstance(node, MappingNode):
            self.wrong(node, "'journey'", "the journey's id (a name)",
                       hint="put title, stages and the other keys beside 'journey', not under it")
        return self.name(node, "'journey'")

    @accepts(shapes.CHANNEL)
    def channel(self, node, what: str) -> str:
        """A channel is a name here; the linter checks it against the configured channels."""
        return self.name(node, what)

    @accepts(shapes.REENTRY)
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

    @accepts(shapes.CORRELATION)
    def correlation(self, node, what: str) -> ast.Correlation:
        """``correlate: order_id``: the path of the entry event's data that keys a run."""
        expected = "an attribute path (names joined by dots, such as order_id or order.id)"
        text = self.scalar(node, what, expected).strip()
        if not re.fullmatch(rf"{WORD}(\.{WORD})*", text):
            self.wrong(node, what, expected)
        return ast.Correlation(tuple(text.split(".")), span=self.span(node))

    @accepts(lambda: shapes.Record("stage", _STAGE))
    def stage(self, node, what: str) -> ast.Stage:
        found = self.fields(node, what, "stage", tuple(_STAGE),
                            [key for key, (_, _, needed) in _STAGE.items() if needed])
        if found.missing:
            raise Skip
        name = self.name(found.values["stage"], "'stage' in stage")
        title = self.optional(_Builder.text, found.values.get("title"), "'title' in stage")
        steps = self.optional(lambda _, n, w: self.steps(n, w, name), found.values.get("steps"),
                              f"'steps' in stage '{name}'", ())  # auto names need the stage
        kpis = self.optional(_STAGE["kpis"][1], found.values.get("kpis"),
                             f"'kpis' in stage '{name}'", ())
        return ast.Stage(name, title, steps, kpis, span=self.span(node))

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
        found = self.fields(node, what, what, (*_STEP_KINDS, *_STEP_KEYS))
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
        if then and isinstance(body, ast.SequentialStep) and not isinstance(
                body, (ast.WaitEvent, ast.Escalate)):
            changes["next"] = self.optional(_NAME_OR_REF, found.values["then"],
                                            f"'then' in {what}")
        elif then:  # as in the DSL, where these steps take no ``-> target`` suffix
            article = "an" if kinds[0][0] in "aeiou" else "a"
            self.report(STRUCTURE, f"'then' is not allowed on {article} {kinds[0]} step",
                        found.keys["then"], hint=_NO_THEN[kinds[0]])
        return replace(body, **changes)

    @accepts(lambda: shapes.AnyOf(tuple(_WAIT_FORMS.values())))
    def wait(self, node, what: str) -> ast.Step:
        """``{until: ...}``, ``{for: event, ...}`` or ``{on: [arms], ...}``."""
        form = next((key for key in _WAIT_FORMS if key in keys_of(node)), None)
        if form is None:
            found = self.fields(node, what, "wait", tuple(dict.fromkeys(
                key for form in _WAIT_FORMS.values() for key in form.shape.keys)))
            if not found.unknown:
                self.report(STRUCTURE, f"{what} needs one of 'until', 'until_day', 'until_next', "
                                       "'for' or 'on'", node)
            raise Skip
        return _WAIT_FORMS[form](self, node, what)

    @accepts(lambda: shapes.ListOf(shapes.AnyOf((_BRANCH_ARM, _BRANCH_ELSE))))
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
            found = self.fields(child, entry, "branch else", tuple(_BRANCH_ELSE.shape.keys))
            default = self.optional(_NAME_OR_REF, found.values["else"], "'else' in branch")
            if i != len(node.value) - 1:
                self.report(STRUCTURE, "'else' must be the last entry of a branch",
                            found.keys["else"])
        return ast.Branch("", arms=tuple(arms), default=default)

    @accepts(lambda: shapes.Record("set", _SET.shape.keys, ("value", "expr")))
    def set_step(self, node, what: str) -> ast.SetAttribute:
        """``{attribute: path, value: literal}`` or ``{attribute: path, expr: "..."}``."""
        step = _SET(self, node, what)
        if ("value" in keys_of(node)) == ("expr" in keys_of(node)):
            self.report(STRUCTURE, "set needs exactly one of 'value' (a literal) or 'expr' "
                                   "(an expression)", node)
            raise Skip
        return step


# --- the schema -------------------------------------------------------------------------------

def _wait_for(event, condition=None, target=None, span=ast.NO_SPAN, **rest) -> ast.WaitEvent:
    """``wait: {for: event, where, then, within, timeout}``: a wait with one event arm."""
    return ast.WaitEvent(arms=(ast.EventArm(event, condition, target, span=span),), **rest)


B = _Builder
_NAMES = one_or_many(B.name)
_CHANNELS = one_or_many(B.channel)
# where the DSL takes a fragment's `$name`, so does the YAML form
_NAME_OR_REF, _DURATION_OR_REF = parameter_or(B.name), parameter_or(B.duration)
_TEXT_OR_REF, _LITERAL_OR_REF = parameter_or(B.text), parameter_or(B.value)
_WHERE = ("condition", B.condition, False)
_CAP = record("cap", make_cap, {"messages": ("messages", B.count, True),
                               "per": ("per", B.cap_period, True),
                               "on": ("channels", _CHANNELS, False)})
_POLICY = record("policy", ast.Policy, {
    "cap": ("caps", one_or_many(_CAP), False),
    "quiet": ("quiet", either(B.quiet_text, record("quiet", ast.QuietHours, {
        "from": ("start", B.time, True), "to": ("end", B.time, True)})), False),
    "consent": ("consent", _CHANNELS, False), "holdout": ("holdout", B.optional_percent, False),
    "promo": ("promo", B.optional_percent, False)})
_JOURNEY = record("journey", ast.Journey, {
    "journey": ("id", B.journey_id, True), "title": ("title", B.text, False),
    "version": ("version", B.count, False), "owner": ("owner", B.text, False),
    "description": ("description", B.text, False),
    "entry": ("entry", exactly_one(record("entry", ast.Entry, {
        "on": ("event", B.name, False), "every": ("schedule", B.schedule, False),
        "where": _WHERE}), ("on", "every"), "an event ('on') or a schedule ('every')"), False),
    "audience": ("audience", B.condition, False),
    "reentry": ("reentry", either(B.reentry_text, record("reentry", ast.Reentry, {
        "after": ("after", B.duration, True)}, mode="after")), False),
    "correlate": ("correlate", B.correlation, False),
    "goals": ("goals", each(record("goal", ast.Goal, {
        "name": ("name", B.name, True), "on": ("event", B.name, True), "where": _WHERE,
        "within": ("within", B.duration, False)})), False),
    "milestones": ("milestones", each(record("milestone", ast.Milestone, {
        "name": ("name", B.name, True), "on": ("event", B.name, True), "where": _WHERE,
        "within": ("within", B.duration, False)})), False),
    "exits": ("exits", each(record("exit", ast.ExitRule, {
        "on": ("event", B.name, True), "as": ("outcome", B.name, True), "where": _WHERE})), False),
    "outcomes": ("outcomes", _NAMES, False), "policy": ("policy", _POLICY, False),
    "roles": ("roles", each(record("role", ast.Role, {
        "name": ("name", B.name, True), "capacity": ("capacity", B.amount, True),
        "per": ("per", B.period, True)})), False),
    "expect": ("volume", record("expect", ast.Volume, {
        "entries": ("entries", B.amount, True), "per": ("per", B.period, True)}), False),
    "templates": ("templates", B.templates, False), "stages": ("stages", each(B.stage), False),
    "locale": ("locale", B.name, False), "attributes": ("attributes", B.attributes, False),
    "vars": ("variables", B.variables, False),
    "handlers": ("handlers", each(Converter(lambda b, node, what: _HANDLER(b, node, what),
                                            lambda: _HANDLER.shape)), False),
    "migrations": ("migrations", each(record("migration", ast.Migration, {
        "from": ("from_version", B.integer, True), "steps": ("moves", B.moves, False),
        "other": ("other", B.name, False)})), False)})

_THEN, _TIMEOUT = ("target", _NAME_OR_REF, False), ("next", _NAME_OR_REF, False)
_WITHIN = ("within", _DURATION_OR_REF, False)
_WAIT_FORMS = {
    "until_day": record("wait with 'until_day'", ast.WaitDay, {
        "until_day": ("day", B.day, True), "at": ("time", B.wait_time, True)}, name=""),
    "until_next": record("wait with 'until_next'", ast.WaitSchedule, {
        "until_next": ("schedule", B.schedule, True)}, name=""),
    "until": record("wait with 'until'", ast.WaitUntil, {"until": ("time", B.wait_time, True)},
                     name=""),
    "for": record("wait with 'for'", _wait_for, {
        "for": ("event", _NAME_OR_REF, True), "where": _WHERE, "then": _THEN, "within": _WITHIN,
        "timeout": _TIMEOUT}, name=""),
    "on": record("wait with 'on'", ast.WaitEvent, {
        "on": ("arms", each(record("wait arm", ast.EventArm, {
            "event": ("event", _NAME_OR_REF, True), "where": _WHERE, "then": _THEN})), True),
        "within": _WITHIN, "timeout": _TIMEOUT}, name=""),
}
_SPLIT_ARM = exactly_one(record("split arm", ast.SplitArm, {
    "arm": ("name", B.name, True), "percent": ("percent", B.percent, True),
    "then": ("target", _NAME_OR_REF, False), "holdout": ("holdout", B.flag, False)}),
    ("then", "holdout"), "the arm's step ('then') or a control group ('holdout: true')")


def _split_arm(builder, node, what: str) -> ast.SplitArm:
    arm = _SPLIT_ARM(builder, node, what)
    if arm.target is None and not arm.holdout:
        builder.report(STRUCTURE, f"{what} has no step: write 'then: <step>', or "
                                  "'holdout: true' for a control group", node)
        raise Skip
    return arm


_BRANCH_ARM = record("branch arm", ast.BranchArm, {"when": ("condition", B.condition, True),
                                                    "then": ("target", _NAME_OR_REF, True)})
_BRANCH_ELSE = shape_only(shapes.Record("branch else", {"else": ("default", _NAME_OR_REF, True)}))
_SET = record("set", ast.SetAttribute, {"attribute": ("attribute", B.path, True),
                                         "value": ("value", parameter_or(B.literal), False),
                                         "expr": ("value", B.condition, False)}, name="")
_PARAMS = ("params", B.params, False)

# one converter per step kind; a step-level ``then`` sets ``next`` on sequential steps
_STEP_KINDS = {
    "send": record("send", make_send, {"via": ("channel", one_or_many(parameter_or(B.channel)),
                                               True),
                                       "template": ("template", _TEXT_OR_REF, True),
                                       "params": _PARAMS, "promo": ("promo", B.flag, False),
                                       "transactional": ("transactional", B.flag, False)},
                   name=""),
    "wait": either(short(ast.Wait, "duration", _DURATION_OR_REF), B.wait),
    "branch": B.branch,
    "split": short(ast.Split, "arms", each(Converter(
        lambda b, node, what: _split_arm(b, node, what), lambda: _SPLIT_ARM.shape))),
    "tag": short(ast.Tag, "tags", one_or_many(_TEXT_OR_REF)),
    "untag": short(ast.Untag, "tags", one_or_many(_TEXT_OR_REF)),
    "set": B.set_step,
    "coupon": either(short(ast.Coupon, "code", _TEXT_OR_REF), record("coupon", ast.Coupon, {
        "code": ("code", _TEXT_OR_REF, True), "value": ("value", parameter_or(B.number), False),
        "expires": ("expires", _DURATION_OR_REF, False)}, name="")),
    "handoff": record("handoff", ast.Handoff, {"to": ("role", _NAME_OR_REF, True),
                                                "within": _WITHIN,
                                                "note": ("note", B.text, False)}, name=""),
    "webhook": either(short(ast.Webhook, "url", _TEXT_OR_REF),
                       record("webhook", ast.Webhook, {"url": ("url", _TEXT_OR_REF, True)},
                              name="")),
    "emit": either(short(ast.Emit, "event", _NAME_OR_REF), record("emit", ast.Emit, {
        "event": ("event", _NAME_OR_REF, True), "params": _PARAMS}, name="")),
    "goto": short(ast.Goto, "target", _NAME_OR_REF),
    "exit": short(ast.Exit, "outcome", _NAME_OR_REF),
    # ``use: winback`` or ``use: {fragment: winback, with: {channel: sms}}``; expand.py inlines it
    "use": either(short(ast.Use, "fragment", B.name), record("use", ast.Use, {
        "fragment": ("fragment", B.name, True), "with": ("args", B.params, False)}, name="")),
}
_KPI = record("kpi", ast.Kpi, {
    "name": ("name", B.name, True), "title": ("title", B.text, False),
    "on": ("event", B.name, True), "where": _WHERE, "within": ("within", B.duration, True),
    "baseline": ("baseline", B.kpi_percent, True), "target": ("target", B.kpi_percent, True),
    "at": ("step", B.name, False)})
_RUNG_ACTIONS = {kind: _STEP_KINDS[kind] for kind in RUNG_ACTIONS}
_RUNG = shape_only(shapes.Record(
    "rung", {"at": ("after", _DURATION_OR_REF, True),
             **{kind: (kind, action, False) for kind, action in _RUNG_ACTIONS.items()}},
    tuple(_RUNG_ACTIONS)))
_HANDLER_ACTIONS = {kind: _STEP_KINDS[kind] for kind in HANDLER_ACTIONS}
_HANDLER_ACTION = shape_only(shapes.Record(
    "handler action", {kind: (kind, action, False) for kind, action in _HANDLER_ACTIONS.items()},
    tuple(_HANDLER_ACTIONS)))
_HANDLER = record("handler", make_handler, {
    "on": ("event", _NAME_OR_REF, True), "where": _WHERE, "then": ("target", _NAME_OR_REF, False),
    "do": ("actions", Converter(lambda b, node, what: b.handler_actions(node, what,
                                                                        _HANDLER_ACTIONS),
                                shapes.ListOf(_HANDLER_ACTION)), False)})
_STEP_KINDS["escalate"] = record("escalate", ast.Escalate, {
    "until": ("event", _NAME_OR_REF, True), "where": _WHERE,
    "within": ("within", _DURATION_OR_REF, True),
    "then": _THEN, "breach": _TIMEOUT,
    "rungs": ("rungs", Converter(lambda b, node, what: b.rungs(node, what, _RUNG_ACTIONS),
                                 shapes.ListOf(_RUNG)), True)},
    name="")
# besides its one kind key, a step may have these
_STEP_KEYS = {"name": ("name", B.name, False), "then": ("next", _NAME_OR_REF, False)}
_STEP = shape_only(lambda: shapes.Record(
    "step", {**{kind: (kind, read, False) for kind, read in _STEP_KINDS.items()}, **_STEP_KEYS},
    tuple(_STEP_KINDS)))
_STAGE = {"stage": ("name", B.name, True), "title": ("title", B.text, False),
          "steps": ("steps", shape_only(shapes.ListOf(_STEP)), False),
          "kpis": ("kpis", each(_KPI), False)}
_TEMPLATE = shape_only(shapes.AnyOf((B.text, shapes.MapOf("template", shapes.NAME, B.text))))
_NO_THEN = {
    "escalate": "inside 'escalate', 'then' is where resolution leads and 'breach' where the "
                "breach leads",
    "branch": "its arms name the next steps", "split": "its arms name the next steps",
    "goto": "it already names the next step", "exit": "the journey ends here",
    "use": "the fragment's steps continue with the step after the use",
    "wait": "inside 'wait', 'then' is where the event leads and 'timeout' where the timeout leads",
}
# a fragment file: the DSL's `fragment name(params) "title" { templates vars handlers steps }`
_FRAGMENT_PARAM = shape_only(shapes.Record("fragment parameter", {
    "type": ("type", shapes.PARAM_TYPE, True), "default": ("default", B.value, False)}))
_FRAGMENT = {"fragment": ("name", B.name, True), "title": ("title", B.text, False),
             "params": ("params", B.fragment_params, False),
             "templates": ("templates", B.templates, False),
             "vars": ("variables", B.variables, False), "handlers": _JOURNEY.shape.keys["handlers"],
             "steps": ("steps", shape_only(shapes.ListOf(_STEP)), False)}
JOURNEY_TABLE = _JOURNEY  # the whole file's key table (journeylang/schema.py starts from it)
FRAGMENT_TABLE = shape_only(shapes.Record("fragment", _FRAGMENT))  # a fragment file's
del B
