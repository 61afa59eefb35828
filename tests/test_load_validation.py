"""`journey run` and `journey status` check what they load: events, tables and the state file.
A damaged or hand-edited file is reported by name and field, never a traceback."""
from __future__ import annotations

import json
import os
import sqlite3

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from journeylang.cli import main
from journeylang.compile import TablesError, read_tables, write_tables
from journeylang.limits import MAX_NESTING
from journeylang.runtime import EventError, SqliteStore, StoreError, read_events
from journeylang.runtime.events import event_from_dict

from conftest import EXAMPLES
from runtime_kit import compile_text

CART = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                    "cart_recovery.journey")
GOOD = {"id": "e1", "type": "cart_abandoned", "customer": "c1", "at": "2026-03-02T10:00:00+08:00",
        "attributes": {"name": "Ann", "country": "CN", "timezone": "Asia/Shanghai",
                       "consent": {"wecom": True, "sms": True}},
        "data": {"cart": {"value": 120, "items": "2 mugs"}}}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output


# --- events -------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"type": ["a"]}, "'type' must be an event name such as order_paid, not [\"a\"]"),
    ({"type": {"a": 1}}, "'type' must be an event name such as order_paid, not {\"a\": 1}"),
    ({"attributes": []}, "'attributes' must be a JSON object, not []"),
    ({"data": 0}, "'data' must be a JSON object, not 0"),
    ({"data": ""}, "'data' must be a JSON object, not ''"),
    ({"attributes": {"timezone": "Mars/Base"}},
     "'attributes.timezone': unknown time zone 'Mars/Base': use an IANA name such as "
     "Asia/Shanghai"),
    ({"attributes": {"timezone": 8}}, "'attributes.timezone': unknown time zone 8: use an IANA "
                                      "name such as Asia/Shanghai"),
    ({"at": "9999-12-31T23:59:59Z"},
     "'at': '9999-12-31T23:59:59Z' is out of range: times are from 1970-01-01 to 8999-12-31"),
    ({"at": "0001-01-01T00:00:00+14:00"}, "'at': '0001-01-01T00:00:00+14:00' is out of range: "
                                          "times are from 1970-01-01 to 8999-12-31"),
])
def test_bad_events_name_their_line(tmp_path, change, message):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "e2", **change}) + "\n")
    events = read_events(path)
    next(events)
    with pytest.raises(EventError) as caught:
        next(events)
    assert str(caught.value) == f"{path}:2: {message}"


@pytest.mark.parametrize("line, message", [
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": '
     '{"x": NaN}}', "not valid JSON: NaN is not a JSON number"),
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": '
     '{"x": Infinity}}', "not valid JSON: Infinity is not a JSON number"),
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": {"x": '
     + "9" * 5000 + "}}", "not valid JSON: Exceeds the limit (4300 digits) for integer string "
                          "conversion: value has 5000 digits; use sys.set_int_max_str_digits() "
                          "to increase the limit"),
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": {"x": '
     + "[" * 100 + "]" * 100 + "}}", "JSON nested more than 64 levels deep"),
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": '
     '{"x": "\\ud800"}}', "not valid JSON: a \\u escape of half a surrogate pair is not a "
                          "character"),
    ('{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z", "data": {"x": "'
     + "y" * (1 << 20) + '"}}', "an event is at most 1,048,576 bytes (one line)"),
])
def test_events_past_the_bounds_name_their_line(tmp_path, line, message):
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(EventError) as caught:
        list(read_events(path))
    assert str(caught.value) == f"{path}:1: {message}"


@pytest.mark.parametrize("depth", [MAX_NESTING, MAX_NESTING + 1])
def test_the_most_compact_lines_at_and_past_the_nesting_bound(tmp_path, depth):
    """The fast path counts brackets only in lines long enough to nest past the bound: the
    shortest line that does (arrays inside the data, no spaces) is refused all the same, the
    deepest one allowed is read."""
    arrays = depth - 2  # the event and its data are the first two levels
    line = ('{"id":"e","type":"t","customer":"c","at":"2026-03-02T10:00:00Z","data":{"x":'
            + "[" * arrays + "]" * arrays + "}}")
    path = tmp_path / "events.jsonl"  # the first line makes the type known (the fast path's)
    path.write_text(line.replace(f'"x":{"[" * arrays}', '"x":[').replace("]" * arrays, "]")
                    .replace('"e"', '"e0"') + "\n" + line + "\n")
    if depth <= MAX_NESTING:
        _, event = read_events(path)
        assert event.data == json.loads(line)["data"]
    else:
        with pytest.raises(EventError, match=":2: JSON nested more than 64 levels deep"):
            list(read_events(path))


