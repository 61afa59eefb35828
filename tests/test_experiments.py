"""Experiments: a control group anywhere in a journey (a split's holdout arm), and each arm's goal,
milestones and KPIs against the control, in the runtime, the simulator and `journey status`."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.frontend import parse_source
from journeylang.printer.yaml import print_yaml
from journeylang.runtime.policies import bucket
from journeylang.sim import Simulation, parse_cohort
from journeylang.source import Source
from journeylang.stats import compare, difference_ci, rate, two_proportion_test, wilson

from runtime_kit import DAY, HOUR, T0, Kit, compile_text, iso, journey

AB = journey('''
  stage offer {
    kpi clicked on click within 3d baseline 10% target 20%
    ab: split {
      coupon 45% -> coupon_offer
      gift 45% -> gift_offer
      control 10% holdout
    }
    coupon_offer: send via wecom template a -> listen
    gift_offer: send via wecom template b
    listen: wait for order_paid within 5d -> done timeout -> done
    done: exit completed
  }''', header="  entry on joined\n  goal bought on order_paid within 14d\n"
               "  milestone clicked on click within 14d")
PEOPLE = """size: 3000
arrival: 2d
segments:
  - name: a
    behaviour:
      responses:
        - {event: order_paid, after: {template: a}, p: 0.30, delay: 2h}
        - {event: order_paid, after: {template: b}, p: 0.20, delay: 2h}
        - {event: click, after: {template: a}, p: 0.5, delay: 1h}
      baseline:
        - {event: order_paid, per_day: 0.01}
