"""Deposits through payment providers: routing by country, cashier sessions with fallback, verified callbacks.

A deposit is a `deposit` transaction in `processing` until the provider settles it. Notifications are stored
once per (provider, event id); repeats and out-of-order callbacks never move a final state
(services.transaction_settle). How an order settles follows each provider's documentation:

- Praxis: one order carries attempts (`tid`, tracked as PaymentAttempt); it completes on its FIRST APPROVED
  attempt whatever was rejected before, crediting that notification's `transaction.amount`; a rejected attempt
  leaves it open (the customer may retry in the same session); session expiry fails it unless an attempt is
  still pending (see providers.praxis for the sources).
- BridgerPay: `approved` / `declined` are final ("approved by any PSP or declined by all available PSPs"): the
  first one counts; `cashier.session.close` with no final answer fails the deposit (providers.bridgerpay).
- Refund and chargeback notifications post a linked `refund` / `chargeback` transaction on the completed deposit
  (services.provider_debit_post, idempotent); a chargeback may freeze the customer.
- Payout notifications settle a withdrawal's payout (ledger.payouts)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from brokercrm.actors import SYSTEM
from brokercrm.inputs import parse_id

from . import conf
from .models import PaymentAttempt, PaymentRoute, ProviderNotification, Transaction, TxStatus, TxType
from .providers.base import (
    DepositRequest,
    InvalidSignature,
    Notification,
    PaymentProvider,
    ProviderError,
    UnknownProvider,
    WebhookAck,
)
from .services import (
    LedgerError,
    PaymentUnavailable,
    provider_debit_post,
    to_money,
    transaction_create,
    transaction_settle,
)

log = logging.getLogger(__name__)


def provider_get(name: str) -> PaymentProvider | None:
    """The configured client for `name`, or None when its credentials are not set."""
    from .providers.bridgerpay import BridgerPay
    from .providers.praxis import Praxis
    from .providers.sandbox import Sandbox

    if name == "bridgerpay" and conf.BRIDGERPAY_API_URL:
        return BridgerPay(base_url=conf.BRIDGERPAY_API_URL, user_name=conf.BRIDGERPAY_USER_NAME,
                          password=conf.BRIDGERPAY_PASSWORD, api_key=conf.BRIDGERPAY_API_KEY,
                          cashier_key=conf.BRIDGERPAY_CASHIER_KEY, cashier_url=conf.BRIDGERPAY_CASHIER_URL)
    if name == "praxis" and conf.PRAXIS_API_URL:
        return Praxis(base_url=conf.PRAXIS_API_URL, merchant_id=conf.PRAXIS_MERCHANT_ID,
                      application_key=conf.PRAXIS_APPLICATION_KEY, secret=conf.PRAXIS_SECRET,
                      notification_url=f"{conf.PUBLIC_BASE_URL}/api/payments/webhooks/praxis",
                      return_url=f"{conf.PUBLIC_BASE_URL}/client/")
    if name == "sandbox" and conf.SANDBOX_PAYMENTS_ENABLED:
        return Sandbox(secret=conf.SANDBOX_SECRET)
    return None


def routes_for(*, country: str, currency: str, amount: Decimal) -> list[PaymentRoute]:
    """Active routes matching the deposit, most specific country first, then by priority."""
    qs = PaymentRoute.objects.filter(is_active=True).filter(Q(country=country) | Q(country=""))
    qs = qs.filter(Q(currency=currency) | Q(currency=""))
    qs = qs.filter(Q(min_amount__isnull=True) | Q(min_amount__lte=amount))
    qs = qs.filter(Q(max_amount__isnull=True) | Q(max_amount__gte=amount))
    return sorted(qs, key=lambda r: (r.country == "", r.priority, r.pk))


def order_id_for(tx: Transaction) -> str:
    return f"D{tx.pk}"


def order_tx_id(order_id) -> int | None:
    """The transaction id in one of our order ids (`D<id>`), or None for anything else."""
    return parse_id(order_id[1:]) if isinstance(order_id, str) and order_id.startswith("D") else None


def payload_for(order_id: str) -> str:
    """The secret echoed by BridgerPay notifications for this order (derived, so nothing to store)."""
    return hmac.new(settings.SECRET_KEY.encode(), f"payload:{order_id}".encode(), hashlib.sha256).hexdigest()[:32]


def deposit_start(*, customer, amount, currency: str) -> tuple[Transaction, str, str]:
    """Create the deposit and a cashier session with the first route whose provider answers.

    Returns (transaction, provider name, redirect URL). A provider that fails is skipped for the next route;
    when none answers the deposit is marked failed and LedgerError(503 payment_unavailable) is raised.
    `deposit_start_session` also returns what the client area needs to embed the provider's cashier."""
    tx, provider, session = deposit_start_session(customer=customer, amount=amount, currency=currency)
    return tx, provider, session.redirect_url