def test_a_surrogate_pair_in_an_event_is_one_character(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({**GOOD, "data": {"emoji": "\U0001F600"}}, ensure_ascii=True) + "\n")
    (event,) = read_events(path)
    assert event.data == {"emoji": "\U0001F600"}


def test_a_bad_line_names_its_column(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + '{"id": "e2",, "type": "t"}\n')
    with pytest.raises(EventError) as caught:
        list(read_events(path))
    assert str(caught.value) == (f"{path}:2: not valid JSON: Expecting property name enclosed "
                                 f"in double quotes at column 13")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10 ** 30, max_value=10 ** 30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.text(), JSON_VALUES, max_size=4), ascii_only=st.booleans(),
       lead=st.sampled_from(["", " ", "\ufeff"]), trail=st.sampled_from(["", " ", "\u3000"]))
def test_events_hold_the_values_json_reads(tmp_path_factory, data, ascii_only, lead, trail):
    """Lines are decoded on a fast path where it agrees with json, and by json elsewhere:
    whole numbers beyond 64 bits stay exact, a byte order mark and Unicode spaces around
    the value are taken as json takes them."""
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    line = json.dumps({**GOOD, "data": data}, ensure_ascii=ascii_only)
    path.write_text(lead + line + trail + "\n" + line.replace('"e1"', '"e2"') + "\n",
                    encoding="utf-8")
    first, second = read_events(path)
    expected = json.loads(line)["data"]
    assert repr(first.data) == repr(second.data) == repr(expected)


LINE = '{"id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z"'


@pytest.mark.parametrize("line", [
    '{"id": 7, "type": "t", "customer": 8, "at": "2026-03-02T10:00:00+08:00"}',
    LINE + ', "attributes": null, "data": null}',
    '{"id": "a", "id": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z"}',
    '{"\\u0069d": "e", "type": "t", "customer": "c", "at": "2026-03-02T10:00:00Z"}',
    LINE + ', "data": {"x": 1e400, "y": -' + "9" * 4300 + ', "z": 0.1e1, "w": -0}}',
    LINE + ', "data": {"x": ' + "[" * 60 + "]" * 60 + "}}",
    LINE + ', "data": {"a": 1, "a": 2.5}, "attributes": {"timezone": null}}',
    ' ' + LINE + ', "data": {"k": "\\ud83d\\ude00 \\u00e9"}}\t',
])
def test_every_line_is_read_as_json_reads_it(tmp_path, line):
    """Whether a line takes the fast path or json's (a type seen before, ids as numbers, nulls,
    repeated keys, escaped names, numbers json keeps exact or makes infinite), the event is
    the one json's value makes."""
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n" + line + "\n", encoding="utf-8")
    expected = event_from_dict(json.loads(line))
    for event in read_events(path):
        assert repr(event) == repr(expected)


# --- tables -------------------------------------------------------------------------------------

def tampered(tmp_path, table: str, index: int, change):
    data = json.loads(CART.canonical_json())
    row = data[table][index]
    change(row)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data, allow_nan=True))
    return path


def step(tables: dict, kind: str) -> int:
    return next(i for i, row in enumerate(tables["steps"]) if row["kind"] == kind)


STEPS = json.loads(CART.canonical_json())["steps"]
WAIT, SEND = step({"steps": STEPS}, "wait"), step({"steps": STEPS}, "send")
LISTEN = step({"steps": STEPS}, "wait_event")


