"""The simulator: cohort files, seeded runs, and properties that hold for any journey and cohort."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from journeylang import api
from journeylang.cli import main
from journeylang.sim import CohortError, Simulation, load_cohort, parse_cohort, simulate, wilson
from journeylang.sim.html import write_html

from browser import chromium, needs_chromium
from runtime_kit import compile_text, journey
from sim_scenarios import assert_sends_respect_policies, scenarios

ROOT = Path(__file__).resolve().parent.parent
def _example_pairs() -> list[tuple[str, str]]:
    """Every example cohort (examples/cohorts/X.cohort.yaml) with its journey examples/X.*."""
    pairs = []
    for cohort in sorted((ROOT / "examples" / "cohorts").glob("*.cohort.yaml")):
        stem = cohort.name.removesuffix(".cohort.yaml")
        journeys = [p.name for p in (ROOT / "examples").glob(f"{stem}.*") if p.is_file()]
        assert len(journeys) == 1, f"{cohort.name} names no single journey: {journeys}"
        pairs.append((journeys[0], cohort.name))
    return pairs


EXAMPLES = _example_pairs()


# --- cohort files ------------------------------------------------------------------------------

BAD_COHORTS = [
    ("size: 10\n", "c.yaml:1:1: the cohort needs 'segments'"),
    ("size: 0\nsegments: [{name: a}]\n", "c.yaml:1:7: 'size' must be between 1 and 100,000,000, got 0"),
    ("size: 10\nsegmnts: []\n",
     "c.yaml:2:1: unknown key 'segmnts' in the cohort: did you mean 'segments'?"),
    ("size: 10\nsegments: []\n", "c.yaml:2:11: 'segments' needs at least one segment"),
    ("size: 10\nentry_data: {cart: {value: 1}}\nsegments: [{name: a}]\n",
     "c.yaml:2:1: unknown key 'entry_data' in the cohort: it belongs in a segment (an entry of "
     "'segments')"),
    ("size: 10\nsegments:\n  - name: a\n    fatigue: 0.9\n",
     "c.yaml:4:5: unknown key 'fatigue' in segment 1: it belongs under a segment's 'behaviour'"),
    ("size: 10\nsegments:\n  - name: a\n    arrival: 7d\n",
     "c.yaml:4:5: unknown key 'arrival' in segment 1: it belongs at the top of the cohort file"),
    ("size: 10\nsegments:\n  - name: a\n    consent: {wecom: 1.5}\n",
     "c.yaml:4:22: consent 'wecom' of segment 'a' must be between 0 and 1, got 1.5"),
    ("size: 10\nsegments:\n  - name: a\n    timezone: Mars/Base\n",
     "c.yaml:4:15: unknown time zone 'Mars/Base': use an IANA name such as Asia/Shanghai"),
    ("size: 10\nsegments:\n  - name: a\n    attributes: {x: {normal: {mean: 1}}}\n",
     "c.yaml:4:30: attribute 'x' of segment 'a' normal needs 'sd'"),
    ("size: 10\nsegments:\n  - name: a\n    behaviour: {responses: [{event: e, p: 0.1, delay: 2 days}]}\n",
     "c.yaml:4:55: 'delay': invalid duration '2 days': write a number and a unit, e.g. 30m, 2h, 7d"),
    ("size: 10\nsegments:\n  - {name: a}\n  - {name: a}\n", "c.yaml:4:5: two segments are named 'a'"),
    ("size: [\n", "c.yaml:2:1: invalid YAML: expected the node content, but found '<stream end>'"),
    ("", "c.yaml:1:1: empty cohort file: give at least 'size' and 'segments'"),
    ("size: 10\nsegments:\n  - name: a\n    attributes: {x: {categorical: {1: 1, 1.0: 2}}}\n",
     "c.yaml:4:42: duplicate category '1.0' in attribute 'x' of segment 'a': the same value as 1"),
]


@pytest.mark.parametrize("text, message", BAD_COHORTS)
def test_cohort_errors_name_file_line_and_column(text, message):
    with pytest.raises(CohortError) as caught:
        parse_cohort(text, "c.yaml")
    assert str(caught.value) == message


def test_categories_are_typed_values_as_constants_are():
    cohort = parse_cohort("size: 10\nsegments:\n  - name: a\n    attributes:\n"
                          "      months: {categorical: {0: 3, 1.5: 1, \"2\": 1, true: 1, gold: 1}}\n",
                          "c.yaml")
    assert cohort.segments[0].attributes["months"].keys == (0, 1.5, "2", True, "gold")


TYPED = journey("  stage s {\n    exit completed\n  }",
                header="  entry on signup\n  attribute months: number = 0", ident="typed")


@pytest.mark.parametrize("value, message", [
    ('{categorical: {0: 1, "1": 1}}', "can give attribute 'months' a string value, but journey "
                                      "'typed' declares it a number"),
    ("[1, 2]", "can give attribute 'months' a list value"),
    ("{bernoulli: {p: 0.5}}", "can give attribute 'months' a bool value"),
])
def test_a_cohort_value_of_another_type_than_the_declared_attribute_is_an_error(value, message):
    cohort = parse_cohort(f"size: 10\nsegments:\n  - name: a\n    attributes:\n"
                          f"      months: {value}\n", "c.yaml")
    with pytest.raises(CohortError) as caught:
        simulate(compile_text(TYPED), cohort, 0, 1)
    assert str(caught.value).startswith("c.yaml:5:15: segment 'a' ")
    assert message in str(caught.value)


@pytest.mark.parametrize("value", ["{categorical: {0: 3, 1: 2}}", "{poisson: {mean: 2}}", "4",
                                   "{uniform: {min: 0, max: 5, round: 0}}"])
def test_a_cohort_value_of_the_declared_type_runs(value):
    cohort = parse_cohort(f"size: 10\nsegments:\n  - name: a\n    attributes:\n"
                          f"      months: {value}\n", "c.yaml")
    assert simulate(compile_text(TYPED), cohort, 0, 1).entered["runs"] <= 10


def test_cohort_samples_every_kind_of_attribute():
    cohort = parse_cohort("""
