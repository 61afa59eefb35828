"""Simulation input: cohort files (YAML) read into samplers; errors name file, line and column.

A cohort is segments of synthetic customers, each with attribute distributions and a behaviour
model (docs/simulation.md). Loading walks the composed YAML node tree, as the journey frontend
does, so every problem points at its place in the file and never surfaces as a traceback.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ..frontend.yaml_reader import scan
from ..limits import MAX_COHORT_SIZE, MAX_DURATION, MAX_FILE_BYTES, MAX_NUMBER
from ..runtime import parse_time
from ..runtime.policies import valid_zone
from ..semantics import equal, value_type
from ..units import parse_duration

DEFAULT_START = "2026-03-02T00:00:00Z"  # a Monday
# A simulated customer who leaves after a message sends this event, this long after it.
OPT_OUT_EVENT = "unsubscribed"
OPT_OUT_DELAY = 60.0
Sampler = Callable[[random.Random], Any]


class CohortError(ValueError):
    """A cohort file that cannot be used; ``str()`` is ``file:line:column: message``."""

    def __init__(self, file: str, line: int, column: int, message: str):
        self.file, self.line, self.column, self.message = file, line, column, message
        super().__init__(f"{file}:{line}:{column}: {message}")


@dataclass
class Response:
    """After a matching send, or after an event of the customer (``on_event``): with
    probability ``p``, ``count`` events (1 by default), each after its own sampled delay,
    with ``data`` and profile updates (``attributes``)."""

    event: str
    p: float
    delay: Sampler
    data: Sampler
    template: str | None = None
    channel: str | None = None
    step: str | None = None
    on_event: str | None = None       # responds to this event instead of to messages
    count: Sampler | None = None      # how many events a response gives (None: one)
    attributes: Sampler | None = None  # profile updates the events carry
    marks: dict = field(default_factory=dict, compare=False)  # 'response', 'template'... -> (line, col)

    def matches(self, action) -> bool:
        return (self.on_event is None
                and (self.template is None or self.template == action.template)
                and (self.channel is None or self.channel == action.channel)
                and (self.step is None or self.step == action.step))

    def times(self, rng: random.Random) -> int:
        """How many events this response gives (a count distribution, rounded, at least 0)."""
        if self.count is None:
            return 1
        value = self.count(rng)
        return max(0, int(round(value))) if isinstance(value, (int, float)) else 0

    @property
    def after(self) -> str:
        """What the response follows, as the cohort file says it."""
        if self.on_event is not None:
            return f"event {self.on_event}"
        found = [f"{k} {v}" for k, v in (("template", self.template), ("channel", self.channel),
                                         ("step", self.step)) if v is not None]
        return ", ".join(found) or "every message"


@dataclass
class Baseline:
    """An event the customer does on their own: a Poisson process of ``per_day`` events a day."""

    event: str
    per_day: float
    data: Sampler
    attributes: Sampler | None = None


@dataclass
class Segment:
    name: str
    weight: float
    attributes: dict[str, Sampler]
    tags: dict[str, float]
    timezone: Sampler | None
    consent: dict[str, float]
    entry_data: Sampler
    responses: list[Response] = field(default_factory=list)
    baseline: list[Baseline] = field(default_factory=list)
    opt_out: float = 0.0
    fatigue: float = 1.0
    marks: dict = field(default_factory=dict, compare=False)  # attribute -> (line, column)

    def profile(self, rng: random.Random) -> dict:
        found = {name: sample(rng) for name, sample in self.attributes.items()}
        found["tags"] = sorted(t for t, p in self.tags.items() if rng.random() < p)
        if self.timezone is not None:
            found["timezone"] = self.timezone(rng)
        if self.consent:
            found["consent"] = {ch: rng.random() < p for ch, p in self.consent.items()}
        return found


@dataclass
class Cohort:
    name: str
    size: int
    start: float
    arrival: float            # customers enter uniformly over this many seconds after start
    entry_event: str | None   # None: the journey's entry event
    segments: list[Segment]
    path: str = "<cohort>"
    entry_events: tuple[str, ...] = ()  # every event a customer arrives with (entry: a list)
    marks: dict = field(default_factory=dict, compare=False)  # 'entry', 'segments' -> (line, column)

    def segment_for(self, rng: random.Random) -> Segment:
        total = sum(s.weight for s in self.segments)
        point, edge = rng.random() * total, 0.0
        for segment in self.segments:
            edge += segment.weight
            if point < edge:
                return segment
        return self.segments[-1]


# --- loading ---------------------------------------------------------------------------------

def load_cohort(path: str | Path) -> Cohort:
    """Read a cohort file; CohortError (file:line:column: message) for anything unusable."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_FILE_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(str(path), 1, 1, f"cannot read the cohort file: {exc}") from None
    return parse_cohort(text, str(path))


