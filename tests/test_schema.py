"""The JSON Schema of the YAML form accepts every YAML example and rejects broken documents."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.schema import journey_schema

from conftest import EXAMPLES, FIXTURES


class Yaml12Loader(yaml.SafeLoader):
    """Reads scalars as editors' YAML 1.2 servers do: `on`/`no` are strings, `10:00` is text."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                           "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _tag, _pattern, _first in (
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
        ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$",
         "-+.0123456789")):
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def load(text: str):
    return yaml.load(text, Loader=Yaml12Loader)


@pytest.fixture(scope="module")
def validator():
    schema = journey_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


YAML_FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted((FIXTURES / "pair").glob("*.yaml"))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_every_yaml_example_is_valid(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator.iter_errors(load(path.read_text(encoding="utf-8")))]
    assert errors == []


GOOD = """journey: j
stages:
  - stage: a
    steps:
      - send: {via: wecom, template: t}
      - exit: completed
"""

INVALID = {
    "no journey id": "title: x\n",
    "unknown top-level key": "journey: j\nstagse: []\n",
    "bad channel": GOOD.replace("via: wecom", "via: wechat"),
    "two step kinds": GOOD.replace("- exit: completed", "- {exit: completed, goto: a}"),
    "duration without unit": "journey: j\nreentry: {after: 30}\n",
    "name with a dash": "journey: my-journey\n",
    "set with value and expr": GOOD.replace(
        "- exit: completed", "- set: {attribute: customer.x, value: 1, expr: '1'}"),
    "percentage over 100": "journey: j\npolicy: {holdout: 120}\n",
}


def test_a_small_valid_document(validator):
    assert list(validator.iter_errors(load(GOOD))) == []


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_are_rejected(validator, text):
    assert list(validator.iter_errors(load(text))) != []


def test_schema_command_prints_and_writes(tmp_path):
    result = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == journey_schema()
    out = tmp_path / "journey.schema.json"
    result = CliRunner().invoke(main, ["schema", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["$schema"].endswith("2020-12/schema")


def test_use_steps_are_valid(validator):
    text = GOOD.replace("- exit: completed", "- use: welcome_series\n      - name: later\n"
                        "        use: {fragment: winback, with: {channel: sms, wait: 14d}}\n"
                        "      - exit: completed")
    assert list(validator.iter_errors(load(text))) == []
