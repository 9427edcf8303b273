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

Facts this module relies on, with their sources:

- One order, several attempts. The cashier session lets the customer retry; each attempt is a transaction with
  its own `tid`. The session object's `session_status` is `open`, `action required`, `successful`, `failed`
  or `expired` ("closed with intent not fulfilled (Cashier API)"), and the cashier session "is live within
  15 mins" (https://doc.praxiscashier.com/integration_docs/latest/objects/session). A rejected attempt therefore
  does not end the order: it ends on its first approved attempt, or when the session expires.
- Expiry: the notification's `transaction` "Appears as null in case of expired session"
  (https://doc.praxiscashier.com/integration_docs/latest/webhooks/notification, request parameters).
- Amounts: "The transaction and session amounts may change during processing" (same page, IMPORTANT #2, and
  "Understanding Amounts"); the final notification's `transaction.amount` is what was paid and is credited.
  Amounts are integers "in cents", and "for certain currencies ... there is a fraction other than 100 cents per
  unit" (objects/session): we use the ISO 4217 exponent (ledger.currencies). The older 3.1 notification page
  lists JPY, CLP, KRW, VND, BHD, IQD, JOD, LYD, OMR, TND as not ×100
  (http://doc.praxiscashier.com/integration_docs/3.1/api/cashier_api_notification).
- Refunds and chargebacks: `transaction_type` is sale, payout, refund or authorize; a deposit's
  `transaction_status` may become `chargeback` ("customer requested to get funds back") or `reversed` ("refund
  done at PSP side") (https://doc.praxiscashier.com/integration_docs/3.4/cashier_api/notification,
  transaction_type / transaction_status).
- Payouts: withdrawals at Praxis are requested by the customer inside its cashier (`intent` "withdrawal",
  objects/session) and approved by an agent; Praxis documents no merchant-initiated payout call for a
  withdrawal created here, so withdrawals approved here are paid out manually (ledger.payouts).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ..currencies import from_minor, to_minor
from .base import (
    CashierSession,
    DepositRequest,
    InvalidNotification,
    InvalidSignature,
    Notification,
    PaymentProvider,
    ProviderError,
    ProviderTemporaryError,
    WebhookAck,
    notification_json,
    notification_text,
)

VERSION = "1.3"
REQUEST_FIELDS = ["merchant_id", "application_key", "timestamp", "intent", "cid", "order_id"]
RESPONSE_FIELDS = ["status", "timestamp", "redirect_url"]
NOTIFICATION_FIELDS = ["merchant_id", "application_key", "timestamp", "customer.customer_token", "session.order_id",
                       "transaction.tid", "transaction.currency", "transaction.amount", "transaction.conversion_rate",
                       "transaction.processed_currency", "transaction.processed_amount"]
ACK_FIELDS = ["status", "timestamp"]
STATUSES = {"approved": "approved", "rejected": "declined", "declined": "declined", "error": "declined",
            "cancelled": "declined", "pending": "pending", "pending_async": "pending", "authorized": "pending",
            "chargeback": "chargeback", "reversed": "refunded"}
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
        try:
            minor = to_minor(deposit.amount, deposit.currency)
        except ValueError as exc:
            raise ProviderError(str(exc)) from None
        body = {
            "merchant_id": self.merchant_id, "application_key": self.application_key, "intent": "payment",
            "cid": str(deposit.customer_id), "order_id": deposit.order_id, "currency": deposit.currency,
            "amount": minor, "country": deposit.country,
            "locale": deposit.locale.replace("-", "_"), "notification_url": self.notification_url,
            "return_url": self.return_url, "version": VERSION, "timestamp": int(time.time()),
            "customer_data": {"first_name": deposit.first_name, "last_name": deposit.last_name,
                              "email": deposit.email},
        }
        headers = {"Content-Type": "application/json",
                   "gt-authentication": signature(body, REQUEST_FIELDS, self.secret)}
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
        # "This redirect_url should be used as the src attribute of an iframe on your payment page"
        # (https://doc.praxiscashier.com/integration_docs/latest/cashier_api/cashier).
        return CashierSession(redirect_url=data["redirect_url"], provider_reference=str(session.get("auth_token", "")),
                              embed={"iframe_src": data["redirect_url"]})

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        data = notification_json(body)
        given = {k.lower(): v for k, v in headers.items()}.get("gt-authentication", "")
        if not given or not hmac.compare_digest(signature(data, NOTIFICATION_FIELDS, self.secret), given.lower()):
            raise InvalidSignature("The notification signature is missing or wrong.")
        if data.get("merchant_id") != self.merchant_id or data.get("application_key") != self.application_key:
            raise InvalidSignature("The notification signature is missing or wrong.")
        return self._notification(data)

    @staticmethod
    def _notification(data: dict) -> Notification:
        """Normalize a verified notification (see the module docstring for the documented fields), strictly:
        a part of the wrong type is InvalidNotification (400), never a guess."""
        session = data.get("session") or {}
        if not isinstance(session, dict):
            raise InvalidNotification("session is an object.")
        order_id = notification_text(session.get("order_id"), "session.order_id")
        transaction = data.get("transaction")
        if transaction is not None and not isinstance(transaction, dict):
            raise InvalidNotification("transaction is an object.")
        if not transaction:
            session_status = notification_text(session.get("session_status"), "session.session_status",
                                               max_length=30, required=False).lower()
            return Notification(
                event_id=f"session:{order_id}:{session_status}", order_id=order_id, status=session_status or "other",
                is_final=session_status in ("expired", "failed"), kind="session_closed",
                raw={"session_status": session_status, "timestamp": data.get("timestamp")})
        raw_status = notification_text(transaction.get("transaction_status"), "transaction.transaction_status",
                                       max_length=30, required=False).lower()
        tx_type = (notification_text(transaction.get("transaction_type"), "transaction.transaction_type",
                                     max_length=30, required=False) or "sale").lower()
        tid = notification_text(transaction.get("tid"), "transaction.tid", max_length=60, required=False)
        currency = notification_text(transaction.get("currency"), "transaction.currency", max_length=3,
                                     required=False)
        amount = transaction.get("amount")  # minor units
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
            raise InvalidNotification("transaction.amount is a whole number of minor units.")
        if raw_status == "chargeback":
            kind = "chargeback"
        elif tx_type == "refund" or raw_status == "reversed":
            kind = "refund"
        elif tx_type == "payout":
            kind = "payout"
        else:
            kind = "payment"
        status = STATUSES.get(raw_status, "other")
        if kind == "refund" and raw_status == "approved":
            status = "refunded"
        # The same (tid, type, status) is the same fact however often or late Praxis sends it.
        return Notification(
            event_id=f"{tid}:{tx_type}:{raw_status}", order_id=order_id, status=status,
            is_final=raw_status in FINAL or kind in ("refund", "chargeback"),
            amount=from_minor(amount, currency) if amount is not None else None,
            currency=currency, provider_reference=tid, kind=kind, attempt_id=tid,
            raw={"transaction_status": raw_status, "transaction_type": tx_type, "tid": tid,
                 "amount": amount, "currency": currency, "session_status": session.get("session_status"),
                 "timestamp": data.get("timestamp")},
        )

    def webhook_ack(self, notification):
        body = {"status": 0, "description": "Ok", "version": VERSION, "timestamp": int(time.time())}
        return WebhookAck(body, {"gt-authentication": signature(body, ACK_FIELDS, self.secret)})
