"""SMS length analysis after 3GPP TS 23.038 (GSM 03.38): encoding, segments, units, characters and direction.

Decisions:

- The text is NFC-normalized first, as a handset or gateway would send it: a decomposed "e" + U+0301 becomes the
  precomposed "é", which is in the GSM alphabet (the decomposed pair is not, and would force UCS-2).
- GSM-7 applies when every character is in the default alphabet (1 septet) or its extension table (2 septets:
  escape + character). Anything else makes the whole message UCS-2, counted in UTF-16 code units: characters
  outside the BMP (most emoji) are surrogate pairs of 2 units, a flag is 4, a ZWJ family 8 or more.
- One segment holds 160 septets or 70 units. Past that, every concatenated segment holds 153 septets or 67 units
  (the rest of the 140 bytes is the concatenation header).
- An escape pair and a surrogate pair are never split across segments, so a concatenated segment may carry one
  unit less than its capacity: "]" × 153 is 306 septets but 3 segments (76 + 76 + 1 pairs). Twilio's open-source
  calculator and Android's splitter agree, and carriers bill that way.
- `characters` is the number of code points of the NFC text, as `Array.from(text.normalize("NFC")).length` counts
  them in the builder's browser. Grapheme clusters would need tables the standard library lacks; so a ZWJ family
  emoji counts 5 and a flag 2. `units` is the number that decides segments.
- Empty text is 0 segments (nothing would be sent), encoded as GSM-7.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Literal

from .direction import Direction, detect_direction

Encoding = Literal["GSM-7", "UCS-2"]

# The default alphabet in code order 0x00–0x7F (23.038 § 6.2.1). Position 0x1B is the escape to the extension
# table, not a character, so it is written as "\x1b" here and removed below.
_GSM_DEFAULT_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM_BASIC: frozenset[str] = frozenset(_GSM_DEFAULT_TABLE) - {"\x1b"}
# The extension table (23.038 § 6.2.1.1): form feed, ^ { } \ [ ~ ] | and €, each sent as escape + character.
GSM_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

SINGLE_SEGMENT: dict[Encoding, int] = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED_SEGMENT: dict[Encoding, int] = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsAnalysis:
    """What an SMS body costs: the shape of `POST /api/platform/sms/analyze`."""

    encoding: Encoding
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    characters: int  # code points after NFC normalization
    direction: Direction

    def to_dict(self) -> dict[str, object]:
        """The JSON body of the analyze endpoint and of an SMS preview."""
        return asdict(self)


def is_gsm7(text: str) -> bool:
    """True when every character of `text` (taken as it is: normalize first) is in the GSM-7 alphabet."""
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def _costs(text: str) -> tuple[Encoding, list[int]]:
    """The encoding of `text` and the cost of each of its characters, which is never split."""
    if is_gsm7(text):
        return "GSM-7", [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(costs: list[int], capacity: int) -> int:
    """How many segments of `capacity` units the indivisible costs fill, filled in order (as a phone splits)."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            segments, used = segments + 1, 0
        used += cost
    return segments


def analyze(text: str) -> SmsAnalysis:
    """Encoding, segments, units, characters and direction of an SMS body.

    1. Normalize to NFC.
    2. GSM-7 if every character is in the default alphabet or its extension table, otherwise UCS-2.
    3. Cost per character: 1 septet, 2 for an extension character; or 1 UTF-16 unit, 2 outside the BMP.
    4. Nothing → 0 segments; within 160 septets / 70 units → 1; otherwise pack into 153 / 67 without splitting a
       character's cost.
    """
    normalized = unicodedata.normalize("NFC", text)
    encoding, costs = _costs(normalized)
    units = sum(costs)
    if units == 0:
        segments = 0
    elif units <= SINGLE_SEGMENT[encoding]:
        segments = 1
    else:
        segments = _pack(costs, CONCATENATED_SEGMENT[encoding])
    return SmsAnalysis(
        encoding=encoding,
        segments=segments,
        units=units,
        characters=len(normalized),
        direction=detect_direction(normalized),
    )