"""


# --- statistics ------------------------------------------------------------------------------

def test_intervals_and_test_match_published_values():
    assert wilson(0, 0) == (0.0, 1.0)
    # Newcombe (1998), Statistics in Medicine 17, table II: method 10
    assert [round(x, 4) for x in difference_ci(56, 70, 48, 80)] == [0.0524, 0.3339]
    assert [round(x, 4) for x in difference_ci(9, 10, 3, 10)] == [0.1705, 0.8090]
    z, p = two_proportion_test(120, 1000, 90, 1000)  # scipy: chi2 = 4.7885 (z^2), p = 0.028650
    assert round(z * z, 4) == 4.7885 and round(p, 6) == 0.028650
    assert two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)
    assert two_proportion_test(1, 0, 1, 10) == (None, None)
    versus = compare(rate(120, 1000), rate(90, 1000))
    assert versus["significant"] and not versus["small_sample"]
    assert round(versus["difference"], 3) == 0.03
    assert compare(rate(1, 10), rate(0, 10))["small_sample"]


# --- the runtime -----------------------------------------------------------------------------

def held_customer(kit_seed: int = 0) -> str:
    """A customer the split of AB holds out (bucket in the last 10%)."""
    return next(f"c{i}" for i in range(1000)
                if bucket(kit_seed, "split", "t", "ab", f"c{i}") >= 90)


def test_a_held_out_run_gets_nothing_and_is_followed_for_its_goal():
    kit = Kit(AB)
    held = held_customer()
    kit.send("joined", held)
    run, = kit.runs(held)
    assert (run.status, run.holdout, run.step, run.waiting) == ("holdout", True, "ab", "holdout")
    assert run.arms == {"ab": "control"} and kit.messages(held) == []
    assert kit.history(held, "holdout")[0][4:] == ["ab", "holdout", "entry on joined", "control"]
    kit.send("click", held, at=T0 + HOUR)      # a milestone and a KPI hit, no step
    kit.send("order_paid", held, at=T0 + DAY)
    assert (kit.runs(held)[0].outcome, kit.runs(held)[0].milestones) == (
        "converted", {"clicked": T0 + HOUR})


def test_a_held_out_run_expires_when_its_goal_window_is_over():
    kit = Kit(AB)
    held = held_customer()
    kit.send("joined", held)
    kit.advance(T0 + 14 * DAY + 1)
    assert (kit.runs(held)[0].outcome) == "expired"


def test_every_arm_of_a_split_is_recorded_in_the_run():
    kit = Kit(AB)
    for i in range(30):
        kit.send("joined", f"c{i}")
    arms = {kit.runs(f"c{i}")[0].arms["ab"] for i in range(30)}
    assert arms == {"coupon", "gift", "control"}
    split_rows = [r for r in kit.runtime.store.history_rows if r[4] == "ab" and r[5] == "split"]
    assert {r[7] for r in split_rows} == {"coupon", "gift"}  # the row says which arm


# --- the simulator -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results():
    return Simulation(compile_text(AB), parse_cohort(PEOPLE), seed=4, days=20).run()


def test_the_simulation_reports_each_arm_against_the_control(results):
    split, = results.experiments
    assert (split["experiment"], split["stage"], split["control"]) == ("ab", "offer", "control")
    arms = {a["arm"]: a for a in split["arms"]}
    assert sum(a["runs"] for a in arms.values()) == results.entered["treated"]
    assert 0.07 < arms["control"]["runs"] / results.entered["treated"] < 0.13
    assert arms["control"]["holdout"] and not arms["coupon"]["holdout"]
    goal = {name: arm["metrics"]["goal"] for name, arm in arms.items()}
    # the control buys only on its own (0.01 a day over 14 days: about 13%)
    assert 0.06 < goal["control"]["rate"] < 0.20
    assert 0.30 < goal["coupon"]["rate"] < 0.45 and 0.20 < goal["gift"]["rate"] < 0.36
    versus = {(c["arm"], c["metric"]): c for c in split["comparisons"]}
    coupon = versus[("coupon", "goal")]
    assert coupon["significant"] and coupon["ci95"][0] < coupon["difference"] < coupon["ci95"][1]
    assert coupon["difference"] == pytest.approx(goal["coupon"]["rate"] - goal["control"]["rate"])
    assert versus[("gift", "kpi clicked")]["difference"] == pytest.approx(0.0, abs=0.05)
    assert arms["coupon"]["metrics"]["kpi clicked"]["rate"] == pytest.approx(0.5, abs=0.06)
    assert arms["coupon"]["metrics"]["milestone clicked"]["rate"] == pytest.approx(0.5, abs=0.06)


def test_the_yaml_split_with_a_control_gives_the_same_results(results):
    yaml_text = print_yaml(parse_source(Source("t.journey", AB)).journey)
    assert "holdout: true" in yaml_text
    again = Simulation(compile_text(yaml_text, "t.yaml"), parse_cohort(PEOPLE), 4, 20).run()
    assert again.experiments == results.experiments


def test_the_entry_holdout_is_an_experiment_too():
    text = AB.replace("  goal bought", "  policy { holdout 20% }\n  goal bought")
    found = Simulation(compile_text(text), parse_cohort(PEOPLE), 2, 20).run()
    entry, split = found.experiments
    assert entry["experiment"] == "(entry)" and entry["control"] == "holdout"
    arms = {a["arm"]: a for a in entry["arms"]}
    assert arms["holdout"]["runs"] == found.entered["holdout"]
    assert arms["treated"]["runs"] == found.entered["treated"]
    # held-out runs opened the first step's KPI, so it is compared too; not in the KPI figure
    assert arms["holdout"]["metrics"]["kpi clicked"]["runs"] > 0
    assert found.kpis[0]["observations"] + found.kpis[0]["open"] == found.entered["treated"]


def test_the_report_and_csv_show_the_experiment(results, tmp_path):
    written = {p.name for p in results.write(tmp_path)}
    assert "experiments.csv" in written
    rows = (tmp_path / "experiments.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("experiment,stage,arm,control,metric,runs,count,rate")
    assert any(r.startswith("ab,offer,coupon,control,goal,") for r in rows)
    assert "Experiment: split ab" in (tmp_path / "report.html").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["experiments"][0]["comparisons"][0]["metric"] == "goal"


# --- journey status -----------------------------------------------------------------------------

def test_status_compares_the_arms_of_the_runs_so_far(tmp_path):
    (tmp_path / "t.journey").write_text(AB, encoding="utf-8")
    events = [{"id": f"j{i}", "type": "joined", "customer": f"c{i}", "at": iso(T0)}
              for i in range(60)]
    events += [{"id": f"o{i}", "type": "order_paid", "customer": f"c{i}", "at": iso(T0 + DAY)}
               for i in range(0, 60, 3)]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    db = tmp_path / "s.sqlite"
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--tables", str(tmp_path / "t.journey"), "--events",
                                str(tmp_path / "e.jsonl"), "--db", str(db), "--until",
                                iso(T0 + 20 * DAY)]).exit_code == 0
    data = json.loads(runner.invoke(main, ["status", "--db", str(db), "--json"]).output)
    split, = data["experiments"][0]["experiments"]
    arms = {a["arm"]: a for a in split["arms"]}
    assert sum(a["runs"] for a in arms.values()) == 60
    assert sum(a["metrics"]["goal"]["count"] for a in arms.values()) == 20
    text = runner.invoke(main, ["status", "--db", str(db)]).output
    assert "experiments of t:" in text and "experiment split ab: coupon" in text
    assert "goal: coupon" in text and "vs control" in text


def test_the_vectorised_engine_reports_the_entry_holdout_experiment_too():
    from journeylang import api
    from journeylang.sim import load_cohort, simulate
    from conftest import EXAMPLES
    tables = api.load_tables(EXAMPLES / "churn_winback.journey")
    cohort = load_cohort(EXAMPLES / "cohorts" / "churn_winback.cohort.yaml")
    cohort.size = 3000
    found = {engine: simulate(tables, cohort, seed=1, days=60, engine=engine)
             for engine in ("vector", "reference")}
    for results in found.values():
        entry, = results.experiments
        arms = {a["arm"]: a for a in entry["arms"]}
        assert arms["holdout"]["runs"] == results.entered["holdout"]
        assert arms["treated"]["metrics"]["goal"]["count"] == results.conversion["converted"]
    vector, reference = (found[e].experiments[0]["arms"][0]["metrics"]["goal"]
                         for e in ("vector", "reference"))
    assert abs(vector["rate"] - reference["rate"]) < 0.04
