"""Language server: completion. What the cursor follows picks the list: step and stage names
after `->`, templates after `template`, channels after `via`, events after `on`/`for`,
roles after `handoff to`, fragments after `use` and their parameters in `with {}`,
attributes in conditions, outcomes after `exit`, keywords (with snippets) at the start of a
line, as fit the block the cursor is in; in YAML, the keys the reader accepts where the
cursor is, and values by key. Names come from the current text, or from the last text that
parsed while the current one is broken."""
from __future__ import annotations

import re

from lsprotocol import types

from .. import ast
from ..expand import Library
from ..frontend.yaml import FRAGMENT_TABLE, JOURNEY_TABLE, is_yaml_fragment_file
from ..frontend.yaml_docs import KEY_DOCS
from ..frontend.yaml_shapes import AnyOf, ListOf, OneOrMany, Record, shape_of
from ..templates import TemplateSet
from .analysis import Analysis
from .positions import Lines
from .symbols import ATTRIBUTE, EVENT, OUTCOME, ROLE, STAGE, STEP, TEMPLATE

Item = types.CompletionItem
K = types.CompletionItemKind
_W = r"[\w\u4e00-\u9fff]*"  # a name being typed (possibly empty)

# (pattern of the text before the cursor, what to offer); the first match wins
_HISTORY = "|".join(ast.HISTORY_FUNCTIONS)
_DSL_CONTEXTS = [
    (rf"\bsegment\(\s*{_W}$", "segments"),
    (rf"\b({_HISTORY})\(\s*{_W}$", "events"),
    (rf"\buse\s+(?P<fragment>{_W})\s+with\s*\{{[^}}]*?(?:^|[{{,]\s*)({_W})$", "parameters"),
    (rf"(->|\bgoto)\s*{_W}$", "targets"),
    (rf"\bkpi\b.*\bat\s+{_W}$", "steps"),
    (rf"\bsend\b.*\btemplate\s+{_W}$", "templates"),
    (rf"\bvia\s+{_W}$", "channels"),
    (rf"\b(consent|cap\b.*\bon)\s+([\w,\s]*,\s*)?{_W}$", "channels"),
    (rf"\bhandoff\s+to\s+{_W}$", "roles"),
    (rf"\buse\s+{_W}$", "fragments"),
    (rf"(\bentry\s+on|\bwait\s+for|^\s*on|\b(goal|milestone)\s+{_W}\s+on|\bexit\s+on|\bkpi\b.*\bon|"
     rf"\buntil|\bemit)\s+{_W}$", "events"),
    (rf"(\bexit\s+on\s+{_W}.*\bas|^\s*(?:{_W}:\s*)?exit)\s+{_W}$", "outcomes"),
    (r"\bconsent\.[\w]*$", "consents"),
    (r"(\bwhere|\bwhen|\baudience|\bset|\band|\bor|\bnot|[(=<>!,\[])\s+[\w.]*$", "attributes"),
]

