"""The YAML printer: the model as a YAML journey, one method per node type."""
from __future__ import annotations

import yaml

from .. import ast
from ..expressions import schedule_text, unparse
from ..units import format_duration, format_time
from .dsl import number


class _Key(str):
    """A mapping key written plain even where YAML 1.1 would read it as a boolean (``on``)."""


class _Dumper(yaml.SafeDumper):
    pass


def _key(dumper, value):
    # tagged as a boolean so the emitter sees `on` as resolving implicitly and leaves it plain;
    # the YAML frontend reads keys as text
    tag = "tag:yaml.org,2002:bool" if value in ("on",) else "tag:yaml.org,2002:str"
    return dumper.represent_scalar(tag, str(value))


def _text(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Flow(dict):
    """A small mapping of scalars, written on one line: ``{via: wecom, template: t}``."""


class _FlowList(list):
    pass


def _flow(dumper, value):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=True)


def _flow_list(dumper, value):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


class _Block(dict):
    """A step: always in block style (``- wait: 1h``, never ``- {wait: 1h}``)."""


class _Quoted(str):
    """A condition: always quoted, as the docs advise."""


def _quoted(dumper, value):
    style = "'" if '"' in value else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=style)


def _styled(data, depth: int = 0):
    """Leaf mappings and lists that fit on a line go in flow style, the rest in block style."""
    if isinstance(data, dict):
        items = {k: _styled(v, depth + 1) for k, v in data.items()}
        leaf = all(not isinstance(v, (dict, list)) or isinstance(v, _FlowList)
                   for v in items.values())
        small = leaf and depth > 0 and not isinstance(data, _Block) and len(repr(data)) <= 80 and not any(
            isinstance(v, str) and "\n" in v for v in items.values())
        return _Flow(items) if small else items
    if isinstance(data, list):
        items = [_styled(v, depth + 1) for v in data]
        if all(isinstance(v, (str, int, float)) for v in items) and len(repr(data)) <= 60:
            return _FlowList(items)
        return items
    return data


_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(_Quoted, _quoted)
_Dumper.add_representer(_FlowList, _flow_list)
_Dumper.add_representer(_Key, _key)
_Dumper.add_representer(str, _text)


def _mapping(**items) -> dict:
    """A mapping without the entries that are None; ``on_`` style names lose the underscore."""
    return {_Key(k.rstrip("_")): v for k, v in items.items() if v is not None}


def _duration(seconds):
    return None if seconds is None else format_duration(seconds)


def _percent(value):
    return None if value is None else number(value, whole=True) + "%"


def _condition(expr):
    return None if expr is None else _Quoted(unparse(expr))


