"""Deposits through payment providers: routing by country, cashier sessions with fallback, verified callbacks.

A deposit is a `deposit` transaction in `processing` until the provider's first final notification completes
(posting it) or fails it. Notifications are stored once per (provider, event id); repeats and out-of-order
callbacks never move a final state (see services.transaction_settle)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from brokercrm.api.errors import error_body
from brokercrm.inputs import parse_id

from . import conf
from .models import PaymentRoute, ProviderNotification, Transaction, TxStatus
from .providers.base import DepositRequest, InvalidNotification, InvalidSignature, PaymentProvider, ProviderError
from .services import LedgerError, to_money, transaction_create, transaction_settle

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
    when none answers the deposit is marked failed and LedgerError(503 payment_unavailable) is raised."""
    amount = to_money(amount, currency=currency)
    account = customer.accounts.filter(currency=(currency or "").upper()).order_by("login").first()
    if account is None:
        raise LedgerError("No trading account in that currency.", fields={"currency": ["No account in it."]})
    with transaction.atomic():
        tx, _ = transaction_create(by=None, type="deposit", amount=amount, currency=account.currency,
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
        return tx, route.provider, session.redirect_url
    transaction_settle(tx=tx, approved=False)
    raise LedgerError("No payment provider is available for this deposit right now.", code="payment_unavailable",
                      status=503)


def webhook_receive(*, provider_name: str, headers, body: bytes) -> tuple[int, dict, bytes]:
    """Verify and apply one provider callback; returns the HTTP answer the provider expects.

    Bad or missing signature → 401 and nothing changes. The same notification delivered again → acknowledged,
    nothing changes. Only the first final notification of an order counts."""
    provider = provider_get(provider_name)
    if provider is None:
        return 404, {"Content-Type": "application/json"}, b'{"code": "not_found", "detail": "Unknown provider."}'
    try:
        note = provider.parse_webhook(headers=headers, body=body)
    except InvalidSignature:
        return 401, {"Content-Type": "application/json"}, (
            b'{"code": "invalid_signature", "detail": "The notification signature is missing or wrong."}')
    except InvalidNotification as exc:
        return 400, {"Content-Type": "application/json"}, json.dumps(error_body(exc.code, exc.detail)).encode()
    tx = None
    if order_tx_id(note.order_id) is not None:
        tx = Transaction.objects.filter(pk=order_tx_id(note.order_id), type="deposit", provider=provider_name).first()
    if provider_name == "bridgerpay" and note.raw.get("type") in ("approved", "declined"):
        if not hmac.compare_digest(str(note.raw.get("payload") or ""), payload_for(note.order_id)):
            return 401, {"Content-Type": "application/json"}, (
                b'{"code": "invalid_signature", "detail": "The payload does not match the session."}')
    try:
        with transaction.atomic():
            ProviderNotification.objects.create(provider=provider_name, event_id=note.event_id[:200],
                                                order_id=note.order_id, status=note.status, payload=note.raw)
    except IntegrityError:
        return provider.webhook_ack(note)  # delivered before: acknowledge, change nothing
    if tx is None:
        log.warning("%s notification for unknown order %s", provider_name, note.order_id)
        return provider.webhook_ack(note)
    if note.is_final:
        if note.status == "approved" and (note.amount != tx.amount or (note.currency and note.currency != tx.currency)):
            log.error("%s approved order %s with a different amount; failing it for review", provider_name,
                      note.order_id)
            transaction_settle(tx=tx, approved=False, provider_reference=note.provider_reference)
        else:
            transaction_settle(tx=tx, approved=note.status == "approved",
                               provider_reference=note.provider_reference)
    return provider.webhook_ack(note)
