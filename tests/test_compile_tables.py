"""Compiling checked journeys to step tables: every example, every format, deterministically."""
from __future__ import annotations

import filecmp
import functools
import json
import sqlite3
from collections import Counter

import pytest
from click.testing import CliRunner

from journeylang import api
from journeylang.cli import main
from journeylang.compile import FORMATS, TablesError, read_tables, write_tables
from journeylang.expand import expand_document
from journeylang.frontend import parse_file
from journeylang.graph import build_graph
from journeylang.runtime import build_program

from conftest import EXAMPLES
from runtime_kit import COMPILED_AT, compile_text, journey

EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".journey", ".yaml", ".yml"))


@functools.cache
def compiled(path):
    """One compilation per example for the whole module (checking is the slow part)."""
    return api.compile_file(path, compiled_at=COMPILED_AT)


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_compiles_in_every_format(path, tmp_path):
    result = compiled(path)
    assert result.ok, [str(d) for d in result.check.diagnostics]
    tables = result.tables
    for fmt in FORMATS:
        written = write_tables(tables, tmp_path / f"out.{fmt}", fmt)
        assert read_tables(written).rows == tables.rows, fmt
    program = build_program(tables)
    assert program.start == tables.rows["steps"][0]["step_id"]
    assert set(program.steps) == {row["step_id"] for row in tables.rows["steps"]}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_transitions_are_the_graphs_edges(path):
    tables = compiled(path).tables
    graph = build_graph(expand_document(parse_file(path)).journey).graph  # ladders expanded
    edges = Counter((a, b, d["kind"]) for a, b, d in graph.edges(data=True))
    # a split's control arm (a `holdout` row) holds its runs at the split: no edge leaves it
    rows = Counter((r["from_step"], r["to_step"], r["kind"]) for r in tables.rows["transitions"]
                   if r["kind"] != "holdout")
    assert rows == edges


def _tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_compiling_twice_gives_identical_bytes(fmt, tmp_path):
    source = EXAMPLES / "cart_recovery.journey"
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert run("compile", str(source), "-o", str(out / "tables"), "--format", fmt).exit_code == 0
    assert _tree(first) == _tree(second)
    if fmt == "sqlite":
        assert filecmp.cmp(first / "tables", second / "tables", shallow=False)


def test_all_examples_compile_deterministically(tmp_path):
    for path in EXAMPLE_FILES:
        again = api.compile_file(path, compiled_at=COMPILED_AT).tables
        for fmt in FORMATS:
            write_tables(compiled(path).tables, tmp_path / "a" / path.name / fmt, fmt)
            write_tables(again, tmp_path / "b" / path.name / fmt, fmt)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_compiled_at_comes_from_source_date_epoch_or_the_file(tmp_path, monkeypatch):
    source = tmp_path / "t.journey"
    source.write_text(journey("  stage s {\n    exit completed\n  }", header="  entry on go"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert api.compile_file(source).tables.journey["compiled_at"] == "2026-01-01T00:00:00Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    import os
    os.utime(source, (1767225660, 1767225660))
    assert api.compile_file(source).tables.journey["compiled_at"] == "2026-01-01T00:01:00Z"


def test_the_content_hash_follows_the_source():
    text = journey("  stage s {\n    exit completed\n  }", header="  entry on go")
    same, again = compile_text(text), compile_text(text)
    changed = compile_text(text.replace("entry on go", "entry on went"))
    assert same.content_hash == again.content_hash != changed.content_hash
    assert same.content_hash.startswith("sha256:") and len(same.content_hash) == 71


def test_tables_say_what_each_step_does():
    tables = compile_text(journey('''
  stage s {
    w: wait within 1d {
      on replied where event.score >= 3 -> yes
      on clicked
      timeout -> no
    }
    send via sms template a with {code: "X1"}
    yes: set customer.score = customer.score + 1 -> no
    no: split {
      one 25% -> fin
      two 75% -> fin
    }
    fin: exit completed
  }''', header="  entry on go\n  exit on unsubscribed as opted_out\n  policy { quiet 22:00-08:00; holdout 5% }\n"
                  "  attribute score: number = 0"))
    steps = {r["step_id"]: r for r in tables.rows["steps"]}
    assert steps["s.2"]["params"] == {"channel": "sms", "template": "a", "params": {"code": "X1"},
                                      "promo": False}
    assert steps["yes"]["params"] == {"attribute": "customer.score",
                                      "value": ["+", ["path", "customer", "score"], 1]}
    out = [(r["kind"], r["event"], r["condition"], r["weight"], r["arm"], r["to_step"])
           for r in tables.rows["transitions"] if r["from_step"] in ("w", "no")]
    assert out == [
        ("event", "replied", [">=", ["path", "event", "score"], 3], None, None, "yes"),
        ("event", "clicked", None, None, None, "s.2"),
        ("timeout", None, None, None, None, "no"),
        ("split", None, None, 25.0, "one", "fin"),
        ("split", None, None, 75.0, "two", "fin"),
    ]
    policies = [(r["kind"], r["params"]) for r in tables.rows["policies"]]
    assert policies == [("quiet", {"start": "22:00", "end": "08:00"}), ("holdout", {"percent": 5.0})]


def test_a_journey_with_errors_is_not_compiled(tmp_path):
    source = tmp_path / "bad.journey"
    source.write_text('journey bad {\n  stage a {\n    send via wechat template "hi"\n  }\n}\n')
    out = tmp_path / "out.json"
    result = run("compile", str(source), "-o", str(out))
    assert result.exit_code == 1
    assert f"{source}:3:5: JL104 error: unknown channel 'wechat'" in result.stdout
    assert "not compiled" in result.stderr
    assert not out.exists()


def test_compile_reports_where_it_wrote(tmp_path):
    out = tmp_path / "t.sqlite"
    result = run("compile", str(EXAMPLES / "vip_care.yaml"), "-o", str(out), "--format", "sqlite")
    assert result.exit_code == 0
    assert "compiled vip_care" in result.stderr and str(out) in result.stderr
    names = {r[0] for r in sqlite3.connect(out).execute("SELECT name FROM sqlite_master")}
    assert {"journey", "steps", "transitions", "templates", "policies", "triggers"} <= names


def test_an_unwritable_output_is_an_error_not_a_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("compile", str(EXAMPLES / "vip_care.yaml"), "-o", str(blocker), "--format", "csv")
    assert result.exit_code == 1 and "cannot write" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("{", "not a tables file"),
    ('{"format": "other"}', "not a journeylang tables file"),
    ('{"format": "journeylang.tables/1"}', "table 'journey' is missing"),
])
def test_unreadable_tables_are_reported(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(TablesError, match=message):
        read_tables(path)


def test_a_tampered_condition_is_refused(tmp_path):
    tables = compile_text(journey("  stage s {\n    exit completed\n  }",
                                  header="  entry on go where event.n > 1"))
    data = json.loads(tables.canonical_json())
    data["triggers"][0]["condition"] = ["__import__", "os"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TablesError, match="not a condition tree"):
        read_tables(path)


def test_csv_cells_keep_their_types(tmp_path):
    tables = api.compile_file(EXAMPLES / "cart_recovery.journey", compiled_at=COMPILED_AT).tables
    folder = write_tables(tables, tmp_path / "csv", "csv")
    header = (folder / "transitions.csv").read_text().splitlines()[0]
    assert header == "journey_id,from_step,seq,kind,event,condition,weight,arm,to_step"
    (folder / "steps.csv").write_text("journey_id\n")
    with pytest.raises(TablesError, match="steps.csv:1: expected the columns"):
        read_tables(folder)