class YamlPrinter:
    """Builds plain data in the YAML form's layout, then dumps it. ``commented`` holds the
    anchor keys (printer/comments.py) that comments will be written beside: a template or a
    step with comments on its parts is laid out a part a line."""

    def __init__(self, commented=frozenset()):
        self.commented = {key[:3] if key[0] in ("arm", "timeout", "default") else key[:2]
                          for key in commented}

    def print(self, journey: ast.Journey) -> str:
        data = self.visit_Journey(journey)
        return yaml.dump(_styled(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=100)

    def visit_Journey(self, journey: ast.Journey) -> dict:
        reentry = journey.reentry
        explicit = reentry != ast.Reentry() or reentry.span != ast.NO_SPAN
        policy = self.visit_Policy(journey.policy)
        return _mapping(
            journey=journey.id, title=journey.title, version=journey.version,
            owner=journey.owner, description=journey.description, locale=journey.locale,
            migrations=[self.visit_Migration(m, i)
                        for i, m in enumerate(journey.migrations)] or None,
            entry=journey.entry and self.visit_Entry(journey.entry),
            audience=_condition(journey.audience),
            reentry=self.visit_Reentry(reentry) if explicit else None,
            correlate=journey.correlate and journey.correlate.dotted,
            attributes={_Key(a.name): self.visit_Attribute(a) for a in journey.attributes} or None,
            vars={_Key(v.name): self.visit_Variable(v) for v in journey.variables} or None,
            goals=[self.visit_Goal(g) for g in journey.goals] or None,
            milestones=[self.visit_Milestone(m) for m in journey.milestones] or None,
            exits=[self.visit_ExitRule(e) for e in journey.exits] or None,
            outcomes=list(journey.outcomes) or None,
            roles=[self.visit_Role(r) for r in journey.roles] or None,
            expect=journey.volume and self.visit_Volume(journey.volume),
            policy=policy if policy or journey.policy.span != ast.NO_SPAN else None,
            templates={_Key(t.name): self.visit_Template(t, i)
                       for i, t in enumerate(journey.templates)} or None,
            handlers=[self.visit_Handler(h) for h in journey.handlers] or None,
            stages=[self.visit_Stage(s, i) for i, s in enumerate(journey.stages)] or None)

    def visit_Migration(self, migration: ast.Migration, index: int = 0) -> dict:
        moves = {_Key(move.step): move.target for move in migration.moves}
        if ("move", index) in self.commented:
            moves = _Block(moves)
        return _mapping(from_=migration.from_version, steps=moves or None,
                        other=migration.other)

    def visit_Entry(self, entry: ast.Entry) -> dict:
        if entry.schedule is not None:
            return _mapping(every=_Quoted(schedule_text(entry.schedule)),
                            where=_condition(entry.condition))
        return _mapping(on_=entry.event, where=_condition(entry.condition))

    def visit_Role(self, role: ast.Role) -> dict:
        return _mapping(name=role.name, capacity=role.capacity, per=format_duration(role.per))

    def visit_Volume(self, volume: ast.Volume) -> dict:
        return _mapping(entries=volume.entries, per=format_duration(volume.per))

    def visit_Reentry(self, reentry: ast.Reentry) -> str:
        return f"after {format_duration(reentry.after or 0)}" if reentry.mode == "after" \
            else reentry.mode

    def visit_Goal(self, goal: ast.Goal) -> dict:
        return _mapping(name=goal.name, on_=goal.event, where=_condition(goal.condition),
                        within=_duration(goal.within))

    def visit_Milestone(self, milestone: ast.Milestone) -> dict:
        return _mapping(name=milestone.name, on_=milestone.event,
                        where=_condition(milestone.condition), within=_duration(milestone.within))

    def visit_Attribute(self, attribute: ast.Attribute):
        if not attribute.has_default and attribute.type:
            return attribute.type
        return _mapping(type=attribute.type) | ({_Key("default"): attribute.default}
                                               if attribute.has_default else {})

    def visit_Variable(self, variable: ast.Variable):
        if variable.type is None:
            return variable.default
        return _mapping(default=variable.default, type=variable.type) | (
            {_Key("default"): None} if variable.default is None else {})

    def visit_Handler(self, handler: ast.Handler) -> dict:
        actions = [_Block(_mapping(**dict([getattr(self, f"visit_{type(a).__name__}")(a)])))
                   for a in handler.actions]
        return _Block(_mapping(on_=handler.event, where=_condition(handler.condition),
                               do=actions or None, then=handler.target))

    def visit_ExitRule(self, rule: ast.ExitRule) -> dict:
        return _mapping(on_=rule.event, where=_condition(rule.condition), as_=rule.outcome)

    def visit_Policy(self, policy: ast.Policy) -> dict:
        return _mapping(
            cap=[self.visit_Cap(c) for c in policy.caps] or None,
            quiet=policy.quiet and self.visit_QuietHours(policy.quiet),
            consent=list(policy.consent) or None,
            holdout=_percent(policy.holdout), promo=_percent(policy.promo))

    def visit_Cap(self, cap: ast.Cap) -> dict:
        per = f"calendar {cap.calendar}" if cap.calendar else format_duration(cap.per)
        return _mapping(messages=cap.messages, per=per, on_=list(cap.channels) or None)

    def visit_QuietHours(self, quiet: ast.QuietHours) -> str:
        return f"{format_time(quiet.start)}-{format_time(quiet.end)}"

    def visit_Template(self, template: ast.Template, index: int = 0):
        if len(template.texts) == 1 and template.texts[0].locale is None:
            return template.texts[0].text
        texts = {_Key(t.locale): t.text for t in template.texts}
        return _Block(texts) if ("locale", index) in self.commented else texts

    def visit_Stage(self, stage: ast.Stage, index: int = 0) -> dict:
        return _mapping(stage=stage.name, title=stage.title,
                        kpis=[self.visit_Kpi(k) for k in stage.kpis] or None,
                        steps=[self.step(s, (index, j)) for j, s in enumerate(stage.steps)]
                        or None)

    def visit_Kpi(self, kpi: ast.Kpi) -> dict:
        return _mapping(name=kpi.name, title=kpi.title, on_=kpi.event,
                        where=_condition(kpi.condition), within=format_duration(kpi.within),
                        baseline=_percent(kpi.baseline), target=_percent(kpi.target),
                        at=kpi.step)

    def step(self, step: ast.Step, at: tuple = ()) -> dict:
        kind, body = getattr(self, f"visit_{type(step).__name__}")(step)
        if isinstance(body, dict) and any((part, *at) in self.commented
                                          for part in ("arm", "timeout", "default")):
            body = _Block(body)
        then = step.next if isinstance(step, ast.SequentialStep) and not isinstance(
            step, (ast.WaitEvent, ast.Escalate)) else None
        return _Block(_mapping(name=None if step.is_auto_named else step.name, **{kind: body},
                               then=then))

    def params(self, params) -> dict | None:
        return {_Key(p.name): p.value for p in params} or None

    def visit_Send(self, step: ast.Send):
        via = list(step.channels) if step.fallback else step.channel
        return "send", _mapping(via=via, template=step.template,
                                params=self.params(step.params), promo=step.promo or None,
                                transactional=step.transactional or None)

    def visit_Wait(self, step: ast.Wait):
        return "wait", format_duration(step.duration)

    def visit_WaitUntil(self, step: ast.WaitUntil):
        return "wait", _mapping(until=format_time(step.time))

    def visit_WaitDay(self, step: ast.WaitDay):
        return "wait", _mapping(until_day=step.day, at=format_time(step.time))

    def visit_WaitSchedule(self, step: ast.WaitSchedule):
        return "wait", _mapping(until_next=_Quoted(schedule_text(step.schedule)))

    def visit_WaitEvent(self, step: ast.WaitEvent):
        if len(step.arms) == 1:
            arm = step.arms[0]
            return "wait", _mapping(for_=arm.event, where=_condition(arm.condition),
                                    within=_duration(step.within), then=arm.target,
                                    timeout=step.next)
        return "wait", _mapping(on_=[self.visit_EventArm(a) for a in step.arms],
                                within=_duration(step.within), timeout=step.next)

    def visit_EventArm(self, arm: ast.EventArm) -> dict:
        return _mapping(event=arm.event, where=_condition(arm.condition), then=arm.target)

    def visit_Branch(self, step: ast.Branch):
        arms = [self.visit_BranchArm(a) for a in step.arms]
        if step.default is not None:
            arms.append(_mapping(else_=step.default))
        return "branch", arms

    def visit_BranchArm(self, arm: ast.BranchArm) -> dict:
        return _mapping(when=_condition(arm.condition), then=arm.target)

    def visit_Split(self, step: ast.Split):
        return "split", [self.visit_SplitArm(a) for a in step.arms]

    def visit_SplitArm(self, arm: ast.SplitArm) -> dict:
        return _mapping(arm=arm.name, percent=number(arm.percent, whole=True) + "%",
                        then=arm.target, holdout=arm.holdout or None)

    def visit_Tag(self, step: ast.Tag):
        return "tag", step.tags[0] if len(step.tags) == 1 else list(step.tags)

    def visit_Untag(self, step: ast.Untag):
        return "untag", step.tags[0] if len(step.tags) == 1 else list(step.tags)

    def visit_SetAttribute(self, step: ast.SetAttribute):
        if isinstance(step.value, ast.Literal):
            return "set", _mapping(attribute=step.attribute, value=step.value.value) | (
                {_Key("value"): None} if step.value.value is None else {})
        return "set", _mapping(attribute=step.attribute, expr=_condition(step.value))

    def visit_Coupon(self, step: ast.Coupon):
        if step.value is None and step.expires is None:
            return "coupon", step.code
        return "coupon", _mapping(code=step.code, value=step.value,
                                  expires=_duration(step.expires))

    def visit_Handoff(self, step: ast.Handoff):
        return "handoff", _mapping(to=step.role, within=_duration(step.within), note=step.note)

    def visit_Webhook(self, step: ast.Webhook):
        return "webhook", step.url

    def visit_Emit(self, step: ast.Emit):
        if not step.params:
            return "emit", step.event
        return "emit", _mapping(event=step.event, params=self.params(step.params))

    def visit_Escalate(self, step: ast.Escalate):
        return "escalate", _Block(_mapping(
            until=step.event, where=_condition(step.condition), within=_duration(step.within),
            then=step.target, breach=step.next, rungs=[self.visit_Rung(r) for r in step.rungs]))

    def visit_Rung(self, rung: ast.Rung) -> dict:
        kind, body = getattr(self, f"visit_{type(rung.action).__name__}")(rung.action)
        return _mapping(at=_duration(rung.after) if rung.after else "0m", **{kind: body})

    def visit_Goto(self, step: ast.Goto):
        return "goto", step.target

    def visit_Exit(self, step: ast.Exit):
        return "exit", step.outcome

    def visit_Use(self, step):
        if not step.args:
            return "use", step.fragment
        return "use", _mapping(fragment=step.fragment, with_=self.params(step.args))


def print_yaml(journey: ast.Journey, commented=frozenset()) -> str:
    """The YAML form of ``journey`` (see YamlPrinter for ``commented``)."""
    return YamlPrinter(commented).print(journey)
