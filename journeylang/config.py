"""Lint configuration: ``[tool.journeylang]`` in pyproject.toml or a ``.journeylang.toml`` file."""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import field
from pathlib import Path

from .ast import ATTRIBUTE_TYPES, CHANNELS
from .diagnostics import Severity
from .limits import MAX_FILE_BYTES, MAX_NESTING, MAX_NUMBER, MAX_WHOLE
from .records import record
from .semantics import OPT_OUT_EVENTS, value_type

CONFIG_FILE = ".journeylang.toml"
SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}
_KEYS = ("select", "ignore", "severity", "channels", "schema", "opt_out_events", "naming",
         "channel_limits", "content", "segments", "default_locale", "versions")
_SCHEMA_KEYS = ("attributes", "events")
_CONTENT_KEYS = ("builtin", "categories", "rules")
_WORDING_KEYS = ("name", "phrases", "locales", "severity", "message", "hint")
# the default naming convention (JL505): lower snake_case, or Chinese (CJK ideographs), mixed
# freely: 提醒, 提醒_2, vip_提醒; the grammar's names minus capitals
CJK = "\u4e00-\u9fff"
DEFAULT_NAMING = rf"^[a-z{CJK}][a-z0-9_{CJK}]*$"
# the categories of stdlib/content/rulebook.yaml (a test keeps the two in step)
BUILTIN_CATEGORIES = ("absolute_claims", "pressure", "induced_sharing")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@record
class WordingRule:
    """Phrases that template texts must not contain (JL721), for some locales or all."""

    name: str
    phrases: tuple[str, ...]
    locales: tuple[str, ...] = ()     # empty: every locale
    severity: Severity = Severity.WARNING
    message: str = ""
    hint: str | None = None
    allow: tuple[str, ...] = ()       # longer phrases that contain a phrase but are fine


@record
class ContentConfig:
    """``[tool.journeylang.content]``: the built-in rulebook (all or some categories) and
    the operator's own wording rules."""

    builtin: bool = True
    categories: tuple[str, ...] = BUILTIN_CATEGORIES
    rules: tuple[WordingRule, ...] = ()


@record
class DeclaredAttribute:
    """A customer attribute the shared schema declares: its type and, with ``has_default``,
    the value it has while a profile has none."""

    name: str
    type: str | None = None
    default: object = None
    has_default: bool = False


@record
class SegmentText:
    """A named segment: a condition in the DSL's syntax, and where it is written."""

    name: str
    text: str
    file: str
    line: int = 1
    column: int = 1


@record
class LintConfig:
    """What the linter checks and how strictly.

    ``attributes`` and ``events`` are None when no schema is declared: the rules that
    compare names against the schema are then silent.
    """

    select: tuple[str, ...] = ()          # code prefixes to run; empty runs every rule
    ignore: tuple[str, ...] = ()          # code prefixes to skip
    severity: dict[str, Severity | None] = field(default_factory=dict)  # None turns a rule off
    channels: tuple[str, ...] = CHANNELS
    attributes: tuple[str, ...] | None = None
    events: dict[str, tuple[str, ...]] | None = None
    opt_out_events: tuple[str, ...] = OPT_OUT_EVENTS
    naming: str = DEFAULT_NAMING
    channel_limits: dict[str, int] = field(default_factory=dict)  # characters, by channel
    sms_segments: int = 1                 # the SMS segments one message may cost (JL405)
    content: ContentConfig = ContentConfig()
    declared: tuple[DeclaredAttribute, ...] = ()  # typed attributes (with defaults) of the schema
    segments: tuple[SegmentText, ...] = ()
    default_locale: str | None = None
    versions: tuple[str, ...] = ()  # earlier versions' tables (or a state file): migration checks
    path: str | None = None

    def enabled(self, code: str) -> bool:
        if self.select and not code.startswith(tuple(self.select)):
            return False
        if code.startswith(tuple(self.ignore)):
            return False
        return self.severity.get(code, Severity.ERROR) is not None

    def knows_attribute(self, dotted: str) -> bool:
        """True when the schema declares the path or a prefix of it, or declares nothing."""
        if dotted.startswith("event."):
            return self._knows_event_attribute(dotted.split(".")[1])
        if self.attributes is None or dotted.startswith("consent."):
            return True
        return any(dotted == known or dotted.startswith(known + ".") for known in self.attributes)

    def _knows_event_attribute(self, name: str) -> bool:
        """``event.x`` is known when some declared event lists ``x`` (or none lists any)."""
        declared = {a for attrs in (self.events or {}).values() for a in attrs}
        return not declared or name in declared


