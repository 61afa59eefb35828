"""Documented bounds on what the frontends read: numbers, durations, nesting, file size, YAML
tags and aliases, cohorts and configuration. Out of bounds is a diagnostic at its place, never
a traceback, and nothing the checker accepts overflows later."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from journeylang import api
from journeylang.cli import main
from journeylang.config import ConfigError, load_config
from journeylang.limits import MAX_FILE_BYTES, MAX_NESTING
from journeylang.runtime import Event
from journeylang.sim import CohortError, parse_cohort, simulate

from conftest import EXAMPLES
from runtime_kit import T0, Kit, compile_text

BASE = '''journey t "T" version 1 {
  owner "qa"
  entry on signup where consent.wecom
  policy { consent wecom }
  template a "Hi {{ customer.name }}"
  stage s {
    send via wecom template a
    wait 1h
    exit completed
  }
}
'''
YAML = (EXAMPLES / "repurchase_reminder.yaml").read_text(encoding="utf-8")
HUGE = "9" * 5000  # past Python's 4,300-digit limit on converting text to int


def errors(text: str, name: str = "t.journey") -> list[tuple[str, int, int, str]]:
    result = api.check_text(text, name)
    return [(d.code, d.span.line, d.span.column, d.message) for d in result.diagnostics
            if str(d.severity) == "error"]


def codes(text: str, name: str = "t.journey") -> list[str]:
    return [code for code, *_ in errors(text, name)]


# --- numbers and whole numbers ------------------------------------------------------------------

@pytest.mark.parametrize("old, new, column", [
    ("entry on signup where consent.wecom", f"entry on signup where customer.x > {HUGE}", 38),
    ('version 1', f"version {HUGE}", 23),
    ("policy { consent wecom }", f"policy {{ cap {HUGE} messages per 1d }}", 16),
    ('owner "qa"', f'owner "qa" role agent capacity {HUGE} per 1d', 34),
    ('owner "qa"', f'owner "qa" expect {HUGE} entries per 1d', 21),
    ("entry on signup where consent.wecom", f"entry every month on day {HUGE} at 10:00", 28),
    ("wait 1h", f'coupon "X" value {HUGE}.5', 22),
    ('template a "Hi', f'template b "x"\n  template a "Hi', None),
], ids=["condition", "version", "cap", "capacity", "expect", "schedule day", "coupon value",
        "control"])
def test_a_number_of_thousands_of_digits_is_out_of_range_not_a_crash(old, new, column):
    found = errors(BASE.replace(old, new))
    if column is None:  # the control: a valid change is accepted
        assert found == []
        return
    assert [(code, column) for code, _, column, _ in found] == [("JL002", column)]
    assert ",00" in found[0][3] and "characters)" in found[0][3]  # cut short: 5,000 digits


def test_yaml_numbers_are_finite_and_in_range():
    assert codes(YAML.replace('where: "order.total > 0"', f'where: "order.total > {HUGE}"'),
                 "t.yaml") == ["JL002"]
    for value in (".inf", "-.inf", ".nan", "1.0e+400", HUGE, "9007199254740993"):
        changed = YAML.replace("params: {discount: 15,", f"params: {{discount: {value},")
        assert "JL002" in codes(changed, "t.yaml"), value


@pytest.mark.parametrize("old, new", [
    ("version: 2", "version: 0"), ("version: 2", "version: -3"),
    ("version: 2", "version: 99999999999999999999"),
    ("{messages: 3, per: 7d}", "{messages: -1, per: 7d}"),
    ("{messages: 3, per: 7d}", "{messages: 0, per: 7d}"),
    ("{messages: 3, per: 7d}", "{messages: 3, per: 0d}"),
])
def test_yaml_versions_caps_and_periods_must_be_positive(old, new):
    assert codes(YAML.replace(old, new), "t.yaml") == ["JL002"]


def test_dsl_versions_caps_and_periods_must_be_positive_too():
    found = errors(BASE.replace("version 1", "version 0").replace(
        "policy { consent wecom }", "policy { consent wecom; cap 0 messages per 0d }"))
    assert [message for *_, message in found] == [
        "invalid version 0: it must be a whole number between 1 and 2,147,483,647",
        "invalid cap 0: it must be a whole number between 1 and 2,147,483,647",
        "invalid period '0d': it must be longer than 0s"]


def test_a_role_may_have_capacity_0_but_not_a_negative_one():
    assert codes(BASE.replace('owner "qa"', 'owner "qa" role agent capacity 0 per 1d')) == []
    text = YAML.replace("owner: crm-team", "owner: crm-team\nroles: [{name: a, capacity: -1, per: 1d}]")
    assert codes(text, "t.yaml") == ["JL002"]


def test_version_past_sqlite_integers_never_reaches_compile(tmp_path):
    path = tmp_path / "t.journey"
    path.write_text(BASE.replace("version 1", "version 99999999999999999999"), encoding="utf-8")
    result = CliRunner().invoke(main, ["compile", str(path), "-o", str(tmp_path / "t.sqlite"),
                                       "--format", "sqlite"])
    assert result.exit_code == 1 and "JL002" in result.output
    assert not (tmp_path / "t.sqlite").exists()


# --- durations ----------------------------------------------------------------------------------

def test_durations_are_bounded_in_every_syntax():
    assert codes(BASE.replace("wait 1h", "wait " + "9" * 400 + "h")) == ["JL002"]
    assert codes(BASE.replace("wait 1h", "wait 999999999999999999999999999999w")) == ["JL002"]
    assert codes(BASE.replace("wait 1h", "wait 3650d")) == []
    assert codes(BASE.replace("wait 1h", "wait 3651d")) == ["JL002"]
    assert codes(YAML.replace("wait: 7d", "wait: " + "9" * 400 + "d"), "t.yaml") == ["JL002"]


def test_the_longest_wait_runs():
    kit = Kit(BASE.replace("wait 1h", "wait 3650d"))
    kit.send("signup", attributes={"name": "Li", "consent": {"wecom": True}})
    assert kit.advance(T0 + 3651 * 86400) == 1
    assert kit.runs()[0].outcome == "completed"


# --- nesting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("condition", [
    "customer.x == " + " + ".join(["1"] * 600),
    "customer.x in " + "[" * 500 + "]" * 500,
    "not " * 900 + "customer.x",
    "not " * 100_000 + "customer.x",
])
def test_deep_expressions_are_a_diagnostic_not_a_recursion_error(condition):
    found = errors(BASE.replace("consent.wecom\n", condition + "\n", 1))
    assert [code for code, *_ in found] == ["JL005"]
    assert found[0][1] == 3  # on the line of the condition


def test_the_deepest_expression_allowed_checks_compiles_runs_and_simulates():
    # 62 additions, a comparison and an 'and': 64 levels
    condition = "customer.x == " + " + ".join(["1"] * (MAX_NESTING - 1))
    text = BASE.replace("consent.wecom\n", f"consent.wecom and {condition}\n", 1)
    assert errors(text) == []
    assert codes(BASE.replace("consent.wecom\n", f"consent.wecom and {condition} + 1\n", 1)) \
        == ["JL005"]
    tables = compile_text(text)
    kit = Kit(text)
    kit.send("signup", attributes={"name": "Li", "x": MAX_NESTING - 1, "consent": {"wecom": True}})
    assert [m.text for m in kit.messages()] == ["Hi Li"]
    cohort = parse_cohort("size: 20\nentry: signup\nsegments:\n  - name: a\n"
                          f"    attributes: {{x: {MAX_NESTING - 1}, name: Li}}\n"
                          "    consent: {wecom: 1}\n", "c.yaml")
    for engine in ("reference", "vector"):
        assert simulate(tables, cohort, days=1, engine=engine).entered["treated"] == 20


def test_deep_expressions_in_yaml_conditions():
    deep = "not " * 900 + "order.total > 0"
    assert codes(YAML.replace('where: "order.total > 0"', f'where: "{deep}"'), "t.yaml") == ["JL005"]


def test_deeply_nested_yaml_is_refused_before_composing():
    # libyaml's composer recurses in C: 100,000 levels crashed the interpreter
    script = ("from journeylang import api; t = 'journey: j\\nx: ' + '[' * 100000 + ']' * 100000;"
              "print([d.code for d in api.check_text(t, 'd.yaml').diagnostics])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['JL005']"


def test_yaml_aliases_cannot_expand_without_end():
    laughs = "journey: t\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['x'] * 9)}]\n"
        for prev, name in zip([None, *"abcdefgh"], "abcdefghi"))
    assert [(c, m) for c, _, _, m in errors(laughs, "t.yaml")] == [
        ("JL005", "more than 200,000 values (aliases expanded)")]
    assert codes("journey: t\nowner: &a [*a]\n", "t.yaml") == ["JL005"]
    assert codes(YAML.replace("owner: crm-team", "owner: &o crm-team\ndescription: *o")
                 .replace("description: >", "summary: >"), "t.yaml") == ["JL004"]  # aliases work


# --- YAML tags ----------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new", [
    ("version: 2", "version: !!bool maybe"), ("version: 2", "version: !!int 2"),
    ("owner: crm-team", "owner: !custom crm-team"), ("owner: crm-team", "owner: !!str crm-team"),
    ("refill_gift: \"", "refill_gift: !!binary \""),
])
def test_yaml_tags_are_refused_not_ignored(old, new):
    found = errors(YAML.replace(old, new), "t.yaml")
    assert [code for code, *_ in found] == ["JL004"]
    assert found[0][3].startswith("YAML tags are not part of a journey file")


# --- files and texts ----------------------------------------------------------------------------

def test_files_past_a_mebibyte_are_refused_unread(tmp_path):
    for name, filler in (("big.journey", "#" * MAX_FILE_BYTES + "\n"),
                         ("big.yaml", "#" * MAX_FILE_BYTES + "\n")):
        path = tmp_path / name
        path.write_text(BASE if name.endswith("journey") else YAML, encoding="utf-8")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(filler)
        assert [(d.code, d.span.line) for d in api.check(path).diagnostics] == [("JL005", 1)]
    assert codes("#" * MAX_FILE_BYTES + "\n" + BASE) == ["JL005"]


def test_half_a_surrogate_pair_is_refused_and_a_pair_is_one_character(tmp_path):
    assert codes(BASE.replace("Hi {{", "Hi \\ud800 {{")) == ["JL002"]
    text = BASE.replace("Hi {{", "Hi \\ud83d\\ude00 {{")
    assert codes(text) == []
    assert compile_text(text).rows["templates"][0]["text"] == "Hi \U0001F600 {{ customer.name }}"
    assert codes(YAML.replace('refill_gift: "Reorder', 'refill_gift: "\\ud800 Reorder'),
                 "t.yaml") == ["JL002", "JL401"]


def test_a_number_of_thousands_of_digits_in_a_template_is_a_template_error():
    text = BASE.replace("Hi {{ customer.name }}", "Hi {{ " + HUGE + " }}")
    assert errors(text) == [("JL402", 5, 14, "template 'a': Exceeds the limit (4300 digits) for "
                                             "integer string conversion: value has 5000 digits")]


def test_duplicate_locale_texts_are_refused():
    text = BASE.replace('template a "Hi {{ customer.name }}"',
                        'template a { zh: "你好" en: "Hi" zh: "您好" }')
    assert errors(text) == [("JL105", 5, 34, "template 'a' has two texts for zh")]


def test_a_journey_without_entry_and_steps_is_refused(tmp_path):
    assert codes("journey: x\nversion: 1\nowner: a\n", "t.yaml") == ["JL215"]
    path = tmp_path / "empty.yaml"
    path.write_text("journey: x\nversion: 1\nowner: a\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["compile", str(path), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1 and "JL215" in result.output


def test_compiled_json_never_holds_infinity(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(YAML.replace("value: 15,", "value: 1.0e+400,"), encoding="utf-8")
    result = CliRunner().invoke(main, ["compile", str(path), "-o", str(tmp_path / "t.json")])
    assert result.exit_code == 1 and "JL002" in result.output


# --- cohorts ------------------------------------------------------------------------------------

COHORT = "size: 10\nentry: signup\nsegments:\n  - name: a\n"


@pytest.mark.parametrize("text, message", [
    ("start: 9999-12-31T23:00:00Z\n" + COHORT,
     "c.yaml:1:8: 'start': '9999-12-31T23:00:00+00:00' is out of range: times are from "
     "1970-01-01 to 8999-12-31"),
    ("size: .inf\nsegments: [{name: a}]\n",
     "c.yaml:1:7: 'size': the number .inf is out of range: numbers are finite and within "
     "+-9,007,199,254,740,991"),
    ("size: 10\narrival: " + "9" * 400 + "d\nsegments: [{name: a}]\n",
     "c.yaml:2:10: 'arrival': invalid duration '999999999999999999999999... (401 characters)': "
     "at most 3650d (ten years)"),
    ("size: 10\narrival: 1e400\nsegments: [{name: a}]\n",
     "c.yaml:2:10: 'arrival': the number 1e400 is out of range: numbers are finite and within "
     "+-9,007,199,254,740,991"),
    (COHORT + f"    attributes: {{x: {HUGE}}}\n",
     "c.yaml:5:21: attribute 'x' of segment 'a': the number 99999999999999999999999999999999"
     + "9" * 4968 + " is out of range: numbers are finite and within +-9,007,199,254,740,991"),
    (COHORT + "    attributes: {x: !!python/name:os.system x}\n",
     "c.yaml:5:21: YAML tags are not part of a cohort file: tag:yaml.org,2002:python/name:os.system"),
    (COHORT + "    entry_data: &a {x: *a}\n",
     "c.yaml:5:24: alias *a is inside its own anchor &a: the value would never end"),
    ("x: " + "[" * 100 + "]" * 100 + "\n" + COHORT, "c.yaml:1:67: nested more than 64 levels deep"),
    (COHORT + "    behaviour: {baseline: [{event: e, per_day: 1e9}]}\n",
     "c.yaml:5:48: 'per_day' must be between 0 and 1,440, got 1000000000.0"),
    (COHORT + "    attributes: {x: {lognormal: {mu: 800, sigma: 1}}}\n",
     "c.yaml:5:38: 'mu' must be at most 36, got 800"),
    (COHORT + "    timezone: {}\n",
     "c.yaml:5:15: 'timezone' of segment 'a' needs weights adding up to more than 0"),
])
def test_cohort_bounds_name_file_line_and_column(text, message):
    with pytest.raises(CohortError) as caught:
        parse_cohort(text, "c.yaml")
    assert str(caught.value) == message


def test_cohort_file_past_a_mebibyte(tmp_path):
    path = tmp_path / "c.cohort.yaml"
    path.write_text(COHORT + "#" * MAX_FILE_BYTES, encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "cart_recovery.journey"),
                                       "--cohort", str(path)])
    assert result.exit_code == 1 and "larger than 1,048,576 bytes" in result.output


def test_a_response_to_an_unknown_template_or_step_is_refused(tmp_path):
    cohort = tmp_path / "c.cohort.yaml"
    cohort.write_text(COHORT + "    behaviour:\n      responses:\n"
                      "        - {event: replied, p: 0.5, after: {template: cart_nudg}}\n",
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "cart_recovery.journey"),
                                       "--cohort", str(cohort)])
    assert result.exit_code == 1
    assert (f"{cohort}:7:54: a response of segment 'a' follows template 'cart_nudg', which "
            "journey 'cart_recovery' does not have; did you mean 'cart_nudge'?") in result.output
    cohort.write_text(cohort.read_text().replace("template: cart_nudg", "step: nowhere"))
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "cart_recovery.journey"),
                                       "--cohort", str(cohort)])
    assert result.exit_code == 1 and "follows step 'nowhere'" in result.output


def test_simulated_days_are_bounded():
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "cart_recovery.journey"),
                                       "--cohort", str(EXAMPLES / "cohorts" / "cart_recovery.cohort.yaml"),
                                       "--days", "inf"])
    assert result.exit_code == 2 and "--days" in result.output


# --- configuration ------------------------------------------------------------------------------

def test_a_deeply_nested_configuration_names_its_place(tmp_path):
    path = tmp_path / ".journeylang.toml"
    path.write_text("select = [\"JL1\"]\nx = " + "[" * 10_000 + "]" * 10_000 + "\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.journeylang\.toml:2:69: nested more than 64 levels"):
        load_config(path)


@pytest.mark.parametrize("text, message", [
    ("[channel_limits]\nsms = " + HUGE + "\n", "invalid TOML"),
    ("[channel_limits]\npush = -1\n", "channel_limits.push must be a whole number from 1"),
    ("[channel_limits.sms]\nsegments = -1\n",
     "channel_limits.sms.segments must be a whole number from 1"),
    ("[schema.attributes]\ncustomer.points = {type = \"number\", default = inf}\n",
     "schema.attributes.customer.points.default must be a string, true, false, a finite number"),
    ("[schema.attributes]\ncustomer.born = {default = 1979-05-27}\n",
     r"not datetime.date\(1979, 5, 27\)"),
])
def test_configuration_values_are_bounded(tmp_path, text, message):
    path = tmp_path / ".journeylang.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_configuration_past_a_mebibyte(tmp_path):
    path = tmp_path / ".journeylang.toml"
    path.write_text("#" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than 1,048,576 bytes"):
        load_config(path)


def test_events_of_the_longest_allowed_values_round_trip():
    event = Event("e", "signup", "c", T0, {"x": 2**53 - 1}, {"y": -(2**53 - 1)})
    assert json.loads(event.to_json())["attributes"]["x"] == 2**53 - 1
