"""SMS cost by encoding: segments, the JL405 messages and the channel_limits configuration."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeylang import api
from journeylang.config import ConfigError, load_config
from journeylang.sms import GSM7, GSM7_BASIC, GSM7_EXTENSION, UCS2, sms_length

from conftest import FIXTURES

JL405 = FIXTURES / "rules" / "JL405"


@pytest.mark.parametrize("text, encoding, units, segments", [
    ("a" * 160, GSM7, 160, 1), ("a" * 161, GSM7, 161, 2), ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€" * 80, GSM7, 160, 1), ("€" * 81, GSM7, 162, 2),
    ("你" * 70, UCS2, 70, 1), ("你" * 71, UCS2, 71, 2), ("你" * 134, UCS2, 134, 2),
    ("a" * 100 + "’", UCS2, 101, 2),
    ("😀" * 35, UCS2, 70, 1), ("😀" * 36, UCS2, 72, 2),
])
def test_segments_by_encoding(text, encoding, units, segments):
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_a_two_place_character_is_never_split_across_segments():
    # 152 places, then an extension character: 154 places cannot share the first part of 153
    assert sms_length("a" * 152 + "€" + "a" * 10).segments == 2
    assert sms_length("a" * 152 + "€" + "a" * 160).segments == 3


@given(st.text(st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION) + ["你", "😀"]),
               max_size=400))
def test_segments_hold_what_their_encoding_holds(text):
    length = sms_length(text)
    single, part = (160, 153) if length.encoding == GSM7 else (70, 67)
    if length.units <= single:
        assert length.segments == 1
    else:
        assert -(-length.units // part) <= length.segments <= -(-length.units // (part - 1))


def _messages(path, config=None):
    return [d.message for d in api.check(path, config).diagnostics if d.code == "JL405"]


def test_jl405_names_the_encoding_and_the_segments():
    assert _messages(JL405 / "fail.journey") == [
        "template 'long' is about 162 GSM-7 characters: 2 SMS segments per message, over the "
        "limit of 1"]
    assert _messages(JL405 / "fail_ucs2.journey") == [
        "template 'notice' (zh) is about 87 UCS-2 characters, as '亲' is not in GSM-7: 2 SMS "
        "segments per message, over the limit of 1"]


def test_more_segments_can_be_allowed(write):
    config = write(".journeylang.toml", "channel_limits = { sms = { segments = 2 } }\n")
    assert _messages(JL405 / "fail.journey", load_config(config)) == []


def test_other_channels_limit_characters(write):
    journey = write("limits.journey", (JL405 / "pass_gsm.journey").read_text(
        encoding="utf-8").replace("via sms", "via push"))
    config = write(".journeylang.toml", "channel_limits = { push = 100 }\n")
    assert _messages(journey, load_config(config)) == [
        "template 'shipped' is about 129 characters, over the push limit of 100"]


def test_an_sms_limit_in_characters_says_what_to_write_instead(write):
    config = write(".journeylang.toml", "channel_limits = { sms = 160 }\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value) == (
        f"{config}: channel_limits.sms: an SMS is now limited by the segments it costs, "
        "counted by its encoding (GSM-7: 160 characters, 153 per segment of a longer message; "
        "UCS-2, as soon as one character is outside GSM-7: 70 and 67), no longer by "
        "characters: write `sms = { segments = 1 }` (the most segments one message may cost)")


@pytest.mark.parametrize("table, message", [
    ("{ sms = { segmets = 2 } }", "unknown key 'channel_limits.sms.segmets'; did you mean "
                                  "'channel_limits.sms.segments'?"),
    ("{ sms = { segments = 0 } }", "channel_limits.sms.segments must be a whole number from 1 "
                                   "to 2,147,483,647, not 0"),
    ("{ push = 0 }", "channel_limits.push must be a whole number from 1 to 2,147,483,647, "
                     "not 0"),
])
def test_bad_channel_limits_are_refused(write, table, message):
    config = write(".journeylang.toml", f"channel_limits = {table}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value) == f"{config}: {message}"