def find_config(start: Path) -> Path | None:
    """The nearest ``.journeylang.toml``, or pyproject.toml with ``[tool.journeylang]``, upwards."""
    folder = start if start.is_dir() else start.parent
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        own = candidate / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.journeylang" in _read(pyproject):
            return pyproject
    return None


def load_config(path: Path | None) -> LintConfig:
    """Read and validate a configuration file (None gives the defaults)."""
    if path is None:
        return LintConfig()
    text = _read(path)
    _check_nesting(text, path)
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or a number of more than 4,300 digits
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("journeylang", {})
    elif "tool" in data:
        data = _tool_table(data, str(path))
    return _from_table(data, str(path))


def _tool_table(data: dict, where: str) -> dict:
    """``[tool.journeylang]`` copied from a pyproject.toml into ``.journeylang.toml``: its
    keys are read as if written at the top level."""
    tool = _expect(data["tool"], dict, where, "tool")
    others = sorted(set(tool) - {"journeylang"})
    if others:
        raise ConfigError(f"{where}: [tool.{others[0]}] is not journeylang's: "
                          f"{CONFIG_FILE} holds journeylang's keys only, at the top level or "
                          "under [tool.journeylang]")
    top = sorted(set(data) - {"tool"})
    if top:
        raise ConfigError(f"{where}: '{top[0]}' is at the top level and other keys are under "
                          "[tool.journeylang]: write them all in one place (at the top level, "
                          "or all under [tool.journeylang])")
    return _expect(tool.get("journeylang", {}), dict, where, "tool.journeylang")


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: cannot read configuration: larger than "
                              f"{MAX_FILE_BYTES:,} bytes")
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from None


# TOML's tokens that matter for nesting: strings and comments (skipped), and brackets
_TOML_TOKENS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
                          r"|'[^'\n]*'|#[^\n]*|[\[\]{}]")


def _check_nesting(text: str, path: Path) -> None:
    """Arrays and inline tables nest at most MAX_NESTING deep (tomllib recurses)."""
    depth = 0
    for token in _TOML_TOKENS.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, token.start()) + 1
                column = token.start() - (text.rfind("\n", 0, token.start()) + 1) + 1
                raise ConfigError(f"{path}:{line}:{column}: nested more than {MAX_NESTING} "
                                  "levels deep")
        elif bracket in "]}":
            depth -= 1


def _from_table(data: dict, where: str) -> LintConfig:
    _known_keys(data, _KEYS, where, "")
    schema = data.get("schema", {})
    _expect(schema, dict, where, "schema")
    _known_keys(schema, _SCHEMA_KEYS, where, "schema.")
    values: dict = {"path": where}
    for key in ("select", "ignore", "channels", "opt_out_events"):
        if key in data:
            values[key] = tuple(_string_list(data[key], where, key))
    if "naming" in data:
        values["naming"] = _expect(data["naming"], str, where, "naming")
        try:
            re.compile(values["naming"])
        except re.error as exc:
            raise ConfigError(f"{where}: naming: invalid regular expression: {exc}") from None
    if "severity" in data:
        values["severity"] = _severities(_expect(data["severity"], dict, where, "severity"), where)
    if "channel_limits" in data:
        values.update(_channel_limits(_expect(data["channel_limits"], dict, where,
                                              "channel_limits"), where))
    if "attributes" in schema:
        values["attributes"], values["declared"] = _attributes(schema["attributes"], where)
    if "events" in schema:
        values["events"] = _events(schema["events"], where)
    if "content" in data:
        values["content"] = _content(_expect(data["content"], dict, where, "content"), where)
    if "segments" in data:
        values["segments"] = _segments(_expect(data["segments"], dict, where, "segments"), where)
    if "default_locale" in data:
        values["default_locale"] = _expect(data["default_locale"], str, where, "default_locale")
    if "versions" in data:  # relative to the configuration's folder
        values["versions"] = tuple(str(Path(where).parent / p)
                                   for p in _string_list(data["versions"], where, "versions"))
    return LintConfig(**values)


