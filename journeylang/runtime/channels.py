"""Runtime output: actions (messages, coupons, handoffs, webhooks, emitted events) and the
channel adapters that take them. The default adapter writes the store's outbox table, inside the
same transaction as the event that caused the action (a transactional outbox)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jinja2 import TemplateSyntaxError, nodes

from ..templates import attribute_path, environment, locale_fallbacks, render_context

QUEUED, CANCELLED, FAILED = "queued", "cancelled", "failed"
# what a delivery worker makes of a queued action (docs/runtime.md, "Running it live")
SENDING, SENT, DELIVERED, DEAD = "sending", "sent", "delivered", "dead"
PENDING = (QUEUED, SENDING)   # on its way: counts towards caps until it fails
SENT_STATUSES = (SENT, DELIVERED)
ACTION_KINDS = ("message", "coupon", "handoff", "webhook", "event")


@dataclass(slots=True)
class Action:
    """One thing the journey asks the outside world to do, numbered in order."""

    id: int
    at: float
    customer: str
    run_id: int
    journey_id: str
    content_hash: str
    step: str
    kind: str                      # one of ACTION_KINDS
    channel: str | None = None     # messages only
    template: str | None = None
    locale: str | None = None
    text: str | None = None        # the rendered message (None when rendering is off)
    payload: dict = field(default_factory=dict)
    due: float | None = None       # handoff deadline, coupon expiry
    status: str = QUEUED
    promo: bool = False            # a promotional message (the policy's promo budget)


class ChannelAdapter(Protocol):
    """Takes actions. ``cancel_pending`` stops queued messages of a customer (opt-out)."""

    def deliver(self, action: Action) -> None: ...

    def cancel_pending(self, customer: str, up_to: int) -> None: ...


class OutboxAdapter:
    """Writes every action to the store's ``outbox`` table; a delivery worker reads it.

    Exactly once: the row commits with the event that caused it, or not at all.
    """

    def __init__(self, store):
        self.store = store

    def deliver(self, action: Action) -> None:
        self.store.outbox(action)

    def cancel_pending(self, customer: str, up_to: int) -> None:
        self.store.cancel_outbox(customer, up_to)


class MemoryAdapter:
    """Keeps actions in a list: tests and the simulator (which reacts to them)."""

    def __init__(self):
        self.actions: list[Action] = []

    def deliver(self, action: Action) -> None:
        self.actions.append(action)

    def cancel_pending(self, customer: str, up_to: int) -> None:
        for action in self.actions:
            if action.customer == customer and action.id <= up_to and action.status == QUEUED \
                    and action.kind == "message":
                action.status = CANCELLED


class Adapters:
    """Which adapter takes an action: by channel for messages, by kind otherwise, else default."""

    def __init__(self, default: ChannelAdapter, channels: dict[str, ChannelAdapter] | None = None,
                 kinds: dict[str, ChannelAdapter] | None = None):
        self.default = default
        self.channels = dict(channels or {})
        self.kinds = dict(kinds or {})

    def for_action(self, action: Action) -> ChannelAdapter:
        if action.channel is not None and action.channel in self.channels:
            return self.channels[action.channel]
        return self.kinds.get(action.kind, self.default)

    def distinct(self) -> list[ChannelAdapter]:
        found: list[ChannelAdapter] = []
        for adapter in [self.default, *self.channels.values(), *self.kinds.values()]:
            if all(adapter is not seen for seen in found):
                found.append(adapter)
        return found


class TemplateRenderer:
    """Renders a message's text in the shared Jinja2 sandbox when it is sent.

    The locale is the customer's ``locale`` attribute, falling back as ``TemplateSet.pick``
    does: its language, the default text, ``en``, then any text. A text that cannot be
    rendered (a missing variable, a sandbox violation) fails the message: status ``failed``,
    the error in its payload, and it does not count towards caps.
    """

    def __init__(self):
        self.environment = environment()
        self._jinja: dict[tuple[str, str, str], object] = {}
        self._pieces: dict[tuple[str, str, str], list | None] = {}

    def __call__(self, action: Action, program, customer, run) -> None:
        texts = program.templates.get(action.template)
        if not texts:
            action.status, action.payload["error"] = FAILED, f"unknown template {action.template!r}"
            return
        locale = customer.profile.get("locale")
        action.locale = _pick(texts, locale if isinstance(locale, str) else None, program.locale)
        key = (program.content_hash, action.template, action.locale)
        profile = {**program.defaults, **customer.profile} if program.defaults else customer.profile
        context = render_context(profile, run.event, action.payload, program.journey_id,
                                 action.step, business={**run.context, **run.vars})
        if key not in self._pieces:
            self._pieces[key] = _substitutions(self.environment, texts[action.locale])
        pieces = self._pieces[key]
        try:
            text = None if pieces is None else _fill(pieces, context)
            if text is None:
                template = self._jinja.get(key)
                if template is None:
                    template = self._jinja[key] = self.environment.from_string(texts[action.locale])
                text = template.render({k: _record(v) for k, v in context.items()})
            action.text = text
        except Exception as exc:  # any template failure is the message's, never the runtime's
            action.status, action.payload["error"] = FAILED, f"{type(exc).__name__}: {exc}"


_MISSING = object()


def _substitutions(environment, text: str) -> list | None:
    """A text made only of literal data and ``{{ a.b.c }}`` as pieces (str or path tuple), so
    the common case renders without Jinja's per-call context; None for anything else."""
    try:
        tree = environment.parse(text)
    except TemplateSyntaxError:
        return None
    pieces: list = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            path = node.data if isinstance(node, nodes.TemplateData) else attribute_path(node)
            if path is None:
                return None
            pieces.append(path if isinstance(path, str) else tuple(path))
    return pieces


def _fill(pieces: list, context: dict) -> str | None:
    """The text, exactly as Jinja renders it; None when a value needs Jinja (not a scalar)."""
    out = []
    for piece in pieces:
        if type(piece) is str:
            out.append(piece)
            continue
        value = context.get(piece[0], _MISSING)
        for part in piece[1:]:
            if value is _MISSING:
                break
            if not isinstance(value, dict):
                return None
            value = value.get(part, _MISSING)
        if value is _MISSING:
            raise LookupError(f"{'.'.join(piece)} is undefined")
        if isinstance(value, (dict, list)):
            return None
        out.append(str(value))
    return "".join(out)


def _pick(texts: dict[str, str], locale: str | None, default: str | None = None) -> str:
    """The key of the text to send; the tables key the default text as ""."""
    for candidate in locale_fallbacks(locale, default):
        key = "" if candidate is None else candidate
        if key in texts:
            return key
    return next(iter(texts))


class Record:
    """A JSON object as templates see it: ``{{ cart.items }}`` is the key, never ``dict.items``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str):
        try:
            return _record(self._data[name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return _record(self._data[name])

    def __contains__(self, name) -> bool:
        return name in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        return str(self._data)


Record.__module__ = "builtins"  # errors read "'Record object' has no attribute 'name'"


def _record(value):
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_record(v) for v in value]
    return value
