"""Fraud gates shared by every registration path (API registration and the CSV import).

- disposable email: the disposable-email-domains list plus the configurable blocklist and allowlist, checked
  for the domain and every parent domain, after lower-casing and IDNA normalization;
- phone: normalized to E.164 with phonenumbers; strict validity by default (configurable: possible numbers);
- country: ISO 3166-1 alpha-2;
- duplicate scoring against existing customers: affiliate_lead_id, email (canonical), phone, and country,
  which only adds to another match. Weights and thresholds live in `FraudSettings`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from disposable_email_domains import blocklist as DISPOSABLE
from django.db import connection
from django.db.models import Q

from brokercrm.bulk import array_cursor, json_rows

from .errors import DuplicateCustomer, GateError, InvalidPromoCode
from .models import Customer, FraudSettings, PromoCode, RegistrationPath
from .services import email_canonical

ISO_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}


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
    # Never `DISPOSABLE | blocked`: that copies the whole list (100k+ domains) for every email checked.
    return not candidates.isdisjoint(DISPOSABLE) or not candidates.isdisjoint(blocked)


def validate_country(code: str) -> str:
    value = (code or "").strip().upper()
    if len(value) != 2 or value not in ISO_COUNTRIES:
        raise GateError("Unknown country.",
                        fields={"country": ["An ISO 3166-1 alpha-2 code such as GB."]})
    return value


# --- the phone gate's fast path -----------------------------------------------------------------------------------
# phonenumbers' parse + is_valid_number cost ~0.1–0.2 ms a number (it computes the number type twice, recompiles
# through its regex cache, handles every input form): most of a 50,000-row import. For input already in plain E.164
# form that no national-prefix rule touches, `_fast_e164` reaches the same answer from the same metadata — the same
# country-code extraction, region choice and "any number type matches" rule — with precompiled patterns; anything
# else (national formats, spaces, prefixes to strip, leading zeros) goes through phonenumbers itself.
# customers/tests/test_gate_forms.py holds the two equal over every region's example numbers and random numbers.

_E164_PLAIN = re.compile(r"\+([1-9][0-9]{2,19})")
# Only "does any type match" is asked (never which one), so the order is free: the common types first — a mobile or
# fixed-line number is then one or two pattern tests, not ten.
_TYPE_DESCS = ("mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
               "uan", "voicemail")


def _desc(desc):
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


@functools.cache
def _compiled(country_code: int, region: str):
    """(leading-digits pattern, general desc, type descs) of a region's metadata, compiled once."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
    types = tuple(d for d in (_desc(getattr(metadata, name)) for name in _TYPE_DESCS) if d is not None)
    prefix = re.compile(metadata.national_prefix_for_parsing) if metadata.national_prefix_for_parsing else None
    return leading, _desc(metadata.general_desc), types, prefix


def _matches(nsn: str, desc) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


def _type_known(nsn: str, compiled) -> bool:
    """phonenumbers' `_number_type_helper(...) != UNKNOWN`: the general pattern and any number type's pattern."""
    _, general, types, _ = compiled
    return _matches(nsn, general) and any(_matches(nsn, d) for d in types)


