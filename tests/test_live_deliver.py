"""The delivery worker against real servers on this machine: local HTTP servers standing in for
a webhook receiver, WeCom and an SMS gateway (checking the documented request shapes), and an
SMTP server (aiosmtpd); leases shared by several worker processes; results reported as events."""
from __future__ import annotations

import asyncio
import email
import json
import subprocess
import sys
import time
from email import policy

import pytest

from journeylang.live.config import load_config
from journeylang.live.deliver import Worker
from journeylang.live.signing import SIGNATURE, TIMESTAMP, sign
from journeylang.runtime import Event, Runtime, open_store

from conftest import ROOT
from live_kit import (ENV, Provider, Serve, free_port, post, query, track, wait_for,
                      write_config)
from runtime_kit import T0, compile_text, journey

MESSAGES = journey('''
  stage s {
    send via wecom template a
    send via sms template b
    send via email template c
    webhook "https://hooks.example.invalid/orders"
    exit completed
  }''', header="  entry on signup\n  exit on unsubscribed as opted_out")
PROFILE = {"name": "小明", "phone": "+8613800000000", "email": "xiaoming@example.com",
           "external_userid": "wmEXT1"}


def fill(state, customers: int = 1, text: str = MESSAGES) -> None:
    """A state whose outbox holds each customer's messages and webhook action."""
    with Runtime(open_store(state), seed=1) as runtime:
        runtime.load(compile_text(text))
        runtime.ingest([Event(f"e{n}", "signup", f"c{n}", T0 + n,
                              {**PROFILE, "external_userid": f"wmEXT{n}"}) for n in range(customers)])


def worker(folder, state, routes, **deliver) -> Worker:
    config = write_config(folder, state, routes=routes, deliver={"poll": 0.05, **deliver})
    return Worker(load_config(config, environ=ENV))


def run_until(work: Worker, done, timeout: float = 20.0) -> None:
    """Worker turns until ``done()`` (rows retried later come due as time passes)."""
    async def main():
        deadline = time.monotonic() + timeout
        try:
            while not done():
                assert time.monotonic() < deadline, "the worker did not finish in time"
                if not (await work.turn()).leased:
                    await asyncio.sleep(0.02)
        finally:
            await work.close()
    asyncio.run(main())


def outbox(state, kind="message"):
    return query(state, "SELECT channel, status, attempts, provider_id, error FROM outbox "
                        "WHERE kind = ? ORDER BY id", (kind,))


def inbox(state) -> list[dict]:
    return [json.loads(r[0]) for r in query(state, "SELECT event FROM inbox ORDER BY seq")]


FAST = {"backoff": 0.01, "max_backoff": 0.05}


def test_a_webhook_route_posts_signed_json_with_the_action_id_as_idempotency_key(tmp_path):
    state = tmp_path / "state.sqlite"
    fill(state)
    answers = iter([(503, {}, {"Retry-After": "0"}), (500, {}, {}), (200, {"id": "r-9"}, {})])
    receiver = Provider(lambda request: next(answers))
    try:
        work = worker(tmp_path, state, {"actions.webhook": {
            "adapter": "webhook", "url": f"{receiver.url}/hooks", "secret_env": "WEBHOOK_SECRET",
            "max_attempts": 4, **FAST}})
        run_until(work, lambda: outbox(state, "webhook")[0][1] == "sent")
    finally:
        receiver.close()
    assert outbox(state, "webhook") == [(None, "sent", 3, "r-9", None)]
    first = receiver.requests[0]
    assert [r["headers"]["idempotency-key"] for r in receiver.requests] == ["journeylang-4"] * 3
    body = json.loads(first["body"])
    assert (body["id"], body["kind"], body["customer"], body["payload"]) == (
        4, "webhook", "c0", {"url": "https://hooks.example.invalid/orders"})
    assert first["headers"][SIGNATURE.lower()] == sign(
        ENV["WEBHOOK_SECRET"], first["headers"][TIMESTAMP.lower()], first["body"])
    assert abs(int(first["headers"][TIMESTAMP.lower()]) - time.time()) < 60


