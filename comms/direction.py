"""Text direction for templates, previews and SMS analysis.

`detect_direction` follows the Unicode rule for a paragraph's base direction (UAX #9, P2–P3): the first strong
character decides, bidi class L → "ltr", R or AL → "rtl", and text without one is "ltr". Before looking, we
remove what a template author does not read as the language of the message:

- `{{placeholders}}`: their values are not known yet, and the name itself is always Latin;
- HTML comments, tags with their attributes, and the contents of `<style>` and `<script>`;
- URLs (`scheme://…`, `www.…`), email addresses and @handles: identifiers, usually Latin whatever the message.

So `@user שלום`, `{{customer.first_name}}، مرحبا` and `<p class="x">שלום</p>` are right-to-left, as their authors
mean them, where the bare Unicode rule would make them left-to-right. Digits, punctuation and whitespace are weak
or neutral and are passed over by the rule itself. HTML entities are decoded, so `&rlm;` counts as the
right-to-left mark it is, and explicit marks are honoured (U+200E LRM is strong L, U+200F RLM strong R). As P2
says, text inside a directional isolate (LRI/RLI/FSI … PDI) is skipped.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Literal

Direction = Literal["ltr", "rtl"]

# Markup first (a tag's attributes may hold URLs and placeholders), then entities are decoded, then identifiers.
# Every repetition is bounded or stops at the next delimiter, so that no input makes a scan quadratic: an unclosed
# comment, style or script runs to the end of the text (as in a browser) instead of being retried at each "<".
_MARKUP = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(style|script)\b[^<>]*>.*?(?:</\1\s*>|\Z)"
    r"|</?[A-Za-z!][^<>]*>",
    re.IGNORECASE | re.DOTALL,
)
_IDENTIFIERS = re.compile(
    r"\{\{[^{}]*\}\}"
    r"|\b[A-Za-z][A-Za-z0-9+.-]{0,31}://\S*"
    r"|\bwww\.\S+"
    r"|[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"
    r"|@\w+",
    re.IGNORECASE,
)
_ISOLATE_OPENERS = {"LRI", "RLI", "FSI"}

# Languages written right-to-left by default (ISO 639; "iw" and "ji" are the withdrawn codes of he and yi).
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "iw", "ji"})
# ISO 15924 scripts written right-to-left: a script subtag overrides the language ("sd-Deva" is ltr, "pa-Arab" rtl).
RTL_SCRIPTS = frozenset({"Adlm", "Arab", "Aran", "Hebr", "Mand", "Mend", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa",
                         "Yezi"})


def _readable(text: str) -> str:
    """`text` without markup, placeholders and identifiers (each replaced by a space), entities decoded."""
    text = _MARKUP.sub(" ", text)
    text = html.unescape(text)
    return _IDENTIFIERS.sub(" ", text)


def detect_direction(text: str) -> Direction:
    """The base direction of `text`: its first strong character outside placeholders, markup and identifiers."""
    isolates = 0
    for ch in _readable(text):
        kind = unicodedata.bidirectional(ch)
        if kind in _ISOLATE_OPENERS:
            isolates += 1
        elif kind == "PDI" and isolates:
            isolates -= 1
        elif isolates:
            continue
        elif kind == "L":
            return "ltr"
        elif kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def is_rtl_locale(locale: str) -> bool:
    """True for locales written right-to-left: ar, he, fa, ur, ps, sd, ug, yi, dv, ckb, with any region.

    Accepts BCP 47 and POSIX spellings ("ar-EG", "he_IL", "fa_IR.UTF-8"), case-insensitively. A script subtag
    right after the language decides on its own: "pa-Arab" is right-to-left, "sd-Deva" is not.
    """
    tag = locale.split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    parts = [part for part in tag.split("-") if part]
    if not parts:
        return False
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isalpha():
        return parts[1].title() in RTL_SCRIPTS
    return parts[0].lower() in RTL_LANGUAGES
