"""SMS delivery: an HTTP provider adapter, and the console provider of the embedded default."""

from __future__ import annotations

import logging

import httpx

from teams.pii import mask_phone

from . import conf

log = logging.getLogger(__name__)


class SendTemporaryError(Exception):
    """Timeout, connection error, 5xx or 429: the send task retries, after `retry_after` seconds when the provider
    said so (429/503 with Retry-After), else with backoff."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SendPaced(Exception):
    """The channel's pace has no slot soon enough: the send goes back to the queue for `wait` seconds."""

    def __init__(self, wait: float):
        super().__init__(f"paced: next slot in {wait:.1f} s")
        self.wait = wait


def retry_after_seconds(value: str | None) -> float | None:
    """RFC 9110 Retry-After: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime

    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


class SendError(Exception):
    """The provider refused the message: final."""


def sms_send(*, to: str, body: str, reference: str, callback_url: str) -> str:
    """Send one SMS; returns the provider's message id."""
    if not conf.SMS_PROVIDER_URL:
        log.info("SMS (console provider) to %s: %d characters, reference %s", mask_phone(to), len(body), reference)
        return f"console-{reference}"
    try:
        response = httpx.post(f"{conf.SMS_PROVIDER_URL.rstrip('/')}/messages", timeout=10,
                              headers={"Authorization": f"Bearer {conf.SMS_PROVIDER_KEY}"},
                              json={"to": to, "from": conf.SMS_SENDER_ID, "body": body, "reference": reference,
                                    "callback_url": callback_url})
    except httpx.HTTPError as exc:
        raise SendTemporaryError(f"SMS provider unreachable: {type(exc).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise SendTemporaryError(f"SMS provider answered {response.status_code}",
                                 retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code >= 400:
        raise SendError(f"SMS provider refused the message ({response.status_code})")
    return str(response.json()["id"])
