"""Fuzzing the whole toolchain: every input gets a diagnostic or a result, never a traceback.

One strategy per class of bad input: mutated example journeys, DSL literals, YAML specials
(tags, anchors, nesting, odd scalars), templates, events, hand-edited tables, a damaged state
file and cohorts. Each example goes through the command line as a user would and must end with
exit code 0, 1 or 2 and no traceback; a journey the checker accepts must also compile, run a
few events and simulate a small cohort without an error.

The examples per strategy come from a Hypothesis profile chosen by ``JOURNEYLANG_FUZZ``:
``ci`` (the default, a few minutes for the whole file) or ``long`` (a night's worth):

    JOURNEYLANG_FUZZ=long python3 -m pytest -q tests/test_fuzz.py
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from journeylang import api
from journeylang.cli import main

from conftest import EXAMPLES
from test_robustness import mutated

settings.register_profile("fuzz-ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("fuzz-long", max_examples=2000, deadline=None,
                          suppress_health_check=list(HealthCheck))
FUZZ = settings.get_profile(f"fuzz-{os.environ.get('JOURNEYLANG_FUZZ', 'ci')}")

JOURNEYS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".journey", ".yaml"))
COHORTS = sorted((EXAMPLES / "cohorts").glob("*.cohort.yaml"))
CART = EXAMPLES / "cart_recovery.journey"
T0 = "2026-03-02T01:00:00Z"


# --- running the command line ---------------------------------------------------------------------

def cli(*args) -> tuple[int, str]:
    """Exit code and output of a command; a traceback (any exception but SystemExit) fails."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{' '.join(map(str, args))}: a traceback") from result.exception
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def accepted_journey_works(path: Path, folder: Path) -> None:
    """What passes `journey check` compiles, runs a few events and simulates a small cohort."""
    code, output = cli("check", "-q", path)
    if code != 0:
        return
    tables = folder / "tables.json"
    code, output = cli("compile", path, "-o", tables)
    assert code == 0, output
    entry = next((r for r in json.loads(tables.read_text())["triggers"] if r["kind"] == "entry"),
                 None)
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(
        {"id": f"e{n}", "type": entry["event"] if entry and entry["event"] else "joined",
         "customer": f"c{n}", "at": T0,
         "attributes": {"name": "Li", "consent": {"wecom": True, "sms": True}},
         "data": {"cart": {"value": 120, "items": "2 mugs"}, "order": {"total": 9}}}) + "\n"
        for n in range(3)))
    code, output = cli("run", "--tables", tables, "--events", events, "--db",
                       folder / "state.sqlite", "--until", "2026-03-12T00:00:00Z")
    assert code == 0, output
    code, output = cli("status", "--tables", tables, "--db", folder / "state.sqlite")
    assert code == 0, output
    cohort = folder / "c.cohort.yaml"
    cohort.write_text("size: 5\nsegments:\n  - name: a\n    attributes: {name: Li}\n"
                      "    consent: {wecom: 1, sms: 1}\n")
    code, output = cli("simulate", tables, "--cohort", cohort, "--days", "2")
    assert code == 0, output


# --- strategies -----------------------------------------------------------------------------------

HUGE_NUMBERS = st.sampled_from(["9" * 5000, "9" * 400, "99999999999999999999", "9007199254740993",
                                "0", "00", "1.5", "0.0000001", "4294967296"])
SPECIALS = st.sampled_from([
    "9" * 5000, "9" * 309 + "w", "999999999999999999999999999999w", "0d", "-1", "25:99",
    "150%", "!!bool maybe", "!custom x", "&a", "*a", "[" * 200, "{" * 200, "not " * 900,
    " + 1" * 600, "\\ud800", "\\ud83d\\ude00", "{{ 1 / 0 }}", "{{ ''|center(10**9) }}",
    '"""', "\x00", "中文", ".inf", ".nan", "1e400", "~", "null", "[]", "{}", "\n", "\t"])


