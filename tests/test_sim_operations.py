"""The simulator's operations: staff capacity queues, SLA breach rates, KPI results, promo share,
and `journey simulate --fail-under` for CI."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.sim import Simulation, parse_cohort
from journeylang.sim import simulate as simulate_with
from journeylang.sim.html import render_html
from journeylang.sim.report import missed_kpis, wilson
from journeylang.sim.staff import StaffQueue

from browser import chromium, needs_chromium
from runtime_kit import compile_text, journey

HANDOFF = journey('''
  stage s {
    send via wecom template a
    handoff to agent within 24h
    wait for handoff_resolved within 5d -> done timeout -> done
    done: exit completed
  }''', header="  entry on joined\n  role agent capacity 240 per 1d")


def cohort(size: int, behaviour: str = "", arrival: str = "1d"):
    body = f"    behaviour:\n{behaviour}" if behaviour else ""
    return parse_cohort(f"size: {size}\narrival: {arrival}\nsegments:\n  - name: a\n{body}\n")


def run(text: str, people, days: float = 10, seed: int = 3):
    return Simulation(compile_text(text), people, seed, days).run()


def test_the_staff_queue_serves_one_handoff_every_interval_in_order():
    queue = StaffQueue(interval=100.0)
    assert [queue.serve(t) for t in (0, 10, 20, 500)] == [0, 100, 200, 500]
    assert queue.longest() == 2  # at t=20: the ones of 10 and 20 wait (0 was served at once)
    assert queue.summary()["handoffs"] == 4
    assert StaffQueue().serve(42.0) == 42.0  # no capacity declared: served at once


def test_a_role_with_capacity_0_serves_no_handoff():
    queue = StaffQueue(interval=math.inf)
    assert [queue.serve(t) for t in (0, 10)] == [math.inf, math.inf]
    assert queue.summary() == {"handoffs": 2, "mean_wait_hours": None, "p90_wait_hours": None,
                               "max_queue": 2}
    results = run(HANDOFF.replace("capacity 240", "capacity 0"), cohort(20), days=3)
    agent, = results.staff
    assert (agent["handoffs"], agent["met"], agent["breached"], agent["max_queue"]) == (20, 0, 20, 20)
    assert agent["mean_wait_hours"] is None  # not infinity: summary.json stays JSON


def test_sla_breach_rate_rises_with_the_cohort_when_staff_capacity_is_fixed():
    rates = []
    for size in (200, 2000, 10000):
        results = run(HANDOFF, cohort(size), days=4)
        agent, = results.staff
        assert agent["handoffs"] == size == agent["slas"]
        rates.append(agent["breach_rate"])
    assert rates[0] < 0.01 and rates[0] < rates[1] < rates[2]
    # FIFO, 240 a day, arrivals spread over a day: the k-th of n waits k(1/240 - 1/n) days,
    # so about (n - 1/(1/240 - 1/n)) / n of them wait over 24 h
    for rate, size in zip(rates[1:], (2000, 10000)):
        expected = (size - 1 / (1 / 240 - 1 / size)) / size
        assert abs(rate - expected) < 0.03


LADDER = journey('''
  stage s {
    send via wecom template a
    ladder: escalate until resolved within 4h -> done {
      at 0m: handoff to staff within 30m
      at 30m: handoff to qa within 30m
      at 1h: handoff to expert within 1h
      at 2h: handoff to director within 2h
      breach -> late
    }
    late: exit escalated
    done: exit completed
  }''', header="""  entry on complaint
  role staff capacity 0 per 1d
  role qa capacity 0 per 1d
  role expert capacity 0 per 1d
  role director capacity 0 per 1d""")


def test_the_breach_rate_after_an_early_resolution_counts_only_deadlines_that_passed():
    """Nobody is staffed, and every complaint is resolved at 70 minutes: the rungs whose
    deadline passed before (staff at 30, qa at 60) are breached, the expert's (due at 120) is
    met by the resolution, and the director's rung (at 2h) is never reached: no SLA."""
    resolved = "      responses: [{event: resolved, after: {template: a}, p: 1, delay: 70m}]\n"
    results = run(LADDER, cohort(40, resolved), days=2)
    figures = {r["role"]: (r["handoffs"], r["slas"], r["met"], r["breached"], r["breach_rate"])
               for r in results.staff}
    assert figures == {"staff": (40, 40, 0, 40, 1.0), "qa": (40, 40, 0, 40, 1.0),
                       "expert": (40, 40, 40, 0, 0.0), "director": (0, 0, 0, 0, None)}
    assert results.ended == {"treated:completed": 40}


