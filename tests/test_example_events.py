"""Every example journey ships a sample events file (examples/events/) that `journey run` takes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.runtime import status as queries

from conftest import EXAMPLES

JOURNEYS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".journey", ".yaml"))
HORIZON = "2026-04-30T00:00:00+08:00"  # after every sample's last event and timer


def events_of(journey: Path) -> Path:
    return EXAMPLES / "events" / f"{journey.stem}.jsonl"


def test_every_example_has_an_events_file_and_no_file_is_orphaned():
    assert sorted(p.stem for p in (EXAMPLES / "events").glob("*.jsonl")) == \
        sorted(p.stem for p in JOURNEYS)


@pytest.mark.parametrize("journey", JOURNEYS, ids=lambda p: p.name)
def test_sample_events_run_cleanly_and_tell_more_than_one_story(journey, tmp_path):
    events = events_of(journey)
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    db = tmp_path / "state.sqlite"
    result = CliRunner().invoke(main, ["run", "--tables", str(journey), "--events", str(events),
                                       "--db", str(db), "--until", HORIZON])
    assert result.exit_code == 0, result.output
    assert f"events: {len(lines)} read, {len(lines)} applied" in result.stderr
    connection = queries.open_state(db)
    try:
        [version] = queries.overview(connection)["versions"]
        histories = {c: queries.customer(connection, c)["history"]
                     for c in dict.fromkeys(e["customer"] for e in lines)}
    finally:
        connection.close()
    assert len(version["outcomes"]) >= 2, version  # several customers, several endings
    failed = [(c, row["step"], row["detail"]) for c, rows in histories.items() for row in rows
              if row["what"] == "failed"]
    assert failed == []  # every message the sample sends can be rendered from its data


def test_run_as_a_subprocess_with_a_sample(tmp_path):
    journey = EXAMPLES / "cart_recovery.journey"
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", "run", "--tables", str(journey),
                           "--events", str(events_of(journey)), "--db", str(tmp_path / "s.sqlite")],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert "9 applied" in done.stderr
