"""Compile stage: lower a checked journey to flat step tables (the runtime's only input)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, ast
from ..expressions import paths_in
from ..graph import BRANCH, DEFAULT, EVENT, GOTO, NEXT, SPLIT, TIMEOUT
from ..templates import TemplateSet
from ..units import format_time
from .conditions import condition_tree, to_tree

FORMAT = "journeylang.tables/1"

# Column types: text, int, real, json; a trailing "?" marks a nullable column. The same schema
# drives every writer and reader, so the three formats load back to equal tables.
SCHEMA: dict[str, tuple[tuple[str, str], ...]] = {
    "journey": (
        ("journey_id", "text"), ("title", "text?"), ("version", "int?"), ("owner", "text?"),
        ("description", "text?"), ("content_hash", "text"), ("source", "text"),
        ("compiled_at", "text"), ("compiler", "text"), ("format", "text"),
        ("start_step", "text?"), ("audience", "json?"), ("reentry", "text"),
        ("reentry_after", "int?"), ("volume", "json?"), ("locale", "text?"),
        ("correlate", "text?")),
    "triggers": (
        ("journey_id", "text"), ("seq", "int"), ("kind", "text"), ("name", "text?"),
        ("event", "text"), ("condition", "json?"), ("within", "int?"), ("outcome", "text?"),
        ("schedule", "json?")),
    "steps": (
        ("journey_id", "text"), ("version", "int?"), ("seq", "int"), ("step_id", "text"),
        ("stage", "text"), ("stage_title", "text?"), ("kind", "text"), ("params", "json"),
        ("line", "int")),
    "transitions": (
        ("journey_id", "text"), ("from_step", "text"), ("seq", "int"), ("kind", "text"),
        ("event", "text?"), ("condition", "json?"), ("weight", "real?"), ("arm", "text?"),
        ("to_step", "text")),
    "templates": (
        ("journey_id", "text"), ("template", "text"), ("locale", "text"), ("text", "text")),
    "policies": (
        ("journey_id", "text"), ("seq", "int"), ("kind", "text"), ("params", "json")),
    "roles": (
        ("journey_id", "text"), ("seq", "int"), ("role", "text"), ("capacity", "int"),
        ("per", "int")),
    "kpis": (
        ("journey_id", "text"), ("seq", "int"), ("name", "text"), ("title", "text?"),
        ("stage", "text"), ("step", "text?"), ("event", "text"), ("condition", "json?"),
        ("within", "int"), ("baseline", "real"), ("target", "real")),
    # always-on event handlers: instant actions (kind and params as in `steps`) and a jump
    "handlers": (
        ("journey_id", "text"), ("seq", "int"), ("event", "text"), ("condition", "json?"),
        ("actions", "json"), ("to_step", "text?")),
    # declared customer attributes (scope "customer") and run-local variables (scope "run")
    "attributes": (
        ("journey_id", "text"), ("seq", "int"), ("scope", "text"), ("name", "text"),
        ("type", "text?"), ("value", "json?"), ("has_default", "int")),
    # how runs of an older version move when this one is loaded: from_step null is `other`;
    # action `move` (to_step set), `stop` or `drain`
    "migrations": (
        ("journey_id", "text"), ("seq", "int"), ("from_version", "int"), ("from_step", "text?"),
        ("action", "text"), ("to_step", "text?")),
}
# Added after the first release of the format (schedules, roles, KPIs): tables written before may lack them.
# Readers fill a missing column with null and a missing table with no rows, so older tables
# (and the versions stored in older state files) still load.
ADDED_COLUMNS = {"journey": ("volume", "locale", "correlate"), "triggers": ("schedule",)}
ADDED_TABLES = ("roles", "kpis", "handlers", "attributes", "migrations")
# Added with event handlers, declared attributes and correlation keys: left out of the content
# hash while null or empty, so a journey that uses none of them keeps the hash (and so the
# version) it had.
UNHASHED_WHEN_EMPTY = {"journey": ("locale", "correlate"), "handlers": (), "attributes": (),
                       "migrations": ()}
# a split's control arm (a holdout arm): the run stays at the split, held out
HOLDOUT_ARM = "holdout"


@dataclass
class Tables:
    """The compiled tables of one journey: rows as dicts in schema column order."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in SCHEMA})

    @property
    def journey(self) -> dict:
        return self.rows["journey"][0]

    @property
    def journey_id(self) -> str:
        return self.journey["journey_id"]

    @property
    def content_hash(self) -> str:
        return self.journey["content_hash"]

    def conditions(self):
        """Every condition of the journey: its audience, triggers, transitions, KPIs and
        handlers."""
        yield self.journey["audience"]
        for name in ("triggers", "transitions", "kpis", "handlers"):
            for row in self.rows.get(name, ()):
                yield row["condition"]

    def trees(self):
        """Every condition and expression tree: the conditions, and the values that set steps
        and handlers' set actions assign."""
        yield from self.conditions()
        for row in self.rows["steps"]:
            if row["kind"] == "set":
                yield row["params"].get("value")
        for row in self.rows.get("handlers", ()):
            for action in row["actions"]:
                if action["kind"] == "set":
                    yield action["params"].get("value")

    def add(self, table: str, **values) -> None:
        self.rows[table].append({column: values.get(column) for column, _ in SCHEMA[table]})

    def to_dict(self) -> dict:
        return {"format": FORMAT, **self.rows}

    def canonical_json(self) -> str:
        """One deterministic text for the whole set (the JSON writer's output): one row a line,
        so a diff of two compilations reads row by row."""
        def row(values: dict) -> str:
            return json.dumps(values, ensure_ascii=False)

        parts = [f' "format": {json.dumps(FORMAT)}']
        for name in SCHEMA:
            rows = ",\n".join(f"  {row(r)}" for r in self.rows[name])
            parts.append(f' "{name}": [\n{rows}\n ]' if rows else f' "{name}": []')
        return "{\n" + ",\n".join(parts) + "\n}\n"


