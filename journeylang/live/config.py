"""Live stage: the one configuration file of `journey serve` and `journey deliver` (TOML).

Everything is checked when a process starts: unknown keys (with a did-you-mean), wrong types,
missing values, and secrets, which only come from environment variables (``*_env`` keys name
them; a secret written in the file itself is refused). Relative paths are relative to the file.
"""
from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..runtime.database import is_postgres
from ..runtime.policies import valid_zone


class ConfigError(Exception):
    """A configuration that cannot run; ``str()`` names the file and the key."""


@dataclass(frozen=True)
class Option:
    kind: type | tuple
    default: object = None
    required: bool = False
    secret: bool = False  # the value names an environment variable holding the secret
    path: bool = False    # a file path, relative to the configuration file


NUMBER = (int, float)
RETRY = {  # every route: how often and how long to try
    "max_attempts": Option(int, 6), "backoff": Option(NUMBER, 2.0),
    "max_backoff": Option(NUMBER, 900.0), "timeout": Option(NUMBER, 10.0),
    "max_age": Option(NUMBER, None),
}
SERVE = {
    "host": Option(str, "127.0.0.1"), "port": Option(int, 8080),
    "batch": Option(int, 2000),            # events applied per transaction at most
    "max_backlog": Option(int, 200_000),   # accepted, not yet applied: above it, 429
    "max_pending": Option(int, 20_000),    # received, not yet committed to the inbox: 503
    "max_body": Option(int, 4 * 1024 * 1024),
    "max_batch": Option(int, 2000),        # events in one batch request
    "future_tolerance": Option(NUMBER, 300.0),
    "poll": Option(NUMBER, 0.2),           # how often to look for events other processes added
    "shutdown_grace": Option(NUMBER, 30.0),
    "access_log": Option(bool, False),
}
AUTH = {"tokens_env": Option(str, secret=True), "hmac_secret_env": Option(str, secret=True),
        "max_skew": Option(NUMBER, 300.0)}
DELIVER = {"batch": Option(int, 50), "lease": Option(NUMBER, 120.0),
           "concurrency": Option(int, 8), "poll": Option(NUMBER, 1.0)}
TOP = {"state": Option(str), "state_env": Option(str, secret=True),
       "journeys": Option(list, []), "timezone": Option(str), "seed": Option(int)}
SECTIONS = ("serve", "auth", "deliver", "channels", "actions")
# messages are routed by channel; an emitted event's row is a record (the runtime applied it)
ACTION_KINDS = ("coupon", "handoff", "webhook")
SECRET_WORDS = ("secret", "token", "tokens", "password", "key")


@dataclass(frozen=True)
class Route:
    """Where a delivery worker sends one kind of action (messages: of one channel)."""

    section: str             # "channels.wecom", "actions.webhook"
    kind: str                # "message", or an action kind
    channel: str | None
    adapter: str
    options: dict
    retry: dict


@dataclass(frozen=True)
class LiveConfig:
    path: Path | None
    state: str
    journeys: tuple[str, ...] = ()
    timezone: str | None = None
    seed: int | None = None
    serve: dict = field(default_factory=dict)
    auth: dict = field(default_factory=dict)
    deliver: dict = field(default_factory=dict)
    routes: tuple[Route, ...] = ()


def load_config(path, environ=None) -> LiveConfig:
    """The configuration in ``path``; ConfigError naming the file and key when it is wrong."""
    from .adapters import ADAPTERS  # adapters declare their own options
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, path, ADAPTERS, os.environ if environ is None else environ)


