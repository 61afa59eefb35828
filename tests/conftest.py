"""Shared test helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools import missing

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def write(tmp_path):
    """Write a journey file into a temporary folder and return its path."""
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return _write


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(available, reason): the test needs an external "
                                       "tool (skipped without it; under CI=true it fails)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        if not mark.kwargs["available"]:
            missing(mark.kwargs["reason"])
