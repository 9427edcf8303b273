"""The embedded default's provider: a local cashier page that completes a demo deposit end to end.

Its callbacks are signed with HMAC-SHA256 over the body (header `X-Sandbox-Signature`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Mapping

from .base import CashierSession, DepositRequest, InvalidSignature, Notification, PaymentProvider


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
            raise InvalidSignature("bad sandbox signature")
        data = json.loads(body)
        return Notification(event_id=data["event_id"], order_id=data["order_id"], status=data["status"],
                            is_final=data["status"] in ("approved", "declined"),
                            amount=Decimal(data["amount"]), currency=data["currency"], raw=data)
