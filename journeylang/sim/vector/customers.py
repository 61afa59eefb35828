"""Vectorised simulation: a block's customers, sampled from the cohort, and their profiles.

A profile is kept as columns by attribute path (float for numbers, bool, object otherwise;
NaN and None are "not in the profile"), drawn for the paths something reads and changed by
``set`` steps and handlers and by the profile updates events carry. Tags, consent, the time
zone and the opt-out flag, which the runtime owns, have columns of their own.
"""
from __future__ import annotations

import numpy as np

from ...runtime.scope import assign, copy_json
from ..cohort import Record
from .columns import as_objects, dig, flatten, sample, typed


def _objects(values: list) -> np.ndarray:
    found = np.empty(len(values), dtype=object)
    found[:] = values
    return found


def _null(n: int, like=None) -> np.ndarray:
    if like is not None and like.dtype.kind == "f":
        return np.full(n, np.nan)
    return _objects([None] * n)


class Customers:
    """Rows ``0 .. n-1`` of a block: segment, arrival, zone, profile, tags, consent, opt-out."""

    def __init__(self, plan, spec, n: int, gen: np.random.Generator):
        self.plan, self.n = plan, n
        cohort = plan.cohort
        cumulative = np.cumsum([s.weight for s in cohort.segments])
        self.seg = np.minimum(np.searchsorted(cumulative, gen.random(n) * cumulative[-1],
                                              side="right"), len(cohort.segments) - 1)
        self.arrival = cohort.start + gen.random(n) * cohort.arrival
        self.zone = np.zeros(n, dtype=np.int64)
        self.zone_name = _objects(list(plan.zone_names))
        self.columns: dict[tuple, np.ndarray] = {}
        self.tags: dict[str, np.ndarray] = {}
        self.consent: dict[str, np.ndarray] = {}
        self.opted_out = np.zeros(n, dtype=bool)
        # row -> the profile's tags / opted_out as a set left them, where the columns above do
        # not say it (tags not a sorted list of distinct texts; opted_out neither true nor null)
        self.written: dict[str, dict[int, object]] = {"tags": {}, "opted_out": {}}
        wanted = plan.reads["profile"]
        pieces: dict[str, dict] = {"columns": {}, "tags": {}, "consent": {}}
        for g, segment in enumerate(cohort.segments):
            rows = np.flatnonzero(self.seg == g)
            k = len(rows)
            for name, sampler in segment.attributes.items():
                for path, leaf in _leaves_of(name, sampler).items():
                    if any(_related(path, p) for p in wanted):
                        pieces["columns"].setdefault(path, []).append((rows, sample(leaf, gen, k)))
            for tag, p in segment.tags.items():
                pieces["tags"].setdefault(tag, []).append((rows, gen.random(k) < p))
            if segment.timezone is not None:
                zones = segment.timezone
                picked = np.searchsorted(np.array(zones.cumulative), gen.random(k) * zones.total,
                                         side="right")
                codes = np.array([plan.zone_names.index(z) for z in zones.keys])
                self.zone[rows] = codes[np.minimum(picked, len(codes) - 1)]
            for channel, p in segment.consent.items():
                pieces["consent"].setdefault(channel, []).append((rows, gen.random(k) < p))
        for path, parts in pieces["columns"].items():
            self.columns[path] = _assemble(n, parts)
        for tag, parts in pieces["tags"].items():
            self.tags[tag] = _assemble(n, parts, fill=False)
        for channel, parts in pieces["consent"].items():
            self.consent[channel] = _assemble(n, parts)

    # --- reading ------------------------------------------------------------------------------

    def value(self, path: tuple, rows: np.ndarray):
        """``customer.<path>`` (without defaults); None when no customer can have it."""
        column = self.columns.get(path)
        if column is not None:
            return column[rows]
        under = [p for p in self.columns if p[:len(path)] == path]
        if under:
            return self._records(path, under, rows)
        for depth in range(len(path) - 1, 0, -1):   # a leaf holding a mapping or a list
            column = self.columns.get(path[:depth])
            if column is not None:
                found = _objects([dig(v, path[depth:]) for v in as_objects(column[rows]).tolist()])
                return typed(found)
        return None

    def _records(self, path: tuple, under: list, rows: np.ndarray) -> np.ndarray:
        values = {p: as_objects(self.columns[p][rows]).tolist() for p in under}
        found = []
        for i in range(len(rows)):
            record: dict = {}
            for p, listed in values.items():
                if listed[i] is not None:
                    holder = record
                    for part in p[len(path):-1]:
                        holder = holder.setdefault(part, {})
                    holder[p[-1]] = listed[i]
            found.append(record or None)
        return _objects(found)

    def has(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Whether each profile has the top-level attribute ``name`` (not null)."""
        found = np.zeros(len(rows), dtype=bool)
        for path, column in self.columns.items():
            if path[0] == name:
                values = column[rows]
                if values.dtype.kind == "f":
                    found |= ~np.isnan(values)
                elif values.dtype == bool:
                    found |= True
                else:
                    found |= np.array([v is not None for v in values.tolist()], dtype=bool)
        return found

    def special(self, name: str, rows: np.ndarray):
        """The attributes the runtime owns: ``tags``, ``consent``, ``timezone``, ``opted_out``
        (None for any other name)."""
        if name == "tags":
            names = sorted(self.tags)
            held = [self.tags[t][rows] for t in names]
            found = _objects([[t for t, col in zip(names, held) if col[i]] for i in range(len(rows))])
        elif name == "consent":
            return self.consent_dict(rows)
        elif name == "timezone":
            return self.zone_name[self.zone[rows]]
        elif name == "opted_out":
            found = _objects([True if v else None for v in self.opted_out[rows].tolist()])
        else:
            return None
        written = self.written[name]
        for i, row in enumerate(rows.tolist() if written else ()):
            if row in written:
                found[i] = written[row]
        return found

    def consent_value(self, channel: str, rows: np.ndarray):
        column = self.consent.get(channel)
        return None if column is None else column[rows]

    def consent_ok(self, channel: str, rows: np.ndarray) -> np.ndarray:
        """``consents(profile, channel)``: exactly true."""
        column = self.consent.get(channel)
        if column is None:
            return np.zeros(len(rows), dtype=bool)
        values = column[rows]
        if values.dtype == bool:
            return values
        return np.array([v is True for v in values.tolist()], dtype=bool)

    def consent_dict(self, rows: np.ndarray):
        channels = sorted(self.consent)
        values = [as_objects(self.consent[c][rows]).tolist() for c in channels]
        found = []
        for i in range(len(rows)):
            record = {c: v[i] for c, v in zip(channels, values) if v[i] is not None}
            found.append(record or None)
        return _objects(found)

    def profile_dict(self, rows: np.ndarray) -> np.ndarray:
        names = sorted({p[0] for p in self.columns})
        found = [dict() for _ in range(len(rows))]
        for name in names:
            values = as_objects(self.value((name,), rows)).tolist()
            for record, value in zip(found, values):
                if value is not None:
                    record[name] = value
        for record, tags in zip(found, self.special("tags", rows).tolist()):
            record["tags"] = tags
        return _objects(found)

    def tag(self, tag: str, rows: np.ndarray):
        column = self.tags.get(tag)
        return False if column is None else column[rows]

    # --- changing -----------------------------------------------------------------------------

    def set(self, path: tuple, rows: np.ndarray, values) -> None:
        """``set customer.<path> = value`` (None deletes): the value replaces whatever the
        profile held at, under or above the path (``runtime.scope.assign``)."""
        if path[0] in self.written:
            self.set_owned(path, rows, values)
            return
        if path == ("timezone",):   # a constant zone name or null (``plan.assignable``)
            if len(rows):
                value = as_objects(values)[0] if isinstance(values, np.ndarray) else values
                self.zone[rows] = self.plan.zone_names.index(
                    value if isinstance(value, str) else None)
            return
        for other in list(self.columns):
            if other != path and (other[:len(path)] == path or path[:len(other)] == other):
                column = self.columns[other]
                if column.dtype == bool:
                    self.columns[other] = column = as_objects(column).copy()
                column[rows] = np.nan if column.dtype.kind == "f" else None
        _write(self.columns, path, rows, values, self.n)

    def set_owned(self, path: tuple, rows: np.ndarray, values) -> None:
        """``set customer.tags`` or ``set customer.opted_out`` (or a path inside them), as
        ``runtime.scope.assign`` changes the profile: the columns say what the runtime reads
        (a tag is held when the value is a list holding it; opted out when it is true), and
        ``written`` keeps a value the columns do not say as it is."""
        name = path[0]
        listed = as_objects(values).tolist() if isinstance(values, np.ndarray) else \
            [values] * len(rows)
        held = self.special(name, rows).tolist()
        written = self.written[name]
        for row, current, value in zip(rows.tolist(), held, listed):
            profile = {} if current is None else {name: copy_json(current)}
            assign(profile, {}, {}, "customer." + ".".join(path), value)
            now = profile.get(name)
            if name == "opted_out":
                self.opted_out[row] = now is True
                plain = now is True or now is None
            else:
                named = {t for t in now if isinstance(t, str)} if isinstance(now, list) else set()
                for tag in set(self.tags) | named:
                    self.tags.setdefault(tag, np.zeros(self.n, dtype=bool))[row] = \
                        isinstance(now, list) and tag in now
                plain = isinstance(now, list) and now == sorted(named)
            if plain:
                written.pop(row, None)
            else:
                written[row] = now

    def opt_out(self, rows: np.ndarray) -> None:
        """An opt-out event: ``profile["opted_out"] = True``."""
        self.opted_out[rows] = True
        for row in rows.tolist() if self.written["opted_out"] else ():
            self.written["opted_out"].pop(row, None)

    def set_tags(self, tags, rows: np.ndarray, on: bool) -> None:
        """``tag`` / ``untag``: the profile's tags become a sorted list of distinct tags (a
        value a set wrote is read as the runtime reads it: a list's items, else none)."""
        written = self.written["tags"]
        for tag in tags:
            column = self.tags.setdefault(tag, np.zeros(self.n, dtype=bool))
            column[rows] = on
        for row in rows.tolist() if written else ():
            if row in written:
                value = written.pop(row)
                current = set(value) if isinstance(value, list) else set()
                current = sorted(current | set(tags) if on else current - set(tags))
                if not all(isinstance(t, str) for t in current):
                    written[row] = current

    def set_consent(self, channel: str, rows: np.ndarray, values) -> None:
        _write(self.consent, channel, rows, values, self.n)


def _write(table: dict, key, rows: np.ndarray, values, n: int) -> None:
    if not isinstance(values, np.ndarray):
        values = typed(_objects([values] * len(rows)))
    column = table.get(key)
    if column is None:
        column = np.full(n, np.nan) if values.dtype.kind == "f" else _objects([None] * n)
    if column.dtype != values.dtype or column.dtype == bool:
        column, values = as_objects(column).copy(), as_objects(values)
    column[rows] = values
    table[key] = column


def _leaves_of(name: str, sampler) -> dict:
    """An attribute's sampler by leaf path (a nested record gives each leaf)."""
    if isinstance(sampler, Record):
        return {(name, *path): leaf for path, leaf in flatten(sampler).items()}
    return {(name,): sampler}


def _related(a: tuple, b: tuple) -> bool:
    """One path is the other, or inside it."""
    shortest = min(len(a), len(b))
    return a[:shortest] == b[:shortest]


def _assemble(n: int, pieces: list, fill=None) -> np.ndarray:
    """One column from per-segment pieces; customers of other segments get ``fill``."""
    covered = sum(len(rows) for rows, _ in pieces) == n
    kinds = {values.dtype.kind for _, values in pieces}
    if kinds == {"f"} and fill is None:
        column = np.full(n, np.nan)
    elif kinds == {"b"} and (covered or fill is False):
        column = np.zeros(n, dtype=bool)
    else:
        column = _objects([fill] * n)
        pieces = [(rows, as_objects(values)) for rows, values in pieces]
    for rows, values in pieces:
        column[rows] = values
    return typed(column) if column.dtype == object else column


__all__ = ["Customers"]
