"""A journey and a cohort that feed each other at one instant: both engines stop with the same
clear error, instead of running for ever."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.limits import MAX_INSTANT_ITEMS
from journeylang.sim import SimulationError, parse_cohort, simulate
from journeylang.sim.cohort import CohortError
from journeylang.sim.vector import vector_support

from runtime_kit import compile_text, journey

ROOT = Path(__file__).resolve().parent.parent

# every run's send draws `joined` at once, and `joined` starts the next run at that instant
LOOP = journey("""  stage s "S" {
    hello: send via wecom template a
    done: exit completed
  }""", header="  entry on joined\n  reentry always")

COHORT = """size: 3
start: 2026-03-02T06:30:00Z
arrival: 0
segments:
  - name: loyal
    consent: {wecom: 1}
    behaviour:
      responses:
        - {event: joined, after: {template: a}, p: 1, delay: 0h}
"""

MESSAGE = (f"customer c1 took more than {MAX_INSTANT_ITEMS:,} events and timers at "
           "2026-03-02T06:30:00Z without time passing: a loop through the cohort's response "
           "`joined` 0h after template a (<cohort>:9:11) and journey t's entry on joined; give "
           "that response a delay")


@pytest.mark.parametrize("engine", ["reference", "vector"])
def test_a_loop_at_one_instant_stops_both_engines_with_the_same_error(engine):
    tables, cohort = compile_text(LOOP), parse_cohort(COHORT)
    assert vector_support(tables, cohort) is None   # the vectorised engine runs it itself
    with pytest.raises(SimulationError) as caught:
        simulate(tables, cohort, seed=0, days=1, engine=engine)
    assert str(caught.value) == MESSAGE


@pytest.mark.parametrize("engine", ["reference", "vector"])
def test_the_same_loop_with_a_delay_runs(engine):
    tables = compile_text(LOOP)
    cohort = parse_cohort(COHORT.replace("delay: 0h", "delay: 1h"))
    results = simulate(tables, cohort, seed=0, days=1, engine=engine)
    assert results.entered["runs"] == 3 * 25   # one run an hour, the first at the start


@pytest.mark.parametrize("engine", ["reference", "vector"])
def test_a_burst_of_events_no_journey_takes_is_not_a_loop(engine):
    """More than the bound's events at one instant, of a type nothing takes: no run moves,
    so neither engine counts them."""
    tables = compile_text(LOOP)
    burst = f"{{event: noise, after: {{template: a}}, p: 1, count: {MAX_INSTANT_ITEMS + 500}, delay: 0h}}"
    cohort = parse_cohort(COHORT.replace("{event: joined, after: {template: a}, p: 1, delay: 0h}",
                                         burst))
    results = simulate(tables, cohort, seed=0, days=1, engine=engine)
    assert results.entered["runs"] == 3   # each customer's arrival, once: the burst moved nothing
    assert results.behaviour["events"]["noise"]["count"] == 3 * (MAX_INSTANT_ITEMS + 500)


def _files(tmp_path):
    journey_file, cohort_file = tmp_path / "loop.journey", tmp_path / "loop.cohort.yaml"
    journey_file.write_text(LOOP, encoding="utf-8")
    cohort_file.write_text(COHORT, encoding="utf-8")
    return journey_file, cohort_file


@pytest.mark.parametrize("options", [[], ["--engine", "reference"], ["--shards", "2"]])
def test_the_cli_reports_the_loop_without_a_traceback(tmp_path, options):
    journey_file, cohort_file = _files(tmp_path)
    out = CliRunner().invoke(main, ["simulate", str(journey_file), "--cohort", str(cohort_file),
                                    "--days", "1", *options])
    assert out.exit_code == 1, out.output
    assert isinstance(out.exception, SystemExit) and "Traceback" not in out.output
    expected = MESSAGE.replace("<cohort>", str(cohort_file))
    assert f"error: {expected}" in out.output


def test_the_cli_reports_the_loop_as_a_subprocess(tmp_path):
    journey_file, cohort_file = _files(tmp_path)
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", "simulate", str(journey_file),
                           "--cohort", str(cohort_file), "--days", "1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{cohort_file}:9:11" in done.stderr and "give that response a delay" in done.stderr


@pytest.mark.parametrize("engine", ["reference", "vector"])
def test_the_count_starts_again_when_time_passes(engine, monkeypatch):
    """Each customer takes a few items an hour, many in the day: only one instant's count."""
    monkeypatch.setattr("journeylang.sim.engine.MAX_INSTANT_ITEMS", 10)
    monkeypatch.setattr("journeylang.sim.vector.block.MAX_INSTANT_ITEMS", 10)
    monkeypatch.setattr("journeylang.sim.instant.MAX_INSTANT_ITEMS", 10)
    tables = compile_text(LOOP)
    cohort = parse_cohort(COHORT.replace("delay: 0h", "delay: 1h"))
    assert simulate(tables, cohort, seed=0, days=1, engine=engine).entered["runs"] == 3 * 25
    with pytest.raises(SimulationError, match="took more than 10 events"):
        simulate(tables, parse_cohort(COHORT), seed=0, days=1, engine=engine)


# --- responses to events that multiply themselves --------------------------------------------

GROWING = """size: 10
arrival: 0
segments:
  - name: a
    consent: {{wecom: 1}}
    behaviour:
      responses:
        - {{event: ping, after: {{event: joined}}, p: 1, delay: 1h}}
        - {{event: pong, after: {{event: ping}}, p: 1, delay: 1h{count}}}
        - {{event: ping, after: {{event: pong}}, p: 0.9, delay: 1h}}
"""


@pytest.mark.parametrize("count", [", count: 2", ", count: {poisson: {mean: 1.5}}",
                                   ", count: {categorical: {1: 1, 3: 1}}"])
def test_responses_to_events_that_multiply_round_a_cycle_are_refused_with_their_place(count):
    """ping gives pong, pong gives ping: with more than one pong per ping the customer's
    events would double every two hours until the horizon (the engines ran out of memory)."""
    cohort = parse_cohort(GROWING.format(count=count))
    with pytest.raises(CohortError) as refused:
        simulate(compile_text(LOOP), cohort, seed=1, days=2)
    assert (refused.value.line, refused.value.column) == (9, 11)
    assert "the response `pong` after event ping gives" in refused.value.message
    assert "lead back to ping" in refused.value.message


@pytest.mark.parametrize("count", ["", ", count: 1", ", count: {categorical: {0: 1, 1: 1}}"])
def test_a_cycle_of_single_events_only_repeats_and_runs(count):
    """One event per turn: the cycle repeats as time passes, within the horizon."""
    cohort = parse_cohort(GROWING.format(count=count))
    results = simulate(compile_text(LOOP), cohort, seed=1, days=1, engine="reference")
    assert results.behaviour["events"]["pong"]["count"] > 10