def deposit_start_session(*, customer, amount, currency: str):
    """deposit_start, returning (transaction, provider name, CashierSession)."""
    amount = to_money(amount, currency=currency)
    account = customer.accounts.filter(currency=(currency or "").upper()).order_by("login").first()
    if account is None:
        raise LedgerError("No trading account in that currency.", fields={"currency": ["No account in it."]})
    with transaction.atomic():
        tx, _ = transaction_create(by=SYSTEM, type="deposit", amount=amount, currency=account.currency,
                                   account_login=account.login, comment="Cashier deposit",
                                   status=TxStatus.PROCESSING)
    order_id = order_id_for(tx)
    request = DepositRequest(order_id=order_id, amount=amount, currency=account.currency, country=customer.country,
                             customer_id=customer.pk, first_name=customer.first_name, last_name=customer.last_name,
                             email=customer.email, locale=customer.locale, payload=payload_for(order_id))
    for route in routes_for(country=customer.country, currency=account.currency, amount=amount):
        provider = provider_get(route.provider)
        if provider is None:
            continue
        try:
            session = provider.create_session(request)
        except ProviderError as exc:
            log.warning("provider %s failed for order %s: %s; trying the next route", route.provider, order_id, exc)
            continue
        Transaction.objects.filter(pk=tx.pk).update(provider=route.provider,
                                                    provider_reference=session.provider_reference[:120])
        return tx, route.provider, session
    transaction_settle(tx=tx, approved=False)
    raise PaymentUnavailable("No payment provider is available for this deposit right now.")


def webhook_receive(*, provider_name: str, headers, body: bytes) -> WebhookAck:
    """Verify and apply one provider callback; returns the acknowledgement the provider expects (a 200 body).

    Refusals raise domain errors (nothing changes): UnknownProvider (404), InvalidSignature (401: a bad or missing
    signature, or a BridgerPay notification not echoing the order's payload), InvalidNotification (400).
    Steps: verify → store it once per (provider, event id) (a repeat is acknowledged and changes nothing) →
    record the attempt → apply it by kind (payment, session_closed, refund, chargeback, payout)."""
    provider = provider_get(provider_name)
    if provider is None:
        raise UnknownProvider("Unknown provider.")
    note = provider.parse_webhook(headers=headers, body=body)
    tx = None
    if order_tx_id(note.order_id) is not None:
        tx = Transaction.objects.filter(pk=order_tx_id(note.order_id), type="deposit", provider=provider_name).first()
    if (provider_name == "bridgerpay" and note.kind != "payout" and note.raw.get("type") != "cashier.session.init"
            and not hmac.compare_digest(str(note.raw.get("payload") or ""), payload_for(note.order_id))):
        raise InvalidSignature("The payload does not match the session.")
    try:
        with transaction.atomic():
            ProviderNotification.objects.create(provider=provider_name, event_id=note.event_id[:200],
                                                order_id=note.order_id, status=note.status, payload=note.raw)
    except IntegrityError:
        return provider.webhook_ack(note)  # delivered before: acknowledge, change nothing
    if note.kind == "payout":
        from .payouts import payout_apply_notification

        payout_apply_notification(provider=provider_name, note=note)
        return provider.webhook_ack(note)
    if tx is None:
        log.warning("%s notification for unknown order %s", provider_name, note.order_id)
        return provider.webhook_ack(note)
    if note.attempt_id and note.kind == "payment":
        _attempt_record(provider_name, tx, note)
    if note.kind == "payment" and note.is_final:
        _apply_final(provider_name, tx, note)
    elif note.kind == "session_closed":
        _apply_session_closed(provider_name, tx, note)
    elif note.kind in ("refund", "chargeback") and note.status in ("refunded", "chargeback"):
        _apply_debit(provider_name, tx, note)
    return provider.webhook_ack(note)


