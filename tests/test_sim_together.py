"""One cohort through several journeys at once, sharding on either engine with the results of
one process, and cohorts that state the playbooks' figures directly (responses to events,
repeated responses, chains, profile updates), read back within their confidence intervals."""
from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from journeylang import api
from journeylang.cli import main
from journeylang.sim import CohortError, Simulation, parse_cohort, simulate
from journeylang.sim.report import MultiResults
from journeylang.sim.shard import ShardError, simulate_sharded
from journeylang.sim.vector import VectorSimulation, vector_support

from conftest import EXAMPLES, FIXTURES
from runtime_kit import compile_text, journey

WELCOME = journey('''
  stage s {
    send via wecom template a
    emit welcomed
    wait 1d
    send via wecom template b
    wait for order_paid within 7d -> done timeout -> done
    done: exit completed
  }''', header="  entry on contact_added\n  goal bought on order_paid within 14d\n"
               "  policy { cap 2 messages per 1d }", ident="welcome")
HELPER = journey('''
  stage s {
    send via wecom template c
    send via wecom template d
    exit completed
  }''', header="  entry on welcomed\n  policy { cap 2 messages per 1d }", ident="helper")
BUYERS = """size: 600
arrival: 2d
segments:
  - name: a
    behaviour:
      responses:
        - {event: order_paid, after: {template: c}, p: 0.2, delay: 1h}
"""


@pytest.fixture(scope="module")
def together():
    tables = [compile_text(WELCOME), compile_text(HELPER)]
    return tables, Simulation(tables, parse_cohort(BUYERS), seed=1, days=12).run()


# --- several journeys -------------------------------------------------------------------------

def test_every_customer_goes_through_both_journeys(together):
    _, results = together
    assert isinstance(results, MultiResults)
    welcome, helper = results.journeys
    assert (welcome.journey, helper.journey) == ("welcome", "helper")
    assert welcome.entered["runs"] == 600          # arrived with contact_added
    assert helper.entered["runs"] == 600           # entered on welcome's emitted event
    assert results.combined["customers_by_journeys_entered"] == {"2": 600}


def test_caps_count_across_journeys(together):
    _, results = together
    welcome, helper = results.journeys
    # welcome's first message and helper's first fill the cap of 2 a day: helper's second is
    # skipped, for every customer; alone, helper sends both
    assert helper.policies["cap_skips"] == 600 and helper.messages["total"] == 600
    alone = Simulation(compile_text(HELPER), parse_cohort(BUYERS.replace(
        "arrival: 2d", "arrival: 2d\nentry: welcomed")), seed=1, days=12).run()
    assert alone.policies["cap_skips"] == 0 and alone.messages["total"] == 1200
    assert results.combined["messages"]["total"] == welcome.messages["total"] + 600


def test_emitted_and_cohort_events_reach_the_other_journey(together):
    _, results = together
    welcome, _ = results.journeys
    # orders answer helper's coupon; welcome converts on them
    assert 0.15 < welcome.conversion["rate"] < 0.25


def test_several_journeys_from_the_command_line(tmp_path):
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "welcome.journey").write_text(WELCOME, encoding="utf-8")
    (tmp_path / "journeys" / "helper.journey").write_text(HELPER, encoding="utf-8")
    (tmp_path / "c.cohort.yaml").write_text(BUYERS, encoding="utf-8")
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["simulate", str(tmp_path / "journeys"), "--cohort",
                                  str(tmp_path / "c.cohort.yaml"), "--days", "12", "--out",
                                  str(out)])
    assert result.exit_code == 0, result.output
    assert "2 journeys x cohort: 600 customers, seed 0, 12 days (vector engine" in result.output
    assert "helper: 600 runs of 600 customers" in result.output and "600 cap skips" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["format"] == "journeylang.simulation.multi/1"
    assert set(summary["journeys"]) == {"helper", "welcome"}
    # each journey's own report names the engine that ran them all
    assert {j["engine"] for j in summary["journeys"].values()} == {"vector"}
    assert "vector engine</p>" in (out / "welcome" / "report.html").read_text(encoding="utf-8")
    assert (out / "welcome" / "report.html").is_file() and (out / "journeys.csv").is_file()
    listed = runner.invoke(main, ["simulate", str(tmp_path / "journeys" / "welcome.journey"),
                                  str(tmp_path / "journeys" / "helper.journey"), "--cohort",
                                  str(tmp_path / "c.cohort.yaml"), "--days", "12",
                                  "--shards", "2"])
    assert listed.exit_code == 0, listed.output
    assert sorted(listed.stdout.splitlines()[1:3]) == sorted(result.stdout.splitlines()[1:3])