def parse_cohort(text: str, name: str = "<cohort>") -> Cohort:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise CohortError(name, 1, 1, f"the cohort file is larger than {MAX_FILE_BYTES:,} bytes")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for problem in scan(text, name, loader, "a cohort file"):
        span = problem.span  # nesting, size, aliases and tags: before composing recurses
        raise CohortError(name, span.line, span.column, problem.message)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise CohortError(name, line, column, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise CohortError(name, 1, 1, "invalid YAML: nested too deeply") from None
    if root is None:
        raise CohortError(name, 1, 1, "empty cohort file: give at least 'size' and 'segments'")
    return _Reader(name).cohort(root)


_DISTRIBUTIONS = ("categorical", "normal", "lognormal", "uniform", "exponential", "fixed",
                  "poisson", "bernoulli")
MAX_PER_DAY = 1440.0  # baseline events a day: one a minute
MAX_LOG = 36.0        # lognormal mu: a median of e**36 (4.3e15) keeps draws finite
MAX_SIGMA = 10.0      # lognormal sigma
_TOP_KEYS = ("cohort", "size", "start", "arrival", "entry", "segments")
_SEGMENT_KEYS = ("name", "weight", "attributes", "tags", "timezone", "consent", "entry_data",
                 "behaviour")
_BEHAVIOUR_KEYS = ("responses", "baseline", "opt_out", "fatigue")
_RESPONSE_KEYS = ("event", "p", "delay", "within", "after", "data", "count", "attributes")
_BASELINE_KEYS = ("event", "per_day", "data", "attributes")
# where a key belongs, for one written in the wrong place (keys of several places are left out)
_PLACES = {
    **dict.fromkeys(_TOP_KEYS, "at the top of the cohort file"),
    **dict.fromkeys(_SEGMENT_KEYS, "in a segment (an entry of 'segments')"),
    **dict.fromkeys(_BEHAVIOUR_KEYS, "under a segment's 'behaviour'"),
    **dict.fromkeys(("p", "delay", "within", "after", "count"),
                    "in a response (an entry of a segment's 'behaviour: responses')"),
    "per_day": "in a baseline event (an entry of a segment's 'behaviour: baseline')",
}


class _Reader:
    def __init__(self, name: str):
        self.name = name

    def fail(self, node, message: str):
        mark = node.start_mark
        raise CohortError(self.name, mark.line + 1, mark.column + 1, message)

    # --- node shapes ----------------------------------------------------------------------------

    def mapping(self, node, what: str, allowed: tuple[str, ...] | None = None,
                required: tuple[str, ...] = ()) -> dict:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping")
        found: dict = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.fail(key, f"a key in {what} must be a name")
            if allowed is not None and key.value not in allowed:
                self.fail(key, f"unknown key {key.value!r} in {what}: "
                               f"{_where_instead(key.value, allowed)}")
            if key.value in found:
                self.fail(key, f"duplicate key {key.value!r} in {what}")
            found[key.value] = value
        for name in required:
            if name not in found:
                self.fail(node, f"{what} needs {name!r}")
        return found

    def sequence(self, node, what: str) -> list:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        return node.value

    def scalar(self, node, what: str):
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value")
        return self.plain(node, what)

    def plain(self, node: ScalarNode, what: str):
        try:
            return _value(node)
        except _NodeError as exc:
            self.fail(node, f"{what}: {exc.message}")

    def string(self, node, what: str) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str) or not value:
            self.fail(node, f"{what} must be a name, got {value!r}")
        return value

    def number(self, node, what: str, low: float | None = None, high: float | None = None) -> float:
        value = self.scalar(node, what)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.fail(node, f"{what} must be a number, got {value!r}")
        if abs(value) > MAX_NUMBER:  # .inf included
            self.fail(node, f"{what} must be a finite number within +-{MAX_NUMBER:,}, got "
                            f"{node.value}")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (f"at least {_figure(low)}" if high is None else f"at most {_figure(high)}"
                      if low is None else f"between {_figure(low)} and {_figure(high)}")
            self.fail(node, f"{what} must be {bounds}, got {value}")
        return float(value)

    def probability(self, node, what: str) -> float:
        return self.number(node, what, 0.0, 1.0)

    def duration(self, node, what: str) -> float:
        """Seconds (a bare number) or a duration (``2h``), from 0 to MAX_DURATION."""
        value = self.scalar(node, what)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            if not value <= MAX_DURATION:  # NaN included
                self.fail(node, f"{what}: at most {MAX_DURATION:,} seconds (3650d), got "
                                f"{node.value}")
            return float(value)
        try:
            return float(parse_duration(str(value)))
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")

    # --- the cohort ---------------------------------------------------------------------------

    def cohort(self, root) -> Cohort:
        top = self.mapping(root, "the cohort", _TOP_KEYS, ("size", "segments"))
        size = self.number(top["size"], "'size'", 1, MAX_COHORT_SIZE)
        if size != int(size):
            self.fail(top["size"], "'size' must be a whole number")
        start = DEFAULT_START
        if "start" in top:
            value = self.scalar(top["start"], "'start'")
            start = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
        try:
            moment = parse_time(start)
        except ValueError as exc:
            self.fail(top["start"], f"'start': {exc}")
        arrival = self.duration(top["arrival"], "'arrival'") if "arrival" in top else 86400.0
        entries = self.entries(top["entry"]) if "entry" in top else ()
        nodes = self.sequence(top["segments"], "'segments'")
        if not nodes:
            self.fail(top["segments"], "'segments' needs at least one segment")
        segments = [self.segment(node, i) for i, node in enumerate(nodes)]
        seen: set[str] = set()
        for node, seg in zip(nodes, segments):
            if seg.name in seen:
                self.fail(node, f"two segments are named {seg.name!r}")
            seen.add(seg.name)
        if sum(s.weight for s in segments) <= 0:
            self.fail(top["segments"], "the segments' weights add up to 0")
        name = self.string(top["cohort"], "'cohort'") if "cohort" in top else "cohort"
        marks = {key: (top[key].start_mark.line + 1, top[key].start_mark.column + 1)
                 for key in ("entry", "segments") if key in top}
        return Cohort(name, int(size), moment, arrival, entries[0] if entries else None, segments,
                      self.name, tuple(entries), marks)

    def entries(self, node) -> tuple[str, ...]:
        """``entry: contact_added`` or a list of events every customer arrives with."""
        if isinstance(node, SequenceNode):
            found = tuple(self.string(item, "an event of 'entry'") for item in node.value)
            if not found:
                self.fail(node, "'entry' needs at least one event")
            return found
        return (self.string(node, "'entry'"),)

    def segment(self, node, index: int) -> Segment:
        fields = self.mapping(node, f"segment {index + 1}", _SEGMENT_KEYS, ("name",))
        name = self.string(fields["name"], "a segment's 'name'")
        where = f"segment {name!r}"
        weight = self.number(fields["weight"], f"'weight' of {where}", 0) if "weight" in fields else 1.0
        given = self.mapping(fields.get("attributes") or _EMPTY, f"'attributes' of {where}")
        attributes = {key: self.value(value, f"attribute {key!r} of {where}")
                      for key, value in given.items()}
        tags = {key: self.probability(value, f"tag {key!r} of {where}") for key, value in
                self.mapping(fields.get("tags") or _EMPTY, f"'tags' of {where}").items()}
        consent = {key: self.probability(value, f"consent {key!r} of {where}") for key, value in
                   self.mapping(fields.get("consent") or _EMPTY, f"'consent' of {where}").items()}
        timezone = self.timezone(fields["timezone"], where) if "timezone" in fields else None
        entry_data = self.value(fields.get("entry_data") or _EMPTY, f"'entry_data' of {where}")
        segment = Segment(name, weight, attributes, tags, timezone, consent, entry_data,
                          marks={key: (v.start_mark.line + 1, v.start_mark.column + 1)
                                 for key, v in given.items()})
        if "behaviour" in fields:
            self.behaviour(fields["behaviour"], segment, where)
        return segment

    def timezone(self, node, where: str) -> Sampler:
        if isinstance(node, ScalarNode):
            zones = {self.string(node, f"'timezone' of {where}"): (1.0, node)}
        else:
            zones = {key: (self.number(value, f"weight of time zone {key!r}", 0), value)
                     for key, value in self.mapping(node, f"'timezone' of {where}").items()}
        for zone, (_, at) in zones.items():
            if not valid_zone(zone):
                self.fail(at, f"unknown time zone {zone!r}: use an IANA name such as Asia/Shanghai")
        if sum(w for w, _ in zones.values()) <= 0:
            self.fail(node, f"'timezone' of {where} needs weights adding up to more than 0")
        return _categorical([(k, w) for k, (w, _) in zones.items()])

    def behaviour(self, node, segment: Segment, where: str) -> None:
        fields = self.mapping(node, f"'behaviour' of {where}", _BEHAVIOUR_KEYS)
        for item in self.sequence(fields.get("responses") or _EMPTY_LIST, f"'responses' of {where}"):
            segment.responses.append(self.response(item, where))
        for item in self.sequence(fields.get("baseline") or _EMPTY_LIST, f"'baseline' of {where}"):
            part = self.mapping(item, f"a baseline event of {where}", _BASELINE_KEYS,
                                ("event", "per_day"))
            segment.baseline.append(Baseline(
                self.string(part["event"], "'event'"),
                self.number(part["per_day"], "'per_day'", 0, MAX_PER_DAY),
                self.value(part.get("data") or _EMPTY, "'data'"),
                self.updates(part, "a baseline event")))
        if "opt_out" in fields:
            segment.opt_out = self.probability(fields["opt_out"], f"'opt_out' of {where}")
        if "fatigue" in fields:
            segment.fatigue = self.probability(fields["fatigue"], f"'fatigue' of {where}")

    def response(self, node, where: str) -> Response:
        part = self.mapping(node, f"a response of {where}",
                            _RESPONSE_KEYS, ("event", "p"))
        after = self.mapping(part["after"], "'after'", ("template", "channel", "step", "event")) \
            if "after" in part else {}
        if "event" in after and len(after) > 1:
            self.fail(part["after"], "'after' names an event or what a message is (template, "
                                     "channel, step), not both")
        within = self.duration(part["within"], "'within'") if "within" in part else None
        delay = self.delay(part["delay"], "'delay'") if "delay" in part else _fixed(0.0)
        count = self.value(part["count"], "'count'") if "count" in part else None
        if isinstance(count, Const) and (isinstance(count.value, bool) or not isinstance(
                count.value, (int, float)) or count.value < 0):
            self.fail(part["count"], f"'count' must be a number of events (at least 0) or a "
                                     f"distribution, got {count.value!r}")
        marks = {k: (after[k].start_mark.line + 1, after[k].start_mark.column + 1) for k in after}
        marks["response"] = (node.start_mark.line + 1, node.start_mark.column + 1)
        return Response(self.string(part["event"], "'event'"), self.probability(part["p"], "'p'"),
                        _truncated(delay, within), self.value(part.get("data") or _EMPTY, "'data'"),
                        *(self.string(after[k], f"'{k}'") if k in after else None
                          for k in ("template", "channel", "step", "event")),
                        count, self.updates(part, "a response"), marks=marks)

    def updates(self, part: dict, what: str):
        """The profile updates an event carries: ``attributes: {tier: {categorical: ...}}``."""
        if "attributes" not in part:
            return None
        fields = self.mapping(part["attributes"], f"'attributes' of {what}")
        return Record({key: self.value(value, f"attribute {key!r} of {what}")
                       for key, value in fields.items()})

    # --- distributions ------------------------------------------------------------------------

    def delay(self, node, what: str) -> Sampler:
        """A duration distribution: ``2h`` (fixed), or one of fixed, uniform {min, max},
        exponential {mean}, lognormal {median, sigma}."""
        if isinstance(node, ScalarNode):
            return _fixed(self.duration(node, what))
        kind, body = self.one_of(node, what, ("fixed", "uniform", "exponential", "lognormal"))
        if kind == "fixed":
            return _fixed(self.duration(body, what))
        if kind == "uniform":
            part = self.mapping(body, f"{what} uniform", ("min", "max"), ("min", "max"))
            low, high = self.duration(part["min"], "'min'"), self.duration(part["max"], "'max'")
            if high < low:
                self.fail(body, f"{what}: 'max' is smaller than 'min'")
            return Draw("uniform", low, high)
        if kind == "exponential":
            mean = self.duration(self.mapping(body, f"{what} exponential", ("mean",), ("mean",))["mean"],
                                 "'mean'")
            return Draw("exponential", mean) if mean > 0 else _fixed(0.0)
        part = self.mapping(body, f"{what} lognormal", ("median", "sigma"), ("median", "sigma"))
        median = self.duration(part["median"], "'median'")
        sigma = self.number(part["sigma"], "'sigma'", 0, MAX_SIGMA)
        if median <= 0:
            self.fail(part["median"], "'median' must be more than 0")
        return Draw("lognormal", math.log(median), sigma)

    def one_of(self, node, what: str, kinds: tuple[str, ...]):
        fields = self.mapping(node, what)
        if len(fields) != 1 or next(iter(fields)) not in kinds:
            self.fail(node, f"{what} must be one of {', '.join(kinds)} (one key)")
        return next(iter(fields.items()))

    def value(self, node, what: str) -> Sampler:
        """A value: a constant, a nested mapping of values, or a distribution (a mapping with
        one key: categorical, normal, lognormal, uniform)."""
        if isinstance(node, ScalarNode):
            return Const(self.plain(node, what))
        if isinstance(node, SequenceNode):
            return Items([self.value(item, what) for item in node.value])
        fields = self.mapping(node, what)
        if len(fields) == 1 and next(iter(fields)) in _DISTRIBUTIONS:
            return self.distribution(*next(iter(fields.items())), what)
        return Record({key: self.value(value, f"{what}.{key}") for key, value in fields.items()})

    def categorical(self, body, what: str) -> Sampler:
        """Categories typed as any YAML value (``{0: 3, 1: 2}`` draws numbers, ``{"0": 3}``
        text), each with its weight."""
        if not isinstance(body, MappingNode):
            self.fail(body, f"{what} categorical must be a mapping")
        weights: list[tuple] = []
        for key, value in body.value:
            if not isinstance(key, ScalarNode):
                self.fail(key, f"a category in {what} must be a value, not a list or mapping")
            category = self.plain(key, f"category of {what}")
            same = [k for k, _ in weights if equal(k, category)]   # 1 and 1.0, not true and 1
            if same:
                self.fail(key, f"duplicate category {key.value!r} in {what}: the same value as "
                               f"{same[0]!r}")
            weights.append((category, self.number(value, f"weight of {key.value!r}", 0)))
        if sum(w for _, w in weights) <= 0:
            self.fail(body, f"{what}: categorical needs weights adding up to more than 0")
        return _categorical(weights)

    def distribution(self, kind: str, body, what: str) -> Sampler:
        if kind == "categorical":
            return self.categorical(body, what)
        if kind == "fixed":
            return Const(self.scalar(body, what))
        if kind == "poisson":
            part = self.mapping(body, f"{what} poisson", ("mean",), ("mean",))
            return Poisson(self.number(part["mean"], "'mean'", 0))
        if kind == "bernoulli":
            part = self.mapping(body, f"{what} bernoulli", ("p",), ("p",))
            return Bernoulli(self.probability(part["p"], "'p'"))
        names = {"normal": ("mean", "sd"), "lognormal": ("mu", "sigma"), "uniform": ("min", "max"),
                 "exponential": ("mean",)}[kind]
        part = self.mapping(body, f"{what} {kind}", names + ("round",), names)
        a = self.number(part[names[0]], f"'{names[0]}'", 0 if kind == "exponential" else None,
                        MAX_LOG if kind == "lognormal" else None)
        b = self.number(part[names[1]], f"'{names[1]}'", None,
                        MAX_SIGMA if kind == "lognormal" else None) if len(names) == 2 else 0.0
        if kind in ("normal", "lognormal") and b < 0:
            self.fail(part[names[1]], f"'{names[1]}' must be at least 0")
        if kind == "uniform" and b < a:
            self.fail(part["max"], "'max' is smaller than 'min'")
        digits = int(self.number(part["round"], "'round'", 0, 12)) if "round" in part else None
        return Draw(kind, a, b, digits)


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def check_cohort(cohort: Cohort, tables) -> None:
    """CohortError when a response follows a template or step that none of the journeys (their
    compiled ``tables``, one set or a list) has: it could never happen, and the simulation would
    quietly lack it; or when a segment can give a declared attribute a value of another type
    (the text "1" for a number): every condition on it would quietly be false; or when
    responses to events feed themselves with more than one event each (``_check_growth``)."""
    journeys = tables if isinstance(tables, (list, tuple)) else [tables]
    _check_responses(cohort, journeys)
    _check_attribute_types(cohort, journeys)
    _check_growth(cohort)