def parse_config(raw: dict, path: Path | None, adapters: dict, environ) -> LiveConfig:
    reader = _Reader(path, environ)
    top = reader.table(raw, "", {**TOP, **{s: Option(dict, {}) for s in SECTIONS}})
    state = top["state"]
    if not state:
        raise reader.error("state", "say where the state is: a SQLite file or a postgresql:// "
                                    "URL (or state_env naming a variable that holds it)")
    if not is_postgres(state):
        state = str(reader.resolve(state))
    if top["timezone"] is not None and not valid_zone(top["timezone"]):
        raise reader.error("timezone", f"unknown time zone {top['timezone']!r}: use an IANA name "
                                       f"such as Asia/Shanghai")
    journeys = tuple(path for entry in top["journeys"]
                     for path in reader.files(_string(reader, "journeys", entry)))
    routes = [reader.route("channels", name, "message", name, table, adapters)
              for name, table in reader.subtables(raw, "channels").items()]
    for name, table in reader.subtables(raw, "actions").items():
        if name not in ACTION_KINDS:
            raise reader.error(f"actions.{name}", f"not an action kind: use one of "
                                                  f"{', '.join(ACTION_KINDS)} (messages go "
                                                  f"in [channels.NAME])")
        routes.append(reader.route("actions", name, name, None, table, adapters))
    return LiveConfig(path, state, journeys, top["timezone"], top["seed"],
                      reader.table(raw.get("serve", {}), "serve", SERVE),
                      reader.table(raw.get("auth", {}), "auth", AUTH),
                      reader.table(raw.get("deliver", {}), "deliver", DELIVER), tuple(routes))


def _string(reader, key: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise reader.error(key, f"expected file names, found {value!r}")
    return value


class _Reader:
    def __init__(self, path: Path | None, environ):
        self.path, self.environ = path, environ

    def error(self, key: str, message: str) -> ConfigError:
        where = f"{self.path}: " if self.path else ""
        return ConfigError(f"{where}{key}: {message}")

    def resolve(self, name: str) -> Path:
        found = Path(os.path.expanduser(name))
        if not found.is_absolute() and self.path is not None:
            found = self.path.parent / found
        return found

    def files(self, pattern: str) -> list[str]:
        """The files a ``journeys`` entry names: a path, or a glob pattern (sorted)."""
        path = self.resolve(pattern)
        if not any(c in pattern for c in "*?["):
            return [str(path)]
        found = sorted(str(p) for p in path.parent.glob(path.name) if p.is_file())
        if not found:
            raise self.error("journeys", f"{pattern!r} matches no file")
        return found

    def table(self, raw, where: str, options: dict[str, Option]) -> dict:
        if not isinstance(raw, dict):
            raise self.error(where, "expected a table")
        prefix = f"{where}." if where else ""
        for key in raw:
            if key not in options:
                if key in SECRET_WORDS or any(key.endswith(f"_{w}") for w in SECRET_WORDS):
                    raise self.error(prefix + key, f"secrets come from environment variables: "
                                                   f"write {key}_env = \"VARIABLE\"")
                close = difflib.get_close_matches(key, options, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(prefix + key, f"unknown key{hint}; keys here: "
                                               f"{', '.join(sorted(options))}")
        values: dict = {}
        for key, option in options.items():
            name, value = key.removesuffix("_env") if option.secret else key, \
                self._value(raw, key, option, prefix)
            if values.get(name) is not None and value is not None:
                raise self.error(prefix + key, f"give {name} or {key}, not both")
            if value is not None or name not in values:
                values[name] = value
        return values

    def _value(self, raw: dict, key: str, option: Option, prefix: str):
        if key not in raw:
            if option.required:
                raise self.error(prefix + key, "missing")
            return option.default
        value = raw[key]
        kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds).replace("int or float", "a number")
            raise self.error(prefix + key, f"expected {names}, found {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise self.error(prefix + key, "must not be negative")
        if option.secret:
            secret = self.environ.get(value)
            if not secret:
                raise self.error(prefix + key, f"the environment variable {value} is not set")
            return secret
        if option.path:
            return str(self.resolve(value))
        return value

    def subtables(self, raw: dict, section: str) -> dict:
        found = raw.get(section, {})
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise self.error(section, f"expected [{section}.NAME] tables")
        return found

    def route(self, section: str, name: str, kind: str, channel: str | None, table: dict,
              adapters: dict) -> Route:
        where = f"{section}.{name}"
        adapter = table.get("adapter")
        if adapter not in adapters:
            close = difflib.get_close_matches(str(adapter), adapters, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error(f"{where}.adapter", f"unknown adapter {adapter!r}{hint}; adapters: "
                                                 f"{', '.join(sorted(adapters))}")
        own = adapters[adapter].OPTIONS
        values = self.table({k: v for k, v in table.items() if k != "adapter"}, where,
                            {**own, **RETRY})
        retry = {key: values.pop(key) for key in RETRY}
        if retry["max_attempts"] < 1:
            raise self.error(f"{where}.max_attempts", "must be at least 1")
        return Route(where, kind, channel, adapter, values, retry)