def test_the_same_journey_twice_is_an_error():
    with pytest.raises(ValueError, match="journey 'welcome' is given twice"):
        Simulation([compile_text(WELCOME), compile_text(WELCOME)], parse_cohort(BUYERS))


# --- sharding -----------------------------------------------------------------------------------

def _figures(results):
    found = results.to_dict()
    found.pop("engine")
    return found


@pytest.mark.parametrize("shards", [2, 3])
def test_the_reference_engine_shards_with_the_results_of_one_process(shards):
    tables = api.load_tables(EXAMPLES / "acquisition_funnel.yaml")
    cohort = dataclasses.replace(api_cohort("acquisition_funnel"), size=500)
    single = simulate(tables, cohort, seed=7, days=35, engine="reference")
    sharded = simulate_sharded(tables, cohort, seed=7, days=35, shards=shards, engine="reference")
    assert _figures(sharded) == _figures(single)
    assert sharded.engine == "reference"


def test_several_journeys_shard_too(together):
    tables, results = together
    sharded = simulate_sharded(tables, parse_cohort(BUYERS), seed=1, days=12, shards=3,
                               engine="reference")
    assert sharded.to_dict() == results.to_dict()
    # on the vectorised engine too, with its own single run's figures
    single = VectorSimulation(tables, parse_cohort(BUYERS), seed=1, days=12, block=100).run()
    sharded = simulate_sharded(tables, parse_cohort(BUYERS), seed=1, days=12, shards=3, block=100)
    assert sharded.engine == "vector" and sharded.to_dict() == single.to_dict()


def test_a_staff_queue_with_a_capacity_shards_with_the_results_of_one_process():
    """The vectorised engine serves every shard's handoffs in one FIFO queue per role once the
    shards are in; the reference engine, and a journey reacting to the staff, run in one process."""
    text = journey('''
  stage s {
    handoff to agent within 1h
    wait 1d
    exit completed
  }''', header="  entry on joined\n  role agent capacity 10 per 1h")
    cohort = parse_cohort("size: 300\narrival: 1d\nsegments: [{name: a}]\n")
    tables = compile_text(text)
    for engine in ("vector", "reference"):
        single = simulate(tables, cohort, seed=3, days=3, engine=engine) if engine == "reference" \
            else VectorSimulation(tables, cohort, seed=3, days=3, block=64).run()
        sharded = simulate_sharded(tables, cohort, seed=3, days=3, shards=2, block=64, engine=engine)
        assert sharded.to_dict() == single.to_dict(), engine
        assert single.staff[0]["handoffs"] == 300 and single.staff[0]["breached"] > 0
    reacting = compile_text(text.replace("wait 1d", "wait for handoff_resolved within 1d -> done timeout -> done\n    done: exit completed"))
    assert "staff queues" in vector_support(reacting, cohort)
    single = VectorSimulation(reacting, cohort, seed=3, days=3, block=64).run()
    assert single.paths["reference"] == 300
    assert simulate_sharded(reacting, cohort, seed=3, days=3, shards=2, block=64,
                            engine="vector").to_dict() == single.to_dict()