def _check_growth(cohort: Cohort) -> None:
    """CohortError when a response to an event lies on a cycle of responses to events (its
    events lead back to the event it follows) and can give more than one event each time:
    every turn of the cycle multiplies the customer's events, which grow without bound
    within the horizon (a single event per turn only repeats, as time passes)."""
    for segment in cohort.segments:
        follows: dict[str, set[str]] = {}
        for response in segment.responses:
            if response.on_event is not None and response.p > 0:
                follows.setdefault(response.on_event, set()).add(response.event)
        for response in segment.responses:
            if response.on_event is None or response.p <= 0:
                continue
            most = _most_events(response)
            if most > 1 and response.on_event in _reached(follows, response.event):
                line, column = response.marks.get("response", (1, 1))
                many = "more than one event" if math.isinf(most) else f"up to {most:g} events"
                raise CohortError(
                    cohort.path, line, column,
                    f"segment {segment.name!r}: the response `{response.event}` after event "
                    f"{response.on_event} gives {many} each time, and its events lead back to "
                    f"{response.on_event}: the customer's events would multiply without bound; "
                    "give it one event (no count) or break the cycle")


def _reached(follows: dict[str, set[str]], start: str) -> set[str]:
    """The events that responses to events give, directly or in turn, from ``start``."""
    seen, todo = {start}, [start]
    while todo:
        for following in follows.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def _most_events(response: Response) -> float:
    """The most events one response can give (infinity when its count is a distribution)."""
    count = response.count
    if count is None:
        return 1
    if isinstance(count, Const):
        return max(0, round(count.value))
    if isinstance(count, Categorical):
        numbers = [k for k in count.keys if isinstance(k, (int, float)) and not isinstance(k, bool)]
        return max((round(k) for k in numbers), default=0)
    return math.inf


