"""The JSON Schema of the YAML form accepts every YAML example and rejects broken documents."""
from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.frontend import parse_file
from journeylang.frontend.yaml import JOURNEY_TABLE
from journeylang.frontend.yaml_docs import KEY_DOCS
from journeylang.frontend.yaml_reader import BAD_VALUE, STRUCTURE, YAML_SYNTAX
from journeylang.frontend.yaml_shapes import shape_of
from journeylang.schema import SchemaBuilder, journey_schema

from conftest import EXAMPLES, FIXTURES

CORPUS = FIXTURES / "schema"


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


# --- one source: the schema is generated from the reader's own key tables ------------------

def _properties(node, path=()):
    """(path, key, property schema) for every property anywhere in a schema."""
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield path, key, value
        for key, value in node.items():
            yield from _properties(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _properties(value, (*path, index))


def test_every_key_has_a_description_and_an_example_and_every_shape_is_declared():
    builder = SchemaBuilder()
    schema = builder.build()
    assert builder.missing_docs == [], "add these (context, key) pairs to frontend/yaml_docs.py"
    assert builder.undescribed == [], "give these converters a shape (yaml_shapes.accepts)"
    found = list(_properties(schema))
    assert len(found) > 100
    for path, key, prop in found:
        assert prop.get("description") and prop.get("examples"), (path, key)
    for name, definition in schema["$defs"].items():
        if "properties" not in definition:  # a scalar
            assert definition.get("description") and definition.get("examples"), name


def test_every_example_is_valid_for_its_key():
    schema = journey_schema()
    for path, key, prop in _properties(schema):
        standalone = {"$schema": schema["$schema"], "$defs": schema["$defs"], **prop}
        for example in prop["examples"]:
            errors = [e.message for e in jsonschema.Draft202012Validator(standalone)
                      .iter_errors(example)]
            assert errors == [], (path, key, example)
    for name, definition in schema["$defs"].items():
        standalone = {"$defs": schema["$defs"], **definition}
        for example in definition.get("examples", ()):
            assert list(jsonschema.Draft202012Validator(standalone).iter_errors(example)) == [], \
                name


def test_the_docs_name_only_keys_the_reader_has():
    builder = SchemaBuilder()
    builder.build()
    tables = {}
    for name, definition in builder.defs.items():
        if "properties" in definition:
            tables[definition["title"]] = set(definition["properties"])
    tables["journey"] = set(shape_of(JOURNEY_TABLE).keys)
    for context, keys in KEY_DOCS.items():
        if keys:
            assert context in tables, f"yaml_docs.py documents a table '{context}' the reader lacks"
            assert set(keys) <= tables[context], (context, set(keys) - tables[context])


def test_a_key_added_to_a_reader_table_appears_in_the_schema(monkeypatch):
    from journeylang.frontend.yaml_reader import NodeReader
    table = shape_of(JOURNEY_TABLE).keys
    monkeypatch.setitem(table, "mascot", ("mascot", NodeReader.name, False))
    builder = SchemaBuilder()
    schema = builder.build()
    assert schema["$defs"]["journey"]["properties"]["mascot"] == {"$ref": "#/$defs/name"}
    assert builder.missing_docs == [("journey", "mascot")]  # and a test asks for its docs


def test_configured_channels_are_in_the_schema(tmp_path, monkeypatch):
    (tmp_path / ".journeylang.toml").write_text(
        'channels = ["wecom", "sms", "whatsapp"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    schema = json.loads(result.stdout)
    assert schema["$defs"]["channel"]["enum"] == ["wecom", "sms", "whatsapp"]
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(load(GOOD.replace("via: wecom", "via: whatsapp")))) == []
    assert list(validator.iter_errors(load(GOOD.replace("via: wecom", "via: push")))) != []
    other = tmp_path / "other.toml"
    other.write_text('channels = ["line"]\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "--config", str(other)], catch_exceptions=False)
    assert json.loads(result.stdout)["$defs"]["channel"]["enum"] == ["line"]


@pytest.mark.parametrize("quiet, valid", [("22:00-08:00", True), ("9:00 - 18:30", True),
                                          ("25:00-09:00", False), ("22:00-24:00", False),
                                          ("22:60-08:00", False), ("22:00", False)])
def test_quiet_hours_must_be_real_times(validator, quiet, valid):
    errors = list(validator.iter_errors(load(f'journey: j\npolicy: {{quiet: "{quiet}"}}\n')))
    assert (errors == []) is valid


INVALID_CORPUS = sorted((CORPUS / "invalid").glob("*.yaml"))
READING_ERRORS = (BAD_VALUE, YAML_SYNTAX, STRUCTURE)


def test_the_base_of_the_corpus_is_valid_for_both(validator):
    path = CORPUS / "valid.yaml"
    assert [d for d in parse_file(path).diagnostics] == []
    assert list(validator.iter_errors(load(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize("path", INVALID_CORPUS, ids=lambda p: p.stem)
def test_schema_and_reader_agree_on_invalid_files(validator, path):
    """Each file breaks one rule of the YAML form: the reader reports it and the schema
    rejects the file."""
    reported = [d for d in parse_file(path).diagnostics if d.code in READING_ERRORS]
    assert reported, f"the reader accepts {path.name}"
    assert list(validator.iter_errors(load(path.read_text(encoding="utf-8")))) != [], \
        f"the schema accepts {path.name}, which the reader rejects: {reported[0].message}"