_SNIPPETS = {
    "journey": {
        "owner": 'owner "${1:team}"', "description": 'description "${1:what it is for}"',
        "entry on": "entry on ${1:event}${2: where ${3:condition}}",
        "entry every": "entry every ${1:wednesday at 20:00}",
        "audience": "audience ${1:condition}", "reentry": "reentry ${1|never,always,after 30d|}",
        "correlate": "correlate by ${1:order_id}",
        "goal": "goal ${1:name} on ${2:event} within ${3:7d}",
        "milestone": "milestone ${1:name} on ${2:event} within ${3:7d}",
        "on": "on ${1:event} {\n  ${2:tag \"${3:tag}\"}\n}",
        "attribute": "attribute ${1:name}: ${2|number,string,bool,list|} = ${3:0}",
        "var": "var ${1:name} = ${2:0}", "locale": "locale ${1:zh}",
        "exit on": "exit on ${1:unsubscribed} as ${2:opted_out}",
        "outcomes": "outcomes ${1:name}",
        "policy": "policy {\n  cap ${1:3} messages per ${2:7d}\n  quiet ${3:22:00}-${4:08:00}\n}",
        "role": "role ${1:name} capacity ${2:80} per ${3:1d}",
        "expect": "expect ${1:40} entries per ${2:1d}",
        "template": 'template ${1:name} "${2:text}"',
        "stage": 'stage ${1:name} "${2:title}" {\n  $0\n}',
    },
    "policy": {"cap": "cap ${1:3} messages per ${2:7d}", "quiet": "quiet ${1:22:00}-${2:08:00}",
               "consent": "consent ${1:wecom}", "holdout": "holdout ${1:5}%",
               "promo": "promo ${1:30}%"},
    "stage": {
        "send": "send via ${1:wecom} template ${2:name}",
        "wait": "wait ${1:1d}", "wait until": "wait until ${1:10:00}",
        "wait until next": "wait until next ${1:wednesday at 20:00}",
        "wait until day": "wait until day ${1:3} at ${2:10:00}",
        "send transactional": "send transactional via ${1:wecom} template ${2:name}",
        "wait for": "wait for ${1:replied} within ${2:24h} -> ${3:next} timeout -> ${4:other}",
        "wait within": "wait within ${1:24h} {\n  on ${2:replied} -> ${3:next}\n  timeout -> ${4:other}\n}",
        "branch": "branch {\n  when ${1:condition} -> ${2:step}\n  else -> ${3:step}\n}",
        "split": "split {\n  ${1:a} 50% -> ${2:step}\n  ${3:b} 50% -> ${4:step}\n}",
        "tag": 'tag "${1:tag}"', "untag": 'untag "${1:tag}"',
        "set": "set ${1:customer.attribute} = ${2:value}",
        "coupon": 'coupon "${1:CODE}" value ${2:10} expires ${3:7d}',
        "handoff": 'handoff to ${1:role} within ${2:30m} note "${3:note}"',
        "webhook": 'webhook "${1:https://}"', "emit": "emit ${1:event}",
        "goto": "goto ${1:step}", "exit": "exit ${1:completed}",
        "use": "use ${1:fragment} with { $2 }",
        "escalate": "escalate until ${1:event} within ${2:4h} {\n  at ${3:0m}: handoff to ${4:role}"
                    " within ${5:30m}\n  breach -> ${6:step}\n}",
        "kpi": 'kpi ${1:name} "${2:title}" on ${3:event} within ${4:2h} baseline ${5:20}% '
               "target ${6:30}%",
    },
    "branch": {"when": "when ${1:condition} -> ${2:step}", "else": "else -> ${1:step}"},
    "handler": {"set": "set ${1:customer.attribute} = ${2:value}", "tag": 'tag "${1:tag}"',
                "untag": 'untag "${1:tag}"', "emit": "emit ${1:event}", "->": "-> ${1:step}"},
    "wait": {"on": "on ${1:event} -> ${2:step}", "timeout": "timeout -> ${1:step}"},
    "top": {"journey": 'journey ${1:name} "${2:title}" version 1 {\n  owner "${3:team}"\n  $0\n}',
            "fragment": "fragment ${1:name}(${2:channel: channel = wecom}) {\n  $0\n}"},
}


class _Known:
    """The names the current text shows, with those of the last text that parsed (while the
    current one is broken, its model and some names are only there)."""

    def __init__(self, analysis: Analysis, last_good: Analysis | None):
        self.analysis = analysis
        self.sources = [a for a in (analysis, last_good) if a is not None and a.index is not None]
        self.journey = next((a.model for a in self.sources if a.model is not None), None)
        self.config, self.path = analysis.config, analysis.source.name

    def names(self, kind: str) -> list[str]:
        return list(dict.fromkeys(n for a in self.sources for n in a.index.names(kind)))


def completions(analysis: Analysis, last_good: Analysis | None, lines: Lines,
                position: types.Position, snippets: bool = True) -> list[Item]:
    """``analysis``: of the current text; ``last_good``: of the last text that parsed."""
    before = lines.line(position.line)[:lines.column(position)]
    known = _Known(analysis, last_good)
    if analysis.source.is_yaml:
        return _yaml(known, lines, position, before)
    for pattern, wanted in _DSL_CONTEXTS:
        found = re.search(pattern, before)
        if found:
            return _offer(wanted, known, found)
    if re.fullmatch(rf"\s*(?:{_W}:\s*)?{_W}", before):
        return _keywords(_block(lines.text[:lines.offset(position)]), snippets,
                         labelled=":" in before)
    return []


# --- names -----------------------------------------------------------------------------------------