@pytest.mark.parametrize("table, index, change, message", [
    ("steps", WAIT, lambda r: r["params"].update(duration="1h"),
     "table 'steps', row 1 (step 'remind.1'), params: duration: must be a duration in seconds "
     "(a whole number from 0 to 315,360,000), not '1h'"),
    ("steps", WAIT, lambda r: r["params"].update(duration=-60),
     "table 'steps', row 1 (step 'remind.1'), params: duration: must be a duration in seconds "
     "(a whole number from 0 to 315,360,000), not -60"),
    ("steps", WAIT, lambda r: r["params"].update(durration=60),
     "table 'steps', row 1 (step 'remind.1'), params: unknown field 'durration' (fields: "
     "duration)"),
    ("steps", WAIT, lambda r: r.update(step_id="nudge"),
     "table 'steps', row 2 (step 'nudge'), step_id: two steps are named 'nudge'"),
    ("steps", WAIT, lambda r: r.update(kind="sleep"),
     "table 'steps', row 1 (step 'remind.1'), kind: 'sleep' is not a step kind (send, wait, "
     "wait_until, wait_day, wait_schedule, wait_event, branch, split, goto, tag, untag, set, "
     "coupon, handoff, webhook, emit, exit)"),
    ("steps", LISTEN, lambda r: r["params"].update(ladder={"reached": ["nudge"], "ahead": ["gone"]}),
     f"table 'steps', row {LISTEN + 1} (step '{STEPS[LISTEN]['step_id']}'), params: ladder: no "
     "step is named 'gone'"),
    ("steps", LISTEN, lambda r: r["params"].update(ladder={"reached": [], "ahead": []}),
     f"table 'steps', row {LISTEN + 1} (step '{STEPS[LISTEN]['step_id']}'), params: ladder: "
     "reached: must name at least one step"),
    ("steps", SEND, lambda r: r["params"].update(template="nope"),
     "table 'steps', row 2 (step 'nudge'), params: template 'nope' is not in the templates "
     "table"),
    ("policies", 2, lambda r: r["params"].update(start="25:99"),
     "table 'policies', row 3 (quiet), params: start: must be a time of day HH:MM from 00:00 to "
     "23:59, not '25:99'"),
    ("policies", 0, lambda r: r["params"].update(messages=0),
     "table 'policies', row 1 (cap), params: messages: must be a count (a whole number from 1 "
     "to 2,147,483,647), not 0"),
    ("transitions", 0, lambda r: r.update(to_step="nowhere"),
     "table 'transitions', row 1 (from 'remind.1'), to_step: no step is named 'nowhere'"),
    ("transitions", 0, lambda r: r.update(kind="event"),
     "table 'transitions', row 1 (from 'remind.1'), kind: a wait step has no 'event' "
     "transitions"),
    ("templates", 0, lambda r: r.update(text="{{ oops"),
     "table 'templates', row 1 (template 'cart_nudge'), text: not a valid template (line 1: "
     "unexpected end of template, expected 'end of print statement'.)"),
    ("templates", 1, lambda r: r.update(template="cart_nudge"),
     "table 'templates', row 2 (template 'cart_nudge'), locale: a second text for locale "
     "'(default)'"),
    ("journey", 0, lambda r: r.update(reentry="sometimes"),
     "table 'journey', row 1, reentry: must be one of never, always, after, not 'sometimes'"),
    ("journey", 0, lambda r: r.update(version=-1),
     "table 'journey', row 1, version: must be a count (a whole number from 1 to "
     "2,147,483,647), not -1"),
    ("triggers", 0, lambda r: r.update(condition=[["path", "x"], 1]),
     "table 'triggers', row 1: not a condition tree: [['path', 'x'], 1]"),
    ("triggers", 0, lambda r: r.update(condition=["not"] * 5000 + [True]),
     "table 'triggers', row 1: wrong number of operands for not: ['not', 'not', 'not', 'not', "
     "...]"),
])
def test_hand_edited_tables_are_refused_by_name_and_field(tmp_path, table, index, change, message):
    path = tampered(tmp_path, table, index, change)
    with pytest.raises(TablesError) as caught:
        read_tables(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_deep_or_non_finite_condition_is_refused(tmp_path):
    path = tampered(tmp_path, "triggers", 0, lambda r: r.update(condition="DEEP"))
    text = path.read_text()
    path.write_text(text.replace('"DEEP"', '["not", ' * 5000 + "true" + "]" * 5000))
    with pytest.raises(TablesError, match="not a tables file: JSON nested too deeply"):
        read_tables(path)
    path.write_text(text.replace('"DEEP"', '["not", ' * 200 + "true" + "]" * 200))
    with pytest.raises(TablesError, match="a condition nests more than 66 levels"):
        read_tables(path)
    path = tampered(tmp_path, "triggers", 0, lambda r: r.update(condition=[">", 1, float("inf")]))
    with pytest.raises(TablesError, match="Infinity is not a number JSON allows"):
        read_tables(path)
    path.write_text(path.read_text().replace("Infinity", "1e999"))
    with pytest.raises(TablesError, match="numbers must be finite"):
        read_tables(path)


def test_holdout_over_100_percent_is_refused_in_every_format(tmp_path):
    data = json.loads(CART.canonical_json())
    data["policies"].append({"journey_id": "cart_recovery", "seq": 4, "kind": "holdout",
                             "params": {"percent": 150}})
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TablesError, match=r"table 'policies', row 5 \(holdout\), params: percent: "
                                          r"must be a percentage from 0 to 100, not 150"):
        read_tables(path)
    for fmt in ("csv", "sqlite"):
        tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"))
        tables.rows["policies"].append({**data["policies"][-1]})
        written = write_tables(tables, tmp_path / f"out.{fmt}", fmt)
        with pytest.raises(TablesError, match="must be a percentage from 0 to 100"):
            read_tables(written)


