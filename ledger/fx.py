"""FX rates from the European Central Bank's daily euro reference rates (a beat task and `update_fx_rates --ecb`).

The ECB publishes, on TARGET working days around 16:00 CET, one XML file at
https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml :

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject> …
      <Cube><Cube time='2024-06-28'><Cube currency='USD' rate='1.0705'/><Cube currency='JPY' rate='171.94'/> …

Each rate is units of `currency` per 1 EUR (EUR itself is the base and not listed). Our table stores USD per
unit (`FxRate.usd_rate`), so with u = USD per EUR and c = units of C per EUR: EUR → u, and C → u / c.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import httpx
from celery import shared_task

from . import conf

log = logging.getLogger(__name__)

GESMES = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
MAX_BYTES = 1_000_000  # the daily file is about 1.5 KB
RATE_PLACES = Decimal("0.00000001")  # FxRate.usd_rate has 8 decimal places


class FxSourceError(Exception):
    """The source could not be read or its document is not the ECB format; nothing was changed."""


@dataclass(frozen=True)
class EcbRates:
    as_of: date
    per_eur: dict[str, Decimal]  # units of the currency for 1 EUR, as published

    def usd_rates(self) -> dict[str, Decimal]:
        """USD per unit of each currency (our table's base), EUR included; USD itself is 1."""
        usd = self.per_eur.get("USD")
        if usd is None:
            raise FxSourceError("The ECB file has no USD rate: cannot convert to the USD base.")
        out = {"EUR": usd.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)}
        for currency, per_eur in self.per_eur.items():
            if currency != "USD":
                out[currency] = (usd / per_eur).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
        out["USD"] = Decimal("1")
        return {c: r for c, r in out.items() if r > 0}


def parse_ecb(document: bytes) -> EcbRates:
    """Read the ECB daily XML. Refuses a DOCTYPE (no entity expansion from a hostile or spoofed source)."""
    if len(document) > MAX_BYTES:
        raise FxSourceError("The ECB document is too large.")
    if b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
        raise FxSourceError("The ECB document declares a DTD; refused.")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise FxSourceError(f"Not XML: {exc}") from None
    if root.tag != f"{{{GESMES}}}Envelope":
        raise FxSourceError(f"Not a gesmes:Envelope (root is {root.tag}).")
    day = root.find(f"{{{EUROFXREF}}}Cube/{{{EUROFXREF}}}Cube[@time]")
    if day is None:
        raise FxSourceError("No <Cube time=…> in the document.")
    try:
        as_of = date.fromisoformat(day.get("time", ""))
    except ValueError:
        raise FxSourceError(f"Bad date {day.get('time')!r}.") from None
    rates: dict[str, Decimal] = {}
    for cube in day.findall(f"{{{EUROFXREF}}}Cube[@currency]"):
        currency = (cube.get("currency") or "").strip().upper()
        try:
            rate = Decimal(cube.get("rate") or "")
        except InvalidOperation:
            log.warning("ECB rate for %s is not a number; skipped", currency[:3])
            continue
        if len(currency) == 3 and currency.isalpha() and rate.is_finite() and rate > 0:
            rates[currency] = rate
    if not rates:
        raise FxSourceError("The document lists no rates.")
    return EcbRates(as_of=as_of, per_eur=rates)


def fetch_ecb(url: str | None = None, *, timeout: float = 20.0) -> EcbRates:
    url = url or conf.ECB_RATES_URL
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True,
                             headers={"Accept": "application/xml, text/xml"})
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise FxSourceError(f"Fetching {url} failed: {exc}") from None
    return parse_ecb(response.content)


def fx_rates_update_from_ecb(url: str | None = None) -> dict[str, Decimal]:
    """Fetch the ECB file and store every rate in it (USD per unit); returns what was stored."""
    from .services import fx_rates_apply

    ecb = fetch_ecb(url)
    rates = ecb.usd_rates()
    fx_rates_apply(rates=rates, source="ecb", as_of=ecb.as_of)
    return rates


@shared_task(name="ledger.fx_rates_update", autoretry_for=(FxSourceError,), retry_backoff=60, max_retries=3)
def fx_rates_update_task() -> int:
    """Beat: refresh the FX table from the ECB (hourly on weekdays). Does nothing when ECB_RATES_URL is empty."""
    if not conf.ECB_RATES_URL:
        return 0
    rates = fx_rates_update_from_ecb()
    log.info("FX rates updated from the ECB: %d currencies", len(rates))
    return len(rates)
