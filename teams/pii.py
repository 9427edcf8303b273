"""The one place that masks PII. Every serializer, page, export, event and error message calls it."""

from __future__ import annotations

import functools
import re

import phonenumbers

from .constants import PiiLevel


def mask_email(value: str | None) -> str | None:
    """`john.doe@example.com` → `j***@example.com`: first character of the local part and the whole domain."""
    if not value:
        return value
    local, sep, domain = value.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str | None) -> str | None:
    """`+447700900000` → `+44*******000`: `+`, the country calling code, one `*` per hidden digit, the last 3."""
    if not value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    try:
        code = str(phonenumbers.parse(value if value.startswith("+") else f"+{digits}", None).country_code)
    except phonenumbers.NumberParseException:
        code = digits[:1]
    if not digits.startswith(code):
        code = ""
    rest = digits[len(code):]
    keep = rest[-3:] if len(rest) > 3 else ""
    return f"+{code}{'*' * (len(rest) - len(keep))}{keep}"


def _level(user, field: str) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return PiiLevel.HIDDEN
    if getattr(user, "is_superuser", False):
        return PiiLevel.FULL
    role = getattr(user, "role", None)
    return getattr(role, field) if role else PiiLevel.HIDDEN


def email_level(user) -> str:
    return _level(user, "pii_email")


def phone_level(user) -> str:
    return _level(user, "pii_phone")


def sees_contacts(user) -> bool:
    """True when `user` sees emails and phones in full (free text needs no redaction for them)."""
    return email_level(user) == PiiLevel.FULL and phone_level(user) == PiiLevel.FULL


def show_email(value: str | None, user) -> str | None:
    """The email as `user` may see it: full, masked or hidden (None)."""
    level = email_level(user)
    if level == PiiLevel.FULL:
        return value
    if level == PiiLevel.MASKED:
        return mask_email(value)
    return None


def show_phone(value: str | None, user) -> str | None:
    """The phone as `user` may see it: full, masked or hidden (None)."""
    level = phone_level(user)
    if level == PiiLevel.FULL:
        return value
    if level == PiiLevel.MASKED:
        return mask_phone(value)
    return None


# --- free text ------------------------------------------------------------------------------------------------------
#
# Staff type contact details into notes, task titles, comments and reasons; templates render them into subjects
# and bodies. Every door that shows such text to a viewer passes it through `redact_text` (or `redact_for` with the
# customer the text is about), so it follows the same three levels as the email and phone fields.

HIDDEN_MARK = "[hidden]"
_SEP = r"[\s.\-()/]{0,3}"
# An email: RFC 5322 atext in the local part (so o'brien@… is taken whole, at most 64 characters), a dotted domain.
# Found from each "@" outwards, so a long text without a domain costs linear time (a plain regex is quadratic).
_LOCAL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}$")
_DOMAIN_RE = re.compile(r"[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}")
# International numbers: + or 00, then 8 to 15 digits with the usual separators.
_INTL_RE = re.compile(r"(?<![\w+.,])(?:\+|00)[\s(]{0,2}\d(?:[\s\-()/]{0,3}\d){7,14}(?![\d])")
# National numbers with a trunk 0 (07700 900123, 0612345678, 0(20) 7946 0958): 9 to 13 digits. No "." separator,
# so decimals such as 0.00012345 are left alone.
_NATIONAL_RE = re.compile(r"(?<![\w+.,])\(?0(?:[\s\-()/]{0,3}\d){8,12}(?![\d])")
# libphonenumber's matcher (national notations of the customer's country, e.g. 415-555-0123) tries this many
# candidates per text: it costs ~40 µs a candidate, so a long hostile text stays cheap.
_MATCHER_TRIES = 100
# An area code in parentheses: (415) 555-0123.
_AREA_RE = re.compile(r"(?<![\w])\(\d{2,5}\)\s?\d{3,4}[\s.-]?\d{3,4}(?!\d)")


def _find_emails(text: str):
    """(start, end, email) for every email-shaped run in `text`."""
    at = text.find("@")
    while at != -1:
        local = _LOCAL_RE.search(text, max(0, at - 64), at)
        domain = _DOMAIN_RE.match(text, at + 1)
        if local and domain:
            yield local.start(), domain.end(), text[local.start():domain.end()]
        at = text.find("@", at + 1)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


@functools.lru_cache(maxsize=4096)
def _known_phone_re(phone: str) -> re.Pattern | None:
    """A pattern for one phone number as people write it: +44 7700 900123, 0044…, 447700900123, 07700-900-123,
    (0)7700 900123 or the national number alone, with any separators between the digits."""
    digits = _digits(phone)
    if len(digits) < 6:
        return None
    try:
        parsed = phonenumbers.parse(phone if phone.startswith("+") else f"+{digits}", None)
        code, national = str(parsed.country_code), phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        code, national = "", digits
    if not national or not digits.endswith(national):
        code, national = "", digits
    body = _SEP.join(national)
    prefix = rf"(?:(?:\+|00)?{code}{_SEP}(?:\(0\){_SEP})?|\(?0{_SEP})?" if code else r"(?:\+|00)?"
    return re.compile(rf"(?<![\w+])(?:{prefix}){body}(?!\d)")


