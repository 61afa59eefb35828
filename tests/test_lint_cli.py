"""`journey lint` for CI: formats, exit codes, selection, configuration, the rule reference."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.lint import REGISTRY
from journeylang.lint.reference import rules_markdown

from conftest import FIXTURES, ROOT
from sarif_schema import sarif_schema

LINT = FIXTURES / "lint_cli"
EXPECTED_JSON = LINT / "expected.json"


def lint(*args, cwd: Path = LINT):
    """Run `journey lint` inside ``cwd`` so that file names in the output are relative."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["lint", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def test_json_output_of_a_folder_of_broken_journeys_matches_the_expected_file():
    result = lint("broken", "--format", "json")
    assert result.exit_code == 1
    if os.environ.get("JOURNEYLANG_REGENERATE"):
        EXPECTED_JSON.write_text(result.stdout, encoding="utf-8")
    expected = json.loads(EXPECTED_JSON.read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == expected


def test_sarif_output_is_valid_sarif_2_1_0():
    result = lint("broken", "--format", "sarif")
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema())
    run = log["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"JL001", "JL004", "JL201", "JL211", "JL303",
                                                     "JL401"}
    rules = run["tool"]["driver"]["rules"]
    for result_ in run["results"]:
        assert rules[result_["ruleIndex"]]["id"] == result_["ruleId"]


def test_sarif_rules_link_to_their_section_of_the_rule_reference():
    log = json.loads(lint("broken", "--format", "sarif").stdout)
    driver = log["runs"][0]["tool"]["driver"]
    reference = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", line[4:].strip().lower()).replace(" ", "-")
               for line in reference.splitlines() if line.startswith("### ")}
    assert driver["informationUri"] == (ROOT / "docs").as_uri() + "/rules.md"
    for rule in driver["rules"]:
        page, _, anchor = rule["helpUri"].partition("#")
        assert page == driver["informationUri"] and anchor in anchors, rule["helpUri"]
    assert "pypi" not in json.dumps(log)


def test_sarif_uris_are_relative_to_srcroot(tmp_path):
    inside = tmp_path / "repo" / "journeys" / "退货.journey"
    inside.parent.mkdir(parents=True)
    inside.write_text("journey r {\n  stage a {\n    wait 1d\n  }\n}\n", encoding="utf-8")
    outside = tmp_path / "elsewhere.journey"
    outside.write_text(inside.read_text(encoding="utf-8"), encoding="utf-8")
    result = lint(str(inside), str(outside), "--format", "sarif", cwd=tmp_path / "repo")
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema())
    run = log["runs"][0]
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": (tmp_path / "repo").as_uri() + "/"}}
    assert run["columnKind"] == "unicodeCodePoints"
    located = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
               for r in run["results"]}
    assert located.keys() == {"journeys/%E9%80%80%E8%B4%A7.journey", outside.as_uri()}
    assert located["journeys/%E9%80%80%E8%B4%A7.journey"]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uriBaseId"] == "SRCROOT"
    assert "uriBaseId" not in located[outside.as_uri()]["locations"][0]["physicalLocation"][
        "artifactLocation"]


def test_github_annotations():
    result = lint("broken", "--format", "github")
    lines = result.stdout.splitlines()
    assert lines[0] == ("::error file=broken/dead_end.journey,line=6,col=5,endLine=6,endColumn=31,"
                        "title=JL201::step 'one.1' is a dead end: nothing follows it and it is not "
                        "an exit (hint: add `exit completed` (or another outcome) after it)")
    assert any(line.startswith("::warning file=broken/structure.yaml,line=8,col=9") for line in lines)


def test_junit_report():
    root = ET.fromstring(lint("broken", "--format", "junit").stdout.split("?>", 1)[1])
    suites = {s.get("name"): s for s in root}
    assert set(suites) == {"broken/dead_end.journey", "broken/structure.yaml",
                           "broken/suppressed.journey", "broken/syntax.journey"}
    assert suites["broken/structure.yaml"].get("failures") == "3"
    assert suites["broken/suppressed.journey"].get("failures") == "0"
    assert root.get("failures") == "5"


def test_max_warnings(tmp_path):
    (tmp_path / "w.journey").write_text(
        'journey w "W" version 1 {\n owner "o"\n entry on joined\n stage a {\n handoff to agent\n exit completed\n }\n}\n')
    assert lint(str(tmp_path)).exit_code == 0
    assert lint(str(tmp_path), "--max-warnings", "1").exit_code == 0
    result = lint(str(tmp_path), "--max-warnings", "0")
    assert result.exit_code == 1 and "too many warnings: 1 > --max-warnings 0" in result.stderr


