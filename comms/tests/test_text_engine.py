"""The text engine: SMS segments after GSM 03.38, direction, placeholders."""

from __future__ import annotations

import pytest

from comms.direction import detect_direction, is_rtl_locale
from comms.placeholders import UnknownPlaceholder, render, unknown, validate
from comms.sms import analyze

EURO = "€"
EMOJI = "😀"  # outside the BMP: a surrogate pair, 2 UTF-16 units
FLAG = "🇬🇧"  # two regional indicators: 4 units
FAMILY = "👨‍👩‍👧"  # ZWJ sequence: 3 emoji + 2 joiners = 8 units

# (text, encoding, units, segments) — derived from the GSM 03.38 tables and the segment sizes
CASES = [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("a" * 459, "GSM-7", 459, 3),
    ("a" * 460, "GSM-7", 460, 4),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "GSM-7", 42, 1),
    ("]" * 80, "GSM-7", 160, 1),
    ("]" * 81, "GSM-7", 162, 2),
    ("]" * 153, "GSM-7", 306, 3),  # 76 pairs fit in 153 septets: never split a pair
    ("a" * 158 + EURO, "GSM-7", 160, 1),
    ("a" * 159 + EURO, "GSM-7", 161, 2),
    ("a" * 152 + EURO + "a", "GSM-7", 155, 1),  # ≤ 160 septets: one segment, the split rule does not apply
    ("a" * 152 + EURO + "a" * 152, "GSM-7", 306, 3),  # 306 septets would fit 2 parts, but € cannot straddle 153/154
    ("a" * 152 + EURO * 77, "GSM-7", 306, 3),
    ("\f{}\\[~]|^€", "GSM-7", 20, 1),
    ("e\u0301" * 10, "GSM-7", 10, 1),  # decomposed é: NFC makes it GSM's é
    ("ç", "UCS-2", 1, 1),  # lower-case ç is not in GSM (only Ç)
    ("я" * 70, "UCS-2", 70, 1),
    ("я" * 71, "UCS-2", 71, 2),
    ("я" * 134, "UCS-2", 134, 2),
    ("я" * 135, "UCS-2", 135, 3),
    ("я" * 66 + EMOJI, "UCS-2", 68, 1),
    ("я" * 66 + EMOJI + "я" * 66, "UCS-2", 134, 3),  # 134 units would fit 2 parts, but the pair cannot straddle
    ("я" * 68 + EMOJI, "UCS-2", 70, 1),
    ("я" * 69 + EMOJI, "UCS-2", 71, 2),
    (EMOJI * 35, "UCS-2", 70, 1),
    (FLAG, "UCS-2", 4, 1),
    (FAMILY, "UCS-2", 8, 1),
    ("שלום", "UCS-2", 4, 1),
]


@pytest.mark.parametrize("text,encoding,units,segments", CASES)
def test_sms_segments(text, encoding, units, segments):
    result = analyze(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_characters_count_code_points_after_nfc():
    assert analyze("e\u0301").characters == 1
    assert analyze(FAMILY).characters == 5


@pytest.mark.parametrize(
    "text,direction",
    [("Hello", "ltr"), ("مرحبا", "rtl"), ("שלום", "rtl"), ("123 שלום", "rtl"), ("@user שלום", "rtl"),
     ("{{customer.first_name}}، مرحبا", "rtl"), ("<p dir=x>שלום</p>", "rtl"), ("https://x.io hi", "ltr"),
     ("", "ltr"), ("123 !!", "ltr"), ("سلام Hello", "rtl")],
)
def test_direction(text, direction):
    assert detect_direction(text) == direction


@pytest.mark.parametrize("locale,rtl", [("ar", True), ("ar-EG", True), ("he_IL", True), ("fa", True), ("en", False),
                                        ("pt-BR", False)])
def test_rtl_locales(locale, rtl):
    assert is_rtl_locale(locale) is rtl


def test_placeholders_validation_rendering_and_escaping():
    assert unknown("Hi {{ customer.first_name }} {{customer.password}} {{nope}}") == ["customer.password", "nope"]
    with pytest.raises(UnknownPlaceholder) as error:
        validate("ok {{customer.first_name}}", "bad {{customer.secret}}")
    assert error.value.names == ["customer.secret"]
    context = {"customer.first_name": "<b>Jo & Co</b>"}
    assert render("Hi {{customer.first_name}}", context, html_escape=True) == "Hi &lt;b&gt;Jo &amp; Co&lt;/b&gt;"
    assert render("Hi {{customer.first_name}}", context, html_escape=False) == "Hi <b>Jo & Co</b>"
    assert render("Hi {{customer.first_name}} of {{broker.platform_name}}", {}, html_escape=False) == \
        "Hi Client of BrokerCRM"
    assert render("{{customer.last_name}}!", {}, html_escape=False, defaults={"customer.last_name": "friend"}) == \
        "friend!"
