"""Segments inlined into conditions stay within the bounds that compile and run enforce."""
from __future__ import annotations

import json

from click.testing import CliRunner

from journeylang.cli import main

JOURNEY = '''journey seg "Segments" version 1 {
  owner "crm"
  entry on joined where segment(s0)
  stage one {
    exit completed
  }
}
'''


def _write(tmp_path, segments: dict[str, str]):
    lines = ["[tool.journeylang.segments]"]
    lines += [f"{name} = {json.dumps(text)}" for name, text in segments.items()]
    (tmp_path / ".journeylang.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "seg.journey"
    path.write_text(JOURNEY, encoding="utf-8")
    return path


def _check(path):
    result = CliRunner().invoke(main, ["lint", "--format", "json", str(path)],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _codes(report) -> list[str]:
    return [d["code"] for d in report["diagnostics"]]


def _chain(length: int, body: str) -> dict[str, str]:
    """s0 .. s{length}: each segment's body uses the next one where ``body`` says {next}."""
    chain = {f"s{i}": body.format(next=f"segment(s{i + 1})", i=i) for i in range(length)}
    chain[f"s{length}"] = "customer.x > 1"
    return chain


def test_a_short_chain_of_segments_checks_compiles_and_runs(tmp_path):
    path = _write(tmp_path, _chain(3, "not {next}"))
    code, report = _check(path)
    assert code == 0, report
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"id": "e1", "type": "joined", "customer": "c1",
                                  "at": "2026-11-26T10:00:00Z",
                                  "attributes": {"x": 0}}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--tables", str(path), "--events", str(events),
                                       "--db", str(tmp_path / "state.sqlite")])
    assert result.exit_code == 0, result.output


def test_segments_using_one_another_too_deep_are_an_error(tmp_path):
    code, report = _check(_write(tmp_path, _chain(20, "not {next}")))
    assert code == 1 and "JL608" in _codes(report)


def test_a_condition_nested_too_deep_once_inlined_is_an_error_not_a_failure_at_run(tmp_path):
    nots = "not " * 20
    code, report = _check(_write(tmp_path, _chain(5, nots + "{next}")))
    assert code == 1 and _codes(report) == ["JL005"]


def test_segments_that_double_at_every_step_are_refused_at_once(tmp_path):
    # each segment uses the next one ten times: 10^7 terms once inlined
    body = " or ".join(f"(customer.y == {{i}}{k} and {{next}})" for k in range(10))
    code, report = _check(_write(tmp_path, _chain(7, body)))
    assert code == 1 and _codes(report) == ["JL005"]