def test_conservation_holds_with_handoffs_queued():
    results = run(HANDOFF, cohort(3000), days=3)  # the queue outlasts the horizon
    assert results.entered["runs"] == results.exited + results.still_inside
    assert results.still_inside > 0
    agent, = results.staff
    assert agent["slas"] == agent["met"] + agent["breached"] + _open_slas(results)
    assert agent["max_queue"] > 0 and agent["p90_wait_hours"] >= agent["mean_wait_hours"]


def _open_slas(results) -> int:
    """SLAs still open at the horizon: due after it (the last arrivals' 24 h)."""
    agent, = results.staff
    return agent["slas"] - agent["met"] - agent["breached"]


KPI = journey('''
  stage s {
    kpi bought "Bought" on bought within 1d baseline 20% target 30%
    kpi complaints on complained within 1d baseline 10% target 5%
    send promo via wecom template a
    send via wecom template b
    wait 2d
    exit completed
  }''', header="  entry on joined\n  policy { promo 40% }")


PROMO = journey('''
  stage s {
    send transactional via wecom template c
    send promo via wecom template a
    wait 1d
    send via wecom template b
    exit completed
  }''', header="  entry on joined\n  policy { promo 40% }")


@pytest.mark.parametrize("engine", ["reference", "vector"])
def test_both_engines_count_the_promo_share_over_the_messages_the_budget_counts(engine):
    """One promo of the two messages the budget counts (the receipt is transactional), in
    either engine, as the checker counts it."""
    results = simulate_with(compile_text(PROMO), cohort(100), seed=3, days=10, engine=engine)
    assert results.engine == engine and results.messages["total"] == 300
    assert results.promo == {"sends": 200, "promo": 100, "share": 0.5, "budget": 0.4,
                             "over_budget": True}


def test_the_promo_share_leaves_out_transactional_messages():
    """Transactional messages are exempt from the budget: the share is over the others, as
    the checker counts it (one promo of two, not of three)."""
    text = KPI.replace("    send promo via wecom template a",
                       "    send transactional via wecom template c\n    send promo via wecom template a")
    results = run(text, cohort(100))
    assert results.messages["total"] == 300
    assert results.promo == {"sends": 200, "promo": 100, "share": 0.5, "budget": 0.4,
                             "over_budget": True}


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_kpi_values_match_a_hand_computed_case(p):
    people = cohort(400, f"      responses:\n        - {{event: bought, after: {{template: a}}, p: {p}}}")
    results = run(KPI, people)
    bought, complaints = results.kpis
    assert (bought["observations"], bought["hits"], bought["value"]) == (400, 400 * p, p)
    assert bought["ci95"] == list(wilson(int(400 * p), 400))
    assert bought["met"] is (p == 1.0) and bought["met_baseline"] is (p == 1.0)
    assert (complaints["value"], complaints["met"]) == (0.0, True)  # lower is better
    assert results.promo == {"sends": 800, "promo": 400, "share": 0.5, "budget": 0.4,
                             "over_budget": True}
    assert missed_kpis(results) == ([] if p else [
        "KPI bought: 0.0% against target 30.0% (needs at least 30.0%; 95% CI 0.0%-1.0%, "
        "400 closed observations)"])


def test_observations_still_open_at_the_horizon_are_not_misses():
    results = run(KPI.replace("on bought within 1d", "on bought within 20d"), cohort(50), days=3)
    bought = results.kpis[0]
    assert (bought["observations"], bought["open"], bought["value"], bought["met"]) == (
        0, 50, None, None)
    assert missed_kpis(results)[0] == ("KPI bought: no observation window closed (needs target "
                                       "30.0%; 50 still open)")


def test_hits_inside_windows_still_open_are_not_counted():
    """Censoring: half the customers buy within an hour, the others never; windows of 20 days
    close only for the customers who arrived in the first ten days. Counting every hit so far
    (and the misses known so far) would report 75%; the closed windows say 50%."""
    people = cohort(2000, "      responses:\n        - {event: bought, after: {template: a}, "
                          "p: 0.5, delay: 1h}", arrival="40d")
    results = run(KPI.replace("on bought within 1d", "on bought within 20d"), people, days=30)
    bought = results.kpis[0]
    closed, opened = bought["observations"], bought["observations"] + bought["open"]
    assert 0.25 < closed / opened < 0.42 and bought["hits_open"] > bought["open"] * 0.4
    assert bought["ci95"][0] < 0.5 < bought["ci95"][1]
    naive = (bought["hits"] + bought["hits_open"]) / (closed + bought["hits_open"])
    assert naive > 0.7