size: 2000
segments:
  - name: a
    weight: 3
    attributes:
      tier: {categorical: {gold: 1, silver: 3}}
      age: {normal: {mean: 30, sd: 5, round: 0}}
      spend: {lognormal: {mu: 4, sigma: 1}}
      score: {uniform: {min: 0, max: 1}}
      country: CN
    tags: {vip: 0.25}
    timezone: {Asia/Shanghai: 1, Europe/Berlin: 1}
    consent: {wecom: 0.9, sms: 0}
  - name: b
""", "c.yaml")
    import random
    rng = random.Random(1)
    picked = [cohort.segment_for(rng).name for _ in range(4000)]
    assert 0.70 < picked.count("a") / 4000 < 0.80
    profiles = [cohort.segments[0].profile(rng) for _ in range(2000)]
    assert {p["tier"] for p in profiles} == {"gold", "silver"}
    assert all(isinstance(p["age"], int) and p["country"] == "CN" for p in profiles)
    assert all(0 <= p["score"] <= 1 and p["spend"] > 0 for p in profiles)
    assert 0.2 < sum("vip" in p["tags"] for p in profiles) / 2000 < 0.3
    assert not any(p["consent"]["sms"] for p in profiles)
    assert {p["timezone"] for p in profiles} == {"Asia/Shanghai", "Europe/Berlin"}


@pytest.mark.parametrize("journey_file, cohort_file", EXAMPLES)
def test_example_cohorts_run_and_keep_their_figures_plausible(journey_file, cohort_file):
    cohort = load_cohort(ROOT / "examples" / "cohorts" / cohort_file)
    cohort.size = 600
    results = api.simulate(ROOT / "examples" / journey_file, cohort, seed=3, days=60)
    assert results.entered["runs"] > 300
    # the playbooks' conversion targets are 15-30%; a weekly journey's runs convert 1-3% each
    # week; a programme without a goal converts by its first milestone
    rate = results.conversion["rate"] if results.conversion["converted"] or not \
        results.milestones else results.milestones[0]["rate"]
    assert 0.01 < rate < 0.5
    assert results.messages["total"] > 0
    assert results.exited + results.still_inside == results.entered["runs"]


def test_same_seed_same_results_other_seed_other_results():
    tables = api.load_tables(ROOT / "examples" / "cart_recovery.journey")
    cohort = load_cohort(ROOT / "examples" / "cohorts" / "cart_recovery.cohort.yaml")
    cohort.size = 400
    first, again = (simulate(tables, cohort, seed=5, days=20).to_dict() for _ in range(2))
    assert first == again
    assert simulate(tables, cohort, seed=6, days=20).to_dict() != first


def test_wilson_interval():
    low, high = wilson(10, 100)
    assert round(low, 4) == 0.0552 and round(high, 4) == 0.1744
    assert wilson(0, 0) == (0.0, 1.0)


def test_holdout_customers_get_nothing_and_uplift_is_reported():
    text = journey("""  stage s "S" {
    send via wecom template a
    wait for bought within 3d -> done timeout -> done
    done: exit completed
  }""", header="""  entry on joined
  goal won on bought within 10d
  policy {
    holdout 30%
  }""")
    cohort = parse_cohort("""