def _check_responses(cohort: Cohort, journeys: list) -> None:
    known = {"template": {row["template"] for t in journeys for row in t.rows["templates"]},
             "step": {row["step_id"] for t in journeys for row in t.rows["steps"]}}
    names_of = ", ".join(repr(t.journey_id) for t in journeys)
    for segment in cohort.segments:
        for response in segment.responses:
            for key, names in known.items():
                name = getattr(response, key)
                if name is None or name in names:
                    continue
                close = difflib.get_close_matches(name, sorted(names), 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                line, column = response.marks.get(key, (1, 1))
                whose = f"journey {names_of} does" if len(journeys) == 1 else \
                    f"none of the journeys {names_of} do"
                raise CohortError(cohort.path, line, column,
                                  f"a response of segment {segment.name!r} follows {key} "
                                  f"{name!r}, which {whose} not have{hint}")


def _check_attribute_types(cohort: Cohort, journeys: list) -> None:
    declared = {}
    for tables in journeys:
        for row in tables.rows.get("attributes", ()):
            if row["scope"] == "customer" and row["type"]:
                declared.setdefault(row["name"], (row["type"], tables.journey_id))
    for segment in cohort.segments:
        for name, sampler in segment.attributes.items():
            if name not in declared:
                continue
            kind, journey = declared[name]
            wrong = sorted(t or "object" for t in _value_types(sampler) if t != kind)
            if wrong:
                line, column = segment.marks.get(name, (1, 1))
                raise CohortError(cohort.path, line, column,
                                  f"segment {segment.name!r} can give attribute {name!r} a "
                                  f"{wrong[0]} value, but journey {journey!r} declares it a "
                                  f"{kind}; every condition on it would be false (write "
                                  f"{_how_to_write(kind)})")


def _value_types(sampler) -> set:
    """The declared-attribute types (``value_type``) of the values a sampler can draw."""
    if isinstance(sampler, Const):
        return {value_type(sampler.value)}
    if isinstance(sampler, Categorical):
        return {value_type(key) for key in sampler.keys}
    if isinstance(sampler, Bernoulli):
        return {"bool"}
    if isinstance(sampler, Items):
        return {"list"}
    if isinstance(sampler, Record):
        return {None}
    return {"number"}   # normal, lognormal, uniform, exponential, poisson


def _how_to_write(kind: str) -> str:
    return {"number": "numbers unquoted, as 3 or 0.5", "string": "text, quoted if it looks like "
            "a number", "bool": "true or false", "list": "a list, as [a, b]"}[kind]


_EMPTY = MappingNode("tag:yaml.org,2002:map", [])
_EMPTY_LIST = SequenceNode("tag:yaml.org,2002:seq", [])


_CONSTRUCTOR = SafeConstructor()
# YAML 1.2 floats that YAML 1.1 (PyYAML) leaves as text: 1e-9, 2E5 (no dot before the exponent)
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")


def _where_instead(key: str, allowed: tuple[str, ...]) -> str:
    """What to write instead of an unknown key: where it belongs, or a close known key."""
    if key in _PLACES:
        return f"it belongs {_PLACES[key]}"
    close = difflib.get_close_matches(key, allowed, 1)
    return f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"


def _value(node: ScalarNode):
    """A scalar as YAML 1.1 reads it (int, float, bool, null, date or str), except that an
    unquoted number in exponent notation is a float, as in YAML 1.2. A number is finite and
    within +-MAX_NUMBER."""
    if node.tag.endswith(":int") and len(node.value.replace("_", "").lstrip("+-0")) > 20:
        value = math.inf  # too long to convert: out of range anyway
    else:
        try:
            value = _CONSTRUCTOR.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, LookupError) as exc:
            raise _NodeError(node, f"cannot read {node.value!r}: {exc}") from None
        finally:
            _CONSTRUCTOR.constructed_objects.clear()  # keep no nodes alive between files
    if isinstance(value, str) and node.style is None and _FLOAT.match(value):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and not abs(value) <= MAX_NUMBER:
        raise _NodeError(node, f"the number {node.value} is out of range: numbers are finite "
                               f"and within +-{MAX_NUMBER:,}")
    return value


