"""Reconciliation: what the payment providers reported (stored notifications and attempts) against the ledger.

`payments_reconcile()` lists every mismatch, one `Mismatch` per finding, of four kinds:

- `missing`: the provider reported money for an order the ledger has no transaction for (an unknown order id, or
  a refund / chargeback notification with no linked refund / chargeback transaction);
- `status`: the provider approved a deposit the ledger did not complete (failed, or still processing), or the
  ledger completed a provider deposit no approval was received for; a payout the provider approved or declined
  that the ledger did not settle the same way; a deposit still processing a day after it started;
- `amount`: a completed deposit (or a refund / chargeback) whose amount differs from what the provider reported;
- `duplicate`: more than one approved attempt on one order (the customer paid twice, one was credited), or more
  than one ledger transaction for one provider event.

Only final facts count: a provider's pending attempts are not reported. Sandbox deposits are checked like the
others (their notifications are stored the same way)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from .models import PaymentAttempt, Payout, ProviderNotification, Transaction, TxStatus, TxType

PROVIDERS = ("bridgerpay", "praxis", "sandbox")
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing, status, amount, duplicate
    provider: str
    order_id: str
    transaction_id: int | None
    detail: str

    def __str__(self) -> str:
        tx = f"#{self.transaction_id}" if self.transaction_id else "-"
        return f"{self.kind:<9} {self.provider:<10} {self.order_id:<12} {tx:<8} {self.detail}"


def _amount(value) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def _approvals(provider: str | None) -> dict[tuple[str, str], list[tuple[str, Decimal | None]]]:
    """(provider, order id) → the approved payments reported: [(attempt or event id, amount)]."""
    approvals: dict[tuple[str, str], list] = defaultdict(list)
    attempts = PaymentAttempt.objects.filter(status="approved")
    notes = ProviderNotification.objects.filter(status="approved").exclude(provider="praxis")
    if provider:
        attempts, notes = attempts.filter(provider=provider), notes.filter(provider=provider)
    for attempt in attempts:
        approvals[(attempt.provider, attempt.order_id)].append((attempt.tid, attempt.amount))
    for note in notes:
        if note.order_id.startswith("W"):
            continue  # payouts: checked with the payouts
        approvals[(note.provider, note.order_id)].append((note.event_id, _amount(note.payload.get("amount"))))
    return approvals


def _deposit_for(order_id: str, provider: str) -> Transaction | None:
    if order_id.startswith("D") and order_id[1:].isdigit():
        return Transaction.objects.filter(pk=int(order_id[1:]), type=TxType.DEPOSIT, provider=provider).first()
    return None


def payments_reconcile(*, provider: str | None = None, now=None) -> list[Mismatch]:
    """Every mismatch between the providers' reports and the ledger (see the module docstring)."""
    now = now or timezone.now()
    found: list[Mismatch] = []
    approvals = _approvals(provider)

    # 1. Approved payments → a completed deposit of that amount, once.
    for (prov, order_id), approved in sorted(approvals.items()):
        tx = _deposit_for(order_id, prov)
        if tx is None:
            found.append(Mismatch("missing", prov, order_id, None, "approved by the provider; no such deposit"))
            continue
        if len(approved) > 1 and prov == "praxis":
            found.append(Mismatch("duplicate", prov, order_id, tx.pk,
                                  f"{len(approved)} approved attempts ({', '.join(a for a, _ in approved)}); "
                                  f"one deposit credited"))
        if tx.status != TxStatus.COMPLETED:
            found.append(Mismatch("status", prov, order_id, tx.pk, f"approved by the provider; ledger {tx.status}"))
            continue
        first_amount = approved[0][1]
        if first_amount is not None and first_amount != tx.amount:
            found.append(Mismatch("amount", prov, order_id, tx.pk,
                                  f"provider {first_amount} {tx.currency}; ledger {tx.amount}"))

    # 2. Provider deposits the ledger completed without an approval, or left processing.
    deposits = Transaction.objects.filter(type=TxType.DEPOSIT, provider__in=[provider] if provider else PROVIDERS)
    found.extend(Mismatch("status", tx.provider, f"D{tx.pk}", tx.pk,
                          "completed in the ledger; no approval from the provider")
                 for tx in deposits.filter(status=TxStatus.COMPLETED).exclude(provider="")
                 if not approvals.get((tx.provider, f"D{tx.pk}")))
    found.extend(Mismatch("status", tx.provider, f"D{tx.pk}", tx.pk,
                          f"still processing since {tx.created_at:%Y-%m-%d %H:%M}; no final answer")
                 for tx in deposits.filter(status=TxStatus.PROCESSING, created_at__lt=now - STALE_AFTER))

    # 3. Refunds and chargebacks reported → their linked transactions, with the same amount, once.
    notes = ProviderNotification.objects.filter(status__in=("refunded", "chargeback"))
    if provider:
        notes = notes.filter(provider=provider)
    expected: dict[tuple[str, str, str], tuple[str, Decimal | None, str]] = {}
    for note in notes:
        raw = note.payload or {}
        ref_id = raw.get("tid") or raw.get("charge_id")
        if not ref_id:
            continue
        kind = "chargeback" if note.status == "chargeback" else "refund"
        expected[(note.provider, note.order_id, f"{kind}:{ref_id}")] = (kind, _amount(_reported_amount(note)),
                                                                       note.order_id)
    for (prov, order_id, reference), (kind, amount, _) in sorted(expected.items()):
        deposit = _deposit_for(order_id, prov)
        if deposit is None:
            found.append(Mismatch("missing", prov, order_id, None, f"{kind} reported; no such deposit"))
            continue
        posted = list(Transaction.objects.filter(related=deposit, type=kind, provider_reference=reference[:120]))
        if not posted:
            found.append(Mismatch("missing", prov, order_id, deposit.pk,
                                  f"{kind} {amount or ''} reported ({reference}); no {kind} transaction"))
        elif amount is not None and posted[0].amount != amount:
            found.append(Mismatch("amount", prov, order_id, posted[0].pk,
                                  f"{kind}: provider {amount}; ledger {posted[0].amount}"))
    duplicates = (Transaction.objects.filter(type__in=(TxType.REFUND, TxType.CHARGEBACK), related__isnull=False)
                  .exclude(provider_reference="").values("related_id", "type", "provider_reference", "provider")
                  .annotate(n=Count("id")).filter(n__gt=1))
    found.extend(Mismatch("duplicate", row["provider"], f"D{row['related_id']}", row["related_id"],
                          f"{row['n']} {row['type']} transactions for {row['provider_reference']}")
                 for row in duplicates)

    # 4. Payouts: the provider's final word against the payout and the withdrawal.
    payouts = Payout.objects.exclude(method=Payout.Method.MANUAL).select_related("transaction")
    if provider:
        payouts = payouts.filter(method=provider)
    for payout in payouts:
        reported = set(ProviderNotification.objects.filter(provider=payout.method, order_id=payout.order_id)
                       .values_list("status", flat=True)) & {"approved", "declined"}
        want = {"approved": Payout.Status.PAID, "declined": Payout.Status.FAILED}
        found.extend(Mismatch("status", payout.method, payout.order_id, payout.transaction_id,
                              f"payout {status} by the provider; ledger payout {payout.status}, "
                              f"withdrawal {payout.transaction.status}")
                     for status in reported if payout.status != want[status])
    for payout in Payout.objects.select_related("transaction"):
        tx_status = payout.transaction.status
        if (payout.status == Payout.Status.PAID and tx_status != TxStatus.COMPLETED) or (
                payout.status == Payout.Status.FAILED and tx_status != TxStatus.FAILED):
            found.append(Mismatch("status", payout.method, payout.order_id, payout.transaction_id,
                                  f"payout {payout.status}; withdrawal {tx_status}"))
    return found


def _reported_amount(note: ProviderNotification):
    raw = note.payload or {}
    if note.provider == "praxis" and raw.get("amount") is not None:
        from .currencies import from_minor

        return from_minor(raw["amount"], raw.get("currency") or "")
    return raw.get("amount")