def test_a_run_whose_customers_are_coupled_says_it_takes_one_process(tmp_path, monkeypatch):
    """Shards asked of a run whose customers are coupled through a staff queue (on the
    reference engine a role with a capacity; on the vectorised engine something reacting to
    the staff) are one process, and the command says so and why; by default it uses one."""
    from journeylang.sim import shard
    from journeylang.sim.engine import simulation_for
    text = journey('''
  stage s {
    handoff to agent within 1h
    wait for handoff_resolved within 1d -> done timeout -> done
    done: exit completed
  }''', header="  entry on joined\n  role agent capacity 10 per 1h")
    cohort = parse_cohort("size: 50\nsegments: [{name: a}]\n")
    reacting = compile_text(text)
    waiting = compile_text(text.replace("wait for handoff_resolved within 1d -> done timeout -> done",
                                        "wait 1d"))
    assert shard.coupled_reason(simulation_for(waiting, cohort, engine="vector")) is None
    assert "reacts to the staff" in shard.coupled_reason(
        simulation_for(reacting, cohort, engine="vector"))
    assert shard.coupled_reason(simulation_for(waiting, cohort, engine="reference")).endswith(
        "roles with a capacity serve every customer's handoffs in turn: agent")
    big = parse_cohort("size: 100000\nsegments: [{name: a}]\n")
    monkeypatch.setattr(shard, "machine_cores", lambda: 4)
    assert shard.default_shards(simulation_for(waiting, big, engine="reference")) == 1
    assert shard.default_shards(simulation_for(waiting, big, engine="vector")) == 2
    (tmp_path / "j.journey").write_text(text, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("size: 50\nsegments: [{name: a}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "j.journey"), "--cohort",
                                       str(tmp_path / "c.yaml"), "--days", "2", "--shards", "2"])
    assert result.exit_code == 0, result.output
    assert "--shards 2: this run takes one process (on the reference engine, roles with a " \
           "capacity serve every customer's handoffs in turn: agent)" in result.output


def api_cohort(name: str):
    from journeylang.sim import load_cohort
    return load_cohort(EXAMPLES / "cohorts" / f"{name}.cohort.yaml")


# --- cohorts ----------------------------------------------------------------------------------

BAD = [
    ("{event: x, p: 0.1, after: {event: a, template: t}}",
     "c.yaml:5:45: 'after' names an event or what a message is (template, channel, step), not both"),
    ("{event: x, p: 0.1, count: -1}",
     "c.yaml:5:45: 'count' must be a number of events (at least 0) or a distribution, got -1"),
    ("{event: x, p: 0.1, count: {poisson: {mean: -2}}}",
     "c.yaml:5:62: 'mean' must be at least 0, got -2"),
    ("{event: x, p: 0.1, attributes: [1]}", "c.yaml:5:50: 'attributes' of a response must be a mapping"),
]


@pytest.mark.parametrize("response, message", BAD)
def test_new_response_keys_are_checked_with_their_place(response, message):
    text = f"size: 1\nsegments:\n  - name: a\n    behaviour:\n      responses: [{response}]\n"
    with pytest.raises(CohortError) as caught:
        parse_cohort(text, "c.yaml")
    assert str(caught.value) == message


REFERRAL = journey('''
  stage s {
    wait for order_paid within 30d -> invite timeout -> done
    invite: send via wecom template a
    wait 60d
    done: exit completed
  }''', header="  entry on contact_added\n  milestone referred on referral_converted within 90d")
REFERRERS = """size: 4000
arrival: 5d
segments:
  - name: a
    attributes:
      vip: {bernoulli: {p: 0.25}}
    behaviour:
      responses:
        - {event: order_paid, after: {event: contact_added}, p: 0.5, delay: {uniform: {min: 1h, max: 10d}}}
        - {event: referral_made, after: {template: a}, p: 1, count: {poisson: {mean: 2.5}},
           delay: {uniform: {min: 1h, max: 20d}}}
        - {event: referral_converted, after: {event: referral_made}, p: 0.08, delay: 2d,
           attributes: {tier: gold}}
"""


@pytest.fixture(scope="module")
def referral():
    cohort = parse_cohort(REFERRERS)
    return cohort, Simulation(compile_text(REFERRAL), cohort, seed=5, days=80).run()


