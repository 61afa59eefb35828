"""Live stage: the signed webhook adapter: each action is POSTed as JSON to an HTTPS endpoint.

The request carries ``Idempotency-Key`` (the action id: a retry, or a repeat after a crash,
names the same action) and an HMAC signature over a timestamp and the body (signing.py), so the
receiver can check who sent it and refuse replays. A 2xx answer is success; 408, 425, 429 and
5xx are tried again (Retry-After is honoured); any other answer fails the action.
"""
from __future__ import annotations

import json
import time

from ...runtime.queues import Leased
from ..config import Option
from ..signing import signed_headers
from .base import FAILED, SENT, Adapter, Outcome, action_body, http_failure

USER_AGENT = "journeylang-deliver"


class WebhookAdapter(Adapter):
    """``url``: where to POST (a webhook step's own URL when the route is ``actions.webhook``
    and no url is set)."""

    OPTIONS = {"url": Option(str), "secret_env": Option(str, required=True, secret=True)}

    def __init__(self, route, client=None):
        super().__init__(route, client)
        if route.kind != "webhook":
            self.require("url", "where to POST the actions of this route")

    async def send(self, row: Leased) -> Outcome:
        url = self.options.get("url") or row.payload.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return Outcome(FAILED, error="no http(s) URL to call")
        body = json.dumps(action_body(row), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "Idempotency-Key": f"journeylang-{row.id}",
                   **signed_headers(self.options["secret"], body, time.time())}
        response = await self.client.post(url, content=body, headers=headers,
                                           timeout=self.route.retry["timeout"])
        return http_failure(response) or Outcome(SENT, provider_id=_id(response))


def _id(response) -> str | None:
    try:
        found = response.json()
    except ValueError:
        return None
    value = found.get("id") if isinstance(found, dict) else None
    return str(value) if value is not None else None
