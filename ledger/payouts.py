"""Payouts: how an approved withdrawal's money leaves, and the only way a withdrawal completes.

Lifecycle: `pending_approval → approved → payout_pending → completed | failed`.

- On approval (services.transaction_approve) the debit is posted at once — balance −A against the clearing book
  `house:payouts` +A — so the money cannot be traded or withdrawn twice while it is on its way; the withdrawal
  waits in `payout_pending` with a `Payout` row (method `manual` by default).
- Paid (a finance user records the bank reference, or the provider confirms): `house:payouts` −A /
  `house:cash` +A, the withdrawal completes.
- Failed (a finance user says so, or the provider declines): the debit is reversed by lines on the same
  transaction — balance +A / `house:payouts` −A — and the withdrawal fails with the reason: the funds are back.
- Through BridgerPay where its docs define a payout call (providers.bridgerpay, create-payout); its `approved` /
  `declined` notification for the payout's order id settles it. Praxis documents payouts only as customer requests
  made inside its cashier, so withdrawals created here are paid out manually there.

Every step locks the withdrawal and is idempotent: paying twice (double click, webhook replay) or failing twice
changes nothing the second time; paying a failed payout, or failing a paid one, is `409 invalid_transition`."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokercrm.actors import SYSTEM, actor_check, actor_user
from brokercrm.errors import DomainError
from brokercrm.events import event_emit
from customers.services import activity_record
from teams.services import audit_record

from .models import LedgerLine, Payout, TradingAccount, Transaction, TxStatus, TxType
from .services import (
    LedgerError,
    LedgerInvalidTransition,
    LedgerPermissionDenied,
    PaymentUnavailable,
    PayoutProviderError,
    _after_completion,
    _lock,
)

CLEARING = "house:payouts"
log = logging.getLogger(__name__)


def _lines(tx: Transaction, account: TradingAccount, balance_delta: Decimal, house: list[tuple[str, Decimal]]) -> None:
    """Write lines for `tx` (summing to zero) and move the account's balance (caller holds its row lock)."""
    assert balance_delta + sum(amount for _, amount in house) == 0
    lines = [LedgerLine(transaction=tx, account=None, book=book, amount=amount, currency=tx.currency)
             for book, amount in house]
    if balance_delta:
        lines.append(LedgerLine(transaction=tx, account=account, book="balance", amount=balance_delta,
                                currency=tx.currency))
        TradingAccount.objects.filter(pk=account.pk).update(balance=F("balance") + balance_delta)
    LedgerLine.objects.bulk_create(lines)
    account.refresh_from_db(fields=["balance", "credit"])


def _activity(tx: Transaction, verb: str, summary: str, by, **data) -> None:
    activity_record(customer=tx.customer, verb=verb, by=by, summary=summary,
                    data={"transaction_id": tx.pk, "amount": str(tx.amount), "currency": tx.currency, **data})


def payout_open(*, tx: Transaction, account: TradingAccount, by) -> Payout:
    """Called by transaction_approve inside its transaction (withdrawal and account locked): post the debit into
    the clearing book and open a manual payout."""
    tx.payout_start()
    tx.save()
    _lines(tx, account, -tx.amount, [(CLEARING, tx.amount)])
    payout = Payout.objects.create(transaction=tx, order_id=f"W{tx.pk}", created_by=actor_user(by))
    _activity(tx, "withdrawal.payout_pending", f"withdrawal {tx.amount} {tx.currency} approved, awaiting payout "
              f"(#{tx.pk})", by)
    # The balance moved now (not at completion): the trading-platform bridge takes the money off the platform.
    event_emit("withdrawal.debited", {"transaction_id": tx.pk, "customer_id": tx.customer_id,
                                      "amount": str(tx.amount), "currency": tx.currency})
    return payout


def _locked(tx: Transaction, by) -> tuple[Transaction, Payout]:
    tx = _lock(tx, by)
    if tx.type != TxType.WITHDRAWAL:
        raise LedgerInvalidTransition("Only withdrawals are paid out.")
    payout = Payout.objects.select_for_update().filter(transaction=tx).first()
    if payout is None:
        raise LedgerInvalidTransition(f"The withdrawal is {tx.status}, not awaiting payout.")
    return tx, payout


def _check_permission(by) -> None:
    actor_check(by)
    if not by.holds("finance.approve_transactions"):
        raise LedgerPermissionDenied("Paying out needs finance.approve_transactions.")


@transaction.atomic
def payout_complete(*, tx: Transaction, by, reference: str, raw: dict | None = None) -> Transaction:
    """The money went out (`reference`: the bank or provider reference): clear the payout, complete the
    withdrawal. Repeats return the completed withdrawal unchanged."""
    _check_permission(by)
    reference = (reference or "").strip()
    if not reference:
        raise LedgerError("A payout reference is required.", fields={"reference": ["The bank or provider reference."]})
    tx, payout = _locked(tx, by)
    if payout.status == Payout.Status.PAID:
        return tx
    if payout.status == Payout.Status.FAILED or tx.status != TxStatus.PAYOUT_PENDING:
        raise LedgerInvalidTransition(f"The payout has {payout.status}; the withdrawal is {tx.status}.")
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    _lines(tx, account, Decimal("0"), [(CLEARING, -tx.amount), ("house:cash", tx.amount)])
    payout.status, payout.reference, payout.completed_by = Payout.Status.PAID, reference[:200], actor_user(by)
    payout.completed_at = timezone.now()
    if raw:
        payout.raw = {**payout.raw, "outcome": raw}
    payout.save()
    tx.complete()
    tx.completed_at = timezone.now()
    tx.save()
    _after_completion(tx, account, by)
    _audit(by, tx, "withdrawal.paid_out", reference=reference)
    return tx


