"""The payment-provider interface: open a cashier session for a deposit; verify and read a provider callback."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping


class ProviderError(Exception):
    """The provider refused the request (bad credentials, invalid data): another provider may still serve it."""


class ProviderTemporaryError(ProviderError):
    """A timeout, connection error or 5xx: fall back to the next route."""


class InvalidSignature(Exception):
    """A callback whose signature is missing or wrong: it changes nothing."""


@dataclass(frozen=True)
class CashierSession:
    """`redirect_url`: the provider's cashier URL (Praxis: an iframe `src`); `embed`: what our cashier page needs
    to embed the provider's widget (BridgerPay: script URL, cashier key and token)."""

    redirect_url: str
    provider_reference: str = ""
    embed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DepositRequest:
    order_id: str
    amount: Decimal
    currency: str
    country: str
    customer_id: int
    first_name: str
    last_name: str
    email: str
    locale: str = "en"
    payload: str = ""  # a secret echoed back in BridgerPay notifications


@dataclass(frozen=True)
class Notification:
    """A verified callback, normalized. `status` is one of pending, approved, declined, refunded, other.

    `kind` says what it is about: `payment` (an attempt on the order; `attempt_id` is the provider's attempt id,
    Praxis `tid`), `session_closed` (the cashier session expired or closed), `refund` or `chargeback` (money
    going back on a completed deposit; `amount` is the refunded / charged-back amount), `payout` (the outcome of a
    payout we started)."""

    event_id: str
    order_id: str
    status: str
    is_final: bool
    amount: Decimal | None = None
    currency: str = ""
    provider_reference: str = ""
    raw: dict = field(default_factory=dict)
    kind: str = "payment"
    attempt_id: str = ""


class PaymentProvider:
    name = ""

    def create_session(self, deposit: DepositRequest) -> CashierSession:
        raise NotImplementedError

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> Notification:
        raise NotImplementedError

    def webhook_ack(self, notification: Notification | None) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, b'{"status": "ok"}'
