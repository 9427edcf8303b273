"""ISO 4217 minor units: how many decimal places a currency's smallest unit has.

Providers that take amounts "in cents" (Praxis: `amount int(20)`, "Amount in cents ... for certain currencies there
is a fraction other than 100 cents per unit, this is important if you multiply by 100" —
https://doc.praxiscashier.com/integration_docs/latest/objects/session) mean the ISO 4217 minor unit. The table lists
only the currencies whose exponent is not 2 (ISO 4217 list one, current, as published by SIX; ISO 4217 gives
CLF 4, the rest below), every other code has 2."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

EXPONENTS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # thousandths
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # ten-thousandths
    "CLF": 4, "UYW": 4,
}


def exponent(currency: str) -> int:
    return EXPONENTS.get((currency or "").upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """100.00 USD → 10000; 100 JPY → 100; 1.5 KWD → 1500. Refuses amounts finer than the currency's unit."""
    scaled = Decimal(amount) * (Decimal(10) ** exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor(value, currency: str) -> Decimal:
    """The major-unit amount of `value` minor units, quantized to the ledger's cents (MONEY has 2 places: a
    3-decimal amount such as 1.234 KWD is rounded half-up, and the caller flags the difference)."""
    major = Decimal(int(value)) / (Decimal(10) ** exponent(currency))
    return major.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
