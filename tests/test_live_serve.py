"""`journey serve` as a real process (uvicorn serving the app), driven over HTTP with httpx:
the tracking calls, credentials, idempotency, refusals, timers on the wall clock, health and
metrics, back-pressure, graceful and hard stops, and a standby taking over."""
from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from journeylang.live.signing import signed_headers

import pg
from conftest import ROOT
from live_kit import (AUTH, ENV, TOKEN, Serve, post, query, track, wait_for, write_config)
from runtime_kit import journey

SIGNUP = journey('''
  stage s {
    send via wecom template a
    wait 2s
    send via wecom template b
    exit completed
  }''', header="  entry on signup\n  reentry always")
NAME = {"name": "小明"}


@pytest.fixture
def files(tmp_path):
    path = tmp_path / "signup.journey"
    path.write_text(SIGNUP, encoding="utf-8")
    return tmp_path, path


@pytest.fixture
def served(files):
    folder, journey_file = files
    state = folder / "state.sqlite"
    service = Serve(write_config(folder, state, [journey_file]))
    yield service, state
    service.stop()


def runs(state) -> dict[str, int]:
    return dict(query(state, "SELECT customer, count(*) FROM runs GROUP BY customer"))


def test_every_call_is_accepted_once_with_any_credentials(served):
    service, state = served
    url = service.url
    assert post(url, "/v1/track", track("m1", "c1", "signup", {"plan": "pro"}, NAME)).json() == \
        {"success": True, "accepted": 1}
    assert post(url, "/v1/track", track("m1", "c1", "signup", {}, NAME)).status_code == 200  # again
    basic = base64.b64encode(f"{TOKEN}:".encode()).decode()
    identify = {"messageId": "m2", "userId": "c2", "traits": {"name": "Ann", "vip": True}}
    assert post(url, "/v1/identify", identify, {"Authorization": f"Basic {basic}"}).status_code == 200
    batch = {"batch": [track("m3", "c3", "signup", traits=NAME),
                       {"type": "identify", "messageId": "m4", "anonymousId": "a4",
                        "traits": {"name": "Bo"}}]}
    body = json.dumps(batch).encode()
    signed = {"Authorization": "", **signed_headers(ENV["JOURNEY_HMAC"], body, time.time())}
    answer = post(url, "/v1/batch", body, signed)
    assert answer.json().get("accepted") == 2, answer.text
    native = {"id": "m5", "type": "signup", "customer": "c5", "at": "2026-03-01T10:00:00Z",
              "attributes": NAME}
    assert post(url, "/v1/events", [native]).status_code == 200
    wait_for(lambda: query(state, "SELECT count(*) FROM inbox") == [(0,)] and
             len(query(state, "SELECT id FROM events")) == 5)
    assert sorted(r[0] for r in query(state, "SELECT id FROM events")) == ["m1", "m2", "m3", "m4", "m5"]
    assert runs(state) == {"c1": 1, "c3": 1, "c5": 1}
    profile = json.loads(query(state, "SELECT profile FROM customers WHERE id = 'c2'")[0][0])
    assert profile == {"name": "Ann", "vip": True}
    data = json.loads(query(state, "SELECT context FROM runs WHERE customer = 'c1'")[0][0])
    assert data == {"plan": "pro"}