def _cents(amount: Decimal | None) -> Decimal | None:
    """A reported amount in the ledger's cents (half-up); None when absent or not positive."""
    if amount is None or amount <= 0:
        return None
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _attempt_record(provider_name: str, tx: Transaction, note: Notification) -> None:
    """Keep the latest status of each attempt; a final status is never overwritten by a late non-final one."""
    attempt, created = PaymentAttempt.objects.get_or_create(
        provider=provider_name, tid=note.attempt_id,
        defaults={"order_id": note.order_id, "transaction": tx, "status": note.status, "amount": note.amount,
                  "currency": note.currency[:3], "raw": note.raw})
    if not created and (note.is_final or attempt.status not in ("approved", "declined")):
        PaymentAttempt.objects.filter(pk=attempt.pk).update(status=note.status, amount=note.amount,
                                                            currency=note.currency[:3], raw=note.raw)


def _apply_final(provider_name: str, tx: Transaction, note: Notification) -> None:
    if note.currency and note.currency != tx.currency:
        log.error("%s settled order %s in another currency; failing it for review", provider_name, note.order_id)
        transaction_settle(tx=tx, approved=False, provider_reference=note.provider_reference,
                           reason=f"settled in {note.currency}, not {tx.currency}")
        return
    if note.status == "approved":
        # Praxis: the final `transaction.amount` is what is credited; BridgerPay's charge amount likewise.
        transaction_settle(tx=tx, approved=True, provider_reference=note.provider_reference,
                           amount=_cents(note.amount))
    elif provider_name != "praxis":
        # BridgerPay's `declined` means declined by every PSP: the order is over. A Praxis rejection is one
        # attempt; the session stays open for a retry until it expires.
        transaction_settle(tx=tx, approved=False, provider_reference=note.provider_reference,
                           reason="declined by the provider")


def _apply_session_closed(provider_name: str, tx: Transaction, note: Notification) -> None:
    """The cashier session closed or expired: a deposit still processing fails, unless a Praxis attempt is still
    pending (its docs: a transaction "may end up with pending status and get its final processing status after
    the session timeout", https://doc.praxiscashier.com/integration_docs/3.3/agent_api/find_session)."""
    if PaymentAttempt.objects.filter(transaction=tx, status="pending").exists():
        return
    transaction_settle(tx=tx, approved=False, reason=f"cashier session {note.status} without an approved payment")


def _apply_debit(provider_name: str, tx: Transaction, note: Notification) -> None:
    tx.refresh_from_db()
    if tx.status != TxStatus.COMPLETED:
        log.error("%s %s for order %s, which is %s: nothing posted", provider_name, note.kind, note.order_id,
                  tx.status)
        return
    type_ = TxType.REFUND if note.kind == "refund" else TxType.CHARGEBACK
    reference = f"{note.kind}:{note.provider_reference or note.event_id}"
    provider_debit_post(deposit=tx, type=type_, amount=_cents(note.amount), reference=reference,
                        provider=provider_name)