size: 500
segments:
  - name: a
    behaviour:
      responses: [{event: bought, p: 0.5, delay: 1h}]
      baseline: [{event: bought, per_day: 0.01}]
""")
    sim = Simulation(compile_text(text), cohort, seed=1, days=20, trace=True)
    results = sim.run()
    up = results.uplift
    assert up["holdout"]["runs"] > 100 and up["treated"]["rate"] > up["holdout"]["rate"]
    holdout = {c.id for c in sim.store.customers.values()
               if c.entries and c.id not in {s.customer for s in sim.sends}}
    assert len(holdout) >= results.entered["holdout"]


# --- properties --------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_simulation_properties(scenario):
    text, cohort_text, seed, days, (cap_messages, cap_per), quiet = scenario
    tables, cohort = compile_text(text), parse_cohort(cohort_text)
    sim = Simulation(tables, cohort, seed, days, trace=True)
    results = sim.run()
    # conservation: every run that entered has ended or is still inside
    assert results.entered["runs"] == results.exited + results.still_inside
    assert results.still_inside == sum(len(c.runs) for c in sim.store.customers.values())
    assert_sends_respect_policies(
        sim.sends, (cap_messages, cap_per), quiet,
        lambda send: sim.store.customers[send.customer].profile.get("timezone"))
    assert results.messages["total"] == len(sim.sends)
    # the same seed gives the same result
    assert Simulation(tables, cohort, seed, days).run().to_dict() == results.to_dict()


# --- command line ------------------------------------------------------------------------------

def test_cli_simulate_writes_json_and_csv(tmp_path):
    cohort = tmp_path / "c.yaml"
    cohort.write_text((ROOT / "examples" / "cohorts" / "cart_recovery.cohort.yaml").read_text(
        encoding="utf-8").replace("size: 5000", "size: 300"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(ROOT / "examples" / "cart_recovery.journey"),
                                       "--cohort", str(cohort), "--seed", "2", "--days", "30",
                                       "--out", str(out), "--progress"])
    assert result.exit_code == 0, result.output
    assert "goal conversion:" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["format"] == "journeylang.simulation/1" and summary["customers"] == 300
    # the customers the entry's condition and audience kept out are said
    outside = summary["entered"]["customers_not_entered"]
    assert 0 < outside < 300
    assert f"still inside {summary['still_inside']:,}; {outside} of 300 customers never entered\n" \
        in result.output
    assert (out / "steps.csv").read_text(encoding="utf-8").startswith("step,stage,kind,entered")
    assert {p.name for p in out.iterdir()} == {"summary.json", "report.html", "steps.csv", "flows.csv",
                                               "funnel.csv", "time_to_convert.csv",
                                               "staff.csv",  # the journey hands off to agents
                                               "experiments.csv"}  # and holds out 10%


def test_cli_simulate_says_the_sends_skipped_for_consent_and_opt_outs(tmp_path):
    """Sends skipped for want of consent, or because the customer opted out, are in the
    summary's messages line when there are any (a cohort without consent for a journey's
    channel would otherwise show only fewer messages)."""
    cohort = tmp_path / "c.yaml"
    cohort.write_text((ROOT / "examples" / "cohorts" / "live_stream_reminders.cohort.yaml")
                      .read_text(encoding="utf-8").replace("size: 4000", "size: 400"),
                      encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "simulate", str(ROOT / "examples" / "live_stream_reminders.journey"), "--cohort",
        str(cohort), "--days", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    policies = json.loads((out / "summary.json").read_text(encoding="utf-8"))["policies"]
    assert policies["consent_skips"] > 0 and policies["opted_out_skips"] > 0
    assert (f"quiet-hour deferrals {policies['quiet_deferrals']:,}, consent skips "
            f"{policies['consent_skips']:,}, skipped as opted out "
            f"{policies['opted_out_skips']:,}\n") in result.stdout


def test_cli_simulate_reports_a_bad_cohort_without_a_traceback(tmp_path):
    cohort = tmp_path / "c.yaml"
    cohort.write_text("size: 10\nsegments:\n  - name: a\n    fatigue: 2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(ROOT / "examples" / "cart_recovery.journey"),
                                       "--cohort", str(cohort)])
    assert result.exit_code == 1
    assert f"error: {cohort}:4:5: unknown key 'fatigue' in segment 1" in result.output
    assert "Traceback" not in result.output




@needs_chromium
def test_html_report_opens_in_headless_chromium_without_console_errors(tmp_path):
    cohort = load_cohort(ROOT / "examples" / "cohorts" / "welcome_activation.cohort.yaml")
    cohort.size = 300
    results = api.simulate(ROOT / "examples" / "welcome_activation.journey", cohort, seed=1)
    page = tmp_path / "report.html"
    write_html(results, page)
    text = page.read_text(encoding="utf-8")
    assert "https://" not in text and "<script" not in text and " src=" not in text
    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    for part in ('class="stages"', 'class="sankey"', 'class="time-to-convert"', "holdout uplift",
                 "end:converted", "greet"):
        assert part in dom


# --- exact expectation ----------------------------------------------------------------------------

MEMORYLESS = [
    ("""    send via wecom template a
    wait for replied within 2d -> offer timeout -> remind
    remind: send via wecom template b
    wait for replied within 1d -> offer timeout -> done
    offer: split {
      x 50% -> ox
      y 50% -> oy
    }
    ox: send via wecom template c -> after
    oy: send via wecom template d
    after: wait 3d
    done: exit completed""",
     """      responses:
        - {event: replied, after: {template: a}, p: 0.3}
        - {event: replied, after: {template: b}, p: 0.2}
        - {event: bought, after: {template: c}, p: 0.25}
        - {event: bought, after: {template: d}, p: 0.15}
        - {event: bought, after: {template: a}, p: 0.05}
        - {event: unsubscribed, p: 0.02}"""),
    ("""    send via sms template a
    wait 1d
    send via wecom template b
    wait for clicked within 3d -> hot timeout -> cold
    hot: send via wecom template c
    wait 1d
    cold: send via wecom template d
    wait 2d
    exit completed""",
     """      responses:
        - {event: clicked, after: {channel: wecom}, p: 0.4}
        - {event: bought, after: {step: hot}, p: 0.5}
        - {event: bought, after: {template: d}, p: 0.08}
        - {event: bought, after: {channel: sms}, p: 0.03}"""),
    ("""    split {
      x 30% -> fast
      y 70% -> slow
    }
    fast: send via wecom template a
    wait for replied within 1d -> done timeout -> slow
    slow: wait 2d
    send via sms template b
    wait for replied within 2d -> done timeout -> done
    done: exit completed""",
     """      responses:
        - {event: replied, p: 0.1}
        - {event: bought, after: {template: b}, p: 0.05}"""),
]


@pytest.mark.parametrize("steps, responses", MEMORYLESS)
def test_monte_carlo_estimate_lies_within_its_interval_of_the_exact_value(steps, responses):
    text = journey(f'  stage s "S" {{\n{steps}\n  }}', header="""  entry on joined
  goal won on bought within 6d
  exit on unsubscribed as opted_out""")
    cohort = parse_cohort(f"""
