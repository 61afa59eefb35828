"""The live configuration file and the ingestion API's bodies, without servers: what the bundled
configurations route, how mistakes are reported, how tracking calls become runtime events."""
from __future__ import annotations

import json

import pytest

from journeylang.api import load_tables
from journeylang.live.config import ConfigError, load_config
from journeylang.live.intake import Limits, PayloadError, events_from

from conftest import EXAMPLES

PRODUCTION_ENV = {"JOURNEY_STATE": "postgresql://journeys:pw@db.internal/journeys",
                  "JOURNEY_TOKENS": "a,b", "JOURNEY_HMAC_SECRET": "h", "WECOM_SECRET": "w",
                  "SMS_TOKEN": "s", "SMTP_PASSWORD": "p", "WEBHOOK_SECRET": "k"}


def _channels_sent_on() -> set[str]:
    found = set()
    for path in sorted(EXAMPLES.glob("*.journey")) + sorted(EXAMPLES.glob("*.yaml")):
        for row in load_tables(str(path)).rows["steps"]:
            if row["kind"] == "send":
                found |= {row["params"]["channel"], *row["params"].get("fallback", ())}
    return found


@pytest.mark.parametrize("name, env", [("demo.toml", {"JOURNEY_TOKENS": "demo-token"}),
                                       ("production.toml", PRODUCTION_ENV)])
def test_the_bundled_configurations_route_every_channel_of_the_examples(name, env):
    config = load_config(EXAMPLES / "live" / name, environ=env)
    assert len(config.journeys) == len(list(EXAMPLES.glob("*.journey"))) + \
        len(list(EXAMPLES.glob("*.yaml")))
    routed = {r.channel for r in config.routes if r.kind == "message"}
    assert _channels_sent_on() <= routed
    if name == "demo.toml":
        assert {r.kind for r in config.routes} == {"message", "coupon", "handoff", "webhook"}
    else:
        assert config.state == PRODUCTION_ENV["JOURNEY_STATE"]
        assert config.auth["tokens"] == "a,b" and config.routes[0].options["secret"] == "w"


def test_a_state_named_twice_is_refused(tmp_path):
    path = tmp_path / "live.toml"
    path.write_text('state = "s.sqlite"\nstate_env = "X"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="state_env: give state or state_env, not both"):
        load_config(path, environ={"X": "other.sqlite"})


def test_paths_are_relative_to_the_configuration(tmp_path):
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "a.journey").write_text("x", encoding="utf-8")
    path = tmp_path / "live.toml"
    path.write_text('state = "s.sqlite"\njourneys = ["j/*.journey"]\n[channels.sms]\n'
                    'adapter = "log"\nfile = "out/sent.jsonl"\nmax_attempts = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="channels.sms.max_attempts: must be at least 1"):
        load_config(path, environ={})
    path.write_text(path.read_text().replace("max_attempts = 0", "max_age = 3600"))
    config = load_config(path, environ={})
    assert config.state == str(tmp_path / "s.sqlite")
    assert config.journeys == (str(tmp_path / "j" / "a.journey"),)
    assert config.routes[0].options["file"] == str(tmp_path / "out" / "sent.jsonl")
    assert config.routes[0].retry["max_age"] == 3600


RECEIVED = 1_772_420_400.0  # 2026-03-02T03:00:00Z


def _one(call: str, body) -> object:
    return events_from(call, json.dumps(body).encode(), RECEIVED)


def test_a_track_call_becomes_a_runtime_event():
    event, = _one("track", {"messageId": "m1", "userId": "u1", "event": "order_paid",
                            "properties": {"order": {"total": 10}},
                            "context": {"traits": {"tier": "gold"}, "ip": "10.0.0.1"},
                            "timestamp": "2026-03-02T02:59:00Z",
                            "sentAt": "2026-03-02T03:00:05Z"})  # the sender's clock is 5 s fast
    assert (event.id, event.type, event.customer) == ("m1", "order_paid", "u1")
    assert event.data == {"order": {"total": 10}} and event.attributes == {"tier": "gold"}
    assert event.at == RECEIVED - 65


def test_identify_and_anonymous_calls():
    event, = _one("identify", {"messageId": "m2", "anonymousId": "a9", "traits": {"name": "小红"}})
    assert (event.type, event.customer, event.attributes, event.at) == (
        "identify", "a9", {"name": "小红"}, RECEIVED)


def test_an_event_slightly_ahead_of_the_server_is_applied_when_received():
    event, = _one("track", {"messageId": "m3", "userId": "u", "event": "x",
                            "timestamp": "2026-03-02T03:01:00Z"})
    assert event.at == RECEIVED


@pytest.mark.parametrize("call, body, errors", [
    ("track", {"messageId": "m", "userId": "u"}, [("event", "missing: the event's name")]),
    ("track", {"messageId": "m", "userId": 1.5, "event": "x"},
     [("", "'userId' must be a non-empty string or an integer")]),
    ("track", {"messageId": "m", "userId": "u", "event": "x", "properties": [1]},
     [("", "'properties' must be a JSON object")]),
    ("track", {"messageId": "m", "userId": "u", "event": "x", "timestamp": "yesterday"},
     [("timestamp", "'yesterday' is not an ISO-8601 time")]),
    ("batch", {"batch": []}, [("batch", "no events")]),
    ("batch", {"calls": []}, [("batch", "expected {\"batch\": [ ...calls... ]}")]),
    ("events", [{"id": "e", "type": "x", "customer": "c", "at": "2026-03-02T00:00:00Z",
                 "atributes": {}}], [("events[0]", "unknown field 'atributes' (did you mean "
                                                   "'attributes'?)")]),
])
def test_every_mistake_names_its_field(call, body, errors):
    with pytest.raises(PayloadError) as caught:
        _one(call, body)
    found = [(where, message) for where, message in caught.value.errors]
    assert len(found) == len(errors)
    for (where, message), (want_where, want_start) in zip(found, errors):
        assert where == want_where and message.startswith(want_start), (where, message)


def test_a_batch_over_the_limit_is_refused_whole():
    body = {"batch": [{"type": "track", "messageId": f"m{n}", "userId": "u", "event": "x"}
                      for n in range(3)]}
    with pytest.raises(PayloadError, match="3 events in one request; at most 2"):
        events_from("batch", json.dumps(body).encode(), RECEIVED, Limits(max_batch=2))
