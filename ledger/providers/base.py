"""The payment-provider interface: open a cashier session for a deposit; verify and read a provider callback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from brokercrm import errors
from brokercrm.errors import DomainError, NotFound
from brokercrm.inputs import InvalidJson, json_loads


class ProviderError(Exception):
    """The provider refused the request (bad credentials, invalid data): another provider may still serve it."""


class ProviderTemporaryError(ProviderError):
    """A timeout, connection error or 5xx: fall back to the next route."""


class InvalidSignature(errors.InvalidSignature):
    """A callback whose signature is missing or wrong: it changes nothing."""


class InvalidNotification(DomainError):
    """A callback that is not a notification we can read (wrong shape, bad amount, an order id longer than ours):
    400 validation_error; it changes nothing."""


class InvalidNotificationJson(InvalidNotification):
    """A callback whose body is not JSON (or nested too deeply)."""

    code = "invalid_json"


class UnknownProvider(NotFound):
    """A callback for a provider that is not configured."""


@dataclass(frozen=True)
class WebhookAck:
    """What a provider expects back when its callback was taken (Praxis: a signed JSON body)."""

    body: dict
    headers: dict[str, str] = field(default_factory=dict)


MAX_ORDER_ID = 120


def notification_json(body: bytes) -> dict:
    """The body as a JSON object (depth-limited, see brokercrm.inputs), or InvalidNotification."""
    try:
        data = json_loads(body)
    except InvalidJson as exc:
        raise InvalidNotificationJson(str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidNotification("A notification is a JSON object.")
    return data


def notification_text(value, name: str, *, max_length: int = MAX_ORDER_ID, required: bool = True) -> str:
    """A short text field of a notification (numbers are taken as their decimal text)."""
    if value is None and not required:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (required and not value) or len(value) > max_length:
        raise InvalidNotification(f"{name} must be a text of at most {max_length} characters.")
    return value


def notification_amount(value, name: str = "amount"):
    """A notification's amount through the one amount parser (ledger.money), or InvalidNotification."""
    from ..money import AmountError, amount_parse

    if value is None:
        return None
    try:
        return amount_parse(value, field=name)
    except AmountError as exc:
        raise InvalidNotification(f"{name}: {exc.detail}") from None


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

    def webhook_ack(self, notification: Notification | None) -> WebhookAck:
        return WebhookAck({"status": "ok"})