def test_repeated_responses_and_chains_give_back_their_figures(referral):
    _, results = referral
    rules = {r["event"]: r for r in results.behaviour["responses"]}
    buys, invites, joins = rules["order_paid"], rules["referral_made"], rules["referral_converted"]
    assert buys["after"] == "event contact_added" and buys["triggers"] == 4000
    assert buys["ci95"][0] < 0.5 < buys["ci95"][1]
    assert invites["triggers"] == invites["fired"] == buys["fired"]  # one invite message each
    low, high = invites["events_per_response_ci95"]
    assert low < 2.5 < high                      # 2.5 invitations per person
    assert joins["triggers"] == invites["events"]  # each invitation can convert
    assert joins["ci95"][0] < 0.08 < joins["ci95"][1]  # 8% of the invitees
    events = results.behaviour["events"]
    assert events["referral_made"]["count"] <= invites["events"]  # some after the horizon
    assert events["contact_added"] == {"count": 4000, "customers": 4000, "per_customer": 1.0,
                                       "per_cohort_customer": 1.0}


def test_profile_updates_come_with_the_events():
    text = journey('''
  stage s {
    wait for referral_converted within 30d -> check timeout -> done
    check: branch {
      when customer.tier == "gold" and customer.vip == true -> gold
      when customer.tier == "gold" -> gold
      else -> done
    }
    gold: exit converted
    done: exit completed
  }''', header="  entry on contact_added")
    people = parse_cohort(REFERRERS.replace("referral_made, after: {template: a}",
                                            "referral_made, after: {event: order_paid}"))
    results = Simulation(compile_text(text), people, seed=2, days=40).run()
    assert results.ended.get("treated:completed", 0) > 0
    assert results.conversion["converted"] == sum(
        f["runs"] for f in results.flows if f["from"] == "check" and f["to"] == "gold")
    assert results.conversion["converted"] > 0   # the branch read the tier the event set


def test_a_cohort_can_arrive_with_several_events():
    people = parse_cohort("size: 50\nentry: [contact_added, welcomed]\nsegments: [{name: a}]\n")
    assert people.entry_events == ("contact_added", "welcomed")
    results = Simulation([compile_text(WELCOME), compile_text(HELPER)], people, 0, 3).run()
    # helper is entered on arrival; welcome's emitted `welcomed` does not enter it again
    assert [r.entered["runs"] for r in results.journeys] == [50, 50]
    assert results.journeys[1].flows[0]["runs"] == 50


# --- the playbook's traffic acquisition targets, stated in a cohort and read back --------------

TRAFFIC = journey('''
  stage land {
    kpi d7_retention on app_open within 7d baseline 20% target 28%
    kpi first_purchase on order_paid within 30d baseline 12% target 18%
    wait for order_paid within 30d -> invite timeout -> lost
    lost: exit completed
  }
  stage buyer {
    kpi repurchase on order_paid within 30d baseline 31% target 65%
    invite: send via wecom template a
    wait 60d
    exit completed
  }''', header="  entry on contact_added")
TARGETS = FIXTURES / "cohorts" / "traffic_targets.cohort.yaml"


def test_the_acquisition_targets_come_back_within_their_intervals():
    cohort = parse_cohort(TARGETS.read_text(encoding="utf-8"), str(TARGETS))
    results = Simulation(compile_text(TRAFFIC), cohort, seed=11, days=150).run()
    kpis = {k["kpi"]: k for k in results.kpis}
    for name, target in (("d7_retention", 0.28), ("first_purchase", 0.18), ("repurchase", 0.65)):
        low, high = kpis[name]["ci95"]
        assert low <= target <= high, (name, kpis[name]["value"], low, high)
    rules = {r["event"]: r for r in results.behaviour["responses"]}
    low, high = rules["referral_made"]["events_per_response_ci95"]
    assert low <= 2.5 <= high
    low, high = rules["referral_converted"]["ci95"]
    assert low <= 0.08 <= high
