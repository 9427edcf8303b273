"""SMS analysis: the GSM 03.38 alphabet, segment borders, escape and surrogate pairs, normalization, characters.

The alphabet below is written independently of `comms.sms`, as code points copied from the 3GPP TS 23.038 tables
(the layout of Unicode's GSM0338.TXT), so that a typo in the module's table shows up here.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.sms import SmsAnalysis, analyze

# 23.038 default alphabet, 0x00–0x7F → Unicode. 0x1B is the escape to the extension table, not a character.
GSM_DEFAULT = {
    0x00: 0x0040, 0x01: 0x00A3, 0x02: 0x0024, 0x03: 0x00A5, 0x04: 0x00E8, 0x05: 0x00E9, 0x06: 0x00F9, 0x07: 0x00EC,
    0x08: 0x00F2, 0x09: 0x00C7, 0x0A: 0x000A, 0x0B: 0x00D8, 0x0C: 0x00F8, 0x0D: 0x000D, 0x0E: 0x00C5, 0x0F: 0x00E5,
    0x10: 0x0394, 0x11: 0x005F, 0x12: 0x03A6, 0x13: 0x0393, 0x14: 0x039B, 0x15: 0x03A9, 0x16: 0x03A0, 0x17: 0x03A8,
    0x18: 0x03A3, 0x19: 0x0398, 0x1A: 0x039E, 0x1C: 0x00C6, 0x1D: 0x00E6, 0x1E: 0x00DF, 0x1F: 0x00C9,
    0x24: 0x00A4, 0x40: 0x00A1, 0x5B: 0x00C4, 0x5C: 0x00D6, 0x5D: 0x00D1, 0x5E: 0x00DC, 0x5F: 0x00A7, 0x60: 0x00BF,
    0x7B: 0x00E4, 0x7C: 0x00F6, 0x7D: 0x00F1, 0x7E: 0x00FC, 0x7F: 0x00E0,
    # 0x20–0x7F not listed above are the ASCII character of the same code.
    **{code: code for code in range(0x20, 0x80)
       if code not in (0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F)},
}
# 23.038 extension table: 0x1B followed by this code → Unicode.
GSM_EXTENSION = {0x0A: 0x000C, 0x14: 0x005E, 0x28: 0x007B, 0x29: 0x007D, 0x2F: 0x005C, 0x3C: 0x005B, 0x3D: 0x007E,
                 0x3E: 0x005D, 0x40: 0x007C, 0x65: 0x20AC}
BASIC_CHARS = [chr(u) for u in GSM_DEFAULT.values()]
EXTENSION_CHARS = [chr(u) for u in GSM_EXTENSION.values()]

EURO = "€"
BRACKET = "]"
EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair
FLAG_GB = "🇬🇧"  # two regional indicators
FLAG_SCOTLAND = "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"  # black flag + 5 tags + cancel tag
FAMILY = "👨\u200d👩\u200d👧"  # man ZWJ woman ZWJ girl
FAMILY_OF_FOUR = "👨\u200d👩\u200d👧\u200d👦"
THUMBS_UP_MEDIUM = "👍🏽"  # emoji + skin-tone modifier
RED_HEART = "❤\ufe0f"  # BMP heart + variation selector 16
YA = "я"  # any BMP character outside GSM-7


def test_alphabet_tables_are_complete():
    assert len(BASIC_CHARS) == len(set(BASIC_CHARS)) == 127  # 128 codes minus the escape
    assert len(EXTENSION_CHARS) == 10


@pytest.mark.parametrize("char", BASIC_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_analyze_basic_character_costs_one_septet(char):
    result = analyze(char)
    assert (result.encoding, result.units, result.segments) == ("GSM-7", 1, 1)


@pytest.mark.parametrize("char", EXTENSION_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_analyze_extension_character_costs_two_septets_or_one_ucs2_unit(char):
    assert (analyze(char).encoding, analyze(char).units) == ("GSM-7", 2)
    assert (analyze(char + YA).encoding, analyze(char + YA).units) == ("UCS-2", 2)


# Lookalikes and everyday characters that are NOT in either table: each forces UCS-2.
NOT_GSM = [
    "`",  # the one printable ASCII character in neither table
    "\t", "\x1b", "\u00a0",  # tab, a bare escape, no-break space
    "ç", "À", "á", "í", "ó", "ú", "ê", "ã", "õ", "ı",  # ç is not 0x09: that is Ç
    "Α", "Β", "Ε", "Ο", "α", "δ", "ω",  # Greek letters that are not in the table (Δ, Φ, Γ … are)
    "’", "‘", "“", "”", "–", "—", "…", "•", "¢", "©", "™", "₹", "¨",
    "я", "ש", "م", "中", "ㅎ",
]


@pytest.mark.parametrize("char", NOT_GSM, ids=lambda c: f"U+{ord(c):04X}")
def test_analyze_character_outside_gsm_forces_ucs2(char):
    result = analyze("Hello " + char)
    assert (result.encoding, result.units) == ("UCS-2", 7)


def test_analyze_agrees_with_the_tables_for_every_bmp_character_below_u0530():
    """Latin, Greek and Cyrillic blocks: GSM-7 exactly for the table's characters (NFC changes are tested below)."""
    basic, extension = set(BASIC_CHARS), set(EXTENSION_CHARS)
    for code in range(0x0530):
        char = chr(code)
        if unicodedata.normalize("NFC", char) != char:
            continue
        expected = ("GSM-7", 1) if char in basic else ("GSM-7", 2) if char in extension else ("UCS-2", 1)
        assert (analyze(char).encoding, analyze(char).units) == expected, f"U+{code:04X}"


