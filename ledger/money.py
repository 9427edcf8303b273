"""The one amount parser of every money door (back-office transactions, customer deposits, provider callbacks).

Python's Decimal is lenient: it takes `"1e3"`, `" 5 "`, fullwidth `"５"`, `"NaN"` and `"Infinity"`. An amount here
is a plain decimal: ASCII digits, an optional `-`, an optional point followed by at most as many digits as the
currency has minor units (2 when the currency is not known yet). JSON numbers are accepted through their shortest
decimal form (`10.5`), so a float that only prints in exponent form (`1e+16`) is refused like the string."""

from __future__ import annotations

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokercrm.errors import DomainError

# ISO 4217 minor units for the currencies that do not have 2; amounts are stored with 2 places at most.
MINOR_UNITS = {code: 0 for code in ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                                    "UYI", "VND", "VUV", "XAF", "XOF", "XPF")}
STORED_PLACES = 2
MAX_INTEGER_DIGITS = 16  # Decimal(18, 2) columns
_PLAIN = re.compile(rf"-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]+)?")
AMOUNT_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"


class AmountError(DomainError):
    """Not an amount we accept: 400 validation_error naming the field."""


def decimal_places(currency: str | None) -> int:
    return min(MINOR_UNITS.get((currency or "").upper(), 2), STORED_PLACES)


def amount_parse(value, *, currency: str | None = None, field: str = "amount", quantize: bool = True) -> Decimal:
    """A Decimal from a plain decimal string, an int, a Decimal or a JSON number; AmountError otherwise.

    With `quantize=False` the value keeps the places it was written with, so that a service that learns the
    currency later can still refuse `100.5` for JPY."""
    if isinstance(value, bool) or value is None:
        raise AmountError("Not an amount.", fields={field: ["A decimal number such as 100.00."]})
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else "NaN"
    elif isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise AmountError("Not an amount.", fields={field: ["A decimal number such as 100.00."]})
    if not _PLAIN.fullmatch(text):
        raise AmountError("Not an amount.", fields={field: [
            "A plain decimal number such as 100.00 (ASCII digits, no exponent or spaces, "
            f"below 10^{MAX_INTEGER_DIGITS})."
        ]})
    amount = Decimal(text)
    places = decimal_places(currency)
    # Text counts the places written; a Decimal (already parsed at the door) counts the places its value needs.
    if (amount != amount.quantize(Decimal(1).scaleb(-places)) if isinstance(value, Decimal)
            else -amount.as_tuple().exponent > places):
        where = f" for {currency.upper()}" if currency else ""
        raise AmountError("Too many decimal places.", fields={field: [f"At most {places} decimal places{where}."]})
    return amount.quantize(Decimal(1).scaleb(-STORED_PLACES)) if quantize else amount


@extend_schema_field({"type": "string", "pattern": AMOUNT_PATTERN, "example": "100.00"})
class AmountField(serializers.Field):
    """A money amount in a request body (see amount_parse); the currency's places are checked by the service."""

    def to_internal_value(self, data):
        try:
            return amount_parse(data, field=self.field_name or "amount", quantize=False)
        except AmountError as exc:
            raise serializers.ValidationError(exc.fields[self.field_name or "amount"]) from None

    def to_representation(self, value):
        return format(Decimal(value), "f")
