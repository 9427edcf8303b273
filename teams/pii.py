"""The one place that masks PII. Every serializer, page, export, event and error message calls it."""

from __future__ import annotations

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


def redact_text(text: str, user, *, emails: list[str] = (), phones: list[str] = ()) -> str:
    """Replace every occurrence of the given raw emails/phones in free text with what `user` may see."""
    for raw in emails:
        if raw:
            text = text.replace(raw, show_email(raw, user) or "[hidden]")
    for raw in phones:
        if raw:
            text = text.replace(raw, show_phone(raw, user) or "[hidden]")
    return text
