"""Lint configuration: ``[tool.journeylang]`` in pyproject.toml or a ``.journeylang.toml`` file."""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .ast import CHANNELS
from .diagnostics import Severity
from .limits import MAX_FILE_BYTES, MAX_NESTING, MAX_WHOLE

CONFIG_FILE = ".journeylang.toml"
SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}
_KEYS = ("select", "ignore", "severity", "channels", "schema", "opt_out_events", "naming",
         "channel_limits", "content")
_SCHEMA_KEYS = ("attributes", "events")
_CONTENT_KEYS = ("builtin", "categories", "rules")
_WORDING_KEYS = ("name", "phrases", "locales", "severity", "message", "hint")
# the categories of stdlib/content/rulebook.yaml (a test keeps the two in step)
BUILTIN_CATEGORIES = ("absolute_claims", "pressure", "induced_sharing")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class WordingRule:
    """Phrases that template texts must not contain (JL721), for some locales or all."""

    name: str
    phrases: tuple[str, ...]
    locales: tuple[str, ...] = ()     # empty: every locale
    severity: Severity = Severity.WARNING
    message: str = ""
    hint: str | None = None
    allow: tuple[str, ...] = ()       # longer phrases that contain a phrase but are fine


@dataclass(frozen=True)
class ContentConfig:
    """``[tool.journeylang.content]``: the built-in rulebook (all or some categories) and
    the operator's own wording rules."""

    builtin: bool = True
    categories: tuple[str, ...] = BUILTIN_CATEGORIES
    rules: tuple[WordingRule, ...] = ()


@dataclass(frozen=True)
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
    opt_out_events: tuple[str, ...] = ("unsubscribed", "opted_out", "opt_out", "stop")
    naming: str = r"^[a-z][a-z0-9_]*$"
    channel_limits: dict[str, int] = field(default_factory=lambda: {"sms": 70})
    content: ContentConfig = ContentConfig()
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
    return _from_table(data, str(path))


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
        limits = _expect(data["channel_limits"], dict, where, "channel_limits")
        values["channel_limits"] = {k: _count(v, where, f"channel_limits.{k}")
                                    for k, v in limits.items()}
    if "attributes" in schema:
        values["attributes"] = tuple(_string_list(schema["attributes"], where, "schema.attributes"))
    if "events" in schema:
        values["events"] = _events(schema["events"], where)
    if "content" in data:
        values["content"] = _content(_expect(data["content"], dict, where, "content"), where)
    return LintConfig(**values)


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