def test_select_and_ignore():
    result = lint("broken", "--format", "json", "--select", "JL2,JL0")
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert codes == {"JL001", "JL004", "JL201", "JL211"}
    result = lint("broken", "--format", "json", "--ignore", "JL2", "--ignore", "JL401")
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert codes == {"JL001", "JL004", "JL303"}


def _project(tmp_path, config_name: str, config: str) -> Path:
    (tmp_path / config_name).write_text(config)
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "j.journey").write_text(
        'journey j "J" version 1 {\n entry on joined\n stage a {\n handoff to agent\n exit completed\n }\n}\n')
    return journeys


def test_config_sets_severities_and_turns_rules_off(tmp_path):
    journeys = _project(tmp_path, ".journeylang.toml",
                        '[severity]\nJL305 = "error"\nJL503 = "off"\n')
    result = lint(str(journeys), "--format", "json")
    found = {(d["code"], d["severity"]) for d in json.loads(result.stdout)["diagnostics"]}
    assert found == {("JL305", "error")}
    assert result.exit_code == 1


def test_config_in_pyproject_is_found_from_the_journey(tmp_path):
    journeys = _project(tmp_path, "pyproject.toml", '[tool.journeylang]\nignore = ["JL3", "JL5"]\n')
    assert json.loads(lint(str(journeys), "--format", "json").stdout)["diagnostics"] == []


def test_tool_journeylang_table_in_the_own_config_file(tmp_path):
    """A table copied from a pyproject.toml reads as the same keys at the top level."""
    journeys = _project(tmp_path, ".journeylang.toml",
                        '[tool.journeylang]\nignore = ["JL3"]\n[tool.journeylang.severity]\n'
                        'JL503 = "off"\nJL504 = "off"\nJL505 = "off"\n')
    assert json.loads(lint(str(journeys), "--format", "json").stdout)["diagnostics"] == []


def test_explicit_config_flag(tmp_path):
    journeys = _project(tmp_path, "other.toml", 'select = ["JL503"]\n')
    result = lint(str(journeys), "--format", "json", "--config", str(tmp_path / "other.toml"))
    assert [d["code"] for d in json.loads(result.stdout)["diagnostics"]] == ["JL503"]


@pytest.mark.parametrize("config, message", [
    ("ignroe = []\n", "unknown key 'ignroe'; did you mean 'ignore'?"),
    ("[severity]\nJL201 = \"fatal\"\n", "severity.JL201 must be error, warning, info or off, not 'fatal'"),
    ("select = \"JL2\"\n", "select must be a list of strings"),
    ("[schema]\nattributes = [1]\n", "schema.attributes must be a list of strings"),
    ("[schema.attributes]\ncustomer.points = {type = \"number\", default = \"0\"}\n",
     "schema.attributes.customer.points.default: '0' is not a number"),
    ("select = [\n", "invalid TOML"),
    ("ignore = []\n[tool.journeylang]\nselect = []\n",
     "'ignore' is at the top level and other keys are under [tool.journeylang]: write them all "
     "in one place (at the top level, or all under [tool.journeylang])"),
    ("[tool.ruff]\nline-length = 100\n", "[tool.ruff] is not journeylang's: .journeylang.toml "
                                         "holds journeylang's keys only, at the top level or "
                                         "under [tool.journeylang]"),
])
def test_bad_config_is_a_usage_error_naming_the_file(tmp_path, config, message):
    journeys = _project(tmp_path, ".journeylang.toml", config)
    result = lint(str(journeys))
    assert result.exit_code == 2
    assert str(tmp_path / ".journeylang.toml") in result.stderr and message in result.stderr


def test_typed_attributes_in_the_schema_are_known_with_their_defaults(tmp_path):
    journeys = _project(tmp_path, ".journeylang.toml", '[schema.attributes]\n'
                        'customer.points = {type = "number", default = 0}\n'
                        'cart.value = "number"\n')
    (journeys / "j.journey").write_text('journey j { stage a {\n'
                                        'set customer.points = customer.points + cart.value\n'
                                        'set customer.pionts = 1\n exit completed } }')
    found = json.loads(lint(str(journeys), "--format", "json").stdout)["diagnostics"]
    assert [(d["code"], d["message"]) for d in found if d["code"].startswith("JL1") or
            d["code"] == "JL502"] == [("JL502", "unknown attribute 'customer.pionts'")]