def test_refusals_say_what_is_wrong(served):
    url = served[0].url
    good = track("m1", "c1", "signup")
    refused = post(url, "/v1/track", good, {"Authorization": ""})
    assert refused.status_code == 401 and "no credentials" in refused.json()["error"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(url, "/v1/track", good, {"Authorization": "Bearer nope"}).status_code == 401
    body = json.dumps(good).encode()
    stale = signed_headers(ENV["JOURNEY_HMAC"], body, time.time() - 3600)
    answer = post(url, "/v1/track", body, {"Authorization": "", **stale})
    assert answer.status_code == 401 and "away from the server's clock" in answer.json()["error"]
    forged = signed_headers(ENV["JOURNEY_HMAC"], b"{}", time.time())
    assert post(url, "/v1/track", body, {"Authorization": "", **forged}).json()["error"] == \
        "the signature does not match the body"
    bad = {"batch": [track("x1", "c1", "Order Completed"), {"type": "track", "userId": "c2",
                                                            "event": "signup"},
                     {"type": "page", "messageId": "x3", "userId": "c3"},
                     track("x4", "c4", "signup", propeties={})]}
    answer = post(url, "/v1/batch", bad)
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [
        "batch[0]", "batch[1].messageId", "batch[2].type", "batch[3].propeties"]
    assert "'event' must be an event name such as order_paid" in answer.json()["errors"][0]["message"]
    assert "did you mean 'properties'" in answer.json()["errors"][3]["message"]
    future = track("x5", "c5", "signup", timestamp="2099-01-01T00:00:00Z")
    assert "ahead of the server's clock" in post(url, "/v1/track", future).json()["errors"][0]["message"]
    assert post(url, "/v1/track", b"{not json").status_code == 400
    huge = b'{"batch": [' + b"1," * 3_000_000 + b"1]}"
    assert post(url, "/v1/batch", huge).status_code == 413


def test_a_timer_fires_within_a_second_of_its_due_time(served):
    service, state = served
    post(service.url, "/v1/track", track("t1", "c1", "signup", traits=NAME))
    sent = wait_for(lambda: query(state, "SELECT at FROM outbox WHERE template = 'b'"), 10)
    entered = query(state, "SELECT entered_at FROM runs WHERE customer = 'c1'")[0][0]
    assert 2.0 <= sent[0][0] - entered < 3.0  # due 2 s after entry; fired within 1 s of it
    lag = httpx.get(f"{service.url}/metrics").text
    assert "journey_timers_fired_total 1.0" in lag and "journey_timer_lag_seconds_count 1.0" in lag


def test_health_and_metrics_need_no_credentials(served):
    service, _ = served
    health = httpx.get(f"{service.url}/health").json()
    assert health["status"] == "ok" and health["role"] == "applier" and health["backlog"] == 0
    post(service.url, "/v1/track", track("h1", "c1", "signup", traits=NAME))
    post(service.url, "/v1/track", track("h2", "c1", "signup"), {"Authorization": "Bearer no"})
    text = wait_for(lambda: (lambda t: "journey_events_applied_total 1.0" in t and t)(
        httpx.get(f"{service.url}/metrics").text))
    for line in ('journey_events_received_total{call="track"} 1.0',
                 'journey_requests_rejected_total{reason="unauthorized"} 1.0',
                 "journey_applier_active 1.0", "journey_inbox_backlog 0.0",
                 'journey_outbox_depth{channel="wecom",kind="message",status="queued"} 1.0'):
        assert line in text


def test_a_full_backlog_is_refused_with_retry_after_while_no_process_applies(files):
    folder, journey_file = files
    state = folder / "state.sqlite"
    from journeylang.runtime import open_store
    holder = open_store(state)  # another process applies: this service stands by
    service = Serve(write_config(folder, state, [journey_file], serve={"max_backlog": 3}))
    try:
        assert httpx.get(f"{service.url}/health").json()["role"] == "standby"
        batch = {"batch": [track(f"b{n}", f"c{n}", "signup", traits=NAME) for n in range(3)]}
        assert post(service.url, "/v1/batch", batch).status_code == 200
        refused = post(service.url, "/v1/track", track("b9", "c9", "signup"))
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        holder.close()  # the applier goes: this one takes over and drains the inbox
        wait_for(lambda: len(query(state, "SELECT id FROM events")) == 3)
        assert httpx.get(f"{service.url}/health").json()["role"] == "applier"
        assert post(service.url, "/v1/track", track("b9", "c9", "signup")).status_code == 200
    finally:
        service.stop()


class Load:
    """Clients posting batches of entry events (one new customer each) until stopped; every
    acknowledged id is kept."""

    def __init__(self, url: str, clients: int = 4, size: int = 20):
        self.url, self.size, self.acked, self.sent = url, size, set(), []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                        for n in range(clients)]
        for thread in self.threads:
            thread.start()

    def _client(self, number: int) -> None:
        with httpx.Client() as client:
            serial, ids = 0, None
            while not self.stop.is_set():
                if ids is None:  # a new batch once the last one was acknowledged
                    ids = [f"k{number}-{serial + i}" for i in range(self.size)]
                    serial += self.size
                    self.sent.append(ids)
                batch = {"batch": [track(i, f"cust-{i}", "signup", traits=NAME) for i in ids]}
                try:
                    if post(self.url, "/v1/batch", batch, client=client).status_code == 200:
                        self.acked.update(ids)
                        ids = None
                except httpx.HTTPError:
                    time.sleep(0.05)  # the service is gone: the same batch again, as a client would

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def _check_exactly_once(state, acked: set) -> None:
    events = [r[0] for r in query(state, "SELECT id FROM events")]
    assert len(events) == len(set(events)), "an event was applied twice"
    assert acked <= set(events), f"{len(acked - set(events))} acknowledged events were lost"
    per_customer = runs(state)
    assert all(per_customer.get(f"cust-{i}") == 1 for i in acked), "an entry was not applied once"
    assert all(n == 1 for n in per_customer.values())