def test_after_the_last_attempt_a_message_is_a_dead_letter_until_requeued(tmp_path):
    state = tmp_path / "state.sqlite"
    fill(state)
    gateway = Provider(lambda request: (500, {"error": "down"}, {}))
    routes = {"channels.sms": {"adapter": "sms", "url": f"{gateway.url}/send",
                               "token_env": "SMS_TOKEN", "max_attempts": 3, **FAST}}
    try:
        run_until(worker(tmp_path, state, routes), lambda: outbox(state)[1][1] == "dead")
        assert outbox(state)[1] == ("sms", "dead", 3, None, "gave up after 3 attempts: HTTP 500")
        assert len(gateway.requests) == 3
        failed = [e for e in inbox(state) if e["type"] == "message_failed"]
        assert [(e["customer"], e["data"]["action"], e["data"]["channel"], e["data"]["reason"])
                for e in failed] == [("c0", 2, "sms", "gave up after 3 attempts: HTTP 500")]
        config = write_config(tmp_path, state, routes=routes, name="again.toml")
        done = subprocess.run([sys.executable, "-m", "journeylang.cli", "deliver", "--config",
                               str(config), "--requeue-dead", "--channel", "sms"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env={**__import__("os").environ, **ENV, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0 and "1 dead letters back in the queue" in done.stderr
        assert outbox(state)[1][:3] == ("sms", "queued", 0)
    finally:
        gateway.close()


def test_the_sms_gateway_gets_its_documented_request(tmp_path):
    state = tmp_path / "state.sqlite"
    fill(state)
    answers = iter([(429, {}, {"Retry-After": "0"}), (202, {"id": "gw-77"}, {})])
    gateway = Provider(lambda request: next(answers))
    try:
        work = worker(tmp_path, state, {"channels.sms": {
            "adapter": "sms", "url": f"{gateway.url}/v1/messages", "token_env": "SMS_TOKEN",
            "sender": "SHOP", **FAST}})
        run_until(work, lambda: outbox(state)[1][1] == "sent")
    finally:
        gateway.close()
    request = gateway.requests[-1]
    assert request["path"] == "/v1/messages" and request["method"] == "POST"
    assert request["headers"]["authorization"] == "Bearer sms-token"
    assert request["headers"]["idempotency-key"] == "journeylang-2"
    assert json.loads(request["body"]) == {"to": "+8613800000000", "text": "B 小明",
                                           "reference": "journeylang-2", "sender": "SHOP"}
    assert outbox(state)[1] == ("sms", "sent", 2, "gw-77", None)
    sent = [e for e in inbox(state) if e["type"] == "message_sent"]
    assert [(e["id"], e["data"]["provider_id"], e["data"]["template"]) for e in sent] == [
        ("delivery:2:message_sent:2", "gw-77", "b")]


def test_email_goes_through_a_real_smtp_server(tmp_path):
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Keep()
    port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    state = tmp_path / "state.sqlite"
    fill(state)
    try:
        work = worker(tmp_path, state, {"channels.email": {
            "adapter": "smtp", "host": "127.0.0.1", "port": port,
            "security": "none", "sender": "Shop <journeys@shop.example>", "subject": "来自小店"}})
        run_until(work, lambda: outbox(state)[2][1] == "sent")
    finally:
        smtp.stop()
    envelope = handler.messages[0]
    assert envelope.mail_from == "journeys@shop.example"
    assert envelope.rcpt_tos == ["xiaoming@example.com"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "来自小店" and message["Message-ID"] == "<journeylang-3@shop.example>"
    assert message.get_content().strip() == "C 小明"
    assert outbox(state)[2][3] == "<journeylang-3@shop.example>"


class WeCom:
    """Stands in for qyapi.weixin.qq.com: checks each call against WeCom's documented shapes."""

    def __init__(self):
        self.tokens, self.expired_once, self.sent, self.results = 0, False, {}, {}
        self.errors: list[str] = []
        self.provider = Provider(self.answer)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.errors.append(what)

    def answer(self, request):
        path, query_, body = request["path"], request["query"], \
            json.loads(request["body"]) if request["body"] else None
        if path == "/cgi-bin/gettoken":
            self.check(request["method"] == "GET", "gettoken is a GET")
            self.check(query_ == {"corpid": "ww-corp", "corpsecret": "corp-secret"}, "gettoken query")
            self.tokens += 1
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": f"tok{self.tokens}",
                         "expires_in": 7200}, {}
        if query_.get("access_token") != f"tok{self.tokens}":
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}, {}
        if path == "/cgi-bin/externalcontact/add_msg_template":
            if not self.expired_once:
                self.expired_once = True
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}, {}
            self.check(set(body) == {"chat_type", "external_userid", "sender", "text"}, "fields")
            self.check(body["chat_type"] == "single" and body["sender"] == "zhangsan", "single")
            self.check(isinstance(body["external_userid"], list) and
                       list(body["text"]) == ["content"], "external_userid list, text.content")
            contact = body["external_userid"][0]
            if contact == "wmEXT2":
                return 200, {"errcode": 0, "errmsg": "ok", "fail_list": [contact], "msgid": "m2"}, {}
            msgid = f"msg-{contact}"
            self.sent[msgid] = contact
            return 200, {"errcode": 0, "errmsg": "ok", "fail_list": [], "msgid": msgid}, {}
        if path == "/cgi-bin/externalcontact/get_groupmsg_send_result":
            self.check(set(body) == {"msgid", "userid", "limit", "cursor"}, "result fields")
            contact = self.sent[body["msgid"]]
            status = self.results.get(contact, 0)
            return 200, {"errcode": 0, "errmsg": "ok", "next_cursor": "", "send_list": [
                {"external_userid": contact, "userid": body["userid"], "status": status,
                 "send_time": int(time.time())}]}, {}
        self.errors.append(f"unexpected call {path}")
        return 404, {}, {}


def test_wecom_messages_follow_the_documented_api(tmp_path):
    state = tmp_path / "state.sqlite"
    fill(state, customers=3)
    wecom = WeCom()
    try:
        routes = {"channels.wecom": {"adapter": "wecom", "corp_id": "ww-corp",
                                     "secret_env": "WECOM_SECRET", "sender": "zhangsan",
                                     "base_url": wecom.provider.url, "poll_after": 0.05}}
        work = worker(tmp_path, state, routes)
        wecom.results = {"wmEXT0": 1, "wmEXT1": 0}

        def settled():
            rows = query(state, "SELECT customer, status FROM outbox WHERE channel = 'wecom'")
            if dict(rows).get("c1") == "sent" and len(wecom.provider.requests) > 6:
                wecom.results["wmEXT1"] = 3  # the contact got WeCom's group message limit
            return dict(rows) == {"c0": "delivered", "c1": "failed", "c2": "failed"}
        run_until(work, settled)
    finally:
        wecom.provider.close()
    assert wecom.errors == [] and wecom.tokens == 2  # renewed once when WeCom said it expired
    rows = query(state, "SELECT customer, provider_id, error FROM outbox WHERE channel = 'wecom' "
                        "ORDER BY customer")
    assert rows == [("c0", "msg-wmEXT0", None),
                    ("c1", "msg-wmEXT1", "the contact already received a group message (WeCom's limit)"),
                    ("c2", None, "WeCom cannot reach this contact (fail_list)")]
    kinds = [(e["customer"], e["type"]) for e in inbox(state) if e["data"]["channel"] == "wecom"]
    assert sorted(kinds) == [("c0", "message_delivered"), ("c0", "message_sent"),
                             ("c1", "message_failed"), ("c1", "message_sent"),
                             ("c2", "message_failed")]


def test_a_customer_without_an_address_fails_with_the_reason(tmp_path):
    state = tmp_path / "state.sqlite"
    with Runtime(open_store(state), seed=1) as runtime:
        runtime.load(compile_text(MESSAGES))
        runtime.ingest([Event("e0", "signup", "c0", T0, {"name": "无号码"})])
    gateway = Provider(lambda request: (200, {}, {}))
    try:
        work = worker(tmp_path, state, {"channels.sms": {
            "adapter": "sms", "url": gateway.url, "token_env": "SMS_TOKEN"}})
        run_until(work, lambda: outbox(state)[1][1] == "failed")
    finally:
        gateway.close()
    assert outbox(state)[1][4] == "the customer's profile has no phone" and not gateway.requests


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_several_workers_never_deliver_one_row_twice(tmp_path, store, request):
    state = tmp_path / "state.sqlite" if store == "sqlite" else request.getfixturevalue("postgres_url")
    fill(state, customers=150)
    receiver = Provider(lambda request: (time.sleep(0.002), (200, {}, {}))[1])
    config = write_config(tmp_path, state, deliver={"batch": 20, "poll": 0.05},
                          routes={"actions.webhook": {"adapter": "webhook", "url": receiver.url,
                                                      "secret_env": "WEBHOOK_SECRET"}})
    env = {**__import__("os").environ, **ENV, "PYTHONPATH": str(ROOT)}
    try:
        workers = [subprocess.Popen([sys.executable, "-m", "journeylang.cli", "deliver",
                                     "--config", str(config)], cwd=ROOT, env=env,
                                    stderr=subprocess.PIPE, text=True) for _ in range(3)]
        wait_for(lambda: query(state, "SELECT count(*) FROM outbox WHERE kind = 'webhook' "
                                      "AND status = 'sent'") == [(150,)], 60)
        for process in workers:
            process.terminate()
        logs = [process.communicate(timeout=30)[1] for process in workers]
    finally:
        receiver.close()
    keys = [r["headers"]["idempotency-key"] for r in receiver.requests]
    assert len(keys) == 150 and len(set(keys)) == 150, "a row was delivered twice"
    assert sum(1 for log in logs if "actions.webhook: 20 leased" in log) >= 2  # they shared it
    assert all(process.returncode == 0 for process in workers)


def test_results_come_back_as_events_a_journey_waits_for(tmp_path):
    waits = journey('''
  stage s {
    send via sms template a
    wait within 1h {
      on message_delivered -> thanks
      on message_failed -> sorry
      timeout -> sorry
    }
    thanks: send via wecom template b
    exit completed
    sorry: exit expired
  }''', header="  entry on signup\n  exit on unsubscribed as opted_out")
    path = tmp_path / "waits.journey"
    path.write_text(waits, encoding="utf-8")
    state = tmp_path / "state.sqlite"
    gateway = Provider(lambda request: (200, {"id": "gw-1"}, {}))
    config = write_config(tmp_path, state, [path], routes={
        "channels.sms": {"adapter": "sms", "url": gateway.url, "token_env": "SMS_TOKEN"},
        "channels.wecom": {"adapter": "log", "file": "delivered.jsonl"}})
    service = Serve(config, "--deliver")
    try:
        post(service.url, "/v1/track", track("m1", "c1", "signup", traits=PROFILE))
        post(service.url, "/v1/track", track("m2", "c2", "signup", traits=PROFILE))
        sent = wait_for(lambda: (lambda rows: len(rows) == 2 and rows)(query(
            state, "SELECT customer, id FROM outbox WHERE status = 'sent' ORDER BY customer")))
        ids = dict(sent)
        unknown = post(service.url, "/v1/receipts", {"action": 99, "status": "delivered"})
        assert unknown.status_code == 404
        assert post(service.url, "/v1/receipts", {"action": ids["c1"], "status": "delivered"}).json() \
            == {"success": True, "recorded": True}
        assert post(service.url, "/v1/receipts", {"action": ids["c1"], "status": "delivered"}).json() \
            == {"success": True, "recorded": False}  # a repeated report changes nothing
        post(service.url, "/v1/receipts", {"action": ids["c2"], "status": "failed",
                                           "reason": "number unknown"})
        outcomes = wait_for(lambda: (lambda rows: len(rows) == 2 and rows)(
            query(state, "SELECT customer, outcome FROM runs WHERE status = 'ended' ORDER BY customer")))
        assert outcomes == [("c1", "completed"), ("c2", "expired")]
        # the worker delivers the last message after the commit that ended the run
        delivered = [json.loads(line) for line in
                     wait_for(lambda: _whole_lines(tmp_path / "delivered.jsonl"))]
        assert [(d["customer"], d["template"], d["text"]) for d in delivered] == [("c1", "b", "B 小明")]
    finally:
        service.stop()
        gateway.close()


def _whole_lines(path) -> list[str]:
    """The lines of a file another process appends to, once it ends with a whole line."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return text.splitlines() if text.endswith("\n") else []