# (id, text, encoding, units, segments)
SEGMENT_CASES = [
    ("empty", "", "GSM-7", 0, 0),
    # GSM-7 borders: 160 in one segment, then 153 per segment.
    ("gsm-160", "a" * 160, "GSM-7", 160, 1),
    ("gsm-161", "a" * 161, "GSM-7", 161, 2),
    ("gsm-306", "a" * 306, "GSM-7", 306, 2),
    ("gsm-307", "a" * 307, "GSM-7", 307, 3),
    ("gsm-459", "a" * 459, "GSM-7", 459, 3),
    ("gsm-460", "a" * 460, "GSM-7", 460, 4),
    ("gsm-all-basic", "".join(BASIC_CHARS), "GSM-7", 127, 1),
    ("gsm-crlf", "a\r\nb", "GSM-7", 4, 1),
    # Extension characters: 2 septets, never split.
    ("ext-all", "".join(EXTENSION_CHARS), "GSM-7", 20, 1),
    ("ext-80-brackets", BRACKET * 80, "GSM-7", 160, 1),
    ("ext-81-brackets", BRACKET * 81, "GSM-7", 162, 2),  # 76 pairs per segment: 76 + 5
    ("ext-152-brackets", BRACKET * 152, "GSM-7", 304, 2),  # 76 + 76
    ("ext-153-brackets", BRACKET * 153, "GSM-7", 306, 3),  # 306 septets, but 76 + 76 + 1
    ("ext-158a-euro", "a" * 158 + EURO, "GSM-7", 160, 1),
    ("ext-159a-euro", "a" * 159 + EURO, "GSM-7", 161, 2),
    ("ext-152a-euro-a", "a" * 152 + EURO + "a", "GSM-7", 155, 1),  # within 160: no concatenation at all
    ("ext-151a-euro-fills-153", "a" * 151 + EURO + "a" * 153, "GSM-7", 306, 2),  # € ends segment 1 exactly
    ("ext-152a-euro-moves", "a" * 152 + EURO + "a" * 8, "GSM-7", 162, 2),  # € moves to segment 2
    ("ext-152a-euro-overflows", "a" * 152 + EURO + "a" * 152, "GSM-7", 306, 3),  # 152 | €+151 | 1
    ("ext-152a-77-euros", "a" * 152 + EURO * 77, "GSM-7", 306, 3),
    # UCS-2 borders: 70 in one segment, then 67 per segment.
    ("ucs2-70", YA * 70, "UCS-2", 70, 1),
    ("ucs2-71", YA * 71, "UCS-2", 71, 2),
    ("ucs2-134", YA * 134, "UCS-2", 134, 2),
    ("ucs2-135", YA * 135, "UCS-2", 135, 3),
    ("ucs2-201", YA * 201, "UCS-2", 201, 3),
    ("ucs2-202", YA * 202, "UCS-2", 202, 4),
    ("ucs2-one-char-in-gsm", "a" * 69 + YA, "UCS-2", 70, 1),  # one non-GSM character re-prices the whole text
    ("ucs2-one-char-in-gsm-71", "a" * 70 + YA, "UCS-2", 71, 2),
    ("gsm-70-euros", EURO * 70, "GSM-7", 140, 1),
    ("ucs2-euro-is-one-unit", EURO * 69 + YA, "UCS-2", 70, 1),
    # Surrogate pairs at the 67-unit border.
    ("emoji-68-in-one", YA * 66 + EMOJI, "UCS-2", 68, 1),
    ("emoji-70-in-one", YA * 68 + EMOJI, "UCS-2", 70, 1),
    ("emoji-71", YA * 69 + EMOJI, "UCS-2", 71, 2),
    ("emoji-ends-segment-1", YA * 65 + EMOJI + YA * 67, "UCS-2", 134, 2),  # 65+2 | 67
    ("emoji-moves", YA * 66 + EMOJI + YA * 66, "UCS-2", 134, 3),  # 66 | 2+65 | 1
    ("emoji-35", EMOJI * 35, "UCS-2", 70, 1),
    ("emoji-36", EMOJI * 36, "UCS-2", 72, 2),  # 33 pairs per segment
    ("emoji-66", EMOJI * 66, "UCS-2", 132, 2),
    ("emoji-67", EMOJI * 67, "UCS-2", 134, 3),  # 134 units, but 33 + 33 + 1 pairs
    ("emoji-in-gsm-text", "a" * 68 + EMOJI, "UCS-2", 70, 1),
    # Sequences: every code point counts, ZWJ and variation selectors included.
    ("flag-gb", FLAG_GB, "UCS-2", 4, 1),
    ("flag-scotland", FLAG_SCOTLAND, "UCS-2", 14, 1),
    ("family-of-three", FAMILY, "UCS-2", 8, 1),
    ("family-of-four", FAMILY_OF_FOUR, "UCS-2", 11, 1),
    ("skin-tone", THUMBS_UP_MEDIUM, "UCS-2", 4, 1),
    ("heart-vs16", RED_HEART, "UCS-2", 2, 1),
    ("flag-moves", YA * 66 + FLAG_GB + YA * 64, "UCS-2", 134, 3),  # 66 | 4+63 | 1
    ("flag-split-between-indicators", YA * 65 + FLAG_GB + YA * 65, "UCS-2", 134, 2),  # 65+2 | 2+65: pairs whole
    # NFC first: decomposed sequences with a precomposed GSM character become GSM-7.
    ("nfc-e-acute", "e\u0301", "GSM-7", 1, 1),
    ("nfc-cafe", "Cafe\u0301", "GSM-7", 4, 1),
    ("nfc-160-decomposed", "e\u0301" * 160, "GSM-7", 160, 1),
    ("nfc-a-ring", "A\u030a", "GSM-7", 1, 1),
    ("nfc-angstrom-sign", "\u212b", "GSM-7", 1, 1),  # Å sign → Å
    ("nfc-ohm-sign", "\u2126", "GSM-7", 1, 1),  # Ω sign → Greek Ω
    ("nfc-kelvin-sign", "\u212a", "GSM-7", 1, 1),  # K sign → K
    ("nfc-no-precomposed-form", "q\u0301", "UCS-2", 2, 1),
    ("nfc-c-cedilla-lower", "c\u0327", "UCS-2", 1, 1),  # → ç, which GSM lacks
    ("nfc-c-cedilla-upper", "C\u0327", "GSM-7", 1, 1),  # → Ç
    ("hebrew", "שלום", "UCS-2", 4, 1),
    ("arabic", "مرحبا", "UCS-2", 5, 1),
]