def test_sigterm_under_load_loses_no_acknowledged_event(files):
    folder, journey_file = files
    state = folder / "state.sqlite"
    config = write_config(folder, state, [journey_file])
    service = Serve(config)
    load = Load(service.url)
    try:
        wait_for(lambda: len(load.acked) >= 2000, 60)
        assert service.stop(signal.SIGTERM) == 0
    finally:
        load.finish()
    assert "stopped: every acknowledged event is in the state" in service.output()
    applied = {r[0] for r in query(state, "SELECT id FROM events")}
    waiting = {json.loads(r[0])["id"] for r in query(state, "SELECT event FROM inbox")}
    assert load.acked <= applied | waiting
    again = Serve(config)  # what waited in the inbox is applied at the next start
    try:
        wait_for(lambda: query(state, "SELECT count(*) FROM inbox") == [(0,)])
        _check_exactly_once(state, load.acked)
    finally:
        again.stop()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_under_load_then_every_acknowledged_event_is_applied_once(files, store, request):
    folder, journey_file = files
    state = folder / "state.sqlite" if store == "sqlite" else request.getfixturevalue("postgres_url")
    config = write_config(folder, state, [journey_file])
    service = Serve(config)
    load = Load(service.url)
    try:
        wait_for(lambda: len(load.acked) >= 1000, 60)
        service.stop(signal.SIGKILL)
        time.sleep(0.3)  # the clients see the service gone and retry what was not acknowledged
        again = Serve(config)
        wait_for(lambda: len(load.acked) >= 2000, 60)
    finally:
        load.finish()
    try:
        for ids in load.sent:  # what was never acknowledged is sent again, as a client would
            if not set(ids) <= load.acked:
                batch = {"batch": [track(i, f"cust-{i}", "signup", traits=NAME) for i in ids]}
                assert post(again.url, "/v1/batch", batch).status_code == 200
                load.acked.update(ids)
        wait_for(lambda: query(state, "SELECT count(*) FROM inbox") == [(0,)], 30)
        _check_exactly_once(state, load.acked)
    finally:
        again.stop()


def test_a_standby_takes_over_when_the_applier_is_killed(files, postgres_server):
    folder, journey_file = files
    state = pg.fresh_schema(postgres_server)
    first = Serve(write_config(folder, state, [journey_file], name="a.toml"))
    second = Serve(write_config(folder, state, [journey_file], name="b.toml"))
    try:
        assert httpx.get(f"{second.url}/health").json()["role"] == "standby"
        for n, service in enumerate((first, second, first, second)):
            post(service.url, "/v1/track", track(f"s{n}", f"c{n}", "signup", traits=NAME))
        wait_for(lambda: len(query(state, "SELECT id FROM events")) == 4)
        first.stop(signal.SIGKILL)
        post(second.url, "/v1/track", track("s9", "c9", "signup", traits=NAME))
        wait_for(lambda: httpx.get(f"{second.url}/health").json()["role"] == "applier", 15)
        wait_for(lambda: ("s9",) in query(state, "SELECT id FROM events"))
        # the timers the first one had pending fire in the second one
        wait_for(lambda: len(query(state, "SELECT id FROM outbox WHERE template = 'b'")) == 5, 15)
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("content, message", [
    ("state = 's.sqlite'\n[auth]\ntokens_env = 'JOURNEY_TOKENS'\n[serve]\nprot = 1\n",
     "serve.prot: unknown key (did you mean 'port'?)"),
    ("state = 's.sqlite'\n[auth]\ntokens_env = 'NOT_SET_ANYWHERE'\n",
     "auth.tokens_env: the environment variable NOT_SET_ANYWHERE is not set"),
    ("state = 's.sqlite'\n[auth]\ntoken = 'abc'\n",
     "auth.token: secrets come from environment variables: write token_env"),
    ("state = 's.sqlite'\n", "auth: set tokens_env or hmac_secret_env"),
    ("state = 's.sqlite'\n[auth]\ntokens_env = 'JOURNEY_TOKENS'\n[channels.sms]\nadapter = 'smss'\n",
     "channels.sms.adapter: unknown adapter 'smss' (did you mean 'sms'?)"),
    ("state = 's.sqlite'\njourneys = ['missing.journey']\n[auth]\ntokens_env = 'JOURNEY_TOKENS'\n",
     "missing.journey"),
    ("state = 's.sqlite'\ntimezone = 'Mars/Base'\n", "timezone: unknown time zone 'Mars/Base'"),
    ("state = 'postgresql://u:pw@127.0.0.1:1/x?connect_timeout=1'\n[auth]\n"
     "tokens_env = 'JOURNEY_TOKENS'\n", "cannot connect"),
    ("state = [\n", "not valid TOML"),
])
def test_configuration_errors_are_reported_at_start_up(tmp_path, content, message):
    config = tmp_path / "live.toml"
    config.write_text(content, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", "serve", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**__import__("os").environ, **ENV, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "pw@" not in done.stderr