size: 8000
segments:
  - name: a
    weight: 3
    behaviour:
{responses}
  - name: b
    behaviour:
      responses: [{{event: bought, p: 0.02}}]
""")
    results = simulate(compile_text(text), cohort, seed=11, days=20)
    exact = results.exact
    assert exact["available"], exact
    low, high = results.conversion["ci95"]
    assert low <= exact["conversion"] <= high
    assert results.exited == results.entered["runs"]
    for step in results.steps:  # visits too: within four standard errors
        share, p = step["entered"] / results.entered["runs"], exact["visits"][step["step"]]
        assert abs(share - p) <= 4 * (max(p * (1 - p), 1e-4) / results.entered["runs"]) ** 0.5 + 1e-9


def test_exact_expectation_covers_milestones_fallback_channels_and_declared_values():
    """The first channel with consent sends (its responses follow); milestones are reached by
    the first matching reaction while the run is inside; declared defaults and variables are
    read as the runtime reads them."""
    text = journey('''  stage s "S" {
    send via sms, wecom template a
    wait for replied within 2d -> hot timeout -> done
    hot: send transactional via wecom template b
    wait 1d
    done: exit completed
  }''', header='''  entry on joined
  attribute tier: string = "basic"
  var level = 2
  goal won on bought where level >= 2 within 6d
  milestone replied_once on replied where customer.tier == "basic"
  milestone clicked on clicked within 1d
  exit on unsubscribed as opted_out
  policy { consent sms }''')
    cohort = parse_cohort("""
