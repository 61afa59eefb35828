"""The formatter and the converter: properties under hypothesis, and every example."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from journeylang.frontend import parse_source
from journeylang.printer import convert_document, format_text, print_journey, print_yaml
from journeylang.source import Source

from conftest import EXAMPLES
from journeys_strategy import journeys

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def parse(text: str, name: str = "j.journey"):
    document = parse_source(Source(name, text))
    assert [d for d in document.diagnostics] == [], text
    return document.journey


@PROPERTY
@given(journeys())
def test_printed_journeys_parse_back_and_fmt_is_idempotent(journey):
    text = print_journey(journey)
    assert parse(text) == journey
    formatted = format_text(text, "j.journey")
    assert parse(formatted) == journey
    assert format_text(formatted, "j.journey") == formatted


@PROPERTY
@given(journeys())
def test_dsl_to_yaml_to_dsl_keeps_the_model(journey):
    yaml_text = print_yaml(journey)
    assert parse(yaml_text, "j.yaml") == journey, yaml_text
    document = parse_source(Source("j.yaml", yaml_text))
    assert parse(convert_document(document, "journey")) == journey


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.journey")) + sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_convert_both_ways(path):
    document = parse_source(Source.read(path))
    other = "journey" if path.suffix == ".yaml" else "yaml"
    converted = convert_document(document, other)
    assert parse(converted, f"x.{other}") == document.journey
    back = convert_document(parse_source(Source(f"x.{other}", converted)), path.suffix[1:])
    assert parse(back, path.name) == document.journey


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.journey")), ids=lambda p: p.name)
def test_examples_format_with_every_comment_kept(path):
    source = Source.read(path)
    formatted = format_text(source.text, path.name)
    assert parse(formatted, path.name) == parse(source.text, path.name)
    assert format_text(formatted, path.name) == formatted
    before = [c.text.rstrip() for c in parse_source(source).comments]
    after = [c.text.rstrip() for c in parse_source(Source(path.name, formatted)).comments]
    assert sorted(after) == sorted(before) and len(before) > 0