def test_channels_from_config(tmp_path):
    journeys = _project(tmp_path, ".journeylang.toml", 'channels = ["wecom", "whatsapp"]\nselect = ["JL104"]\n')
    (journeys / "j.journey").write_text('journey j { stage a { send via whatsapp template t\n'
                                        'send via sms template t\n exit completed } }')
    found = json.loads(lint(str(journeys), "--format", "json").stdout)["diagnostics"]
    assert [(d["code"], d["message"]) for d in found] == [("JL104", "unknown channel 'sms'")]


def test_rules_and_explain():
    runner = CliRunner()
    listing = runner.invoke(main, ["rules"]).stdout
    assert len(listing.splitlines()) == len(REGISTRY) >= 30
    assert "JL301  warning  cap-exceeded-on-path" in listing
    explained = runner.invoke(main, ["explain", "jl205"])
    assert explained.exit_code == 0 and explained.stdout.startswith("JL205 branch-without-default (error)")
    missing = runner.invoke(main, ["explain", "JL2055"])
    assert missing.exit_code == 2 and "no rule JL2055" in missing.stderr


def test_rule_reference_in_docs_is_up_to_date():
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert docs == rules_markdown(), "docs/rules.md is stale: run `journey rules --markdown > docs/rules.md`"


def test_pre_commit_hook_definition():
    import yaml
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "journey-lint" and hook["entry"] == "journey lint"
    assert hook["language"] == "python"
    linted = lambda path: bool(re.search(hook["files"], path)) and not re.search(  # noqa: E731
        hook["exclude"], path)
    assert [path for path in (
        "welcome.journey", "crm/journeys/welcome.journey", "journeys/vip_care.yaml",
        "team/journeys/sub/winback.yml", ".pre-commit-config.yaml", ".github/workflows/ci.yml",
        "docker-compose.yaml", "journeys/cohorts/vip.cohort.yaml", "myjourneys/x.yaml")
        if linted(path)] == ["welcome.journey", "crm/journeys/welcome.journey",
                             "journeys/vip_care.yaml", "team/journeys/sub/winback.yml"]


# --- streaming: each file's output as soon as it is checked ------------------------------

STREAMED = ["broken", str(ROOT / "examples" / "vip_care.yaml"),
            str(ROOT / "examples" / "cart_recovery.journey")]


def _all_at_once(output_format: str) -> tuple[str, str]:
    """What `journey lint` printed when it kept every file until the end: every result first,
    then one rendering of all the diagnostics (stdout, stderr)."""
    from click import unstyle

    from journeylang import api
    from journeylang.cli.formats import FORMATTERS
    from journeylang.cli.render import SourceLines, render, summary
    from journeylang.diagnostics import Severity

    old = os.getcwd()
    os.chdir(LINT)  # as `lint` runs: names relative to it, SARIF's root
    try:
        results = [api.check(path) for path in api.journey_files(STREAMED)]
        everything = [d for r in results for d in r.diagnostics]
        if output_format != "text":
            names = [r.document.source.name for r in results]
            return FORMATTERS[output_format](everything, names) + "\n", ""
    finally:
        os.chdir(old)
    sources = SourceLines({r.document.source.name: r.document.source.text for r in results})
    counts = {level: sum(d.severity is level for d in everything) for level in Severity}
    return ("".join(unstyle(render(d, sources)) + "\n" for d in everything),
            unstyle(summary(counts, len(results))) + "\n")


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "junit"])
def test_streamed_output_of_several_files_is_what_one_document_printed(output_format):
    result = lint(*STREAMED, "--format", output_format)
    assert result.exit_code == 1
    assert (result.stdout, result.stderr) == _all_at_once(output_format)


def test_github_output_of_clean_files_is_one_empty_line():
    result = lint(str(ROOT / "examples" / "vip_care.yaml"), "--format", "github")
    assert (result.exit_code, result.stdout) == (0, "\n")


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_a_checked_file_is_let_go_before_the_next_is_checked(output_format, monkeypatch):
    """Memory stays flat in the number of files: no parsed file outlives its turn (the JSON
    document keeps only the diagnostics)."""
    import gc
    import weakref

    from journeylang.cli import check as check_module

    kept: list[weakref.ref] = []
    alive_at_each_start: list[int] = []
    real_check = check_module.check

    def watched(path, *args, **kwargs):
        gc.collect()
        alive_at_each_start.append(sum(ref() is not None for ref in kept))
        result = real_check(path, *args, **kwargs)
        kept.extend([weakref.ref(result.document), weakref.ref(result.document.source)])
        return result

    monkeypatch.setattr(check_module, "check", watched)
    lint(*STREAMED, "--format", output_format)
    assert len(alive_at_each_start) == 6 and set(alive_at_each_start) == {0}
