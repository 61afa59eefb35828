"""Runtime data access: what conditions and templates read, and how events change a profile."""
from __future__ import annotations

from typing import Any

import msgspec


class RunScope(msgspec.Struct, gc=False):
    """Paths as docs/runtime.md defines them.

    ``customer.x`` reads the profile (a declared attribute the profile lacks reads as its
    default), ``consent.x`` the profile's ``consent`` object, ``event.x`` the current event's
    data, a declared run-local variable its value in the run; any other root (``cart``,
    ``order``) reads the current event's data first, then the run's context (the trigger's
    business objects). History questions go to ``past`` (a ``History``), when there is one.
    A struct (made in C) as the records of state.py: one is made per condition tested.
    """

    profile: dict
    event: dict
    context: dict
    run_vars: dict | None = None
    defaults: dict | None = None
    past: Any = None

    def resolve(self, parts) -> Any:
        root = parts[0]
        if root == "customer":
            value: Any = self.profile
            if self.defaults and len(parts) > 1 and parts[1] not in self.profile:
                value = {parts[1]: self.defaults.get(parts[1])}
        elif root == "consent":
            value = self.profile.get("consent")
        elif root == "event":
            value = self.event
        elif self.run_vars is not None and root in self.run_vars:
            value = self.run_vars[root]
        elif root in self.event:
            value = self.event[root]
        else:
            value = self.context.get(root)
        if len(parts) == 2:  # most paths: an object and one of its fields
            return value.get(parts[1]) if isinstance(value, dict) else None
        for index in range(1, len(parts)):
            if not isinstance(value, dict):
                return None
            value = value.get(parts[index])
        return value

    def has_tag(self, tag: str) -> bool:
        tags = self.profile.get("tags")
        return isinstance(tags, list) and tag in tags

    def history(self, function, event, field, test, within):
        if self.past is None:
            return None
        return self.past.answer(function, event, field, test, within, self)

    def about(self, event: dict) -> "RunScope":
        """The same scope, reading ``event`` as the current event (a past one, in history)."""
        return RunScope(self.profile, event, self.context, self.run_vars, self.defaults)


def copy_json(value):
    """A deep copy of JSON data (dicts and lists), cheaper than copy.deepcopy."""
    if isinstance(value, dict):  # a scalar is its own copy: no call for it
        return {k: v if type(v) in _ATOMS else copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _ATOMS else copy_json(v) for v in value]
    return value


_SCALARS = (str, int, float, bool)
_ATOMS = frozenset((str, int, float, bool, type(None)))


def merge(target: dict, updates: dict) -> None:
    """Merge attribute updates into a profile: nested objects merge, null deletes, a dotted key
    (``"consent.wecom"``) is a nested path, anything else replaces."""
    for key, value in updates.items():
        if type(key) is str and "." not in key:  # the common case: a plain name
            kind = type(value)
            if kind in _SCALARS:
                target[key] = value  # one flat attribute
            elif value is None:
                target.pop(key, None)
            elif isinstance(value, dict):  # a nested object (``consent``) merges
                if not isinstance(target.get(key), dict):
                    target[key] = {}
                merge(target[key], value)
            else:
                target[key] = copy_json(value)
        elif "." in str(key):
            *parents, last = str(key).split(".")
            holder = target
            for part in parents:
                if not isinstance(holder.get(part), dict):
                    holder[part] = {}
                holder = holder[part]
            merge(holder, {last: value})
        elif value is None:
            target.pop(str(key), None)
        elif isinstance(value, dict):
            if not isinstance(target.get(str(key)), dict):
                target[str(key)] = {}
            merge(target[str(key)], value)
        else:
            target[str(key)] = copy_json(value)


def assign(profile: dict, run_event: dict, context: dict, path: str, value,
           run_vars: dict | None = None) -> None:
    """``set <path> = value``: customer.* and consent.* change the profile, event.* the run's
    current event, a declared variable the run's variable, any other root the run's context."""
    parts = path.split(".")
    root = parts[0]
    if run_vars is not None and root in run_vars and len(parts) == 1:
        run_vars[root] = copy_json(value)
        return
    if root == "customer":
        holder, parts = profile, parts[1:]
    elif root == "consent":
        if not isinstance(profile.get("consent"), dict):
            profile["consent"] = {}
        holder, parts = profile["consent"], parts[1:]
    elif root == "event":
        holder, parts = run_event, parts[1:]
    else:
        holder = context
    if not parts:
        return
    for part in parts[:-1]:
        if not isinstance(holder.get(part), dict):
            holder[part] = {}
        holder = holder[part]
    if value is None:
        holder.pop(parts[-1], None)
    else:
        holder[parts[-1]] = copy_json(value)