@pytest.mark.parametrize("p, missed", [(0.305, 1), (0.5, 0)])
def test_fail_under_ci_judges_the_bound_of_the_interval(p, missed):
    people = cohort(400, f"      responses:\n        - {{event: bought, after: {{template: a}}, p: {p}}}")
    results = run(KPI, people)
    bought = results.kpis[0]
    assert bought["met"] is True                            # the value reaches the 30% target
    assert len(missed_kpis(results, "ci")) == missed        # its lower bound may not
    if missed:
        assert missed_kpis(results, "ci")[0].startswith(
            f"KPI bought: {bought['value']:.1%}, but the lower bound of its 95% CI is "
            f"{bought['ci95'][0]:.1%}, not at least the target 30.0%")


def test_the_report_has_kpi_and_staff_tables(tmp_path):
    results = run(KPI.replace("wait 2d", "handoff to agent within 1h\n    wait 2d"), cohort(50))
    page = render_html(results)
    assert 'class="kpis"' in page and 'class="staff"' in page and "promo sends: 50 of 100" in page
    written = {p.name for p in results.write(tmp_path)}
    assert {"kpis.csv", "staff.csv"} <= written
    assert (tmp_path / "kpis.csv").read_text().startswith("kpi,title,stage,step,observations,open,")


# --- --fail-under --------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    (tmp_path / "j.journey").write_text(KPI.replace("baseline 20% target 30%",
                                                    "baseline 20% target 60%"), encoding="utf-8")
    for name, p in (("half", 0.5), ("all", 1.0)):
        (tmp_path / f"{name}.yaml").write_text(
            f"size: 300\nsegments:\n  - name: a\n    behaviour:\n      responses:\n"
            f"        - {{event: bought, after: {{template: a}}, p: {p}}}\n", encoding="utf-8")
    return tmp_path


def simulate(files, cohort_name: str, *flags: str):
    return CliRunner().invoke(main, ["simulate", str(files / "j.journey"), "--cohort",
                                     str(files / f"{cohort_name}.yaml"), "--days", "5",
                                     "--engine", "reference", *flags])


def test_fail_under_exits_1_naming_each_missed_kpi(files):
    result = simulate(files, "half", "--fail-under")
    assert result.exit_code == 1, result.output
    assert "error: KPI bought: " in result.stderr
    assert "% against target 60.0% (needs at least 60.0%; 95% CI " in result.stderr
    assert "1 of 2 KPI(s) below their target" in result.stderr
    assert "Traceback" not in result.output


def test_fail_under_passes_when_every_kpi_reaches_it(files):
    assert simulate(files, "all", "--fail-under").exit_code == 0
    assert simulate(files, "half", "--fail-under", "baseline").exit_code == 0  # above 20%
    assert simulate(files, "half").exit_code == 0  # no gate without the flag


def test_fail_under_without_kpis_is_an_error(files):
    (files / "j.journey").write_text(HANDOFF, encoding="utf-8")
    result = simulate(files, "half", "--fail-under", "target")
    assert result.exit_code == 1
    assert "error: --fail-under: journey t declares no KPIs" in result.stderr
    assert result.stdout == ""  # said before simulating, not after a long run
    bad = simulate(files, "half", "--fail-under", "targets")
    assert bad.exit_code == 2 and "Invalid value for '--fail-under'" in bad.stderr
    assert "Traceback" not in bad.output


def test_fail_under_as_a_subprocess(files):
    command = [sys.executable, "-m", "journeylang.cli", "simulate", str(files / "j.journey"),
               "--cohort", str(files / "half.yaml"), "--days", "5", "--engine", "reference",
               "--fail-under", "target"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "KPI bought" in done.stderr
    command[6] = str(files / "all.yaml")
    assert subprocess.run(command, capture_output=True, text=True, timeout=120).returncode == 0


def test_summary_json_holds_the_operations(files, tmp_path):
    out = tmp_path / "out"
    assert simulate(files, "all", "--out", str(out)).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [k["kpi"] for k in summary["kpis"]] == ["bought", "complaints"]
    assert summary["promo"]["share"] == 0.5




@needs_chromium
def test_the_report_with_kpis_and_staff_opens_in_headless_chromium(tmp_path):
    results = run(KPI.replace("wait 2d", "handoff to agent within 1h\n    wait 2d"), cohort(50))
    page = tmp_path / "report.html"
    page.write_text(render_html(results), encoding="utf-8")
    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    assert 'class="kpis"' in dom and 'class="staff"' in dom
