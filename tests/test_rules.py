"""Every rule: a failing fixture reports exactly the expected places, a passing one is clean."""
from __future__ import annotations

import re

import pytest

from journeylang import api
from journeylang.diagnostics import Severity
from journeylang.lint import REGISTRY
from journeylang.lint.registry import Rule, register

from conftest import FIXTURES

RULE_FIXTURES = FIXTURES / "rules"
EXPECT = re.compile(r"#\s*expect:\s*(JL\d{3})\s+(\d+):(\d+)")
# codes that only a YAML file can produce are covered in test_yaml_frontend.py, and the one
# `journey preview` reports (a render with given values) in test_template_limits.py
FRONTEND_ONLY = {"JL000", "JL003", "JL004", "JL407"}


def _cases(kind: str):
    return sorted(p for p in RULE_FIXTURES.glob(f"*/{kind}*") if p.is_file())


def _expected(path):
    return sorted((m[1], int(m[2]), int(m[3])) for m in EXPECT.finditer(path.read_text()))


@pytest.mark.parametrize("path", _cases("fail"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_failing_fixture_reports_expected_places(path):
    code = path.parent.name
    expected = _expected(path)
    assert expected, f"{path} declares no '# expect:' lines"
    found = sorted((d.code, d.span.line, d.span.column)
                   for d in api.check(path).diagnostics if d.code == code)
    assert found == expected


@pytest.mark.parametrize("path", _cases("pass"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_passing_fixture_has_none_of_its_rule(path):
    result = api.check(path)
    assert result.document.journey is not None
    assert [d for d in result.diagnostics if d.code == path.parent.name] == []


def test_every_rule_has_failing_and_passing_fixtures():
    for code in REGISTRY:
        if code in FRONTEND_ONLY:
            continue
        folder = RULE_FIXTURES / code
        assert list(folder.glob("fail*")), f"{code} has no failing fixture"
        assert list(folder.glob("pass*")), f"{code} has no passing fixture"


def test_registry_rejects_duplicate_codes():
    with pytest.raises(ValueError, match="JL201 is registered twice"):
        register(Rule("JL201", "again", Severity.ERROR, "dup", ""))


def test_every_rule_is_documented():
    for registered in REGISTRY.values():
        assert registered.summary.endswith(".")
        assert registered.doc.strip(), registered.code