def _valid(country_code: int, nsn: str) -> bool:
    """phonenumbers.is_valid_number: the region of the number (leading digits, else the first region whose
    patterns match), then its patterns."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return False
    region = regions[0] if len(regions) == 1 else None
    if region is None:
        for candidate in regions:
            compiled = _compiled(country_code, candidate)
            if compiled is None:
                continue
            if compiled[0] is not None:
                if compiled[0].match(nsn):
                    region = candidate
                    break
            elif _type_known(nsn, compiled):
                return True  # the region found by its patterns: the same check decides validity
    compiled = _compiled(country_code, region) if region else None
    return compiled is not None and _type_known(nsn, compiled)


def _fast_e164(raw: str, strict: bool) -> str | None | bool:
    """The E.164 string, False when the number is refused, or None when the fast path does not apply."""
    found = _E164_PLAIN.fullmatch(raw)
    if found is None:
        return None
    digits = found.group(1)
    for size in (1, 2, 3):
        if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            country_code, nsn = int(digits[:size]), digits[size:]
            break
    else:
        return None
    if not 2 <= len(nsn) <= 17 or nsn[0] == "0":
        return None
    main = _compiled(country_code, phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code][0])
    if main is None or (main[3] is not None and main[3].match(nsn)):
        return None  # a national prefix phonenumbers might strip: let it decide
    if strict:
        ok = _valid(country_code, nsn)
    else:
        ok = phonenumbers.is_possible_number(phonenumbers.PhoneNumber(country_code=country_code,
                                                                      national_number=int(nsn)))
    return f"+{country_code}{nsn}" if ok else False


def normalize_phone(raw: str, country: str, *, strict: bool | None = None) -> str:
    """E.164 form of `raw` (national numbers are read in `country`). Strict: phonenumbers must call it valid."""
    if strict is None:
        strict = FraudSettings.current().strict_phone_validation
    fast = _fast_e164((raw or "").strip(), strict)
    if fast is False:
        raise GateError("Invalid phone number.",
                        fields={"phone": ["Not a valid number for its country."]})
    if fast is not None:
        return fast
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


# The set-based form of the duplicate scoring (`_score` + best match), for a whole batch in one statement: the keys
# as one JSON parameter (`brokercrm.bulk.json_rows`: written in C, where array parameters are dumped in Python),
# joined against the unique canonical-email, phone and lead-id indexes, scored with the same weights, the
# best match per key by (score desc, id asc) — as `duplicate_score` picks it row by row. A test holds the two equal.
DUPLICATES_SQL = """
WITH k AS (
    SELECT e ->> 0 AS email, e ->> 1 AS phone, e ->> 2 AS country, e ->> 3 AS lead, i
        FROM jsonb_array_elements(%(keys)s::jsonb) WITH ORDINALITY AS k(e, i)
), m AS (
    SELECT k.i, c.id, c.email_canonical, c.phone, c.country, c.affiliate_lead_id
        FROM k JOIN customers_customer c ON c.email_canonical = k.email WHERE k.email <> ''
    UNION
    SELECT k.i, c.id, c.email_canonical, c.phone, c.country, c.affiliate_lead_id
        FROM k JOIN customers_customer c ON c.phone = k.phone WHERE k.phone <> ''
    UNION
    SELECT k.i, c.id, c.email_canonical, c.phone, c.country, c.affiliate_lead_id
        FROM k JOIN customers_customer c ON c.affiliate_lead_id = k.lead WHERE k.lead <> ''
), s AS (
    SELECT k.i, m.id,
           k.lead <> '' AND m.affiliate_lead_id = k.lead AS by_lead,
           k.email <> '' AND m.email_canonical = k.email AS by_email,
           k.phone <> '' AND m.phone = k.phone AS by_phone,
           k.country <> '' AND m.country = k.country AS by_country
    FROM m JOIN k ON k.i = m.i
)
SELECT DISTINCT ON (i) i, id, by_lead, by_email, by_phone, by_country FROM s ORDER BY i,
    (CASE WHEN by_lead THEN %(w_lead)s ELSE 0 END + CASE WHEN by_email THEN %(w_email)s ELSE 0 END
     + CASE WHEN by_phone THEN %(w_phone)s ELSE 0 END + CASE WHEN by_country THEN %(w_country)s ELSE 0 END) DESC, id