def test_journey_run_and_status_report_bad_tables_without_a_traceback(tmp_path):
    path = tampered(tmp_path, "steps", WAIT, lambda r: r["params"].update(duration="1h"))
    for command in (("run", "--tables", path), ("status", "--tables", path)):
        result = run(*command)
        no_traceback(result)
        assert result.exit_code == 1
        assert "table 'steps', row 1 (step 'remind.1'), params: duration" in result.output


# --- the state file -----------------------------------------------------------------------------

@pytest.fixture
def state(tmp_path):
    tables = tmp_path / "cart.json"
    write_tables(CART, tables, "json")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(GOOD) + "\n")
    result = run("run", "--tables", tables, "--events", events, "--until", "2026-03-02T04:00:00Z")
    assert result.exit_code == 0 and "timers fired" in result.output  # the nudge is sent
    return tables, events, tmp_path / "cart.state.sqlite"


def edit(db, sql: str) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(sql)


@pytest.mark.parametrize("sql, message", [
    ("UPDATE customers SET profile = 'not json'",
     "table 'customers', row 'c1', column 'profile': not valid JSON (Expecting value: line 1 "
     "column 1 (char 0))"),
    ("UPDATE customers SET profile = '[]'",
     "table 'customers', row 'c1', column 'profile': expected a JSON object, found list"),
    ("UPDATE customers SET state = '{\"sends\": 3, \"entries\": {}}'",
     "table 'customers', row 'c1', column 'state': 'sends' must be a list of [time, channel, "
     "journey, action, pending]"),
    ("UPDATE runs SET entered_at = 'yesterday'",
     "table 'runs', row 1, column 'entered_at': expected a finite number, found 'yesterday'"),
    ("UPDATE runs SET status = 'paused'",
     "table 'runs', row 1, column 'status': expected one of active, holdout, ended, found "
     "'paused'"),
    ("UPDATE runs SET step = 'gone'",
     "table 'runs', row 1, column 'step': version sha256:... has no step 'gone'"),
    ("UPDATE runs SET content_hash = 'sha256:0'",
     "table 'runs', row 1, column 'content_hash': no stored version 'sha256:0'"),
    ("UPDATE runs SET context = '{\"x\": NaN}'",
     "table 'runs', row 1, column 'context': not valid JSON (NaN is not a JSON number)"),
])
def test_a_damaged_state_is_reported_by_table_row_and_column(state, sql, message):
    tables, events, db = state
    edit(db, sql)
    result = run("run", "--tables", tables, "--events", events, "--until", "2026-03-09T00:00:00Z")
    no_traceback(result)
    assert result.exit_code == 1
    assert f"{db}: damaged state: {message}" in result.output.replace(
        CART.content_hash[:19], "sha256:...")


