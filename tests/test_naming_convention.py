"""Names told apart without compiling expressions with CJK ranges where ASCII suffices:
the naming convention (JL505) and the YAML frontend's names and paths accept exactly what
their expressions match."""
from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from journeylang.config import DEFAULT_NAMING
from journeylang.frontend.yaml_reader import is_name
from journeylang.frontend.yaml_shapes import WORD
from journeylang.lint.rules.hygiene import _Convention

NAMES = st.text("aZz09_-. \n提醒é\u212a", max_size=8)


@settings(max_examples=500, deadline=None)
@given(NAMES)
@example("vip_offer").via("snake_case")
@example("vip_offer\n").via("$ matches before a final line break")
@example("VipOffer").via("capitals")
@example("vip_提醒").via("mixed")
@example("_private").via("an underscore first")
def test_the_default_convention_matches_as_its_expression(name):
    assert _Convention(DEFAULT_NAMING).match(name) == bool(re.match(DEFAULT_NAMING, name))


@given(NAMES)
def test_a_configured_convention_matches_as_its_expression(name):
    assert _Convention("^[a-z]+$").match(name) == bool(re.match("^[a-z]+$", name))


@settings(max_examples=500, deadline=None)
@given(NAMES)
@example("cart.value").via("a path")
@example("a..b").via("an empty part")
@example("b\n").via("a final line break")
@example("1abc").via("a digit first")
@example("提醒.名字").via("Chinese")
def test_yaml_names_and_paths_are_the_dsl_names(text):
    assert is_name(text) == bool(re.match(rf"{WORD}\Z", text))
    assert all(map(is_name, text.split("."))) == bool(re.match(rf"{WORD}(\.{WORD})*\Z", text))
