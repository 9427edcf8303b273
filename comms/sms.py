"""SMS segment analysis after GSM 03.38: GSM-7 (basic table + extension table) or UCS-2.

- Text is NFC-normalized first (a decomposed "é" becomes the precomposed GSM character).
- GSM-7: basic characters cost 1 septet, the ten extension characters (form feed, ^ { } \\ [ ~ ] | €) cost 2
  (escape + character). One segment holds 160 septets; concatenated segments hold 153 each.
- UCS-2 (any character outside both tables): UTF-16 code units; 70 in one segment, 67 per concatenated one;
  characters outside the BMP (emoji) are surrogate pairs of 2 units, flags 4, ZWJ sequences more.
- An escape pair and a surrogate pair are never split across segments (Twilio's calculator and Android's
  splitter agree; carriers bill that way), so a segment may hold one unit less than its capacity.
- `characters` counts the code points of the NFC text; empty text is 0 segments.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

from .direction import detect_direction

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsAnalysis:
    encoding: str
    segments: int
    units: int
    characters: int
    direction: str

    def to_dict(self) -> dict:
        return asdict(self)


def _costs(text: str) -> tuple[str, list[int]]:
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        return "GSM-7", [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _segments(costs: list[int], capacity: int) -> int:
    """Greedy packing of indivisible units (escape pairs, surrogate pairs) into segments of `capacity`."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            segments += 1
            used = 0
        used += cost
    return segments


def analyze(text: str) -> SmsAnalysis:
    text = unicodedata.normalize("NFC", text or "")
    encoding, costs = _costs(text)
    units = sum(costs)
    if units == 0:
        segments = 0
    elif units <= SINGLE[encoding]:
        segments = 1
    else:
        segments = _segments(costs, MULTI[encoding])
    return SmsAnalysis(encoding=encoding, segments=segments, units=units, characters=len(text),
                       direction=detect_direction(text))
