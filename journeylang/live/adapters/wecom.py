"""Live stage: WeCom (企业微信) messages to external contacts, as WeCom's server API documents them.

- ``GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET`` gives ``access_token`` and
  ``expires_in`` (7200 s); it is cached, renewed early, and renewed at once when WeCom answers
  that it expired or is invalid (errcode 40014, 42001).
- ``POST /cgi-bin/externalcontact/add_msg_template?access_token=TOKEN`` with ``{"chat_type":
  "single", "external_userid": [ID], "sender": USERID, "text": {"content": TEXT}}`` creates
  the message task (创建企业群发); the answer holds ``msgid`` and a ``fail_list`` of contacts
  it cannot reach. WeCom sends it once the sending member confirms it in their client.
- ``POST /cgi-bin/externalcontact/get_groupmsg_send_result?access_token=TOKEN`` with
  ``{"msgid", "userid", "limit", "cursor"}`` (获取企业群发成员执行结果) gives ``send_list``
  entries ``{"external_userid", "userid", "status", "send_time"}``: status 0 not sent yet,
  1 sent, 2 not a contact of the member, 3 the contact already got a group message (WeCom's
  own limit); ``next_cursor`` pages on. The adapter asks after ``poll_after`` seconds and
  again until ``poll_for`` has passed, for a message with a known sender.

errcode -1 (busy) and 45009 (frequency limit) are tried again later; other errcodes fail the
message. WeCom's API takes no idempotency key: a worker that dies between creating the task
and recording it makes a second task when the row is leased again (at least once).
"""
from __future__ import annotations

import asyncio
import time

from ...runtime.queues import Leased
from ..config import Option
from .base import DELIVERED, FAILED, RETRY, SENT, Adapter, Outcome, address

TOKEN_ERRORS = (40001, 40014, 42001)  # invalid credential, invalid or expired access_token
BUSY = (-1, 45009, 45033)             # system busy, frequency limits
RESULT = {1: DELIVERED, 2: FAILED, 3: FAILED}
REASONS = {2: "not a contact of the sending member",
           3: "the contact already received a group message (WeCom's limit)"}


class WecomAdapter(Adapter):
    """``to_attribute``: the profile attribute holding the contact's external_userid;
    ``sender``: the member (userid) who sends, or ``sender_attribute``: the profile attribute
    holding the customer's own member."""

    OPTIONS = {"corp_id": Option(str, required=True),
               "secret_env": Option(str, required=True, secret=True),
               "sender": Option(str), "sender_attribute": Option(str),
               "to_attribute": Option(str, "external_userid"),
               "base_url": Option(str, "https://qyapi.weixin.qq.com"),
               "poll_after": Option((int, float), 600.0),
               "poll_for": Option((int, float), 3 * 86400.0)}

    def __init__(self, route, client=None):
        super().__init__(route, client)
        self.base = self.options["base_url"].rstrip("/")
        self._token: tuple[str, float] | None = None
        self._fetching = asyncio.Lock()  # one gettoken at a time, however many messages wait

    # --- the access token ---------------------------------------------------------------------

    async def token(self) -> str | Outcome:
        async with self._fetching:
            if self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            return await self._fetch()

    async def _fetch(self) -> str | Outcome:
        response = await self.client.get(
            f"{self.base}/cgi-bin/gettoken", timeout=self.route.retry["timeout"],
            params={"corpid": self.options["corp_id"], "corpsecret": self.options["secret"]})
        found = _json(response)
        if found.get("errcode", 0) != 0 or not found.get("access_token"):
            return Outcome(RETRY, error=f"WeCom gettoken errcode {found.get('errcode')}")
        life = float(found.get("expires_in") or 7200)
        self._token = (found["access_token"], time.monotonic() + max(60.0, life - 300.0))
        return self._token[0]

    async def _call(self, path: str, body: dict) -> dict | Outcome:
        """POST with the access token; renews it once when WeCom says it is no longer valid."""
        for _ in range(2):
            token = await self.token()
            if isinstance(token, Outcome):
                return token
            response = await self.client.post(f"{self.base}{path}", params={"access_token": token},
                                              json=body, timeout=self.route.retry["timeout"])
            if response.status_code != 200:
                return Outcome(RETRY, error=f"WeCom HTTP {response.status_code}")
            found = _json(response)
            code = found.get("errcode", 0)
            if code in TOKEN_ERRORS:
                if self._token is not None and self._token[0] == token:
                    self._token = None  # (not one another message has just fetched)
                continue
            if code in BUSY:
                return Outcome(RETRY, error=f"WeCom errcode {code}")
            if code != 0:
                return Outcome(FAILED, error=f"WeCom errcode {code}: {str(found.get('errmsg'))[:80]}")
            return found
        return Outcome(RETRY, error="WeCom refused a fresh access_token")

    # --- sending and learning the result ------------------------------------------------------

    def _sender(self, row: Leased) -> str | None:
        attribute = self.options.get("sender_attribute")
        return (address(row, attribute) if attribute else None) or self.options.get("sender")

    async def send(self, row: Leased) -> Outcome:
        to = self.recipient(row)
        if isinstance(to, Outcome):
            return to
        body = {"chat_type": "single", "external_userid": [to], "text": {"content": row.text}}
        sender = self._sender(row)
        if sender:
            body["sender"] = sender
        found = await self._call("/cgi-bin/externalcontact/add_msg_template", body)
        if isinstance(found, Outcome):
            return found
        if to in (found.get("fail_list") or []):
            return Outcome(FAILED, error="WeCom cannot reach this contact (fail_list)")
        msgid = found.get("msgid")
        poll = self.options["poll_after"] if sender and msgid else None
        return Outcome(SENT, provider_id=msgid, poll_after=poll)

    async def poll(self, row: Leased) -> Outcome:
        to, sender = address(row, self.options["to_attribute"]), self._sender(row)
        cursor = ""
        while True:
            found = await self._call("/cgi-bin/externalcontact/get_groupmsg_send_result",
                                     {"msgid": row.provider_id, "userid": sender, "limit": 1000,
                                      "cursor": cursor})
            if isinstance(found, Outcome):  # sent all the same: ask later, or stop asking
                later = self.options["poll_after"] if found.result == RETRY else None
                return Outcome(SENT, error=found.error, poll_after=later)
            for entry in found.get("send_list") or []:
                if entry.get("external_userid") == to and entry.get("status") in RESULT:
                    status = entry["status"]
                    return Outcome(RESULT[status], error=REASONS.get(status))
            cursor = found.get("next_cursor") or ""
            if not cursor:
                break
        if time.time() - (row.sent_at or row.at) > self.options["poll_for"]:
            return Outcome(SENT)  # not confirmed by the member in time: stop asking
        return Outcome(SENT, poll_after=self.options["poll_after"])


def _json(response) -> dict:
    try:
        found = response.json()
    except ValueError:
        return {"errcode": "not JSON"}
    return found if isinstance(found, dict) else {"errcode": "not an object"}