"""


def duplicate_scores_sql(keys: list[DedupeKey], *, fraud: FraudSettings | None = None) -> list[DuplicateMatch | None]:
    """The best-scoring existing customer for each key, or None: `DUPLICATES_SQL`, one statement for the batch
    (PostgreSQL). Scores come from the same weights as `_score`."""
    fraud = fraud or FraudSettings.current()
    weights = {"affiliate_lead_id": fraud.weight_affiliate_lead_id, "email": fraud.weight_email,
               "phone": fraud.weight_phone, "country": fraud.weight_country}
    results: list[DuplicateMatch | None] = [None] * len(keys)
    if not keys:
        return results
    with array_cursor() as cursor:  # the JSON bound on the server, not quoted into the statement's text
        cursor.execute(DUPLICATES_SQL, {
            "keys": json_rows([k.email_canonical or "" for k in keys], [k.phone or "" for k in keys],
                              [k.country or "" for k in keys], [k.affiliate_lead_id or "" for k in keys]),
            "w_lead": weights["affiliate_lead_id"], "w_email": weights["email"], "w_phone": weights["phone"],
            "w_country": weights["country"]})
        for i, customer_id, *matched in cursor.fetchall():
            # Country only adds to another match (the joins never match on country alone).
            ordered = tuple(r for r, hit in zip(("affiliate_lead_id", "email", "phone", "country"), matched,
                                                strict=True) if hit)
            results[i - 1] = DuplicateMatch(customer_id=customer_id, score=sum(weights[r] for r in ordered),
                                            reasons=ordered)
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


# --- the one gate pipeline -------------------------------------------------------------------------------------
#
# Every registration path — organic, affiliate and promo over the API, and the CSV import — runs the same gates, in
# the order below, chosen by the path's settings (`RegistrationPath`): the platform API edits those settings, and
# both `customers.services.customer_register` and the import (`imports.services`) take their gates from
# `pipeline_for(path)`. A gate refuses with a `GateError` carrying the API.md code (`validation_error`,
# `disposable_email`, `duplicate_customer`, …) and a short reason without PII; the API answers with the code, the
# import writes "<code>: <reason>" on the row, so the same bad input is refused for the same reason on every path.

EMAIL_VALIDATOR = None
_EMAIL_USER_MATCH: Any = None


def _email_valid(email: str, domains: dict[str, bool] | None = None) -> bool:
    """Django's EmailValidator, step for step; `domains` memoizes its domain-part check (the costly regex, the same
    answer for every address of a domain) across the candidates of one pipeline — an import chunk's few domains."""
    global EMAIL_VALIDATOR, _EMAIL_USER_MATCH
    if EMAIL_VALIDATOR is None:
        from django.core.validators import EmailValidator

        EMAIL_VALIDATOR = EmailValidator()
        # The validator's `user_regex` is a lazy object: every attribute read goes through its proxy (a tenth of the
        # email gate's time in an import). The same compiled pattern's bound `match`, read once.
        _EMAIL_USER_MATCH = EMAIL_VALIDATOR.user_regex.match
    if not email or len(email) > 254:
        return False
    if domains is None:
        try:
            EMAIL_VALIDATOR(email)
        except Exception:  # django.core.exceptions.ValidationError
            return False
        return True
    # EmailValidator.__call__ (Django 5.2) with the domain part's answer memoized; test_gate_forms holds it equal.
    if "@" not in email or len(email) > 320:
        return False
    user_part, domain_part = email.rsplit("@", 1)
    if not _EMAIL_USER_MATCH(user_part):
        return False
    if domain_part in EMAIL_VALIDATOR.domain_allowlist:
        return True
    valid = domains.get(domain_part)
    if valid is None:
        valid = domains[domain_part] = bool(EMAIL_VALIDATOR.validate_domain_part(domain_part))
    return valid


@dataclass
class Candidate:
    """One registration going through the gates: the input as given, normalized in place as the gates pass."""

    email: str
    first_name: str
    last_name: str
    phone: str
    country: str
    affiliate_lead_id: str | None = None
    promo_code: str | None = None
    email_canonical: str = ""
    promo: PromoCode | None = None
    match: DuplicateMatch | None = None

    @classmethod
    def from_data(cls, data: dict) -> Candidate:
        def text(key: str) -> str:
            value = data.get(key)
            return value.strip() if isinstance(value, str) else ""

        return cls(email=text("email"), first_name=text("first_name"), last_name=text("last_name"),
                   phone=text("phone"), country=text("country"),
                   affiliate_lead_id=text("affiliate_lead_id") or None, promo_code=text("promo_code") or None)

    @property
    def key(self) -> DedupeKey:
        return DedupeKey(self.email_canonical, self.phone, self.country, self.affiliate_lead_id)