def _channel_limits(table: dict, where: str) -> dict:
    """``channel_limits = { sms = { segments = 2 }, push = 100 }``: an SMS costs segments
    by its encoding; other channels limit characters."""
    characters, found = {}, {}
    for channel, limit in table.items():
        key = f"channel_limits.{channel}"
        if channel == "sms":
            if not isinstance(limit, dict):
                raise ConfigError(
                    f"{where}: {key}: an SMS is now limited by the segments it costs, counted "
                    "by its encoding (GSM-7: 160 characters, 153 per segment of a longer "
                    "message; UCS-2, as soon as one character is outside GSM-7: 70 and 67), "
                    "no longer by characters: write `sms = { segments = 1 }` (the most "
                    "segments one message may cost)")
            _known_keys(limit, ("segments",), where, f"{key}.")
            found["sms_segments"] = _count(limit.get("segments", 1), where, f"{key}.segments")
        else:
            characters[channel] = _count(limit, where, key)
    return {"channel_limits": characters, **found}


def _attributes(value, where: str) -> tuple[tuple[str, ...], tuple[DeclaredAttribute, ...]]:
    """``attributes = ["customer.tier", ...]`` (paths only) or a table of declarations with a
    type and a default: ``customer.points = {type = "number", default = 0}``,
    ``customer.tier = "string"`` (TOML reads the dotted keys as nested tables)."""
    if isinstance(value, list):
        return tuple(_string_list(value, where, "schema.attributes")), ()
    declared = _declarations(_expect(value, dict, where, "schema.attributes"), where, "")
    return tuple(d.name for d in declared), tuple(declared)


