"""Fragments written in YAML: the same fragments as the DSL's, found in fragments/ and the
stdlib, described by the schema."""
from __future__ import annotations

import re

import jsonschema
import pytest
import yaml

from journeylang import api
from journeylang.expand import stdlib_fragments
from journeylang.frontend import parse_fragment_file
from journeylang.schema import journey_schema
from journeylang.source import Source

from conftest import ROOT

STDLIB = ROOT / "stdlib"


def _docs_example() -> str:
    """The YAML form of `winback` that docs/stdlib.md shows."""
    docs = (ROOT / "docs" / "stdlib.md").read_text(encoding="utf-8")
    return re.search(r"`winback` in YAML is\n\n```yaml\n(.*?)```", docs, re.S).group(1)


def test_a_yaml_fragment_reads_to_the_same_fragment_as_the_dsl():
    yaml_form, problems = parse_fragment_file(Source("winback.yaml", _docs_example()))
    dsl_form, _ = parse_fragment_file(Source.read(STDLIB / "winback.journey"))
    assert problems == []
    assert yaml_form == dsl_form


def test_the_stdlib_holds_a_yaml_fragment():
    fragment = stdlib_fragments()["review_ask"]
    assert fragment.span.file.endswith("review_ask.yaml")
    assert [p.name for p in fragment.params if p.type == "duration"] == ["delay", "within"]


JOURNEY = """journey j "J" version 1 {{
  owner "crm"
  entry on signed_up where consent.wecom
  exit on unsubscribed as opted_out
  policy {{ consent wecom }}
  stage main {{
    {use}
    done: exit completed
  }}
}}
"""
FRAGMENT = """fragment: remind
params:
  channel: {type: channel, default: wecom}
  after: duration
  reply: {type: step}
templates:
  remind_text: "Anything we can help with, {{ customer.name }}?"
steps:
  - wait: $after
  - name: ask
    send: {via: $channel, template: remind_text}
  - wait: {for: replied, within: 1d, then: $reply}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "remind.yaml").write_text(FRAGMENT, encoding="utf-8")
    return tmp_path


def test_a_local_yaml_fragment_is_used_and_expanded(project):
    path = project / "j.journey"
    path.write_text(JOURNEY.format(use="r: use remind with { after: 2h, reply: done }"),
                    encoding="utf-8")
    result = api.check(path)
    assert result.diagnostics == []
    steps = {s.name: s for _, s in result.journey.steps()}
    assert steps["r.1"].duration == 7200 and steps["r.ask"].channel == "wecom"
    assert steps["r.3"].arms[0].target == "done"
    assert [p.name for p in api.journey_files([project])] == ["j.journey"]


def test_a_parameter_without_a_default_must_be_given(project):
    path = project / "j.journey"
    path.write_text(JOURNEY.format(use="use remind with { reply: done }"), encoding="utf-8")
    found = [(d.code, d.message) for d in api.check(path).diagnostics]
    assert ("JL603", "`use remind` needs parameter 'after' (duration)") in found


def test_problems_in_a_yaml_fragment_point_at_its_file_and_the_use(project):
    (project / "fragments" / "remind.yaml").write_text(
        FRAGMENT.replace("type: step", "type: stepp"), encoding="utf-8")
    path = project / "j.journey"
    path.write_text(JOURNEY.format(use="use remind with { after: 2h, reply: done }"),
                    encoding="utf-8")
    [problem] = [d for d in api.check(path).diagnostics if d.code == "JL605"]
    assert problem.message == "parameter 'reply' has unknown type 'stepp'"
    assert (problem.span.file, problem.span.line) == (str(project / "fragments" / "remind.yaml"), 5)
    assert problem.related[-1].span.file == str(path)


def test_a_quoted_dollar_is_text_and_a_stray_reference_is_reported():
    fragments, problems = parse_fragment_file(Source("f.yaml", FRAGMENT.replace(
        "template: remind_text", "template: '$text'")))
    assert problems == [] and fragments[0].steps[1].template == "$text"
    journey = api.check_text("journey: j\nstages:\n  - stage: a\n    steps:\n"
                             "      - wait: $later\n      - exit: completed\n", "j.yaml")
    assert ("JL602", "$later is only allowed inside a fragment") in \
        [(d.code, d.message) for d in journey.diagnostics]


@pytest.mark.parametrize("text, message", [
    ("title: x\n", "missing required key 'fragment' in fragment"),
    ("fragment: f\nstepz: []\n", "unknown key 'stepz' in fragment; did you mean 'steps'?"),
    ("fragment: f\nparams:\n  a: {default: 1}\n",
     "missing required key 'type' in fragment parameter"),
])
def test_fragment_file_errors(text, message):
    _, problems = parse_fragment_file(Source("f.yaml", text))
    assert message in [d.message for d in problems]


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(journey_schema())


def test_the_schema_describes_fragment_files(validator):
    for text in (FRAGMENT, _docs_example(), (STDLIB / "review_ask.yaml").read_text("utf-8")):
        assert list(validator.iter_errors(yaml.safe_load(text))) == []
    wrong = yaml.safe_load(FRAGMENT.replace("steps:", "stages:"))
    assert [e.message for e in validator.iter_errors(wrong)] == [
        "Additional properties are not allowed ('stages' was unexpected)"]