def _mask_found_phone(raw: str) -> str:
    """A phone number found in text, masked like `mask_phone`: international numbers keep `+` and their country
    code, national ones only the last 3 digits (their country is a guess)."""
    digits = _digits(raw)
    if raw.lstrip("( ").startswith(("+", "00")):
        return mask_phone("+" + (digits[2:] if raw.lstrip("( ").startswith("00") else digits))
    return "*" * (len(digits) - 3) + digits[-3:]


def redact_text(text: str | None, user, *, emails=(), phones=(), region: str | None = None) -> str | None:
    """`text` as `user` may see it: every email and phone number in it shown at the viewer's level (full: as typed;
    masked: like `show_email`/`show_phone`; hidden: replaced by "[hidden]").

    Steps: 1. the given (known) emails, case-insensitively; 2. any other email; 3. the given phones in any
    notation; 4. any other number that looks like a phone (international, national with a trunk 0, or what
    libphonenumber finds valid for `region`, the customer's country). Earlier spans win over overlapping later
    ones, so digits inside an email are never taken for a phone."""
    if not text:
        return text
    email_full = email_level(user) == PiiLevel.FULL
    phone_full = phone_level(user) == PiiLevel.FULL
    if email_full and phone_full:
        return text
    spans: list[tuple[int, int, str]] = []
    taken = bytearray(len(text))

    def take(start: int, end: int, replacement: str) -> None:
        if not any(taken[start:end]):
            spans.append((start, end, replacement))
            taken[start:end] = b"\x01" * (end - start)

    if not email_full:
        for raw in emails:
            if raw:
                shown = show_email(raw, user) or HIDDEN_MARK
                for m in re.finditer(re.escape(raw), text, flags=re.IGNORECASE):
                    take(m.start(), m.end(), shown)
        for start, end, found in _find_emails(text):
            take(start, end, show_email(found, user) or HIDDEN_MARK)
    if not phone_full and sum(ch.isdigit() for ch in text) >= 6:
        for raw in phones:
            pattern = _known_phone_re(raw) if raw else None
            if pattern is not None:
                shown = show_phone(raw, user) or HIDDEN_MARK
                for m in pattern.finditer(text):
                    take(m.start(), m.end(), shown)
        found = [(m.start(), m.end(), m.group())
                 for rx in (_INTL_RE, _NATIONAL_RE, _AREA_RE) for m in rx.finditer(text)]
        if region:
            found += [(m.start, m.end, m.raw_string) for m in
                      phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID,
                                                      max_tries=_MATCHER_TRIES)]
        for start, end, raw in sorted(found, key=lambda f: (f[0], f[0] - f[1])):
            level = phone_level(user)
            take(start, end, HIDDEN_MARK if level == PiiLevel.HIDDEN else _mask_found_phone(raw))
    if not spans:
        return text
    out, pos = [], 0
    for start, end, replacement in sorted(spans):
        out += [text[pos:start], replacement]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def redact_for(text: str | None, user, customer=None, *, extra_emails=(), extra_phones=()) -> str | None:
    """`redact_text` for text about `customer`: its own email (as given and canonical) and phone are known."""
    if not text or sees_contacts(user):
        return text
    if customer is None:
        return redact_text(text, user, emails=extra_emails, phones=extra_phones)
    return redact_text(text, user, region=getattr(customer, "country", None) or None,
                       emails=[getattr(customer, "email", ""), getattr(customer, "email_canonical", ""),
                               *extra_emails],
                       phones=[getattr(customer, "phone", ""), *extra_phones])


def redact_data(value, user, customer=None):
    """Every string inside a JSON-like value (activity data, audit snapshots, run logs) through `redact_for`."""
    if sees_contacts(user):
        return value
    if isinstance(value, str):
        return redact_for(value, user, customer)
    if isinstance(value, dict):
        return {k: redact_data(v, user, customer) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v, user, customer) for v in value]
    return value


# Who an audit entry is about, for redaction (their own email and phone are known): `object_type` (an AuditLog's,
# e.g. "customers.customer") → fn(object_id: str) returning that customer or None. Registered by the app that owns the
# type in its AppConfig.ready() (customers), since teams sits below it.
_subject_resolvers: dict = {}


def subject_resolver_register(object_type: str, fn) -> None:
    """Resolve audit entries of `object_type` to the customer they are about with `fn(object_id)`."""
    _subject_resolvers[object_type] = fn


def subject_for(object_type: str, object_id: str):
    """The customer an audit entry (`object_type`, `object_id`) is about, or None."""
    fn = _subject_resolvers.get(object_type)
    return fn(object_id) if fn is not None else None
