"""The DSL printer: the model back to canonical ``.journey`` text, one method per node type.

Like sqlglot's generator, ``visit_<Class>`` returns the text of one node; the journey,
stage and block methods lay the lines out and put each comment back next to its anchor.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .. import ast
from ..expressions import quote, schedule_text, unparse
from ..frontend.text import unquote
from ..units import format_duration, format_time
from .comments import END, HEADER, LEADING, TRAILING, CommentMap

INDENT = "  "
_NAME = re.compile(r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*\Z")
_DURATION = re.compile(r"\d+(\.\d+)?[wdhms]\Z")
_WORDS = ("true", "false", "null")


def number(value: float | int, whole: bool = False) -> str:
    """A number as the DSL writes it, never with an exponent; ``whole`` drops a ``.0``
    (for fields that are floats anyway: coupon values, percentages)."""
    if whole and isinstance(value, float) and value.is_integer():
        value = int(value)
    return format(Decimal(repr(value)), "f")


def percent(value: float) -> str:
    return number(value, whole=True) + "%"


class Block:
    """A block item: its opening text and its children as (key, text or Block)."""

    def __init__(self, header: str, children: list[tuple[tuple, "str | Block"]]):
        self.header, self.children = header, children


class DslPrinter:
    """Prints a journey; give it the comments of the source to keep them."""

    def __init__(self, comments: CommentMap | None = None):
        self.comments = comments or CommentMap()
        self.lines: list[str] = []
        self.depth = 0

    # --- output ---------------------------------------------------------------------------

    def print(self, journey: ast.Journey) -> str:
        self.visit_Journey(journey)
        return "\n".join(self.lines) + "\n"

    def emit(self, text: str) -> None:
        self.lines.append(INDENT * self.depth + text if text else "")

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lines[-1].endswith("{"):
            self.lines.append("")

    def leading(self, key: tuple, below: bool = False) -> None:
        found = self.parts(key, LEADING) if below else self.comments.take(key, LEADING)
        for comment in found:
            self.emit(comment.text)
            if comment.blank_after:
                self.lines.append("")

    def parts(self, key: tuple, *slots: str) -> list:
        """The comments of a step and of its arms, timeout and else (``("arm", stage, step,
        n)`` ...), for a step whose parts are printed on its one line."""
        found = []
        for kind in (key[0], "arm", "timeout", "default"):
            found += self.comments.take_below((kind, *key[1:]), *slots)
        return sorted(found, key=lambda c: c.line)

    def item(self, key: tuple, node: "str | Block", below: bool = False) -> None:
        """One item with its comments; ``below`` also takes its parts' comments (an arm of
        a ``wait for`` printed on one line)."""
        self.leading(key, below)
        if isinstance(node, Block):
            self.block(key, node)
            return
        take = self.parts if below else self.comments.take
        self.emit(self.with_comments(node, take(key, HEADER, TRAILING)))
        for comment in take(key, END):
            self.emit(comment.text)

    def with_comments(self, text: str, comments) -> str:
        """``text`` with the first comment after it; the others (a line holds one comment:
        a second would become part of the first) go on lines of their own before it, where
        a directive still applies to it."""
        for comment in comments[1:]:
            self.emit(comment.text)
        return "  ".join([text, *(c.text for c in comments[:1])])

    def block(self, key: tuple, block: Block) -> None:
        self.emit(self.with_comments(block.header + " {", self.comments.take(key, HEADER)))
        self.depth += 1
        for child_key, child in block.children:
            if child_key == "blank":
                self.blank()
            else:
                self.item(child_key, child)
        for comment in self.comments.take(key, END):
            self.emit(comment.text)
        self.depth -= 1
        self.emit(self.with_comments("}", self.comments.take(key, TRAILING)))

    # --- pieces -----------------------------------------------------------------------------

    def name(self, value) -> str:
        return f"${value.name}" if isinstance(value, ast.ParamRef) else str(value)

    def string(self, value) -> str:
        return f"${value.name}" if isinstance(value, ast.ParamRef) else quote(value)

    def text(self, value: str) -> str:
        """A string that may be long: multi-line texts as triple-quoted blocks when that
        reads back to the same text."""
        if "\n" in value and '"""' not in value and "\r" not in value:
            inner = INDENT * (self.depth + 1)
            body = "\n".join(inner + line if line.strip() else "" for line in value.split("\n"))
            candidate = f'"""\n{body}\n{inner}"""'
            if unquote(candidate) == value:
                return candidate
        return quote(value)

    def duration(self, value) -> str:
        return self.name(value) if isinstance(value, ast.ParamRef) else format_duration(value)

    def literal(self, value) -> str:
        if isinstance(value, ast.ParamRef):
            return self.name(value)
        if isinstance(value, bool) or value is None:
            return {True: "true", False: "false", None: "null"}[value]
        if isinstance(value, (int, float)):
            return number(value)
        return quote(value)

    def params(self, params: tuple[ast.Param, ...]) -> str:
        if not params:
            return ""
        return " with {" + ", ".join(f"{p.name}: {self.literal(p.value)}" for p in params) + "}"

    def arrow(self, step: ast.Step) -> str:
        target = getattr(step, "next", None)
        return f" -> {self.name(target)}" if target is not None else ""

    def where(self, condition) -> str:
        return f" where {unparse(condition)}" if condition is not None else ""

    def within(self, seconds) -> str:
        return f" within {self.duration(seconds)}" if seconds is not None else ""

    # --- journey ------------------------------------------------------------------------------

    def visit_Journey(self, journey: ast.Journey) -> None:
        header = f"journey {journey.id}"
        if journey.title is not None:
            header += f" {quote(journey.title)}"
        if journey.version is not None:
            header += f" version {journey.version}"
        children: list = []
        self.depth += 1  # the items are written inside the journey's braces
        groups = list(self.groups(journey))
        self.depth -= 1
        for group in groups:
            if group:
                children += [("blank", None), *group] if children else group
        self.leading(("journey",))
        self.block(("journey",), Block(header, children))
        for comment in self.comments.take(("after",), TRAILING) + self.comments.rest():
            self.emit(comment.text)

    def groups(self, journey: ast.Journey):
        meta = []
        if journey.owner is not None:
            meta.append((("owner",), f"owner {quote(journey.owner)}"))
        if journey.description is not None:
            meta.append((("description",), f"description {self.text(journey.description)}"))
        if journey.locale is not None:
            meta.append((("locale",), f"locale {journey.locale}"))
        yield meta
        for index, migration in enumerate(journey.migrations):
            yield [(("migration", index), self.visit_Migration(migration, index))]
        header = []
        if journey.entry is not None:
            header.append((("entry",), self.visit_Entry(journey.entry)))
        if journey.audience is not None:
            header.append((("audience",), f"audience {unparse(journey.audience)}"))
        if journey.reentry != ast.Reentry() or journey.reentry.span != ast.NO_SPAN:
            header.append((("reentry",), self.visit_Reentry(journey.reentry)))
        if journey.correlate is not None:
            header.append((("correlate",), f"correlate by {journey.correlate.dotted}"))
        yield header
        yield ([(("attribute", i), self.visit_Attribute(a)) for i, a in enumerate(journey.attributes)]
               + [(("variable", i), self.visit_Variable(v)) for i, v in enumerate(journey.variables)])
        ends = [(("goal", i), self.visit_Goal(g)) for i, g in enumerate(journey.goals)]
        ends += [(("milestone", i), self.visit_Milestone(m)) for i, m in enumerate(journey.milestones)]
        ends += [(("exit", i), self.visit_ExitRule(e)) for i, e in enumerate(journey.exits)]
        if journey.outcomes:
            ends.append((("outcomes",), "outcomes " + ", ".join(journey.outcomes)))
        yield ends
        operations = [(("role", i), self.visit_Role(r)) for i, r in enumerate(journey.roles)]
        if journey.volume is not None:
            operations.append((("volume",), self.visit_Volume(journey.volume)))
        yield operations
        if journey.policy != ast.Policy() or journey.policy.span != ast.NO_SPAN:
            yield [(("policy",), self.visit_Policy(journey.policy))]
        yield [(("template", i), self.visit_Template(t, i)) for i, t in enumerate(journey.templates)]
        for index, handler in enumerate(journey.handlers):
            yield [(("handler", index), self.visit_Handler(handler, index))]
        for index, stage in enumerate(journey.stages):
            yield [(("stage", index), self.visit_Stage(stage, index))]

    def visit_Migration(self, migration: ast.Migration, index: int) -> Block:
        moves = list(migration.moves)
        if migration.other is not None:
            moves.append(ast.Move(ast.OTHER_STEPS, migration.other))
        return Block(f"migrate from version {migration.from_version}",
                     [(("move", index, k), f"{move.step} -> {move.target}")
                      for k, move in enumerate(moves)])

    def visit_Entry(self, entry: ast.Entry) -> str:
        if entry.schedule is not None:
            return f"entry every {schedule_text(entry.schedule)}{self.where(entry.condition)}"
        return f"entry on {entry.event}{self.where(entry.condition)}"

    def visit_Role(self, role: ast.Role) -> str:
        return f"role {role.name} capacity {role.capacity} per {format_duration(role.per)}"

    def visit_Volume(self, volume: ast.Volume) -> str:
        return f"expect {volume.entries} entries per {format_duration(volume.per)}"

    def visit_Reentry(self, reentry: ast.Reentry) -> str:
        if reentry.mode == "after":
            return f"reentry after {format_duration(reentry.after or 0)}"
        return f"reentry {reentry.mode}"

    def visit_Goal(self, goal: ast.Goal) -> str:
        return f"goal {goal.name} on {goal.event}{self.where(goal.condition)}{self.within(goal.within)}"

    def visit_Milestone(self, milestone: ast.Milestone) -> str:
        return (f"milestone {milestone.name} on {milestone.event}"
                f"{self.where(milestone.condition)}{self.within(milestone.within)}")

    def visit_Attribute(self, attribute: ast.Attribute) -> str:
        kind = f": {attribute.type}" if attribute.type else ""
        default = f" = {self.literal(attribute.default)}" if attribute.has_default else ""
        return f"attribute {attribute.name}{kind}{default}"

    def visit_Variable(self, variable: ast.Variable) -> str:
        kind = f": {variable.type}" if variable.type else ""
        return f"var {variable.name}{kind} = {self.literal(variable.default)}"

    def visit_Handler(self, handler: ast.Handler, index: int) -> Block:
        self.depth += 1
        items: list = [(("action", index, k), self.action(action))
                       for k, action in enumerate(handler.actions)]
        if handler.target is not None:
            items.append((("jump", index), f"-> {self.name(handler.target)}"))
        self.depth -= 1
        return Block(f"on {self.name(handler.event)}{self.where(handler.condition)}", items)

    def action(self, step: ast.Step) -> str:
        """A handler's instant action: a step without a name or an arrow."""
        return getattr(self, f"visit_{type(step).__name__}")(step, None)

    def visit_ExitRule(self, rule: ast.ExitRule) -> str:
        return f"exit on {rule.event}{self.where(rule.condition)} as {rule.outcome}"

    def visit_Policy(self, policy: ast.Policy) -> Block:
        items: list = [(("cap", i), self.visit_Cap(cap)) for i, cap in enumerate(policy.caps)]
        if policy.quiet is not None:
            items.append((("quiet",), self.visit_QuietHours(policy.quiet)))
        if policy.consent:
            items.append((("consent",), "consent " + ", ".join(policy.consent)))
        if policy.holdout is not None:
            items.append((("holdout",), f"holdout {percent(policy.holdout)}"))
        if policy.promo is not None:
            items.append((("promo",), f"promo {percent(policy.promo)}"))
        return Block("policy", items)

    def visit_Cap(self, cap: ast.Cap) -> str:
        channels = f" on {', '.join(cap.channels)}" if cap.channels else ""
        per = f"calendar {cap.calendar}" if cap.calendar else format_duration(cap.per)
        return f"cap {cap.messages} messages per {per}{channels}"

    def visit_QuietHours(self, quiet: ast.QuietHours) -> str:
        return f"quiet {format_time(quiet.start)}-{format_time(quiet.end)}"

    def visit_Template(self, template: ast.Template, index: int) -> "str | Block":
        if len(template.texts) == 1 and template.texts[0].locale is None:
            return f"template {template.name} {self.text(template.texts[0].text)}"
        self.depth += 1  # locale texts sit one level deeper than the template line
        texts = [(("locale", index, j), self.visit_TemplateText(t))
                 for j, t in enumerate(template.texts)]
        self.depth -= 1
        return Block(f"template {template.name}", texts)

    def visit_TemplateText(self, text: ast.TemplateText) -> str:
        return f"{text.locale}: {self.text(text.text)}"

    # --- stages and steps -------------------------------------------------------------------

    def visit_Stage(self, stage: ast.Stage, index: int) -> Block:
        header = f"stage {stage.name}" + (f" {quote(stage.title)}" if stage.title is not None else "")
        self.depth += 1
        kpis = [(("kpi", index, k), self.visit_Kpi(kpi)) for k, kpi in enumerate(stage.kpis)]
        steps = [(("step", index, j), self.step(step, index, j))
                 for j, step in enumerate(stage.steps)]
        self.depth -= 1
        return Block(header, kpis + steps)

    def visit_Kpi(self, kpi: ast.Kpi) -> str:
        title = f" {quote(kpi.title)}" if kpi.title is not None else ""
        at = f" at {kpi.step}" if kpi.step is not None else ""
        return (f"kpi {kpi.name}{title} on {kpi.event}{self.where(kpi.condition)}"
                f"{self.within(kpi.within)} baseline {percent(kpi.baseline)}"
                f" target {percent(kpi.target)}{at}")

    def step(self, step: ast.Step, stage: int, index: int) -> "str | Block | _Parts":
        label = "" if step.is_auto_named else f"{step.name}: "
        body = getattr(self, f"visit_{type(step).__name__}")(step, (stage, index))
        if isinstance(body, Block):
            return Block(label + body.header, body.children)
        return _Parts(label + body)

    def visit_Send(self, step: ast.Send, at) -> str:
        template = step.template
        shown = (self.name(template) if isinstance(template, ast.ParamRef)
                 else template if _NAME.match(template) else quote(template))
        kind = "promo " if step.promo else "transactional " if step.transactional else ""
        channels = ", ".join(self.name(c) for c in step.channels)
        return (f"send {kind}via {channels} template {shown}"
                f"{self.params(step.params)}{self.arrow(step)}")

    def visit_Wait(self, step: ast.Wait, at) -> str:
        return f"wait {self.duration(step.duration)}{self.arrow(step)}"

    def visit_WaitUntil(self, step: ast.WaitUntil, at) -> str:
        return f"wait until {format_time(step.time)}{self.arrow(step)}"

    def visit_WaitDay(self, step: ast.WaitDay, at) -> str:
        return f"wait until day {step.day} at {format_time(step.time)}{self.arrow(step)}"

    def visit_WaitSchedule(self, step: ast.WaitSchedule, at) -> str:
        return f"wait until next {schedule_text(step.schedule)}{self.arrow(step)}"

    def visit_WaitEvent(self, step: ast.WaitEvent, at) -> "str | Block":
        timeout = f"timeout -> {self.name(step.next)}" if step.next is not None else None
        if len(step.arms) == 1:  # `wait for E [where C] [within D] [-> T] [timeout -> N]`
            arm = step.arms[0]
            target = f" -> {self.name(arm.target)}" if arm.target is not None else ""
            return (f"wait for {self.name(arm.event)}{self.where(arm.condition)}"
                    f"{self.within(step.within)}{target}" + (f" {timeout}" if timeout else ""))
        arms: list = [(("arm", *at, k), self.visit_EventArm(arm)) for k, arm in enumerate(step.arms)]
        if timeout:
            arms.append((("timeout", *at), timeout))
        return Block(f"wait{self.within(step.within)}", arms)

    def visit_EventArm(self, arm: ast.EventArm) -> str:
        target = f" -> {self.name(arm.target)}" if arm.target is not None else ""
        return f"on {self.name(arm.event)}{self.where(arm.condition)}{target}"

    def visit_Branch(self, step: ast.Branch, at) -> Block:
        arms: list = [(("arm", *at, k), self.visit_BranchArm(arm)) for k, arm in enumerate(step.arms)]
        if step.default is not None:
            arms.append((("default", *at), f"else -> {self.name(step.default)}"))
        return Block("branch", arms)

    def visit_BranchArm(self, arm: ast.BranchArm) -> str:
        return f"when {unparse(arm.condition)} -> {self.name(arm.target)}"

    def visit_Split(self, step: ast.Split, at) -> Block:
        return Block("split", [(("arm", *at, k), self.visit_SplitArm(arm))
                               for k, arm in enumerate(step.arms)])

    def visit_SplitArm(self, arm: ast.SplitArm) -> str:
        where = "holdout" if arm.holdout else f"-> {self.name(arm.target)}"
        return f"{arm.name} {percent(arm.percent)} {where}"

    def visit_Tag(self, step: ast.Tag, at) -> str:
        return f"tag {', '.join(map(self.string, step.tags))}{self.arrow(step)}"

    def visit_Untag(self, step: ast.Untag, at) -> str:
        return f"untag {', '.join(map(self.string, step.tags))}{self.arrow(step)}"

    def visit_SetAttribute(self, step: ast.SetAttribute, at) -> str:
        return f"set {step.attribute} = {unparse(step.value)}{self.arrow(step)}"

    def visit_Coupon(self, step: ast.Coupon, at) -> str:
        text = f"coupon {self.string(step.code)}"
        if step.value is not None:
            value = step.value
            text += f" value {self.name(value) if isinstance(value, ast.ParamRef) else number(value, whole=True)}"
        if step.expires is not None:
            text += f" expires {self.duration(step.expires)}"
        return text + self.arrow(step)

    def visit_Handoff(self, step: ast.Handoff, at) -> str:
        note = f" note {self.text(step.note)}" if step.note is not None else ""
        return f"handoff to {self.name(step.role)}{self.within(step.within)}{note}{self.arrow(step)}"

    def visit_Webhook(self, step: ast.Webhook, at) -> str:
        return f"webhook {self.string(step.url)}{self.arrow(step)}"

    def visit_Emit(self, step: ast.Emit, at) -> str:
        return f"emit {self.name(step.event)}{self.params(step.params)}{self.arrow(step)}"

    def visit_Escalate(self, step: ast.Escalate, at) -> Block:
        target = f" -> {self.name(step.target)}" if step.target is not None else ""
        header = (f"escalate until {self.name(step.event)}{self.where(step.condition)}"
                  f"{self.within(step.within)}{target}")
        rungs: list = [(("arm", *at, k), self.visit_Rung(rung, at))
                       for k, rung in enumerate(step.rungs)]
        if step.next is not None:
            rungs.append((("timeout", *at), f"breach -> {self.name(step.next)}"))
        return Block(header, rungs)

    def visit_Rung(self, rung: ast.Rung, at) -> str:
        action = getattr(self, f"visit_{type(rung.action).__name__}")(rung.action, at)
        return f"at {self.duration(rung.after) if rung.after else '0m'}: {action}"

    def visit_Goto(self, step: ast.Goto, at) -> str:
        return f"goto {self.name(step.target)}"

    def visit_Exit(self, step: ast.Exit, at) -> str:
        return f"exit {self.name(step.outcome)}"

    def visit_Use(self, step: "ast.Use", at) -> str:
        args = ", ".join(f"{a.name}: {self.use_value(a.value)}" for a in step.args)
        return f"use {step.fragment}" + (f" with {{{args}}}" if args else "")

    def use_value(self, value) -> str:
        """``use`` arguments keep names and durations bare (``channel: sms, wait: 14d``)."""
        if isinstance(value, str) and value not in _WORDS and (
                _NAME.match(value) or _DURATION.match(value)):
            return value
        return self.literal(value)


class _Parts(str):
    """A one-line step whose parts (arms, timeout) may carry comments of their own."""


def print_journey(journey: ast.Journey, comments: CommentMap | None = None) -> str:
    """Canonical DSL text for ``journey`` (with ``comments`` put back where they were)."""
    return _Printer(comments).print(journey)


class _Printer(DslPrinter):
    def item(self, key, node, below=False):
        super().item(key, node, below or isinstance(node, _Parts))
