"""Live stage: what a channel adapter is: it takes one leased outbox row and says what became of it.

An adapter never raises for something the provider said: it returns an ``Outcome``. An
exception (a network error, a bug) is a failed attempt the worker retries. Errors are short
and carry no customer data (addresses, texts), since they end up in logs and in the outbox.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...runtime.channels import DELIVERED, FAILED, SENT
from ...runtime.queues import Leased
from ..config import ConfigError, Route

RETRY = "retry"  # the other results are the outbox statuses they lead to


@dataclass(frozen=True)
class Outcome:
    """``sent`` (the provider took it), ``delivered`` (it reached the customer), ``retry`` (try
    again later), ``failed`` (it never will). ``poll_after``: a sent message whose delivery the
    adapter can learn by asking again (``Adapter.poll``) after that many seconds."""

    result: str
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    poll_after: float | None = None


class Adapter:
    """Takes leased rows of one route. ``OPTIONS`` are the keys its configuration table may hold
    (besides ``adapter`` and the retry keys); secrets arrive resolved, without ``_env``."""

    OPTIONS: dict = {}

    def __init__(self, route: Route, client=None):
        self.route, self.options, self.client = route, route.options, client

    def require(self, key: str, why: str):
        """A ConfigError at start-up when an option this route needs is missing."""
        if self.options.get(key) in (None, ""):
            raise ConfigError(f"{self.route.section}.{key}: missing ({why})")
        return self.options[key]

    def recipient(self, row: Leased) -> str | Outcome:
        """Where a message goes (the profile attribute ``to_attribute`` names), or the
        outcome failing it: no such attribute, or no text to send."""
        attribute = self.options["to_attribute"]
        to = address(row, attribute)
        if to is None:
            return Outcome(FAILED, error=f"the customer's profile has no {attribute}")
        if not row.text:
            return Outcome(FAILED, error="no text to send")
        return to

    async def send(self, row: Leased) -> Outcome:
        raise NotImplementedError

    async def poll(self, row: Leased) -> Outcome:
        """Ask the provider again about a sent message (adapters that return ``poll_after``)."""
        return Outcome(SENT)

    async def close(self) -> None:
        pass


def address(row: Leased, attribute: str | None) -> str | None:
    """Where to send: the profile attribute (a dotted path), or the customer id without one."""
    if not attribute:
        return row.customer
    value = row.profile
    for part in attribute.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value) if isinstance(value, (str, int)) and value != "" else None


def http_failure(response) -> Outcome | None:
    """None for a 2xx response; else retry (408, 425, 429, 5xx: honouring Retry-After) or
    failed (other 4xx: the request itself is wrong)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    error = f"HTTP {status}"
    if status in (408, 425, 429) or status >= 500:
        return Outcome(RETRY, error=error, retry_after=_retry_after(response))
    return Outcome(FAILED, error=error)


def _retry_after(response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None



def action_body(row: Leased) -> dict:
    """An action as the webhook and SMS gateway receive it: ids, what to send, no profile."""
    return {"id": row.id, "kind": row.kind, "customer": row.customer, "journey": row.journey_id,
            "step": row.step, "channel": row.channel, "template": row.template,
            "locale": row.locale, "text": row.text, "payload": row.payload, "due": row.due,
            "queued_at": row.at, "attempt": row.attempts}