BASE = '''journey t "T" version {version} {{
  owner "qa"
  entry on joined where customer.score >= {number} and consent.wecom
  reentry after {duration}
  goal bought on order_paid within {duration}
  policy {{ cap {whole} messages per {duration}; quiet {time}-08:00; consent wecom; holdout {percent} }}
  role agent capacity {whole} per {duration}
  template hi "Hi {{{{ customer.name }}}} {{{{ {number} }}}}"
  stage s {{
    send via wecom template hi
    wait {duration}
    handoff to agent within {duration}
    coupon "X" value {number} expires {duration}
    branch {{ when customer.score * {number} > {number} -> done; else -> done }}
    done: exit completed
  }}
}}
'''


@st.composite
def dsl_literals(draw):
    """The DSL's literals with values from every range, in range and out of it."""
    def one_of(*choices):
        return draw(st.sampled_from(choices) | HUGE_NUMBERS)
    return BASE.format(
        version=one_of("1", "2147483647", "2147483648"),
        number=one_of("10", "0.5", "9007199254740991"),
        duration=draw(st.sampled_from(["1s", "1h", "3650d", "3651d", "521w", "0.5s", "1.5h",
                                       "9" * 20 + "d"]) | HUGE_NUMBERS.map(lambda n: n + "h")),
        whole=one_of("1", "3", "0"),
        time=draw(st.sampled_from(["22:00", "23:59", "24:00", "9:60"])),
        percent=draw(st.sampled_from(["5%", "100%", "101%", "0.5%"])))


@st.composite
def yaml_specials(draw):
    """The example YAML journey with one scalar replaced by a YAML special."""
    text = (EXAMPLES / "repurchase_reminder.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")]
    index = draw(st.sampled_from(candidates))
    key, _, _ = lines[index].partition(": ")
    value = draw(st.sampled_from([
        "!!bool maybe", "!!str 3", "!custom x", ".inf", "-.inf", ".nan", "1.0e+400", "9" * 5000,
        "-1", "0", "~", "[]", "{}", "&a x", "*nowhere", "[" * 100 + "]" * 100, '"\\ud800"',
        '"\\ud83d\\ude00"', "2026-03-02", "0x1F", "1_000", "1:30", "yes", "|\n  block"]))
    lines[index] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


TEMPLATE_PIECES = st.sampled_from([
    "{{ customer.name }}", "{{ cart.items }}", "{{ cart.value / 0 }}", "{{ customer.name * 10**8 }}",
    "{{ 'x' * 1000 }}", "{{ ''|center(10**9) }}", "{{ customer.name|center(40) }}",
    "{{ '{:>1000000000}'.format(1) }}", "{{ '%5d' % 3 }}", "{% for i in range(10) %}.{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{{ range(10**6)|list }}", "{% include 'x' %}", "{{ customer.__class__ }}",
    "{% set n = namespace(s='ab') %}{% for i in range(40) %}{% set n.s = n.s ~ n.s %}{% endfor %}",
    "{{ customer.missing }}", "{{ (1).to_bytes(10**9, 'big') }}", "{% if %}", "{{", "}}", "中文 "])


@st.composite
def templates(draw):
    """A journey whose template is assembled from pieces, some past a limit, some broken."""
    text = "".join(draw(st.lists(TEMPLATE_PIECES, min_size=1, max_size=4)))
    return CART.read_text(encoding="utf-8").replace(
        "Hi {{ customer.name }}, you left {{ cart.items }} in your cart.", text.replace('"', "'"))


