"""BridgerPay, after its public API documentation (docs.bridgerpay.com, api-v2):

- `POST {base}/v2/auth/login {"user_name", "password"}` → `access_token.token`, a bearer valid 7,200 s;
- `POST {base}/v2/cashier/session/create/{api_key}` with `cashier_key`, `order_id`, `currency`, `country`,
  `amount`, shopper details and `payload` → `result.cashier_token`;
- notifications: JSON `{"webhook": {"type"}, "data": {"order_id", "charge": {"type", "id", "attributes":
  {"status", "amount", "currency"}}, "payload"?}}` of six types (cashier.session.init, approved, declined,
  cashier.session.close, partly_refunded, refunded), several per order; only the first final one counts.

Authenticity: BridgerPay signs nothing, so each notification must echo the `payload` secret we set on the
session (compared in constant time by the caller against the deposit's stored secret), and it is re-verified
against our record of the order. The cashier page is BridgerPay's embed script loaded with the cashier token:
`{cashier_url}?cashier_key=…&cashier_token=…`.
"""

from __future__ import annotations

import threading
import time
from typing import Mapping

import httpx

from .base import CashierSession, DepositRequest, InvalidNotification, Notification, PaymentProvider, ProviderError
from .base import notification_amount, notification_json, notification_text
from .base import ProviderTemporaryError

FINAL = {"approved": "approved", "declined": "declined"}
TOKEN_TTL = 7200
TOKEN_MARGIN = 300  # refresh five minutes before expiry


class BridgerPay(PaymentProvider):
    name = "bridgerpay"

    def __init__(self, *, base_url: str, user_name: str, password: str, api_key: str, cashier_key: str,
                 cashier_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.user_name, self.password = user_name, password
        self.api_key, self.cashier_key, self.cashier_url = api_key, cashier_key, cashier_url
        self.timeout = timeout

    # Tokens outlive a client instance (one is built per request): shared per process, per merchant login.
    _tokens: dict[tuple[str, str], tuple[str, float]] = {}
    _lock = threading.Lock()

    def _request(self, path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = httpx.post(f"{self.base_url}{path}", json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ProviderTemporaryError(f"BridgerPay unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ProviderTemporaryError(f"BridgerPay answered {response.status_code}")
        if response.status_code >= 400:
            raise ProviderError(f"BridgerPay refused the request ({response.status_code})")
        return response.json()

    def access_token(self) -> str:
        """The merchant bearer token, reused until five minutes before its two hours run out (thread-safe)."""
        key = (self.base_url, self.user_name)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            body = self._request("/v2/auth/login", {"user_name": self.user_name, "password": self.password})
            token = (body.get("result") or {}).get("access_token", {}).get("token")
            if not token:
                raise ProviderError("BridgerPay login returned no token")
            expires_in = (body.get("result") or {}).get("access_token", {}).get("expires_in", TOKEN_TTL)
            self._tokens[key] = (token, time.monotonic() + float(expires_in) - TOKEN_MARGIN)
            return token

    def create_session(self, deposit: DepositRequest) -> CashierSession:
        body = {
            "cashier_key": self.cashier_key, "order_id": deposit.order_id, "currency": deposit.currency,
            "country": deposit.country, "amount": str(deposit.amount), "first_name": deposit.first_name,
            "last_name": deposit.last_name, "email": deposit.email, "language": deposit.locale[:2],
            "currency_lock": True, "amount_lock": True, "payload": deposit.payload,
        }
        result = self._request(f"/v2/cashier/session/create/{self.api_key}", body, token=self.access_token())
        token = (result.get("result") or {}).get("cashier_token")
        if not token:
            raise ProviderError("BridgerPay returned no cashier token")
        return CashierSession(redirect_url=f"{self.cashier_url}?cashier_key={self.cashier_key}&cashier_token={token}",
                              provider_reference=token[:120])

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        """Read one notification strictly: every part has its documented type, or InvalidNotification (400).

        A final notification (approved/declined) must carry its charge: the amount to credit is there."""
        data = notification_json(body)
        webhook, inner = data.get("webhook"), data.get("data")
        if not isinstance(webhook, dict) or not isinstance(inner, dict):
            raise InvalidNotification("Not a BridgerPay notification: `webhook` and `data` are objects.")
        kind = notification_text(webhook.get("type"), "webhook.type", max_length=40)
        order_id = notification_text(inner.get("order_id"), "data.order_id")
        charge = inner.get("charge")
        if charge is None and kind in FINAL:
            raise InvalidNotification("A final notification carries data.charge.")
        if charge is not None and not isinstance(charge, dict):
            raise InvalidNotification("data.charge is an object.")
        charge = charge or {}
        attributes = charge.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise InvalidNotification("data.charge.attributes is an object.")
        amount = notification_amount(attributes.get("amount"), "data.charge.attributes.amount")
        if amount is None and kind in FINAL:
            raise InvalidNotification("A final notification carries data.charge.attributes.amount.")
        charge_id = notification_text(charge.get("id"), "data.charge.id", required=False)
        currency = notification_text(attributes.get("currency"), "data.charge.attributes.currency", max_length=3,
                                     required=False)
        payload = inner.get("payload") or data.get("payload")
        status = FINAL.get(kind, "refunded" if kind in ("refunded", "partly_refunded") else "other")
        return Notification(
            event_id=f"{order_id}:{kind}:{charge_id}", order_id=order_id, status=status,
            is_final=kind in FINAL, amount=amount, currency=currency, provider_reference=charge_id,
            raw={"type": kind, "payload": payload if isinstance(payload, str) else None},
        )
