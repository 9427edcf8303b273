"""Direction: the first strong character, after placeholders, markup and identifiers; RTL locales."""

from __future__ import annotations

import time

import pytest

from comms.direction import detect_direction, is_rtl_locale

HEBREW = "שלום"
ARABIC = "مرحبا"

# (id, text, direction)
DIRECTION_CASES = [
    # The first strong character decides.
    ("latin", "Hello", "ltr"),
    ("hebrew-R", HEBREW, "rtl"),
    ("arabic-AL", ARABIC, "rtl"),
    ("persian-AL", "سلام دوست", "rtl"),
    ("urdu-AL", "خوش آمدید", "rtl"),
    ("syriac-AL", "ܫܠܡܐ", "rtl"),
    ("thaana-AL", "ދިވެހި", "rtl"),
    ("yiddish-R", "שלום־עליכם", "rtl"),
    ("greek", "Γειά σου", "ltr"),
    ("cyrillic", "Привет", "ltr"),
    ("cjk", "你好", "ltr"),
    ("rtl-then-latin", f"{ARABIC} Hello", "rtl"),
    ("latin-then-rtl", f"Hello {ARABIC}", "ltr"),
    # No strong character: ltr.
    ("empty", "", "ltr"),
    ("digits-and-punctuation", "123 !! -- 4.5%", "ltr"),
    ("arabic-indic-digits", "١٢٣", "ltr"),  # class AN: weak
    ("only-placeholder", "{{customer.first_name}}", "ltr"),
    # Weak and neutral characters before the first strong one are passed over.
    ("digits-then-hebrew", f"123 {HEBREW}", "rtl"),
    ("punctuation-then-arabic", f"... — «{ARABIC}»", "rtl"),
    ("whitespace-then-hebrew", f" \n\t{HEBREW}", "rtl"),
    ("digits-then-latin", "2024 Hello", "ltr"),
    ("amount-then-arabic", f"$1,000.00 {ARABIC}", "rtl"),
    # Placeholders are skipped: their values are unknown and the names are Latin.
    ("placeholder-then-arabic", "{{customer.first_name}}، مرحبا", "rtl"),
    ("spaced-placeholder-then-hebrew", f"{{{{ customer.first_name }}}} {HEBREW}", "rtl"),
    ("two-placeholders-then-hebrew", f"{{{{agent.full_name}}}}/{{{{broker.platform_name}}}}: {HEBREW}", "rtl"),
    ("placeholder-then-latin", "{{customer.first_name}}, welcome", "ltr"),
    # Markup is skipped: tags with their attributes, comments, style and script.
    ("tag", f"<p>{HEBREW}</p>", "rtl"),
    ("tag-with-attributes", f'<p class="greeting" style="color:red">{ARABIC}</p>', "rtl"),
    ("link-with-href", f'<a href="https://example.com/x">{HEBREW}</a>', "rtl"),
    ("comment", f"<!-- written by Tom --> {HEBREW}", "rtl"),
    ("style-block", f"<style>p {{ color: red }}</style><p>{HEBREW}</p>", "rtl"),
    ("script-block", f"<script>var a = 1;</script>{ARABIC}", "rtl"),
    ("unclosed-comment-runs-to-the-end", f"<!-- draft {HEBREW}", "ltr"),
    ("unclosed-style-runs-to-the-end", f"<style>{HEBREW}", "ltr"),
    ("doctype", f"<!DOCTYPE html><html><body>{HEBREW}</body></html>", "rtl"),
    ("tag-then-latin", f"<p>Hello</p><p>{HEBREW}</p>", "ltr"),
    ("entity-nbsp", f"&nbsp;{HEBREW}", "rtl"),
    ("entity-numeric", f"&#160;&#8212;{ARABIC}", "rtl"),
    ("entity-rlm", "&rlm;Hello", "rtl"),  # decoded to U+200F, a strong R mark
    # Identifiers are skipped: @handles, URLs, email addresses.
    ("handle-then-hebrew", f"@user {HEBREW}", "rtl"),
    ("hebrew-handle-then-latin", "@דני hello", "ltr"),
    ("url-then-hebrew", f"https://example.com/path?q=1 {HEBREW}", "rtl"),
    ("www-then-arabic", f"www.example.com {ARABIC}", "rtl"),
    ("email-then-hebrew", f"support@brokercrm.local: {HEBREW}", "rtl"),
    ("url-then-latin", "https://x.io hi", "ltr"),
    # Explicit marks are strong; isolates are skipped whole (UAX #9 P2).
    ("rlm-then-latin", "\u200fHello", "rtl"),
    ("lrm-then-hebrew", f"\u200e{HEBREW}", "ltr"),
    ("alm-then-latin", "\u061cHello", "rtl"),
    ("isolated-latin-then-hebrew", f"\u2068Hello\u2069 {HEBREW}", "rtl"),
    ("nested-isolates", f"\u2066a\u2067b\u2069c\u2069 {HEBREW}", "rtl"),
    ("unclosed-isolate", "\u2066Hello", "ltr"),  # nothing strong outside it
]


@pytest.mark.parametrize("text,direction", [case[1:] for case in DIRECTION_CASES],
                         ids=[case[0] for case in DIRECTION_CASES])
def test_detect_direction(text, direction):
    assert detect_direction(text) == direction


@pytest.mark.parametrize("locale,rtl", [
    ("ar", True), ("ar-EG", True), ("ar_EG", True), ("AR", True), ("ar-eg", True),
    ("he", True), ("he_IL", True), ("he-IL", True), ("iw", True), ("he_IL.UTF-8", True),
    ("fa", True), ("fa-IR", True), ("ur", True), ("ur-PK", True), ("ps", True), ("ps-AF", True),
    ("sd", True), ("ug", True), ("ug-CN", True), ("yi", True), ("dv", True), ("dv-MV", True),
    ("ckb", True), ("ckb-IQ", True), ("ckb_IR", True),
    ("pa-Arab", True), ("uz-Arab-AF", True), ("ku-Arab", True),  # a right-to-left script subtag decides
    ("sd-Deva", False), ("ug-Cyrl", False), ("ar-Latn", False),  # so does a left-to-right one
    ("en", False), ("en-US", False), ("en_GB", False), ("pt-BR", False), ("ru", False), ("zh-Hans-CN", False),
    ("arn", False), ("hr", False), ("ha", False), ("fr", False), ("ku", False),
    ("", False), ("-", False),
])
def test_is_rtl_locale(locale, rtl):
    assert is_rtl_locale(locale) is rtl


# Inputs that would make a naive pattern rescan the rest of the text at every position (quadratic time).
N = 100_000
ADVERSARIAL = {
    "letters": "a" * N, "dotted-words": "a." * (N // 2), "scheme-chars": "a+" * (N // 2), "at-signs": "a@" * (N // 2),
    "open-braces": "{{" * (N // 2), "unclosed-placeholders": "x{{ a" * (N // 5), "comment-openers": "<!--" * (N // 4),
    "style-openers": "<style" * (N // 6), "tag-openers": "<a" * (N // 2),
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_detect_direction_is_linear_on_adversarial_input(text):
    start = time.perf_counter()
    detect_direction(text + HEBREW)
    assert time.perf_counter() - start < 2  # about 0.03 s here; quadratic patterns took 3–30 s
