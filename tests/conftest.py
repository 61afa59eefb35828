"""Shared test helpers."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# The runtime's stores pack every JSON value at each commit and fail when one changed without
# the mark that has it saved (journeylang.runtime.state.Customer); subprocesses inherit it.
os.environ["JOURNEYLANG_CHECK_MARKS"] = "1"

from tools import import_or_skip, missing  # noqa: E402

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
    # the built DSL parser is cached in a folder of this session, not in the user's cache
    if "JOURNEYLANG_CACHE_DIR" not in os.environ:
        os.environ["JOURNEYLANG_CACHE_DIR"] = tempfile.mkdtemp(prefix="journeylang-cache-")
    config.addinivalue_line("markers", "needs(available, reason): the test needs an external "
                                       "tool (skipped without it; under CI=true it fails)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        if not mark.kwargs["available"]:
            missing(mark.kwargs["reason"])


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server for this session (without one: skipped saying why, or
    failed under CI=true, where .ci/run starts one)."""
    import os

    import pg
    if os.environ.get(pg.ENV):
        yield os.environ[pg.ENV]
        return
    try:
        server = pg.Server()
    except pg.Unavailable as exc:
        missing(f"no PostgreSQL server: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A PostgreSQL state URL of its own (a fresh schema) for one test."""
    import pg
    import_or_skip("psycopg")
    return pg.fresh_schema(postgres_server)


@pytest.fixture(params=["sqlite", "postgres"])
def state_target(request, tmp_path):
    """Where a durable state lives, once per store: a SQLite file, a PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "state.sqlite"
    return request.getfixturevalue("postgres_url")