@transaction.atomic
def payout_fail(*, tx: Transaction, by, reason: str, raw: dict | None = None) -> Transaction:
    """The payout did not go through: reverse the debit (linked lines on the withdrawal), fail the withdrawal with
    the reason. The funds are available again. Repeats return the failed withdrawal unchanged."""
    _check_permission(by)
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("A reason is required.", fields={"reason": ["Say why the payout failed."]})
    tx, payout = _locked(tx, by)
    if payout.status == Payout.Status.FAILED:
        return tx
    if payout.status == Payout.Status.PAID or tx.status != TxStatus.PAYOUT_PENDING:
        raise LedgerInvalidTransition(f"The payout has {payout.status}; the withdrawal is {tx.status}.")
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    _lines(tx, account, tx.amount, [(CLEARING, -tx.amount)])
    payout.status, payout.reason, payout.completed_by = Payout.Status.FAILED, reason[:500], actor_user(by)
    payout.completed_at = timezone.now()
    if raw:
        payout.raw = {**payout.raw, "outcome": raw}
    payout.save()
    tx.fail()
    tx.reason = reason[:500]
    tx.save()
    _activity(tx, "withdrawal.payout_failed", f"payout of withdrawal #{tx.pk} failed; {tx.amount} {tx.currency} "
              f"returned to the balance", by, reason=reason)
    event_emit("transaction.failed", {"transaction_id": tx.pk, "customer_id": tx.customer_id, "type": tx.type,
                                      "amount": str(tx.amount), "currency": tx.currency})
    _audit(by, tx, "withdrawal.payout_failed", reason=reason)
    return tx


def _audit(by, tx: Transaction, action: str, **after) -> None:
    if by is SYSTEM:
        return

    audit_record(by=by, action=action, obj=tx, before={"status": TxStatus.PAYOUT_PENDING},
                 after={"status": tx.status, "amount": str(tx.amount), "currency": tx.currency, **after})


def payout_via_provider(*, tx: Transaction, by, provider: str, psp: str, method_type: str,
                        metadata: dict) -> Transaction:
    """Send a pending payout through a provider's payout API (BridgerPay create-payout). The provider's final
    notification settles it (payout_apply_notification). Calling it again for a payout already sent does nothing.

    Steps: claim the payout for the provider under the lock (commit) → call the provider → on a refusal give the
    claim back (the payout stays manual) and raise 503 payout_provider_error."""
    from .payments import provider_get
    from .providers.base import ProviderError

    _check_permission(by)
    if provider != Payout.Method.BRIDGERPAY:
        raise LedgerError("Payouts through that provider are not supported.",
                          fields={"provider": ["bridgerpay, or pay out manually."]})
    client = provider_get(provider)
    if client is None:
        raise PaymentUnavailable("BridgerPay is not configured.")
    with transaction.atomic():
        tx, payout = _locked(tx, by)
        if payout.method == Payout.Method.BRIDGERPAY or payout.status != Payout.Status.PENDING:
            return tx
        payout.method = Payout.Method.BRIDGERPAY
        payout.save(update_fields=["method"])
    try:
        result = client.create_payout(order_id=payout.order_id, amount=tx.amount, currency=tx.currency,
                                      country=tx.customer.country, psp=psp, method_type=method_type,
                                      metadata=metadata)
    except ProviderError as exc:
        Payout.objects.filter(pk=payout.pk, status=Payout.Status.PENDING).update(method=Payout.Method.MANUAL)
        raise PayoutProviderError(f"BridgerPay refused the payout: {exc}") from None
    Payout.objects.filter(pk=payout.pk).update(
        raw={"request": {"psp": psp, "method_type": method_type}, "result": result},
        reference=str(result.get("id") or "")[:200])
    _activity(tx, "withdrawal.payout_sent", f"payout of withdrawal #{tx.pk} sent to BridgerPay", by,
              provider_id=str(result.get("id") or ""))
    return tx


def payout_apply_notification(*, provider: str, note) -> None:
    """A provider's final word on a payout we sent. Accepted only for a payout sent through that provider whose
    provider id matches and whose amount matches (BridgerPay signs nothing; see providers.bridgerpay)."""
    payout = Payout.objects.filter(order_id=note.order_id, method=provider).select_related("transaction").first()
    if payout is None:
        return
    result = (payout.raw or {}).get("result") or {}
    known = {str(result.get("id") or ""), str(result.get("transaction_id") or "")} - {""}
    if note.provider_reference not in known:
        return
    if note.amount is not None and Decimal(note.amount) != payout.transaction.amount:
        return
    raw = {"provider": provider, "status": note.status, "reference": note.provider_reference}
    try:
        if note.status == "approved":
            payout_complete(tx=payout.transaction, by=SYSTEM, reference=note.provider_reference, raw=raw)
        elif note.status == "declined":
            payout_fail(tx=payout.transaction, by=SYSTEM, reason=f"{provider} declined the payout", raw=raw)
    except DomainError as error:
        # Settled the other way already (e.g. marked failed by hand): keep the ledger, let reconciliation report it.
        log.error("%s payout %s %s, but: %s", provider, note.order_id, note.status, error.detail)