class _NodeError(Exception):
    """A scalar that cannot be a value; the reader turns it into a CohortError at the node."""

    def __init__(self, node, message: str):
        self.node, self.message = node, message


# --- samplers: callables on a random.Random, whose parameters the vectorised engine reads ------

@dataclass(frozen=True)
class Const:
    value: Any

    def __call__(self, rng: random.Random):
        return self.value


@dataclass(frozen=True)
class Draw:
    """A numeric distribution: normal (mean, sd), lognormal (mu, sigma), uniform (min, max) or
    exponential (mean); ``digits`` rounds (0: whole numbers)."""

    kind: str
    a: float
    b: float = 0.0
    digits: int | None = None

    def __call__(self, rng: random.Random):
        a, b = self.a, self.b
        if self.kind == "normal":
            value = rng.gauss(a, b)
        elif self.kind == "lognormal":
            value = rng.lognormvariate(a, b)
        elif self.kind == "uniform":
            value = rng.uniform(a, b)
        else:
            value = rng.expovariate(1.0 / a) if a > 0 else 0.0
        if self.digits is None:
            return value
        return round(value, self.digits) if self.digits else int(round(value))


@dataclass(frozen=True)
class Categorical:
    keys: tuple
    cumulative: tuple
    total: float

    def __call__(self, rng: random.Random):
        point = rng.random() * self.total
        for key, edge in zip(self.keys, self.cumulative):
            if point < edge:
                return key
        return self.keys[-1]


