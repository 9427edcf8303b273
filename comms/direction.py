"""Text direction for templates and previews.

The Unicode rule: the first strong character decides (bidi class L → ltr; R or AL → rtl). Before looking we skip
what a template author does not read as language: `{{placeholders}}`, HTML tags and entities, @handles and URLs
— so `@user שלום` and `{{customer.first_name}}, مرحبا` are right-to-left, as their authors mean them.
No strong character at all → ltr."""

from __future__ import annotations

import re
import unicodedata

_SKIP = re.compile(r"\{\{.*?\}\}|<[^>]*>|&[#\w]+;|@\w+|https?://\S+|www\.\S+")
RTL_LANGUAGES = {"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "iw"}


def detect_direction(text: str) -> str:
    for ch in _SKIP.sub(" ", text or ""):
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def is_rtl_locale(locale: str) -> bool:
    return (locale or "").replace("_", "-").split("-")[0].lower() in RTL_LANGUAGES
