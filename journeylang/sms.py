"""SMS length: how many segments a text costs, by the encoding it is sent in (GSM 03.38).

A text all of whose characters are in the GSM-7 alphabet goes as GSM-7: 160 characters in one
segment, 153 per segment of a longer message (the rest of each holds the header that joins
them); the extension characters (``^ { } \\ [ ~ ] | €`` and form feed) take two places. One
character outside the alphabet (a Chinese character, an emoji, a curly quote) sends the whole
text as UCS-2: 70 UTF-16 units in one segment, 67 per segment of a longer message; a character
beyond the Basic Multilingual Plane takes two units. A character (or an escape pair) is never
split across two segments.
"""
from __future__ import annotations

from .records import record

GSM7, UCS2 = "GSM-7", "UCS-2"
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# (places in a single segment, places per segment of a longer message)
SEGMENT_SIZES = {GSM7: (160, 153), UCS2: (70, 67)}


@record
class SmsLength:
    """What a text costs as an SMS: its encoding, the places it takes and its segments;
    ``first_wide`` is the first character that forced UCS-2 (None for GSM-7)."""

    encoding: str
    units: int
    segments: int
    first_wide: str | None = None


def sms_length(text: str) -> SmsLength:
    """The encoding, places and segments of ``text`` sent as one SMS."""
    wide = next((c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION), None)
    if wide is None:
        sizes = [2 if c in GSM7_EXTENSION else 1 for c in text]
        encoding = GSM7
    else:
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
        encoding = UCS2
    return SmsLength(encoding, sum(sizes), _segments(sizes, *SEGMENT_SIZES[encoding]), wide)


def _segments(sizes: list[int], single: int, part: int) -> int:
    """Segments for characters of these sizes: one when they fit in ``single`` places, else
    as many parts of ``part`` places as filling them in order takes."""
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count
