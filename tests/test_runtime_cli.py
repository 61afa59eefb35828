"""`journey run` and `journey status` from the command line: results, errors, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.compile import write_json

from conftest import EXAMPLES
from runtime_kit import compile_text, journey

CART = EXAMPLES / "cart_recovery.journey"
EVENTS = [
    {"id": "e1", "type": "cart_abandoned", "customer": "c1", "at": "2026-03-02T10:00:00+08:00",
     "attributes": {"name": "Ann", "country": "CN", "timezone": "Asia/Shanghai",
                    "consent": {"wecom": True, "sms": True}},
     "data": {"cart": {"value": 120, "items": "2 mugs"}}},
    {"id": "e2", "type": "cart_abandoned", "customer": "c2", "at": "2026-03-02T10:05:00+08:00",
     "attributes": {"name": "Bo", "country": "SG", "consent": {"wecom": True}},
     "data": {"cart": {"value": 80, "items": "a lamp"}}},
    {"id": "e3", "type": "replied", "customer": "c1", "at": "2026-03-02T11:30:00+08:00"},
]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def setup(tmp_path):
    tables = tmp_path / "cart.json"
    write_json(compile_text(CART.read_text(encoding="utf-8"), "cart_recovery.journey"), tables)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    return tables, events


def test_run_then_status(setup, tmp_path):
    tables, events = setup
    result = run("run", "--tables", tables, "--events", events)
    assert result.exit_code == 0, result.output
    assert "events: 3 read, 3 applied, 0 already applied" in result.stderr
    assert (tmp_path / "cart.state.sqlite").exists()
    status = run("status", "--tables", tables)
    assert status.exit_code == 0
    text = status.stdout
    assert "3 events applied; 2 customers" in text
    assert 'journey cart_recovery "Cart recovery" v4' in text and "(active): runs active 2" in text
    assert 'stage remind "Remind": 2' in text and "waiting quiet" in text  # c2: UTC
    assert "timers pending: 3" in text  # two runs' timers and the handoff's SLA deadline
    data = json.loads(run("status", "--tables", tables, "--json").stdout)
    assert {(s["step"], s["waiting"], s["customers"]) for s in data["steps"]} == {
        ("nudge", "quiet", 1), ("remind.5", "time", 1)}
    assert data["clock"] == "2026-03-02T03:30:00Z"


def test_status_of_one_customer_and_of_the_outbox(setup):
    tables, events = setup
    run("run", "--tables", tables, "--events", events, "--until", "2026-03-02T10:00:00Z")
    customer = run("status", "--tables", tables, "--customer", "c1").stdout
    assert "customer c1" in customer and '"timezone": "Asia/Shanghai"' in customer
    assert "nudge" in customer and "sent" in customer and "event replied" in customer
    assert "Hi Ann, you left 2 mugs in your cart." in customer
    outbox = run("status", "--tables", tables, "--outbox").stdout.splitlines()
    assert outbox[0].startswith("#3 2026-03-02T09:00:00Z c2 ")  # deferred by quiet hours (UTC)
    assert "wecom queued: Hi Bo, you left a lamp" in outbox[0]
    assert any("handoff queued" in line for line in outbox)
    rows = json.loads(run("status", "--tables", tables, "--outbox", "--json", "--channel", "wecom").stdout)
    assert {r["customer"] for r in rows} == {"c1", "c2"}
    assert run("status", "--tables", tables, "--customer", "nobody").exit_code == 1


def test_running_again_applies_nothing_twice(setup):
    tables, events = setup
    run("run", "--tables", tables, "--events", events)
    again = run("run", "--tables", tables, "--events", events)
    assert "events: 3 read, 0 applied, 3 already applied" in again.stderr


def test_until_fires_the_timers_due(setup):
    tables, events = setup
    result = run("run", "--tables", tables, "--events", events, "--until", "2026-03-12T00:00:00Z")
    assert "timers fired up to 2026-03-12T00:00:00Z" in result.stderr
    data = json.loads(run("status", "--tables", tables, "--json").stdout)
    assert data["versions"][0]["outcomes"] == {"expired": 2}


@pytest.mark.parametrize("line, message", [
    ("{not json", "events.jsonl:3: not valid JSON: Expecting property name enclosed in double quotes at column 2"),
    ('{"id": "x", "type": "t", "customer": "c", "at": "yesterday"}', "events.jsonl:3: 'at': 'yesterday' is not an ISO-8601 time"),
    ('{"id": "x", "type": "t", "customer": "c", "at": "2026-01-01T00:00:00Z", "atributes": {}}',
     "events.jsonl:3: unknown field 'atributes' (did you mean 'attributes'?)"),
    ('{"id": "x", "customer": "c", "at": "2026-01-01T00:00:00Z"}', "events.jsonl:3: missing field 'type'"),
    ('[1, 2]', "events.jsonl:3: an event must be a JSON object"),
])
def test_a_bad_event_line_names_file_and_line(setup, line, message):
    tables, events = setup
    lines = [json.dumps(e) for e in EVENTS[:2]] + [line] + [json.dumps(EVENTS[2])]
    events.write_text("\n".join(lines) + "\n")
    result = run("run", "--tables", tables, "--events", events)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "the events before this line are applied" in result.stderr
    status = json.loads(run("status", "--tables", tables, "--json").stdout)
    assert status["events"] == 2


def test_a_journey_file_can_be_run_directly_but_not_with_errors(tmp_path):
    good = tmp_path / "good.journey"
    good.write_text(journey("  stage s {\n    send via wecom template a\n    exit completed\n  }",
                            header="  entry on signup"))
    events = tmp_path / "e.jsonl"
    events.write_text('{"id": 1, "type": "signup", "customer": 7, "at": "2026-03-02T00:00:00Z", '
                      '"attributes": {"name": "Ann"}}\n')
    assert run("run", "--tables", good, "--events", events).exit_code == 0
    assert "A Ann" in run("status", "--db", tmp_path / "good.state.sqlite", "--customer", "7").stdout
    bad = tmp_path / "bad.journey"
    bad.write_text('journey bad {\n  stage a {\n    send via wechat template "hi"\n  }\n}\n')
    result = run("run", "--tables", bad, "--events", events)
    assert result.exit_code == 1 and "JL104" in result.stdout and "has errors" in result.stderr


def test_usage_errors(setup, tmp_path):
    tables, events = setup
    assert run("run", "--events", events).exit_code == 2                       # no --tables
    assert run("status").exit_code == 2                                        # nothing to find
    missing = run("status", "--db", tmp_path / "none.sqlite")
    assert missing.exit_code == 1 and "no such state file" in missing.stderr
    assert run("run", "--tables", tmp_path / "nope.json").exit_code == 1
    assert run("run", "--tables", tables, "--until", "soon").exit_code == 2
    run("run", "--tables", tables, "--seed", "1")
    clash = run("run", "--tables", tables, "--seed", "2")
    assert clash.exit_code == 1 and "run with seed 1, not 2" in clash.stderr


def test_a_bad_line_in_a_real_process_gives_no_traceback(setup):
    tables, events = setup
    events.write_text('{"id": "e1", "type": "x", "customer": "c", "at": "2026-01-01T00:00:00Z"}\n\xff\n',
                      encoding="latin-1")
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", "run", "--tables", str(tables),
                           "--events", str(events)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "events.jsonl:2: not valid UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr
