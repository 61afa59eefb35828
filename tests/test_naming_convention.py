"""The naming convention (JL505) accepts exactly the names its expression matches, the
default convention's ASCII names included, which are told apart without compiling it."""
from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from journeylang.config import DEFAULT_NAMING
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
