"""Fraud gates shared by every registration path (API registration and the CSV import).

- disposable email: the disposable-email-domains list plus the configurable blocklist and allowlist, checked
  for the domain and every parent domain, after lower-casing and IDNA normalization;
- phone: normalized to E.164 with phonenumbers; strict validity by default (configurable: possible numbers);
- country: ISO 3166-1 alpha-2;
- duplicate scoring against existing customers: affiliate_lead_id, email (canonical), phone, and country,
  which only adds to another match. Weights and thresholds live in `FraudSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import phonenumbers
from disposable_email_domains import blocklist as DISPOSABLE
from django.db.models import Q

from brokercrm.errors import DomainError

from .models import Customer, FraudSettings
from .services import email_canonical

ISO_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}


class GateError(DomainError):
    """A registration refused by a gate: invalid input (400 validation_error), or a subclass's code."""


class DisposableEmail(GateError):
    code = "disposable_email"


def canonical_email(email: str) -> str:
    return email_canonical(email)


def _domain(email: str) -> str:
    domain = email.strip().rsplit("@", 1)[-1].lower().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def is_disposable_email(email: str, *, fraud: FraudSettings | None = None) -> bool:
    """Whether the email's domain, or any parent of it, is disposable (allowlist wins over both lists)."""
    fraud = fraud or FraudSettings.current()
    labels = _domain(email).split(".")
    candidates = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    allowed = {d.lower() for d in fraud.allowed_domains}
    if candidates & allowed:
        return False
    blocked = {d.lower() for d in fraud.blocked_domains}
    return bool(candidates & (DISPOSABLE | blocked))


def validate_country(code: str) -> str:
    value = (code or "").strip().upper()
    if len(value) != 2 or value not in ISO_COUNTRIES:
        raise GateError("Unknown country.",
                        fields={"country": ["An ISO 3166-1 alpha-2 code such as GB."]})
    return value


def normalize_phone(raw: str, country: str, *, strict: bool | None = None) -> str:
    """E.164 form of `raw` (national numbers are read in `country`). Strict: phonenumbers must call it valid."""
    if strict is None:
        strict = FraudSettings.current().strict_phone_validation
    try:
        number = phonenumbers.parse((raw or "").strip(), country or None)
    except phonenumbers.NumberParseException:
        raise GateError("Invalid phone number.",
                        fields={"phone": ["Not a phone number."]}) from None
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    if not ok:
        raise GateError("Invalid phone number.",
                        fields={"phone": ["Not a valid number for its country."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class DedupeKey:
    email_canonical: str
    phone: str
    country: str
    affiliate_lead_id: str | None = None


@dataclass(frozen=True)
class DuplicateMatch:
    customer_id: int
    score: int
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _score(key: DedupeKey, row: dict, fraud: FraudSettings) -> DuplicateMatch | None:
    reasons = []
    score = 0
    if key.affiliate_lead_id and row["affiliate_lead_id"] == key.affiliate_lead_id:
        score += fraud.weight_affiliate_lead_id
        reasons.append("affiliate_lead_id")
    if key.email_canonical and row["email_canonical"] == key.email_canonical:
        score += fraud.weight_email
        reasons.append("email")
    if key.phone and row["phone"] == key.phone:
        score += fraud.weight_phone
        reasons.append("phone")
    if not reasons:
        return None
    if key.country and row["country"] == key.country:  # country only adds to another match
        score += fraud.weight_country
        reasons.append("country")
    return DuplicateMatch(customer_id=row["id"], score=score, reasons=tuple(reasons))


def duplicate_scores_bulk(keys: list[DedupeKey], *, fraud: FraudSettings | None = None,
                          chunk: int = 2000) -> list[DuplicateMatch | None]:
    """The best-scoring existing customer for each key, or None: three indexed IN-lookups per chunk."""
    fraud = fraud or FraudSettings.current()
    results: list[DuplicateMatch | None] = []
    fields = ("id", "email_canonical", "phone", "country", "affiliate_lead_id")
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        emails = {k.email_canonical for k in part if k.email_canonical}
        phones = {k.phone for k in part if k.phone}
        leads = {k.affiliate_lead_id for k in part if k.affiliate_lead_id}
        by_email: dict[str, list[dict]] = {}
        by_phone: dict[str, list[dict]] = {}
        by_lead: dict[str, list[dict]] = {}
        if emails:
            for row in Customer.objects.filter(email_canonical__in=emails).values(*fields):
                by_email.setdefault(row["email_canonical"], []).append(row)
        if phones:
            for row in Customer.objects.filter(phone__in=phones).values(*fields):
                by_phone.setdefault(row["phone"], []).append(row)
        if leads:
            for row in Customer.objects.filter(affiliate_lead_id__in=leads).values(*fields):
                by_lead.setdefault(row["affiliate_lead_id"], []).append(row)
        for key in part:
            rows = {r["id"]: r for r in (by_email.get(key.email_canonical, []) + by_phone.get(key.phone, [])
                                          + (by_lead.get(key.affiliate_lead_id, []) if key.affiliate_lead_id else []))}
            matches = [m for m in (_score(key, r, fraud) for r in rows.values()) if m]
            results.append(max(matches, key=lambda m: (m.score, -m.customer_id)) if matches else None)
    return results


def duplicate_score(key: DedupeKey, *, fraud: FraudSettings | None = None) -> DuplicateMatch | None:
    """The best-scoring existing customer for one registration (one indexed query)."""
    fraud = fraud or FraudSettings.current()
    q = Q(email_canonical=key.email_canonical)
    if key.phone:
        q |= Q(phone=key.phone)
    if key.affiliate_lead_id:
        q |= Q(affiliate_lead_id=key.affiliate_lead_id)
    rows = Customer.objects.filter(q).values("id", "email_canonical", "phone", "country", "affiliate_lead_id")[:50]
    matches = [m for m in (_score(key, r, fraud) for r in rows) if m]
    return max(matches, key=lambda m: (m.score, -m.customer_id)) if matches else None


def duplicate_decision(score: int, *, fraud: FraudSettings | None = None) -> str:
    """"reject" at or above the reject threshold, "flag" at or above the flag threshold, else "accept"."""
    fraud = fraud or FraudSettings.current()
    if score >= fraud.reject_threshold:
        return "reject"
    if score >= fraud.flag_threshold:
        return "flag"
    return "accept"