_REFUSALS: dict[str, type[GateError]] = {cls.code: cls for cls in (GateError, DisposableEmail, DuplicateCustomer,
                                                                     InvalidPromoCode)}


def refusal(code: str, reason: str, *, field: str | None = None, detail: str | None = None, status: int = 400):
    """A gate's refusal: `reason` is the short text an import row carries (never PII)."""
    cls = _REFUSALS[code]
    assert cls.status == status, (code, status)
    error = cls(detail or reason[:1].upper() + reason[1:] + ".",
                fields={field: [reason[:1].upper() + reason[1:] + "."]} if field else None)
    error.reason = reason
    return error


def _gate_email(c: Candidate, ctx: Pipeline) -> None:
    if not _email_valid(c.email, ctx.memo.setdefault("email_domains", {})):
        raise refusal("validation_error", "invalid email address", field="email", detail="Invalid email address.")
    c.email_canonical = canonical_email(c.email)


def _gate_names(c: Candidate, ctx: Pipeline) -> None:
    for name in ("first_name", "last_name"):
        value = getattr(c, name)
        if not value or len(value) > 80:
            raise refusal("validation_error", "first_name and last_name are required (80 characters at most)",
                          field=name)


def _gate_country(c: Candidate, ctx: Pipeline) -> None:
    try:
        c.country = validate_country(c.country)
    except GateError as error:
        error.reason = "invalid country"
        raise


def _gate_country_allowed(c: Candidate, ctx: Pipeline) -> None:
    if c.country not in ctx.path.allowed_countries:
        raise refusal("validation_error", "country not accepted for this registration path", field="country",
                      detail="Registrations from this country are not accepted.")


def _gate_phone(c: Candidate, ctx: Pipeline) -> None:
    try:
        c.phone = normalize_phone(c.phone, c.country, strict=ctx.fraud.strict_phone_validation)
    except GateError as error:
        error.reason = "invalid phone"
        raise


def _gate_disposable(c: Candidate, ctx: Pipeline) -> None:
    # One lookup per distinct domain for the pipeline's life (an import chunk): the answer depends on the domain
    # part and the fraud settings only, both fixed for the pipeline.
    seen = ctx.memo.setdefault("disposable", {})
    domain = c.email.strip().rsplit("@", 1)[-1]
    disposable = seen.get(domain)
    if disposable is None:
        disposable = seen[domain] = is_disposable_email(c.email, fraud=ctx.fraud)
    if disposable:
        raise refusal("disposable_email", "disposable email domain", field="email",
                      detail="Disposable email addresses are not accepted.")


def _gate_promo(c: Candidate, ctx: Pipeline) -> None:
    from .services import promo_claim

    if c.promo_code:
        c.promo = promo_claim(c.promo_code)
    elif ctx.path.source == "promo":
        raise refusal("validation_error", "a promo registration needs a promo code", field="promo_code")


def duplicate_refusal(match: DuplicateMatch) -> GateError:
    return refusal("duplicate_customer", f"duplicate of an existing customer (score {match.score})", status=409,
                   detail="A customer with these details already exists.")


def _gate_duplicates(c: Candidate, ctx: Pipeline) -> None:
    """Row-wise form; the import runs the same gate over a whole chunk with `Pipeline.duplicates_bulk`."""
    match = duplicate_score(c.key, fraud=ctx.fraud)
    if match and duplicate_decision(match.score, fraud=ctx.fraud) == "reject":
        raise duplicate_refusal(match)
    c.match = match if match and duplicate_decision(match.score, fraud=ctx.fraud) == "flag" else None


@dataclass(frozen=True)
class Gate:
    """One gate: its name, the API.md code it refuses with, when it runs (from the path's settings), its check."""

    name: str
    code: str
    runs: object  # (RegistrationPath) -> bool
    check: object  # (Candidate, Pipeline) -> None; raises GateError, normalizes the candidate in place


