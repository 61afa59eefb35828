"""Live stage: a generic SMS gateway over HTTP.

``POST url`` with ``Authorization: Bearer TOKEN``, ``Idempotency-Key: journeylang-ID`` and the
JSON body ``{"to", "text", "sender", "reference"}`` (``reference`` is ``journeylang-ID``, which
the gateway's delivery reports give back). A 2xx answer means the gateway took the message
(``{"id": ...}``, its own id, is kept); delivery reports come back through the ingestion
service's ``/v1/receipts``. 408, 425, 429 and 5xx are tried again; other answers fail it.
"""
from __future__ import annotations

from ...runtime.queues import Leased
from ..config import Option
from .base import SENT, Adapter, Outcome, http_failure
from .webhook import _id


class SmsGatewayAdapter(Adapter):
    OPTIONS = {"url": Option(str, required=True), "token_env": Option(str, required=True, secret=True),
               "to_attribute": Option(str, "phone"), "sender": Option(str)}

    async def send(self, row: Leased) -> Outcome:
        to = self.recipient(row)
        if isinstance(to, Outcome):
            return to
        reference = f"journeylang-{row.id}"
        body = {"to": to, "text": row.text, "reference": reference}
        if self.options.get("sender"):
            body["sender"] = self.options["sender"]
        response = await self.client.post(
            self.options["url"], json=body, timeout=self.route.retry["timeout"],
            headers={"Authorization": f"Bearer {self.options['token']}",
                     "Idempotency-Key": reference})
        return http_failure(response) or Outcome(SENT, provider_id=_id(response))