@dataclass(frozen=True)
class Record:
    """A mapping of values (nested objects)."""

    parts: dict

    def __call__(self, rng: random.Random):
        return {key: part(rng) for key, part in self.parts.items()}


@dataclass(frozen=True)
class Items:
    items: list

    def __call__(self, rng: random.Random):
        return [item(rng) for item in self.items]


@dataclass(frozen=True)
class Truncated:
    """A delay conditioned on being at most ``within``: redrawn a few times, then uniform."""

    delay: Sampler
    within: float
    tries: int = 20

    def __call__(self, rng: random.Random) -> float:
        for _ in range(self.tries):
            value = self.delay(rng)
            if value <= self.within:
                return value
        return rng.uniform(0.0, self.within)


@dataclass(frozen=True)
class Poisson:
    """A count: Poisson with ``mean`` (2.5 invitations per person)."""

    mean: float

    def __call__(self, rng: random.Random) -> int:
        # Knuth's product of uniforms for small means, a rounded normal beyond 50
        if self.mean > 50:
            return max(0, int(round(rng.gauss(self.mean, math.sqrt(self.mean)))))
        limit, count, product = math.exp(-self.mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count


@dataclass(frozen=True)
class Bernoulli:
    """true with probability ``p``, else false."""

    p: float

    def __call__(self, rng: random.Random) -> bool:
        return rng.random() < self.p


def _fixed(value: float) -> Sampler:
    return Const(value)


def _categorical(weights: list[tuple]) -> Sampler:
    """A draw among ``(category, weight)`` pairs."""
    cumulative, total = [], 0.0
    for _, w in weights:
        total += w
        cumulative.append(total)
    return Categorical(tuple(k for k, _ in weights), tuple(cumulative), total)


def _truncated(delay: Sampler, within: float | None) -> Sampler:
    return delay if within is None else Truncated(delay, within)