@pytest.mark.parametrize("sql, column", [
    ("UPDATE runs SET timer_due = 'soon' WHERE timer IS NOT NULL",
     "table 'runs', row 1, column 'timer_due': expected a finite number, found 'soon'"),
    ("UPDATE runs SET waiting = 'snooze' WHERE timer IS NOT NULL",
     "table 'runs', row 1, column 'waiting': expected one of time, event, quiet, holdout for a "
     "run with a timer, found 'snooze'"),
    ("INSERT INTO timers VALUES (99, 0, 0, 'UTC', 'snooze', 'j')",
     "table 'timers', row 99, column 'kind': expected one of wake, timeout, quiet, holdout, "
     "sla, kpi, schedule, found 'snooze'"),
    ("UPDATE meta SET value = 'noon' WHERE key = 'clock'", "table 'meta', row 'clock'"),
    ("UPDATE meta SET value = 'x' WHERE key = 'next_run'", "table 'meta', row 'next_run'"),
    ("UPDATE versions SET tables = '{\"format\": \"journeylang.tables/1\"}'",
     "stored version"),
])
def test_damaged_timers_meta_and_versions_stop_the_run_at_load(state, sql, column):
    tables, events, db = state
    edit(db, sql)
    for _ in range(2):  # the file is left as it is, and not locked by the failed run
        result = run("run", "--tables", tables, "--events", events)
        no_traceback(result)
        assert result.exit_code == 1 and column in result.output


@pytest.mark.parametrize("sql, args, message", [
    ("UPDATE customers SET profile = 'not json'", ("--customer", "c1"),
     "table 'customers', row 'c1', column 'profile': not valid JSON"),
    ("UPDATE outbox SET payload = '{'", ("--outbox",), "table 'outbox', row 1, column 'payload'"),
    ("UPDATE runs SET timer_due = 'soon' WHERE timer IS NOT NULL", (),  # the earliest, per kind
     "table 'runs', row 'kind timeout', column 'timer_due': expected a finite number, found "
     "'soon'"),
    ("UPDATE runs SET timer_due = 'soon' WHERE timer IS NOT NULL", ("--customer", "c1"),
     "table 'runs', row 1, column 'timer_due': expected a finite number, found 'soon'"),
    ("UPDATE history SET at = 'then'", ("--customer", "c1"), "table 'history', row 1, column 'at'"),
    ("UPDATE versions SET tables = 'x'", (), "table 'versions'"),
    ("UPDATE meta SET value = 'noon' WHERE key = 'clock'", (), "table 'meta', row 'clock'"),
])
def test_status_reports_a_damaged_state_by_table_row_and_column(state, sql, args, message):
    tables, _, db = state
    edit(db, sql)
    result = run("status", "--tables", tables, *args)
    no_traceback(result)
    assert result.exit_code == 1 and message in result.output


def test_a_profile_that_is_not_json_is_named_when_a_scheduled_entry_loads_its_customers(state):
    _, _, db = state
    edit(db, "UPDATE customers SET profile = 'x'")
    store = SqliteStore(db)
    try:
        # what an occurrence reads: the customers of its zone (by the indexed column), then each
        assert "c1" in store.customers_in_timezones(store.timezones())
        with pytest.raises(StoreError, match="table 'customers', row 'c1', column 'profile': "
                                             "not valid JSON"):
            store.customer("c1")
    finally:
        store.close()


def test_a_corrupt_sqlite_file_is_an_error_not_a_traceback(state):
    tables, events, db = state
    data = bytearray(db.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of garbage
    db.write_bytes(bytes(data))
    for command in (("run", "--tables", tables, "--events", events), ("status", "--db", db)):
        result = run(*command)
        no_traceback(result)
        assert result.exit_code == 1


# --- the lock -----------------------------------------------------------------------------------

def test_the_lock_is_on_the_file_not_the_name(tmp_path):
    db = tmp_path / "state.sqlite"
    link = tmp_path / "link.sqlite"
    first = SqliteStore(db)
    try:
        os.symlink(db, link)
        with pytest.raises(StoreError, match="in use by another journey run"):
            SqliteStore(link)
        os.symlink(tmp_path, tmp_path / "dir")
        with pytest.raises(StoreError, match="in use by another journey run"):
            SqliteStore(tmp_path / "dir" / "state.sqlite")
    finally:
        first.close()
    SqliteStore(link).close()


def test_a_damaged_migrations_table_is_named_by_row_and_field(tmp_path):
    from journeylang import api
    from journeylang.compile import write_json
    tables = api.load_tables(EXAMPLES / "refill_nudge.journey")
    assert tables.rows["migrations"]
    tables.rows["migrations"][0]["to_step"] = "no_such_step"
    path = write_json(tables, tmp_path / "t.json")
    with pytest.raises(TablesError, match=r"table 'migrations', row 1 .*to_step: no step is named"):
        read_tables(path)