def _offer(wanted: str, known: _Known, found: re.Match) -> list[Item]:
    journey, config, names = known.journey, known.config, known.names
    if wanted == "targets":
        return ([Item(n, kind=K.Reference, detail="step") for n in names(STEP)]
                + [Item(n, kind=K.Module, detail="stage (its first step)") for n in names(STAGE)
                   if n not in names(STEP)])
    if wanted == "steps":
        return [Item(n, kind=K.Reference, detail="step") for n in names(STEP)]
    if wanted == "templates":
        templates = TemplateSet.for_journey(journey or ast.Journey(""), known.path)
        return [Item(n, kind=K.Text, detail="template", documentation=_first_text(templates, n))
                for n in sorted(templates.names() | set(names(TEMPLATE)))]
    if wanted in ("channels", "consents"):
        return [Item(c, kind=K.EnumMember, detail="channel") for c in config.channels]
    if wanted == "roles":
        declared = [r.name for r in journey.roles] if journey else []
        return [Item(r, kind=K.Class, detail="role") for r in dict.fromkeys(declared + names(ROLE))]
    if wanted == "fragments":
        library = Library.for_file(known.path).fragments
        return [Item(n, kind=K.Module, detail=f.title or "fragment",
                     documentation=_signature(f)) for n, f in sorted(library.items())]
    if wanted == "parameters":
        return _parameters(known.path, found.group("fragment"), found.string)
    if wanted == "events":
        events = names(EVENT) + list(config.events or ()) + list(config.opt_out_events)
        return [Item(e, kind=K.Event, detail="event") for e in dict.fromkeys(events)]
    if wanted == "outcomes":
        declared = journey.outcomes if journey else ()
        return [Item(o, kind=K.EnumMember, detail="outcome")
                for o in dict.fromkeys([*ast.STANDARD_OUTCOMES, *declared, *names(OUTCOME)])]
    if wanted == "attributes":
        return _attributes(known)
    if wanted == "segments":
        return [Item(s.name, kind=K.Constant, detail="segment", documentation=s.text)
                for s in config.segments]
    return []


def _first_text(templates: TemplateSet, name: str) -> str | None:
    texts = templates.locales(name)
    return next(iter(texts.values())).text if texts else None


def _signature(fragment: ast.Fragment) -> str:
    return f"{fragment.name}(" + ", ".join(
        f"{p.name}: {p.type}" + ("" if p.required else f" = {p.default}")
        for p in fragment.params) + ")"


def _parameters(path: str, fragment_name: str, before: str) -> list[Item]:
    fragment = Library.for_file(path).fragments.get(fragment_name)
    if fragment is None:
        return []
    given = set(re.findall(r"(\w+)\s*:", before.split("{", 1)[-1]))
    return [Item(p.name, kind=K.Field, insert_text=f"{p.name}: ",
                 detail=f"{p.type}" + (" (required)" if p.required else f" = {p.default}"))
            for p in fragment.params if p.name not in given]


def _attributes(known: _Known) -> list[Item]:
    config = known.config
    paths = known.names(ATTRIBUTE)
    paths += list(config.attributes or ())
    paths += [f"consent.{c}" for c in config.channels]
    paths += [f"event.{a}" for attrs in (config.events or {}).values() for a in attrs]
    items = [Item(p, kind=K.Property, detail="attribute") for p in dict.fromkeys(paths)]
    items += [Item(root, kind=K.Variable, detail="root") for root in ("customer", "event",
                                                                      "consent")]
    items += [Item("has tag", kind=K.Keyword, insert_text='has tag "')]
    items += [Item(f"{function}(", kind=K.Function, detail="event history")
              for function in ast.HISTORY_FUNCTIONS]
    items += [Item(f"segment({s.name})", kind=K.Constant, detail="segment",
                   documentation=s.text) for s in config.segments]
    return items


# --- keywords ------------------------------------------------------------------------------------

def _block(text: str) -> str:
    """The kind of block the end of ``text`` is in: top, journey, policy, stage, branch, wait
    (braces inside strings and comments do not count)."""
    stack, header = [], ""
    for token in re.finditer(r'"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]|[^{}"#]+', text):
        piece = token.group(0)
        if piece == "{":
            stack.append(_kind(header))
            header = ""
        elif piece == "}":
            if stack:
                stack.pop()
            header = ""
        elif not piece.startswith(('"', "#")):
            header = (header + piece)[-200:]
    return stack[-1] if stack else "top"


def _kind(header: str) -> str:
    words = header.split("\n")[-1].split() or [""]
    if words[0] == "on":
        return "handler"
    for keyword in ("journey", "fragment", "policy", "stage", "branch", "split", "escalate"):
        if keyword in words:
            return {"fragment": "stage", "escalate": "ladder"}.get(keyword, keyword)
    if "wait" in words:
        return "wait"
    if "with" in words:
        return "params"
    return "other"


def _keywords(block: str, snippets: bool, labelled: bool) -> list[Item]:
    table = _SNIPPETS.get(block, {})
    if labelled:  # after `label:` only a step body fits
        table = _SNIPPETS["stage"] if block == "stage" else {}
    fmt = types.InsertTextFormat.Snippet if snippets else types.InsertTextFormat.PlainText
    return [Item(word, kind=K.Keyword if not snippets else K.Snippet,
                 insert_text=snippet if snippets else word.split()[0],
                 insert_text_format=fmt, detail=f"{block} item")
            for word, snippet in table.items()]


# --- YAML ------------------------------------------------------------------------------------------

