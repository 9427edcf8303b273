"""Praxis Cashier, after its public documentation (doc.praxiscashier.com, docs.praxis.tech):

- every request and response is signed in the lowercase `gt-authentication` header: the SHA-384 hex digest of
  a fixed, per-message list of field values concatenated in the documented order, followed by the merchant
  secret; null values are skipped;
- cashier session (`POST {base}/cashier/cashier`, intent "payment"): request signature over merchant_id,
  application_key, timestamp, intent, cid, order_id; the response (`status` 0, `redirect_url`) over status,
  timestamp, redirect_url;
- payment notification: signature over merchant_id, application_key, timestamp, customer.customer_token,
  session.order_id, transaction.tid, transaction.currency, transaction.amount, transaction.conversion_rate,
  transaction.processed_currency, transaction.processed_amount; `transaction.transaction_status` is pending,
  approved, rejected, error, …; amounts are in minor units;
- the acknowledgement is HTTP 200 `{"status": 0, "description": "Ok", "version", "timestamp"}` signed over
  status, timestamp in its own `gt-authentication` header (anything else makes Praxis resend).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any, Mapping

import httpx

from .base import CashierSession, DepositRequest, InvalidNotification, InvalidSignature, Notification, PaymentProvider
from .base import ProviderError, notification_json, notification_text
from .base import ProviderTemporaryError

VERSION = "1.3"
REQUEST_FIELDS = ["merchant_id", "application_key", "timestamp", "intent", "cid", "order_id"]
RESPONSE_FIELDS = ["status", "timestamp", "redirect_url"]
NOTIFICATION_FIELDS = ["merchant_id", "application_key", "timestamp", "customer.customer_token", "session.order_id",
                       "transaction.tid", "transaction.currency", "transaction.amount", "transaction.conversion_rate",
                       "transaction.processed_currency", "transaction.processed_amount"]
ACK_FIELDS = ["status", "timestamp"]
STATUSES = {"approved": "approved", "rejected": "declined", "declined": "declined", "error": "declined",
            "cancelled": "declined", "pending": "pending", "pending_async": "pending", "authorized": "pending",
            "chargeback": "other", "reversed": "refunded"}
FINAL = {"approved", "rejected", "declined", "error", "cancelled"}


def _value(data: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def signature(data: dict, fields: list[str], secret: str) -> str:
    """SHA-384 hex of the listed values (nulls skipped) concatenated in order, then the merchant secret."""
    parts = [str(v) for v in (_value(data, f) for f in fields) if v is not None]
    return hashlib.sha384(("".join(parts) + secret).encode()).hexdigest()


class Praxis(PaymentProvider):
    name = "praxis"

    def __init__(self, *, base_url: str, merchant_id: str, application_key: str, secret: str,
                 notification_url: str, return_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.merchant_id, self.application_key, self.secret = merchant_id, application_key, secret
        self.notification_url, self.return_url = notification_url, return_url
        self.timeout = timeout

    def create_session(self, deposit: DepositRequest) -> CashierSession:
        body = {
            "merchant_id": self.merchant_id, "application_key": self.application_key, "intent": "payment",
            "cid": str(deposit.customer_id), "order_id": deposit.order_id, "currency": deposit.currency,
            "amount": int((deposit.amount * 100).to_integral_value()), "country": deposit.country,
            "locale": deposit.locale.replace("-", "_"), "notification_url": self.notification_url,
            "return_url": self.return_url, "version": VERSION, "timestamp": int(time.time()),
            "customer_data": {"first_name": deposit.first_name, "last_name": deposit.last_name,
                              "email": deposit.email},
        }
        headers = {"Content-Type": "application/json", "gt-authentication": signature(body, REQUEST_FIELDS, self.secret)}
        try:
            response = httpx.post(f"{self.base_url}/cashier/cashier", json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ProviderTemporaryError(f"Praxis unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ProviderTemporaryError(f"Praxis answered {response.status_code}")
        data = response.json() if response.content else {}
        if response.status_code >= 400 or data.get("status") != 0:
            raise ProviderError(f"Praxis refused the session: {data.get('description', response.status_code)}")
        expected = signature(data, RESPONSE_FIELDS, self.secret)
        if not hmac.compare_digest(expected, response.headers.get("gt-authentication", "")):
            raise ProviderError("Praxis response signature mismatch")
        session = data.get("session") or {}
        return CashierSession(redirect_url=data["redirect_url"], provider_reference=str(session.get("auth_token", "")))

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        data = notification_json(body)
        given = {k.lower(): v for k, v in headers.items()}.get("gt-authentication", "")
        if not given or not hmac.compare_digest(signature(data, NOTIFICATION_FIELDS, self.secret), given.lower()):
            raise InvalidSignature("gt-authentication mismatch")
        if data.get("merchant_id") != self.merchant_id or data.get("application_key") != self.application_key:
            raise InvalidSignature("another merchant's notification")
        transaction = data.get("transaction") or {}
        if not isinstance(transaction, dict):
            raise InvalidNotification("transaction is an object.")
        raw_status = notification_text(transaction.get("transaction_status"), "transaction.transaction_status",
                                       max_length=30, required=False).lower()
        amount = transaction.get("amount")  # minor units
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
            raise InvalidNotification("transaction.amount is a whole number of minor units.")
        tid = notification_text(transaction.get("tid"), "transaction.tid", max_length=60, required=False)
        return Notification(
            event_id=f"{tid}:{raw_status}:{data.get('timestamp')}",
            order_id=notification_text(_value(data, "session.order_id"), "session.order_id"),
            status=STATUSES.get(raw_status, "other"), is_final=raw_status in FINAL,
            amount=(Decimal(amount) / 100) if amount is not None else None,
            currency=notification_text(transaction.get("currency"), "transaction.currency", max_length=3,
                                       required=False),
            provider_reference=tid,
            raw={"transaction_status": raw_status},
        )

    def webhook_ack(self, notification):
        body = {"status": 0, "description": "Ok", "version": VERSION, "timestamp": int(time.time())}
        return 200, {"Content-Type": "application/json",
                     "gt-authentication": signature(body, ACK_FIELDS, self.secret)}, json.dumps(body).encode()