@pytest.mark.parametrize("text,encoding,units,segments", [case[1:] for case in SEGMENT_CASES],
                         ids=[case[0] for case in SEGMENT_CASES])
def test_analyze_segments(text, encoding, units, segments):
    result = analyze(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


@pytest.mark.parametrize("text,characters", [
    ("", 0),
    ("Hello", 5),
    ("e\u0301", 1),  # NFC: one code point
    ("q\u0301", 2),  # no precomposed form: still two
    (EMOJI, 1),
    (FLAG_GB, 2),
    (FAMILY, 5),
    (BRACKET * 81, 81),
    ("שלום", 4),
])
def test_analyze_characters_count_code_points_after_nfc(text, characters):
    assert analyze(text).characters == characters


@pytest.mark.parametrize("text,direction", [("", "ltr"), ("Hello", "ltr"), ("שלום", "rtl"), ("مرحبا 123", "rtl"),
                                            ("{{customer.first_name}}، مرحبا", "rtl")])
def test_analyze_reports_direction(text, direction):
    assert analyze(text).direction == direction


def test_analyze_to_dict_is_the_api_shape():
    assert analyze("]" * 81).to_dict() == {"encoding": "GSM-7", "segments": 2, "units": 162, "characters": 81,
                                           "direction": "ltr"}
    assert analyze("").to_dict() == {"encoding": "GSM-7", "segments": 0, "units": 0, "characters": 0,
                                     "direction": "ltr"}


def test_analysis_is_frozen():
    result = analyze("Hi")
    assert isinstance(result, SmsAnalysis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.segments = 5  # type: ignore[misc]


# Properties over generated text: alphabets whose characters NFC leaves alone.
GSM_TEXT = st.text(alphabet=st.sampled_from(BASIC_CHARS + EXTENSION_CHARS), max_size=700)
UCS2_TEXT = st.text(alphabet=st.sampled_from([YA, "ש", "中", EURO, "a", EMOJI, "\U0001f1ec"]), min_size=1,
                    max_size=400).map(lambda text: YA + text)


@given(GSM_TEXT)
def test_analyze_gsm_units_and_segment_bounds(text):
    result = analyze(text)
    assert result.encoding == "GSM-7"
    assert result.units == len(text) + sum(ch in EXTENSION_CHARS for ch in text)
    if result.units > 160:
        # Never fewer than the raw division; at most one septet per segment lost to an unsplit pair.
        assert math.ceil(result.units / 153) <= result.segments <= math.ceil(result.units / 152)


@given(UCS2_TEXT)
def test_analyze_ucs2_units_are_utf16_code_units(text):
    result = analyze(text)
    assert result.encoding == "UCS-2"
    assert result.units == len(text.encode("utf-16-le")) // 2
    if result.units > 70:
        assert math.ceil(result.units / 67) <= result.segments <= math.ceil(result.units / 66)


@given(GSM_TEXT, st.sampled_from(BASIC_CHARS + EXTENSION_CHARS))
def test_analyze_segments_never_decrease_when_text_grows(text, char):
    assert analyze(text + char).segments >= analyze(text).segments