def content_hash(source_text: str, tables: Tables) -> str:
    """sha256 of the source text and of everything compiled from it: fragments the journey
    uses and template files beside it change the hash even when the file itself does not.
    The compile time and the compiler's name are left out, so recompiling keeps the hash."""
    volatile = {"content_hash": "", "compiled_at": "", "compiler": ""}
    rows = {**tables.rows, "journey": [{**tables.journey, **volatile}]}
    for name, columns in UNHASHED_WHEN_EMPTY.items():
        if not columns and not rows.get(name):
            rows.pop(name, None)
        for column in columns:
            rows[name] = [{k: v for k, v in row.items() if k != column or v is not None}
                          for row in rows[name]]
    digest = hashlib.sha256(source_text.encode("utf-8"))
    digest.update(b"\0" + json.dumps(rows, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def default_compiled_at(path: str | Path | None = None) -> str:
    """``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the source file's mtime.

    Never the wall clock: compiling the same unchanged file twice gives identical bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        seconds = int(epoch)
    elif path is not None and Path(path).exists():
        seconds = int(Path(path).stat().st_mtime)
    else:
        seconds = 0
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_journey(journey: ast.Journey, source_text: str, source_name: str,
                    compiled_at: str | None = None, declared=(), default_locale=None) -> Tables:
    """Lower a journey that passed its checks (no errors) to tables. ``declared``: the
    configuration's typed attributes (those with a default that the journey reads are compiled
    in); ``default_locale``: the configuration's, for a journey that names none."""
    tables = Tables()
    resolve = _Targets(journey)
    jid = journey.id
    templates = TemplateSet.for_journey(journey, source_name).sources
    tables.add("journey", journey_id=jid, title=_text(journey.title), version=journey.version,
               owner=_text(journey.owner), description=_text(journey.description),
               content_hash="", source=Path(source_name).name,
               compiled_at=compiled_at or default_compiled_at(None),
               compiler=f"journeylang {__version__}", format=FORMAT, start_step=resolve.start,
               audience=condition_tree(journey.audience), reentry=journey.reentry.mode,
               reentry_after=journey.reentry.after, locale=journey.locale or default_locale,
               correlate=journey.correlate and journey.correlate.dotted)
    _triggers(tables, journey)
    for seq, (stage, step) in enumerate(journey.steps()):
        tables.add("steps", journey_id=jid, version=journey.version, seq=seq, step_id=step.name,
                   stage=stage.name, stage_title=_text(stage.title), kind=step.kind,
                   params=_params(step), line=step.span.line)
        for index, edge in enumerate(_edges(step, resolve)):
            tables.add("transitions", journey_id=jid, from_step=step.name, seq=index, **edge)
    seen = set()
    for template in templates:  # inline texts, then templates/*.j2 files beside the journey
        if (template.name, template.locale) in seen:
            continue  # the first text of a name and locale wins, as in TemplateSet.pick
        seen.add((template.name, template.locale))
        tables.add("templates", journey_id=jid, template=template.name,
                   locale=template.locale or "", text=template.text)
    _policies(tables, journey)
    _roles_and_kpis(tables, journey, resolve)
    _handlers(tables, journey, resolve)
    _attributes(tables, journey, declared, templates)
    _migrations(tables, journey, resolve)
    tables.journey["content_hash"] = content_hash(source_text, tables)
    return tables


def _text(value: str | None) -> str | None:
    """Optional text: empty means absent (CSV cannot tell '' from null)."""
    return value or None


def _volume(volume: ast.Volume | None) -> dict | None:
    return None if volume is None else {"entries": volume.entries, "per": volume.per}


def schedule_params(schedule: ast.Schedule) -> dict:
    """A schedule as table JSON: ``every``, ``time`` (HH:MM), ``weekdays`` (0 = Monday),
    ``day`` and ``month`` (1-12), the unused ones null or empty."""
    return {"every": schedule.every, "time": format_time(schedule.time),
            "weekdays": list(schedule.weekdays), "day": schedule.day, "month": schedule.month}


def _triggers(tables: Tables, journey: ast.Journey) -> None:
    rows = []
    entry = journey.entry
    if entry is not None:
        rows.append(dict(kind="entry", event=entry.event, condition=condition_tree(entry.condition),
                         schedule=None if entry.schedule is None else schedule_params(entry.schedule)))
    rows += [dict(kind="goal", name=g.name, event=g.event, condition=condition_tree(g.condition),
                  within=g.within, outcome="converted") for g in journey.goals]
    rows += [dict(kind="milestone", name=m.name, event=m.event,
                  condition=condition_tree(m.condition), within=m.within)
             for m in journey.milestones]
    rows += [dict(kind="exit", event=e.event, condition=condition_tree(e.condition), outcome=e.outcome)
             for e in journey.exits]
    for seq, row in enumerate(rows):
        tables.add("triggers", journey_id=journey.id, seq=seq, **row)


def _policies(tables: Tables, journey: ast.Journey) -> None:
    policy, rows = journey.policy, []
    rows += [("cap", {"messages": c.messages, "per": c.per, "channels": list(c.channels),
                      **({"calendar": c.calendar} if c.calendar else {})})
             for c in policy.caps]
    if policy.quiet is not None:
        rows.append(("quiet", {"start": format_time(policy.quiet.start),
                               "end": format_time(policy.quiet.end)}))
    if policy.consent:
        rows.append(("consent", {"channels": list(policy.consent)}))
    if policy.holdout is not None:
        rows.append(("holdout", {"percent": policy.holdout}))
    if policy.promo is not None:
        rows.append(("promo", {"percent": policy.promo}))
    for seq, (kind, params) in enumerate(rows):
        tables.add("policies", journey_id=journey.id, seq=seq, kind=kind, params=params)


def _roles_and_kpis(tables: Tables, journey: ast.Journey, resolve: "_Targets") -> None:
    for seq, role in enumerate(journey.roles):
        tables.add("roles", journey_id=journey.id, seq=seq, role=role.name,
                   capacity=role.capacity, per=role.per)
    kpis = [(stage, kpi) for stage in journey.stages for kpi in stage.kpis]
    for seq, (stage, kpi) in enumerate(kpis):
        step = None if kpi.step is None else resolve.step_or_stage(kpi.step)
        tables.add("kpis", journey_id=journey.id, seq=seq, name=kpi.name, title=_text(kpi.title),
                   stage=stage.name, step=step, event=kpi.event,
                   condition=condition_tree(kpi.condition), within=kpi.within,
                   baseline=float(kpi.baseline), target=float(kpi.target))


def _handlers(tables: Tables, journey: ast.Journey, resolve: "_Targets") -> None:
    for seq, handler in enumerate(journey.handlers):
        actions = [{"kind": action.kind, "params": _params(action)} for action in handler.actions]
        tables.add("handlers", journey_id=journey.id, seq=seq, event=handler.event,
                   condition=condition_tree(handler.condition), actions=actions,
                   to_step=None if handler.target is None else resolve.step_or_stage(handler.target))


def _attributes(tables: Tables, journey: ast.Journey, declared, templates) -> None:
    """The journey's own declarations, then the configuration's defaulted attributes that it
    reads (in a condition, a set or a template) and does not declare itself."""
    rows = [("customer", a.name, a.type, a.default, a.has_default) for a in journey.attributes]
    rows += [("run", v.name, v.type, v.default, True) for v in journey.variables]
    own = {a.name for a in journey.attributes}
    read = attributes_read(journey, templates)
    rows += [("customer", d.name.removeprefix("customer."), d.type, d.default, True)
             for d in declared if d.has_default and d.name.startswith("customer.")
             and d.name.removeprefix("customer.") in read - own]
    for seq, (scope, name, kind, value, has_default) in enumerate(rows):
        tables.add("attributes", journey_id=journey.id, seq=seq, scope=scope, name=name,
                   type=kind, value=value, has_default=int(has_default))


def _migrations(tables: Tables, journey: ast.Journey, resolve: "_Targets") -> None:
    rows = []
    for migration in journey.migrations:
        moves = [(m.step, m.target) for m in migration.moves]
        if migration.other is not None:
            moves.append((None, migration.other))
        for source, target in moves:
            action = target if target in ast.MIGRATION_ACTIONS else "move"
            rows.append(dict(from_version=migration.from_version, from_step=source,
                             action=action, to_step=None if action != "move"
                             else resolve.step_or_stage(target)))
    for seq, row in enumerate(rows):
        tables.add("migrations", journey_id=journey.id, seq=seq, **row)


def attributes_read(journey: ast.Journey, templates=()) -> set[str]:
    """The names of the customer attributes (``customer.X``) the journey reads anywhere."""
    found = {path.parts[1] for expr in conditions(journey) for path in paths_in(expr)
             if len(path.parts) > 1 and path.parts[0] == "customer"}
    found |= {step.attribute.split(".")[1] for step in _sets(journey)
              if step.attribute.startswith("customer.")}
    for source in templates:
        found |= {m.group(1) for m in _CUSTOMER_IN_TEMPLATE.finditer(source.text)}
    return found


_CUSTOMER_IN_TEMPLATE = re.compile(r"\bcustomer\.(\w+)")


def conditions(journey: ast.Journey):
    """Every condition and expression of a journey: entry, audience, goals, milestones, exits,
    KPIs, handlers (and their sets), branch and wait arms, set values."""
    if journey.entry is not None:
        yield journey.entry.condition
    yield journey.audience
    for rule in (*journey.goals, *journey.milestones, *journey.exits, *journey.handlers):
        yield rule.condition
    for stage in journey.stages:
        for kpi in stage.kpis:
            yield kpi.condition
    for step in _sets(journey):
        yield step.value
    for _, step in journey.steps():
        if isinstance(step, (ast.Branch, ast.WaitEvent)):
            yield from (arm.condition for arm in step.arms)


def _sets(journey: ast.Journey):
    for _, step in journey.steps():
        if isinstance(step, ast.SetAttribute):
            yield step
    for handler in journey.handlers:
        yield from (a for a in handler.actions if isinstance(a, ast.SetAttribute))


def _named_params(params: tuple[ast.Param, ...]) -> dict:
    return {p.name: p.value for p in params}


def _params(step: ast.Step) -> dict:
    """What a step does, kind by kind; where it goes is in the transitions."""
    match step:
        case ast.Send():
            # keys added after the first release appear only when used, so that the tables
            # (and the content hash) of a journey that does not use them stay as they were
            return {"channel": step.channel, "template": step.template,
                    "params": _named_params(step.params), "promo": step.promo,
                    **({"transactional": True} if step.transactional else {}),
                    **({"fallback": list(step.fallback)} if step.fallback else {})}
        case ast.Wait():
            return {"duration": step.duration}
        case ast.WaitUntil():
            return {"time": format_time(step.time)}
        case ast.WaitDay():
            return {"day": step.day, "time": format_time(step.time)}
        case ast.WaitSchedule():
            return {"schedule": schedule_params(step.schedule)}
        case ast.WaitEvent():
            ladder = {"reached": list(step.reached), "ahead": list(step.ahead)}
            return {"within": step.within, **({"ladder": ladder} if step.reached else {})}
        case ast.Tag() | ast.Untag():
            return {"tags": list(step.tags)}
        case ast.SetAttribute():
            return {"attribute": step.attribute, "value": to_tree(step.value)}
        case ast.Coupon():
            return {"code": step.code, "value": step.value, "expires": step.expires}
        case ast.Handoff():
            return {"role": step.role, "within": step.within, "note": step.note}
        case ast.Webhook():
            return {"url": step.url}
        case ast.Emit():
            return {"event": step.event, "params": _named_params(step.params)}
        case ast.Exit():
            return {"outcome": step.outcome}
    return {}


class _Targets:
    """Step and stage names to step ids, as docs/language.md section 11 defines them.

    A checked journey has unique labels and only known targets, so the graph's node ids are
    the step names; arms are kept in written order here (the graph's edges are not ordered).
    """

    def __init__(self, journey: ast.Journey):
        ordered = [step.name for _, step in journey.steps()]
        self.following = dict(zip(ordered, ordered[1:]))
        self.start = ordered[0] if ordered else None
        self.names = set(ordered)
        self.stages: dict[str, str] = {}
        waiting: list[str] = []
        for stage in journey.stages:
            waiting.append(stage.name)
            if stage.steps:
                for name in waiting:
                    self.stages.setdefault(name, stage.steps[0].name)
                waiting = []

    def __call__(self, step: ast.Step, target: str | None) -> str | None:
        if target is None:
            return self.following.get(step.name)
        return self.step_or_stage(target)

    def step_or_stage(self, target: str) -> str | None:
        return target if target in self.names else self.stages.get(target)


def _edges(step: ast.Step, resolve: _Targets):
    """The transitions out of one step, in the order the runtime tries them."""
    def edge(kind, target, **extra):
        return {"kind": kind, "to_step": resolve(step, target), **extra}

    match step:
        case ast.WaitEvent():
            edges = [edge(EVENT, arm.target, event=arm.event, condition=condition_tree(arm.condition))
                     for arm in step.arms]
            if step.within is not None:
                edges.append(edge(TIMEOUT, step.next))
        case ast.Branch():
            edges = [edge(BRANCH, arm.target, condition=condition_tree(arm.condition)) for arm in step.arms]
            edges.append(edge(DEFAULT, step.default))
        case ast.Split():
            edges = [edge(HOLDOUT_ARM, step.name, weight=float(arm.percent), arm=arm.name)
                     if arm.holdout else edge(SPLIT, arm.target, weight=float(arm.percent),
                                              arm=arm.name) for arm in step.arms]
        case ast.Goto():
            edges = [edge(GOTO, step.target)]
        case ast.Exit():
            edges = []
        case _:
            edges = [edge(GOTO if step.next else NEXT, step.next)]
    return [e for e in edges if e["to_step"] is not None]
