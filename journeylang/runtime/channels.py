"""Runtime output: actions (messages, coupons, handoffs, webhooks, emitted events) and the
channel adapters that take them. The default adapter writes the store's outbox table, inside the
same transaction as the event that caused the action (a transactional outbox)."""
from __future__ import annotations

from typing import Protocol

import msgspec

from ..sandbox import RenderError
from ..templates import MessageTemplate, locale_fallbacks, render_context, render_names

QUEUED, CANCELLED, FAILED = "queued", "cancelled", "failed"
# what a delivery worker makes of a queued action (docs/runtime.md, "Running it live")
SENDING, SENT, DELIVERED, DEAD = "sending", "sent", "delivered", "dead"
PENDING = (QUEUED, SENDING)   # on its way: counts towards caps until it fails
SENT_STATUSES = (SENT, DELIVERED)
ACTION_KINDS = ("message", "coupon", "handoff", "webhook", "event")


class Action(msgspec.Struct, gc=False):
    """One thing the journey asks the outside world to do, numbered in order (a struct, as
    the records of state.py)."""

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
    payload: dict = {}
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
    rendered (a missing variable, a sandbox violation, a resource limit) fails the message:
    status ``failed``, the error in its payload, and it does not count towards caps. Nothing a
    template does can stop the runtime: the next message and event go on.
    """

    PICKED = 4096  # (version, template, customer locale) -> the text chosen, kept at most

    def __init__(self):
        self._templates: dict[tuple[str, str, str], MessageTemplate] = {}
        self._picked: dict[tuple, tuple[str, MessageTemplate]] = {}

    def __call__(self, action: Action, program, customer, run) -> None:
        locale = customer.profile.get("locale")
        locale = locale if isinstance(locale, str) else None
        found = self._picked.get((program.content_hash, action.template, locale))
        if found is None:
            texts = program.templates.get(action.template)
            if not texts:
                action.status = FAILED
                action.payload["error"] = f"unknown template {action.template!r}"
                return
            found = self._pick_template(program, action.template, texts, locale)
        action.locale, template = found
        profile = {**program.defaults, **customer.profile} if program.defaults else customer.profile
        if template.names is not None:  # a text of substitutions: only the names it reads
            context = render_names(template.names, profile, run.event, action.payload,
                                   program.journey_id, action.step, run.context, run.vars)
        else:
            context = render_context(profile, run.event, action.payload, program.journey_id,
                                     action.step, business={**run.context, **run.vars} if run.vars else run.context)
        try:
            action.text = template.render(context)
        except RenderError as exc:
            action.status, action.payload["error"] = FAILED, exc.message

    def _pick_template(self, program, name: str, texts: dict, locale: str | None):
        """The text to render for a customer's locale, and its template, remembered (customers'
        locales are few; an unbounded variety of them only costs the lookup again)."""
        picked = _pick(texts, locale, program.locale)
        key = (program.content_hash, name, picked)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = MessageTemplate(texts[picked])
        if len(self._picked) >= self.PICKED:
            self._picked.clear()
        self._picked[(program.content_hash, name, locale)] = picked, template
        return picked, template


def _pick(texts: dict[str, str], locale: str | None, default: str | None = None) -> str:
    """The key of the text to send; the tables key the default text as ""."""
    for candidate in locale_fallbacks(locale, default):
        key = "" if candidate is None else candidate
        if key in texts:
            return key
    return next(iter(texts))
