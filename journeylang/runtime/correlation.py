"""Runtime correlation keys (``correlate by order_id``): the key an event carries, and whether it
is a run's."""
from __future__ import annotations

import json

_SINGLE = (str, int, float, bool)


MISSING, NOT_SINGLE = "missing", "not a single value"


def key_of(data: dict, path: tuple[str, ...]) -> tuple[object, str | None]:
    """(the key's value in event ``data``, None), or (None, MISSING or NOT_SINGLE)."""
    value = data
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return None, MISSING
    if type(value) not in _SINGLE:
        return None, NOT_SINGLE
    return value, None


def unusable(problem: str, path: tuple[str, ...], entry: bool = False) -> str:
    """Why an event (or an entry event) has no usable key, for the history."""
    dotted = ".".join(path)
    subject, owner = ("the entry event", "the entry event's") if entry else ("it", "its")
    if problem == MISSING:
        return f"{subject} has no {dotted}"
    return f"{owner} {dotted} is not a single value"


def same_key(a, b) -> bool:
    """Keys compare as JSON values: 42 and 42.0 are one key, 42 and "42" (or true and 1) two."""
    return (type(a) is bool) == (type(b) is bool) and (type(a) is str) == (type(b) is str) \
        and a == b


def shown(path: tuple[str, ...], value) -> str:
    """``order_id "A1"``, as the history and status write a key."""
    return f"{'.'.join(path)} {json.dumps(value, ensure_ascii=False)}"


def with_key(data: dict, path: tuple[str, ...], value) -> dict:
    """``data`` with the key set at ``path`` unless it already has one there."""
    if key_of(data, path)[1] is None:
        return data
    holder = data
    for part in path[:-1]:
        if not isinstance(holder.get(part), dict):
            holder[part] = {}
        holder = holder[part]
    holder[path[-1]] = value
    return data