size: 8000
segments:
  - name: a
    weight: 3
    consent: {sms: 0}
    behaviour:
      responses:
        - {event: replied, after: {channel: wecom}, p: 0.4}
        - {event: clicked, after: {template: b}, p: 0.5}
        - {event: bought, after: {template: b}, p: 0.3}
  - name: b
    consent: {sms: 1}
    attributes: {tier: gold}
    behaviour:
      responses: [{event: replied, after: {channel: sms}, p: 0.5}, {event: clicked, p: 0.2}]
""")
    results = simulate(compile_text(text), cohort, seed=3, days=20)
    exact = results.exact
    assert exact["available"], exact
    # a (3/4): replies (0.4) to the wecom fallback, then on b clicks (0.5) and buys (0.3);
    # b (1/4): replies to sms but is gold; clicks on a (0.2), or on b after a reply (0.5 * 0.8 * 0.2)
    assert exact["milestones"] == pytest.approx({"replied_once": 0.3, "clicked": 0.22}, abs=1e-12)
    assert exact["conversion"] == pytest.approx(0.09, abs=1e-12)
    runs = results.entered["runs"]
    for row in results.milestones:
        p = exact["milestones"][row["milestone"]]
        assert abs(row["reached"] / runs - p) <= 4 * (p * (1 - p) / runs) ** 0.5


@pytest.mark.parametrize("header, body, reason", [
    ('  on replied { tag "x" }', "wait 1d", "always-on event handlers"),
    ("", "branch { when count(replied within 3d) > 0 -> done\n      else -> done }",
     "steps of kind branch"),
    ("  goal g on replied where happened(clicked)", "wait 1d", "event history in conditions"),
    ("", "wait until day 2 at 10:00", "steps of kind wait_day"),
    ('  exit on unsubscribed where customer.tier == "gold" as opted_out', "wait 1d",
     "an opt-out on 'unsubscribed' that no exit rule ends"),
])
def test_exact_expectation_refuses_what_it_does_not_model(header, body, reason):
    text = journey(f'  stage s "S" {{\n    send via wecom template a\n    {body}\n    done: exit completed\n  }}',
                   header="  entry on joined\n" + header)
    cohort = parse_cohort("size: 20\nsegments:\n  - name: a\n    behaviour:\n"
                          "      responses: [{event: unsubscribed, p: 0.5}]\n")
    exact = simulate(compile_text(text), cohort, days=10).exact
    assert exact["available"] is False and reason in exact["reason"], exact


def test_exact_expectation_says_why_it_does_not_apply():
    tables = api.load_tables(ROOT / "examples" / "welcome_activation.journey")
    cohort = load_cohort(ROOT / "examples" / "cohorts" / "welcome_activation.cohort.yaml")
    cohort.size = 50
    assert simulate(tables, cohort, days=30).exact == {
        "available": False, "reason": "quiet hours and caps depend on the clock"}


def test_exponent_notation_is_a_number_as_in_yaml_1_2():
    cohort = parse_cohort("""
size: 1
segments:
  - name: a
    behaviour:
      responses: [{event: replied, p: 1e-9, delay: 1h}, {event: bought, p: 2E-1, delay: 1h}]
""")
    assert [r.p for r in cohort.segments[0].responses] == [1e-9, 0.2]
    with pytest.raises(CohortError, match="'p' must be a number, got '1e-9'"):
        parse_cohort('size: 1\nsegments:\n  - name: a\n    behaviour:\n'
                     '      responses: [{event: replied, p: "1e-9", delay: 1h}]\n')
