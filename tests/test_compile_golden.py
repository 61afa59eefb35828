"""Golden tables: the compiled form of two journeys is pinned, row by row.

Each journey in tests/fixtures/golden/ (a frozen copy of an example, with a title line) has its
expected tables beside it as ``<name>.tables.json``. When a change to the compiler is meant,
regenerate them and review the diff:

    JOURNEYLANG_UPDATE_GOLDEN=1 python -m pytest tests/test_compile_golden.py
"""
from __future__ import annotations

import os

import pytest

from journeylang import api
from journeylang.compile import read_tables

from conftest import FIXTURES
from runtime_kit import COMPILED_AT

GOLDEN = FIXTURES / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if p.suffix in (".journey", ".yaml"))
UPDATE = os.environ.get("JOURNEYLANG_UPDATE_GOLDEN") == "1"


def test_two_journeys_are_pinned():
    assert [p.name for p in CASES] == ["cart_recovery.journey", "repurchase_reminder.yaml"]


@pytest.mark.parametrize("source", CASES, ids=lambda p: p.name)
def test_compiled_tables_match_the_golden_file(source):
    title = source.read_text(encoding="utf-8").splitlines()[0]
    assert title.startswith("# golden: ")
    result = api.compile_file(source, compiled_at=COMPILED_AT)
    assert result.ok, [str(d) for d in result.check.diagnostics]
    text = result.tables.canonical_json()
    golden = source.with_name(source.name + ".tables.json")
    if UPDATE or not golden.exists():
        golden.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{golden.name} was missing and has been written: review and commit it")
    expected = golden.read_text(encoding="utf-8")
    assert text == expected, (
        f"the compiled tables of {source.name} drifted from {golden.name}; if the change is "
        f"meant, regenerate with JOURNEYLANG_UPDATE_GOLDEN=1 and review the diff")
    assert read_tables(golden).rows == result.tables.rows
