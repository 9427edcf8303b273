"""SMS delivery: an HTTP provider adapter, and the console provider of the embedded default."""

from __future__ import annotations

import logging

import httpx

from teams.pii import mask_phone

from . import conf

log = logging.getLogger(__name__)


class SendTemporaryError(Exception):
    """Timeout, connection error or 5xx: the send task retries with backoff."""


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
        raise SendTemporaryError(f"SMS provider answered {response.status_code}")
    if response.status_code >= 400:
        raise SendError(f"SMS provider refused the message ({response.status_code})")
    return str(response.json()["id"])
