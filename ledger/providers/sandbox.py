"""The embedded default's provider: a local cashier page that completes a demo deposit end to end.

Its callbacks are signed with HMAC-SHA256 over the body (header `X-Sandbox-Signature`)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from .base import (
    CashierSession,
    DepositRequest,
    InvalidSignature,
    Notification,
    PaymentProvider,
    notification_amount,
    notification_json,
    notification_text,
)


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Sandbox(PaymentProvider):
    name = "sandbox"

    def __init__(self, *, secret: str):
        self.secret = secret

    def create_session(self, deposit: DepositRequest) -> CashierSession:
        return CashierSession(redirect_url=f"/payments/sandbox/{deposit.order_id}", provider_reference=deposit.order_id)

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        given = {k.lower(): v for k, v in headers.items()}.get("x-sandbox-signature", "")
        if not given or not hmac.compare_digest(sign(body, self.secret), given):
            raise InvalidSignature("The notification signature is missing or wrong.")
        data = notification_json(body)
        status = notification_text(data.get("status"), "status", max_length=30)
        return Notification(event_id=notification_text(data.get("event_id"), "event_id", max_length=200),
                            order_id=notification_text(data.get("order_id"), "order_id"), status=status,
                            is_final=status in ("approved", "declined"),
                            amount=notification_amount(data.get("amount")),
                            currency=notification_text(data.get("currency"), "currency", max_length=3,
                                                       required=False), raw=data)