_YAML_VALUES = {"then": "targets", "timeout": "targets", "else": "targets", "goto": "targets",
                "breach": "targets", "template": "templates", "via": "channels",
                "consent": "channels", "to": "roles", "for": "events", "event": "events",
                "until": "events", "emit": "events", "use": "fragments", "fragment": "fragments",
                "exit": "outcomes", "as": "outcomes", "at": "steps", "where": "attributes",
                "when": "attributes", "audience": "attributes", "expr": "attributes"}


def _yaml(known: _Known, lines: Lines, position, before: str) -> list[Item]:
    value = re.match(r"^\s*(?:-\s+)?(?:\{\s*)?(?:[\w]+\s*:\s*[^,{}]*,\s*)*(\w+)\s*:\s+(.*)$", before)
    if value:
        wanted = _YAML_VALUES.get(value.group(1))
        if wanted == "attributes" or (wanted and re.fullmatch(r"[\w\u4e00-\u9fff.]*",
                                                              value.group(2))):
            return _offer(wanted, known, value)
        return []
    key = re.fullmatch(r"(\s*)(-\s+)?(\w*)", before)
    if not key:
        return []
    column = len(key.group(1)) + len(key.group(2) or "")
    record = _record_at(lines, position.line, column, bool(key.group(2)))
    if record is None:
        return []
    present = _sibling_keys(lines, position.line, column, bool(key.group(2)))
    docs = KEY_DOCS.get(record.context, {})
    return [Item(k, kind=K.Property, insert_text=f"{k}: ",
                 detail=("required" if record.keys[k][2] else "optional") + f" in {record.context}",
                 documentation=docs.get(k, (None,))[0])
            for k in record.keys if k not in present]


_KEY_LINE = re.compile(r"^(\s*)(-\s+)?([\w]+)\s*:")


def _record_at(lines: Lines, line: int, column: int, new_item: bool) -> Record | None:
    """The key table of the mapping a key at ``column`` of ``line`` belongs to, found from
    the keys above it (by indentation) and the reader's shapes."""
    path, current = ([] if not new_item else ["[]"]), column
    if new_item:
        current = column - 2
    for number in range(line - 1, -1, -1):
        text = lines.line(number)
        found = _KEY_LINE.match(text)
        if not text.strip() or text.lstrip().startswith("#") or not found:
            continue
        indent, dash, name = len(found.group(1)), found.group(2), found.group(3)
        key_column = indent + len(dash or "")
        if dash and key_column == current:       # a sibling key in the same list entry
            path.insert(0, "[]")
            current = indent
        elif key_column < current:
            path.insert(0, name)
            if dash:
                path.insert(0, "[]")
            current = indent
        if current == 0:
            break
    return _shape_at(path, FRAGMENT_TABLE if is_yaml_fragment_file(lines.text) else JOURNEY_TABLE)


def _shape_at(path: list[str], table) -> Record | None:
    """The record at a path of keys ('[]': an entry of a list) from a file's table (a
    journey's, or a fragment file's)."""
    shape = shape_of(table)
    for step in path:
        if step == "[]":
            shape = _item(shape)
        else:
            record = _record(shape)
            if record is None or step not in record.keys:
                return None
            shape = shape_of(record.keys[step][1])
        if shape is None:
            return None
    return _record(shape)


def _item(shape):
    if isinstance(shape, (ListOf, OneOrMany)):
        return shape_of(shape.item)
    if isinstance(shape, AnyOf):
        for option in shape.options:
            found = _item(shape_of(option))
            if found is not None:
                return found
    return None


def _record(shape):
    """The record a shape is (a choice offers the keys of all its records)."""
    if isinstance(shape, Record):
        return shape
    if isinstance(shape, AnyOf):
        records = [r for r in (_record(shape_of(o)) for o in shape.options) if r is not None]
        if records:
            keys = {k: v for r in records for k, v in r.keys.items()}
            return Record(records[0].context, keys)
    if isinstance(shape, OneOrMany):
        return _record(shape_of(shape.item))
    return None


def _sibling_keys(lines: Lines, line: int, column: int, new_item: bool) -> set[str]:
    """Keys already written at ``column`` in the mapping around ``line`` (only below it when
    the line starts a new list entry)."""
    found = set()
    for step in (1,) if new_item else (-1, 1):
        number = line + step
        while 0 <= number < len(lines.lines):
            text = lines.line(number)
            match = _KEY_LINE.match(text)
            if text.strip() and not text.lstrip().startswith("#"):
                if not match:
                    break
                key_column = len(match.group(1)) + len(match.group(2) or "")
                if key_column < column or (match.group(2) and step == 1):
                    break
                if key_column == column:
                    found.add(match.group(3))
                    if match.group(2):  # the first key of this entry: the entry starts here
                        break
            number += step
    return found