def _declarations(table: dict, where: str, prefix: str) -> list[DeclaredAttribute]:
    found = []
    for name, spec in table.items():
        path = f"{prefix}{name}"
        key = f"schema.attributes.{path}"
        if isinstance(spec, dict) and spec and not set(spec) <= {"type", "default"}:
            found += _declarations(spec, where, f"{path}.")  # a table of deeper paths
            continue
        spec = {"type": spec} if isinstance(spec, str) else _expect(spec, dict, where, key)
        kind = spec.get("type")
        if kind is not None and kind not in ATTRIBUTE_TYPES:
            close = difflib.get_close_matches(str(kind), ATTRIBUTE_TYPES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (types: {', '.join(ATTRIBUTE_TYPES)})"
            raise ConfigError(f"{where}: {key}.type: unknown type {kind!r}{hint}")
        default = _default(spec.get("default"), where, key)
        if kind is not None and "default" in spec and value_type(default) != kind:
            raise ConfigError(f"{where}: {key}.default: {default!r} is not a {kind}")
        found.append(DeclaredAttribute(path, kind, default, "default" in spec))
    return found


def _default(value, where: str, key: str):
    """A declared default: a string, true, false, a finite number within +-MAX_NUMBER, or a
    list of them (what the tables and the state file hold as JSON)."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        number = isinstance(item, (int, float)) and not isinstance(item, bool)
        if not (item is None or isinstance(item, (str, bool))
                or number and abs(item) <= MAX_NUMBER):
            raise ConfigError(f"{where}: {key}.default must be a string, true, false, a finite "
                              f"number within +-{MAX_NUMBER:,} or a list of them, not {item!r}")
    return value


def _segments(table: dict, where: str) -> tuple[SegmentText, ...]:
    """``[segments] high_value = "customer.lifetime_value >= 5000"``, placed in the file."""
    text = _read(Path(where)) if Path(where).is_file() else ""
    found = []
    for name, condition in table.items():
        condition = _expect(condition, str, where, f"segments.{name}")
        line, column = _position(text, name, condition)
        found.append(SegmentText(name, condition, where, line, column))
    return tuple(found)


def _position(text: str, key: str, value: str) -> tuple[int, int]:
    """Where a ``key = "value"`` string's text starts in a TOML file (1, 1 when not found)."""
    match = re.search(rf"^\s*\"?{re.escape(key)}\"?\s*=\s*(['\"]{{1,3}})", text, re.M)
    if not match:
        return 1, 1
    offset = match.end()
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _known_keys(table: dict, known, where: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: unknown key '{prefix}{key}'{hint}")


def _expect(value, kind, where: str, key: str):
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ConfigError(f"{where}: {key} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _count(value, where: str, key: str) -> int:
    _expect(value, int, where, key)
    if not 1 <= value <= MAX_WHOLE:
        raise ConfigError(f"{where}: {key} must be a whole number from 1 to {MAX_WHOLE:,}, "
                          f"not {value}")
    return value


def _string_list(value, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _severities(table: dict, where: str) -> dict[str, Severity | None]:
    result = {}
    for code, level in table.items():
        if level == "off":
            result[code] = None
        elif level in SEVERITIES:
            result[code] = SEVERITIES[level]
        else:
            raise ConfigError(f"{where}: severity.{code} must be error, warning, info or off, "
                              f"not {level!r}")
    return result


def _events(value, where: str) -> dict[str, tuple[str, ...]]:
    """``events = ["a", "b"]`` or ``[schema.events] order_paid = ["total"]``."""
    if isinstance(value, list):
        return {name: () for name in _string_list(value, where, "schema.events")}
    table = _expect(value, dict, where, "schema.events")
    return {name: tuple(_string_list(attrs, where, f"schema.events.{name}"))
            for name, attrs in table.items()}


def _content(table: dict, where: str) -> ContentConfig:
    """``[content]``: ``builtin``, ``categories`` and ``rules`` (a list of tables)."""
    _known_keys(table, _CONTENT_KEYS, where, "content.")
    values: dict = {}
    if "builtin" in table:
        values["builtin"] = _expect(table["builtin"], bool, where, "content.builtin")
    if "categories" in table:
        categories = _string_list(table["categories"], where, "content.categories")
        _known_names(categories, BUILTIN_CATEGORIES, where, "content.categories")
        values["categories"] = tuple(categories)
    if "rules" in table:
        rules = _expect(table["rules"], list, where, "content.rules")
        values["rules"] = tuple(_wording_rule(rule, where, f"content.rules[{index}]")
                                for index, rule in enumerate(rules))
    return ContentConfig(**values)


def _wording_rule(table, where: str, key: str) -> WordingRule:
    """One operator rule: ``{name, phrases, locales?, severity?, message?, hint?}``."""
    table = _expect(table, dict, where, key)
    _known_keys(table, _WORDING_KEYS, where, f"{key}.")
    for required in ("name", "phrases"):
        if required not in table:
            raise ConfigError(f"{where}: {key} needs '{required}'")
    name = _expect(table["name"], str, where, f"{key}.name")
    phrases = _string_list(table["phrases"], where, f"{key}.phrases")
    if not phrases or not all(p.strip() for p in phrases):
        raise ConfigError(f"{where}: {key}.phrases must list at least one non-empty phrase")
    level = table.get("severity", "warning")
    if level not in SEVERITIES:
        raise ConfigError(f"{where}: {key}.severity must be error, warning or info, not {level!r}")
    hint = table.get("hint")
    return WordingRule(
        name, tuple(phrases), tuple(_string_list(table.get("locales", []), where, f"{key}.locales")),
        SEVERITIES[level],
        _expect(table.get("message", f"wording rule '{name}'"), str, where, f"{key}.message"),
        None if hint is None else _expect(hint, str, where, f"{key}.hint"))


def _known_names(names, known, where: str, key: str) -> None:
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            raise ConfigError(f"{where}: {key}: unknown category '{name}'{hint}")