EVENT_FIELDS = {
    "id": st.one_of(st.text(max_size=5), st.integers(), st.none(), st.lists(st.integers())),
    "type": st.sampled_from(["cart_abandoned", "replied", "order_paid", "", "x y", "unsubscribed"])
    | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2), st.integers(),
                                                              max_size=2) | st.integers(),
    "customer": st.sampled_from(["c1", "c2", ""]) | st.integers() | st.none(),
    "at": st.sampled_from([T0, "2026-03-02", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                           "not a time", "2026-02-30T00:00:00Z"]) | st.integers(),
    "attributes": st.one_of(st.just({}), st.lists(st.integers(), max_size=2), st.integers(),
                            st.fixed_dictionaries({"timezone": st.sampled_from(
                                ["Asia/Shanghai", "Mars/Base", "", None, 8])}),
                            st.fixed_dictionaries({"consent": st.just({"wecom": True}),
                                                   "score": st.integers() | st.floats()})),
    "data": st.one_of(st.just({}), st.just([]), st.just(""), st.recursive(
        st.integers() | st.text(max_size=3) | st.none(),
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner,
                                                                   max_size=2), max_leaves=6)),
}


@st.composite
def event_lines(draw):
    """Lines of an events file: objects with fields of every type, and lines that are not JSON."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(['{"id": 1', "[]", "null", "NaN", '{"x": Infinity}',
                                               '{"id": "e", "data": ' + "[" * 3000 + "]" * 3000 + "}",
                                               '{"data": {"x": ' + "9" * 5000 + "}}"])))
            continue
        keys = draw(st.lists(st.sampled_from(sorted(EVENT_FIELDS) + ["extra"]), unique=True,
                             min_size=3, max_size=7))
        raw = {key: draw(EVENT_FIELDS.get(key, st.integers())) for key in keys}
        lines.append(json.dumps(raw, allow_nan=True))
    return "\n".join(lines) + "\n"


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
                        st.just(["not"] * 3), st.just({}), st.just([]), st.just("25:99"),
                        st.just(10**400), st.just(float("nan")))


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    if path:
        yield path


@st.composite
def edited_tables(draw, compiled: dict):
    """Compiled tables with one value, anywhere, replaced by another JSON value."""
    data = json.loads(json.dumps(compiled))
    path = draw(st.sampled_from(sorted(_leaves(data), key=str)))
    holder = data
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = draw(JSON_VALUES)
    return json.dumps(data, allow_nan=True)


STATE_TABLES = {"customers": ["profile", "state"], "runs": ["status", "step", "entered_at",
                                                            "context", "content_hash", "waiting"],
                "timers": ["due", "kind", "run_id"], "meta": ["value"],
                "history": ["at"], "outbox": ["payload", "at"], "versions": ["tables"]}
CELLS = st.sampled_from(["'not json'", "'[]'", "'{}'", "NULL", "-1", "'x'", "1e999", "X'00'",
                         "'{\"sends\": 3}'", "'{\"x\": NaN}'", "'sha256:0'", "'paused'"])


@st.composite
def cohort_specials(draw):
    """An example cohort with one value replaced, size kept small so a run stays short."""
    path = draw(st.sampled_from(COHORTS))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["size"] = 10
    paths = [p for p in _leaves(data) if p != ("size",)]
    target = draw(st.sampled_from(sorted(paths, key=str)))
    holder = data
    for key in target[:-1]:
        holder = holder[key]
    holder[target[-1]] = draw(st.one_of(JSON_VALUES.filter(lambda v: v != 10**400),
                                        st.sampled_from(["9" * 400 + "d", "2h", "Mars/Base"])))
    text = yaml.safe_dump(data, allow_unicode=True)
    if draw(st.booleans()):
        text = text.replace("name:", draw(st.sampled_from(["name: !!str", "name: &a", "name:"])), 1)
    return path, text


# --- the properties -------------------------------------------------------------------------------

def journey_case(factory, name: str, text: str) -> Path:
    """``text`` written as the file ``name`` in a folder of its own, which it then goes
    through as a user would."""
    folder = factory.mktemp("case")
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    accepted_journey_works(path, folder)
    return path


@FUZZ
@given(mutated(JOURNEYS, SPECIALS | st.text(max_size=4)))
def test_mutated_example_journeys(tmp_path_factory, case):
    text, suffix = case
    journey_case(tmp_path_factory, f"j{suffix}", text)


@FUZZ
@given(dsl_literals())
def test_dsl_literals_in_and_out_of_range(tmp_path_factory, text):
    journey_case(tmp_path_factory, "j.journey", text)


@FUZZ
@given(yaml_specials())
def test_yaml_specials(tmp_path_factory, text):
    journey_case(tmp_path_factory, "j.yaml", text)


@FUZZ
@given(templates())
def test_templates(tmp_path_factory, text):
    path = journey_case(tmp_path_factory, "cart.journey", text)
    customer, event = path.parent / "c.json", path.parent / "e.json"
    customer.write_text(json.dumps({"name": "Li", "consent": {"wecom": True}}))
    event.write_text(json.dumps({"cart": {"value": 120, "items": "2 mugs"}}))
    cli("preview", path, "nudge", "--customer", customer, "--event", event)


@FUZZ
@given(event_lines())
def test_events(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("events")
    events = folder / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    cli("run", "--tables", CART, "--events", events, "--db", folder / "s.sqlite", "--until",
        "2026-03-05T00:00:00Z")
    cli("status", "--db", folder / "s.sqlite", "--customer", "c1")


@functools.cache
def compiled_cart() -> dict:
    return json.loads(api.compile_file(CART, compiled_at=T0).tables.canonical_json())


@FUZZ
@given(st.data())
def test_edited_tables(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("tables")
    tables = folder / "t.json"
    tables.write_text(data.draw(edited_tables(compiled_cart())))
    events = folder / "events.jsonl"
    events.write_text(json.dumps({"id": "e1", "type": "cart_abandoned", "customer": "c1",
                                  "at": T0, "attributes": {"consent": {"wecom": True}},
                                  "data": {"cart": {"value": 300, "items": "x"}}}) + "\n")
    cli("run", "--tables", tables, "--events", events, "--until", "2026-03-06T00:00:00Z")
    cli("status", "--tables", tables)


@FUZZ
@given(st.sampled_from(sorted(STATE_TABLES)), st.data())
def test_damaged_state(tmp_path_factory, table, data):
    folder = tmp_path_factory.mktemp("state")
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(
        {"id": f"e{n}", "type": "cart_abandoned", "customer": f"c{n}", "at": T0,
         "attributes": {"name": "Li", "consent": {"wecom": True}},
         "data": {"cart": {"value": 300, "items": "x"}}}) + "\n" for n in range(2)))
    db = folder / "s.sqlite"
    assert cli("run", "--tables", CART, "--events", events, "--db", db, "--until",
               "2026-03-02T03:00:00Z")[0] == 0
    column = data.draw(st.sampled_from(STATE_TABLES[table]))
    try:
        with sqlite3.connect(db) as connection:
            connection.execute(f"UPDATE {table} SET {column} = {data.draw(CELLS)}")
    except sqlite3.IntegrityError:  # the schema itself refuses the edit (NOT NULL)
        return
    more = folder / "more.jsonl"
    more.write_text(events.read_text().replace('"e', '"f'))
    cli("run", "--tables", CART, "--events", more, "--db", db, "--until", "2026-03-09T00:00:00Z")
    for args in ((), ("--customer", "c0"), ("--outbox",)):
        cli("status", "--db", db, *args)


@FUZZ
@given(cohort_specials())
def test_cohorts(tmp_path_factory, case):
    path, text = case
    folder = tmp_path_factory.mktemp("cohorts")
    cohort = folder / "c.cohort.yaml"
    cohort.write_text(text, encoding="utf-8")
    journey = next(p for p in JOURNEYS if p.stem == path.name.removesuffix(".cohort.yaml"))
    cli("simulate", journey, "--cohort", cohort, "--days", "3")
