"""BridgerPay, after its public API documentation (https://docs.bridgerpay.com/api-v2):

- `POST {base}/v2/auth/login {"user_name", "password"}` → `access_token.token`, a bearer valid 7,200 s
  (https://docs.bridgerpay.com/api-v2/get-started/faq, "How long do tokens remain valid?");
- `POST {base}/v2/cashier/session/create/{api_key}` with `cashier_key`, `order_id`, `currency`, `country`,
  `amount`, shopper details and `payload` → `result.cashier_token`
  (https://docs.bridgerpay.com/api-v2/cashier-initialization/create-server-session). Its request example sends the
  amount as a JSON number (`"amount": 45.36`), so we do too;
- the cashier is embedded, not opened by redirect: "Insert a code in any HTML-supporting application (e.g. web
  browser) to show the Cashier" (https://docs.bridgerpay.com/api-v2/embed-solution/server-side-cashier, step 3),
  i.e. the checkout launcher script with `data-cashier-key` and `data-cashier-token`
  (https://help.bridgerpay.com/en/articles/6416837-server-side-integration-extended-version, step 3); the
  client area renders that script (`CashierSession.embed`);
- notifications (https://docs.bridgerpay.com/api-v2/reporting/notifications): JSON `{"webhook": {"type"},
  "data": {"order_id", "charge": {"type", "id", "attributes": {"status", "amount", "currency"}}}}` of six
  types: `cashier.session.init`, `cashier.session.close` ("closed (or expired)"), `approved` and `declined`
  ("finally been approved by any PSP or declined by all available PSPs", for deposits and payouts alike),
  `partly_refunded` and `refunded`. "If multiple notifications are sent, the CRM should only process the first
  notification and ignore the others": the first final one settles the order;
- payouts: `POST {base}/v2/{api_key}/payouts {"order_id", "provider", "country", "currency", "amount" (number),
  "payout_method_type", "metadata"}` → `result.id`, `result.status` "Pending"; the final status comes as an
  `approved` or `declined` notification for the payout's order id
  (https://docs.bridgerpay.com/api-v2/payouts/create-payout, https://docs.bridgerpay.com/api-v2/payouts/overview).

Authenticity: BridgerPay signs nothing, so each notification must echo the `payload` secret we set on the
session: "You can include the "payload" parameter in a cashier token you generate. We add this parameter to
relevant notifications to let you compare the values" (get-started/faq, "Can I improve the security of sensitive
data even more?"). The docs do not say where in the notification it sits (the notification examples do not show
it; the virtual-terminal page groups session parameters under `meta`), so it is read from `data.payload`,
then `meta.payload`, then a top-level `payload` (`payload_of`).

Chargebacks are not among the six documented notification types (the Merchant Admin lists them with deposits and
refunds, https://docs.bridgerpay.com/api-v2/reporting/merchant-admin-transactions-payouts); a notification of
type `chargeback` shaped like the others is still applied, so one configured on the account moves the ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from decimal import Decimal

import httpx

from .base import (
    CashierSession,
    DepositRequest,
    InvalidNotification,
    Notification,
    PaymentProvider,
    ProviderError,
    ProviderTemporaryError,
    notification_amount,
    notification_json,
    notification_text,
)

FINAL = {"approved": "approved", "declined": "declined"}
TOKEN_TTL = 7200
TOKEN_MARGIN = 300  # refresh five minutes before expiry


class Unauthorized(ProviderError):
    """401: the bearer token was revoked or expired early."""


def payload_of(data: dict) -> str:
    """The echoed `payload`, wherever the notification carries it (see the module docstring)."""
    for container in (data.get("data"), data.get("meta"), data):
        if isinstance(container, dict) and container.get("payload"):
            return str(container["payload"])
    return ""


def _number(amount: Decimal) -> float:
    """A JSON number for a 2-decimal amount: the shortest float repr of such a value prints the same digits."""
    return float(amount)


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
        if response.status_code == 401:
            raise Unauthorized("BridgerPay answered 401")
        if response.status_code >= 400:
            raise ProviderError(f"BridgerPay refused the request ({response.status_code})")
        return response.json()

    def _authorized(self, path: str, body: dict) -> dict:
        """Call with the cached bearer; on 401 drop it, log in again and retry once."""
        token = self.access_token()
        try:
            return self._request(path, body, token=token)
        except Unauthorized:
            self.drop_token(token)
            return self._request(path, body, token=self.access_token())

    def drop_token(self, token: str) -> None:
        key = (self.base_url, self.user_name)
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]

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
            "country": deposit.country, "amount": _number(deposit.amount), "first_name": deposit.first_name,
            "last_name": deposit.last_name, "email": deposit.email, "language": deposit.locale[:2],
            "currency_lock": True, "amount_lock": True, "payload": deposit.payload,
        }
        result = self._authorized(f"/v2/cashier/session/create/{self.api_key}", body)
        token = (result.get("result") or {}).get("cashier_token")
        if not token:
            raise ProviderError("BridgerPay returned no cashier token")
        base = self.cashier_url.rstrip("/")
        return CashierSession(
            redirect_url=f"{base}/?cashier_key={self.cashier_key}&cashier_token={token}",
            provider_reference=token[:120],
            embed={"script_src": f"{base}/launcher", "cashier_key": self.cashier_key, "cashier_token": token},
        )

    def create_payout(self, *, order_id: str, amount: Decimal, currency: str, country: str, psp: str,
                      method_type: str, metadata: dict) -> dict:
        """Start a payout (create-payout, see the module docstring); returns `result` (`id`, `status`)."""
        body = {"order_id": order_id, "provider": psp, "country": country, "currency": currency,
                "amount": _number(amount), "payout_method_type": method_type, "metadata": metadata}
        answer = self._authorized(f"/v2/{self.api_key}/payouts", body)
        return answer.get("result") or {}

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
        if kind in FINAL:
            status, our_kind = FINAL[kind], ("payout" if str(order_id).startswith("W") else "payment")
        elif kind in ("refunded", "partly_refunded"):
            status, our_kind = "refunded", "refund"
        elif kind == "chargeback":
            status, our_kind = "chargeback", "chargeback"
        elif kind == "cashier.session.close":
            status, our_kind = "closed", "session_closed"
        else:
            status, our_kind = "other", "payment"
        return Notification(
            event_id=f"{order_id}:{kind}:{charge_id}", order_id=order_id, status=status,
            is_final=kind in FINAL or our_kind in ("refund", "chargeback", "session_closed"),
            amount=amount, currency=currency, provider_reference=charge_id,
            raw={"type": kind, "payload": payload_of(data), "charge_id": charge_id,
                 "amount": None if amount is None else str(amount), "currency": currency},
            kind=our_kind, attempt_id=charge_id,
        )