def _always(path) -> bool:
    return True


# The ordered gates of every path. `runs` reads the path's settings; the promo claim belongs to the API paths.
GATES: tuple[Gate, ...] = (
    Gate("email", "validation_error", _always, _gate_email),
    Gate("names", "validation_error", _always, _gate_names),
    Gate("country", "validation_error", _always, _gate_country),
    Gate("allowed_countries", "validation_error", lambda path: bool(path.allowed_countries), _gate_country_allowed),
    Gate("phone", "validation_error", _always, _gate_phone),
    Gate("disposable", "disposable_email", lambda path: path.check_disposable, _gate_disposable),
    Gate("promo", "invalid_promo_code", lambda path: path.source != "import", _gate_promo),
    Gate("duplicates", "duplicate_customer", lambda path: path.check_duplicates, _gate_duplicates),
)


class RegistrationClosed(GateError):
    code = "registration_closed"

    def __init__(self, source: str, *, detail: str | None = None):
        super().__init__(detail or f"Registration through {source} is closed.", fields={"source": ["Closed."]})
        self.reason = "registration path closed"


@dataclass(frozen=True)
class Pipeline:
    """The gates one registration path runs, in order, with the settings they read."""

    path: RegistrationPath
    fraud: FraudSettings
    gates: tuple[Gate, ...]
    # Per-pipeline memos of answers that depend only on a value and the settings above (a domain's validity, whether
    # it is disposable): a pipeline lives for one registration or one import chunk.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.gates)

    @property
    def default_group(self):
        return self.path.default_group

    def ensure_open(self) -> None:
        if not self.path.enabled:
            raise RegistrationClosed(self.path.source)

    def check(self, candidate: Candidate, *, until: str | None = None) -> Candidate:
        """Run the gates in order (those before `until` only, when given); the first refusal raises."""
        for gate in self.gates:
            if gate.name == until:
                break
            gate.check(candidate, self)
        return candidate

    def runs(self, name: str) -> bool:
        return name in self.names

    def duplicates_bulk(self, candidates: list[Candidate], rows: list[int]) -> list[GateError | None]:
        """The duplicates gate over a batch (the import's chunk; `rows` are the candidates' row numbers): against
        existing customers (indexed lookups, as the row-wise form) and against earlier candidates of the batch that
        passed (same canonical email, or same phone and country). Flags are set on the candidates."""
        if not self.runs("duplicates"):
            return [None] * len(candidates)
        bulk = duplicate_scores_sql if connection.vendor == "postgresql" else duplicate_scores_bulk
        matches = bulk([c.key for c in candidates], fraud=self.fraud)
        seen_email: dict[str, int] = {}
        seen_phone: dict[tuple[str, str], int] = {}
        out: list[GateError | None] = []
        for c, match, row in zip(candidates, matches, rows, strict=True):
            refused = self._decide(c, match)
            earlier = None if refused else (seen_email.get(c.email_canonical) or seen_phone.get((c.phone, c.country)))
            if earlier:
                refused = refusal("duplicate_customer", f"duplicate of row {earlier} of this file", status=409,
                                  detail="A customer with these details already exists.")
            if refused is None:
                seen_email.setdefault(c.email_canonical, row)
                seen_phone.setdefault((c.phone, c.country), row)
            out.append(refused)
        return out

    def _decide(self, c: Candidate, match: DuplicateMatch | None) -> GateError | None:
        decision = duplicate_decision(match.score, fraud=self.fraud) if match else "accept"
        if decision == "reject":
            return duplicate_refusal(match)
        c.match = match if decision == "flag" else None
        return None


def pipeline_for(path_or_source) -> Pipeline:
    """The pipeline of a registration path (a `RegistrationPath` or its source), from its current settings."""
    if isinstance(path_or_source, str):
        path_or_source, _ = RegistrationPath.objects.select_related("default_group").get_or_create(
            source=path_or_source)
    return Pipeline(path=path_or_source, fraud=FraudSettings.current(),
                    gates=tuple(g for g in GATES if g.runs(path_or_source)))
