from __future__ import annotations

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from brokercrm.fsm import StateFieldsOnce
from customers.models import CustomerOwnedQuerySet

MONEY = {"max_digits": 18, "decimal_places": 2}
LOGIN_OFFSET = 5_000_000


class TradingAccount(models.Model):
    """A customer's account on the trading platform: login, currency, balance and credit (kept equal to its lines)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="accounts")
    login = models.BigIntegerField(unique=True, null=True, editable=False)
    currency = models.CharField(max_length=3, default="USD")
    balance = models.DecimalField(**MONEY, default=Decimal("0.00"))
    credit = models.DecimalField(**MONEY, default=Decimal("0.00"))
    created_at = models.DateTimeField(default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["login"]

    def __str__(self) -> str:
        return f"{self.login} ({self.currency})"


class TxType(models.TextChoices):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    CREDIT_IN = "credit_in"
    CREDIT_OUT = "credit_out"
    BONUS_IN = "bonus_in"
    BONUS_OUT = "bonus_out"
    CORRECTION_IN = "correction_in"
    CORRECTION_OUT = "correction_out"
    IB_PAYMENT = "ib_payment"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSAL = "chargeback_reversal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    FEE = "fee"
    REFUND = "refund"


class TxStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REVERSED = "reversed"
    # An approved withdrawal whose debit is posted (balance → house:payouts) and whose money is on its way out:
    # it completes when the payout is confirmed and fails (funds returned) when the payout fails.
    PAYOUT_PENDING = "payout_pending"


class FxRate(models.Model):
    """How many US dollars one unit of `currency` is worth; approval thresholds compare in USD."""

    currency = models.CharField(max_length=3, unique=True)
    usd_rate = models.DecimalField(max_digits=18, decimal_places=8)
    updated_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, default="manual", help_text="manual, ecb or default")
    as_of = models.DateField(null=True, blank=True, help_text="The source's reference date (ECB: the rates' day).")

    class Meta:
        ordering = ["currency"]
        constraints = [models.CheckConstraint(condition=Q(usd_rate__gt=0), name="fx_rate_positive")]

    def __str__(self) -> str:
        return f"{self.currency}={self.usd_rate} USD"


class ApprovalRule(models.Model):
    """An amount band (USD, [min, max)) and the approval level an approver needs for it."""

    min_amount_usd = models.DecimalField(**MONEY)
    max_amount_usd = models.DecimalField(**MONEY, null=True, blank=True)
    required_role = models.CharField(max_length=12)

    class Meta:
        ordering = ["min_amount_usd"]

    def __str__(self) -> str:
        return f"{self.min_amount_usd}–{self.max_amount_usd or '∞'}: {self.required_role}"


class Transaction(StateFieldsOnce, ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """One money movement on one trading account. Never edited or deleted: a correction is a new transaction.

    Its ledger lines are written in the same database transaction as the move to `completed`."""

    # Indexed by tx_account_status (account first); the references below that are mostly unset by their partial
    # indexes: every posting writes a row into each index of this table.
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="transactions",
                                db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="transactions")
    type = models.CharField(max_length=24, choices=TxType.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    amount_usd = models.DecimalField(**MONEY)
    status = FSMField(default=TxStatus.PENDING_APPROVAL, choices=TxStatus.choices, protected=True, max_length=20)
    required_role = models.CharField(max_length=12, blank=True)
    comment = models.CharField(max_length=500, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    # NULL = no key: the partial unique constraint tx_idempotency_unique holds only for keys that are set.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    provider = models.CharField(max_length=20, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    related = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    # A reversal has the original's type and amount and the opposite effect (ledger.services.transaction_reverse).
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    requested_by_customer = models.BooleanField(default=False, help_text="Requested in the client area.")
    # Set when a provider settled another amount than requested (Praxis: the final `transaction.amount`
    # is what is credited): `amount` is then what was credited, `requested_amount` what was asked.
    requested_amount = models.DecimalField(**MONEY, null=True, blank=True)
    amount_mismatch = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="tx_amount_positive",
                                   violation_error_message="Amounts are positive; the type gives the direction."),
            models.UniqueConstraint(fields=["created_by", "idempotency_key"], name="tx_idempotency_unique",
                                    condition=Q(idempotency_key__isnull=False)),
            # At most one live reversal per transaction: a rejected or cancelled one leaves room for another.
            models.UniqueConstraint(fields=["reverses"], name="tx_reversed_once",
                                    condition=Q(reverses__isnull=False)
                                    & ~Q(status__in=["rejected", "cancelled", "failed"])),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="tx_account_status"),
            # Set on few rows (approvals, rejections, linked payments): only those rows are indexed, and
            # a lookup by one of these columns (`= value`) implies it is set, so it still uses its index.
            *(models.Index(fields=[name], name=f"tx_{name}_set", condition=Q(**{f"{name}__isnull": False}))
              for name in ("approved_by", "rejected_by", "related")),
        ]
        triggers = [pgtrigger.Protect(name="tx_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} {self.currency} (#{self.pk}, {self.status})"

    S = TxStatus

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.APPROVED)
    def approve(self) -> None:
        """Guards only; ledger.services.transaction_approve decides and posts."""

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=[S.PENDING_APPROVAL, S.APPROVED], target=S.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=[S.APPROVED, S.PENDING_APPROVAL], target=S.PROCESSING)
    def process(self) -> None:
        pass

    @transition(field=status, source=S.APPROVED, target=S.PAYOUT_PENDING)
    def payout_start(self) -> None:
        """Guards only; ledger.payouts posts the debit and starts the payout."""

    @transition(field=status, source=[S.APPROVED, S.PROCESSING, S.PAYOUT_PENDING], target=S.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=status, source=[S.APPROVED, S.PROCESSING, S.PAYOUT_PENDING], target=S.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=S.COMPLETED, target=S.REVERSED)
    def reverse(self) -> None:
        pass


class LedgerLine(models.Model):
    """One side of a double-entry posting. Every completed transaction writes lines that sum to zero.

    A line is on a trading account's `balance` or `credit`, or on a house book (`house:cash`, `house:bonus`, …).
    Append-only: the database refuses UPDATE and DELETE."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(TradingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="lines",
                                db_index=False)  # indexed by line_account_book (account first)
    book = models.CharField(max_length=32, help_text="balance, credit, or a house book such as house:cash")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    customer_path = "account__customer"  # house-book lines (no account) are in no staff scope
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account", "book"], name="line_account_book")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(account__isnull=False) & Q(book__in=["balance", "credit"]))
                | (Q(account__isnull=True) & Q(book__startswith="house:")),
                name="line_book_matches_account",
            ),
        ]
        triggers = [pgtrigger.Protect(name="line_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.book} {self.amount} {self.currency}"


class PaymentRoute(models.Model):
    """Which provider takes a deposit: by country (and optionally currency and amount band), by priority."""

    class Provider(models.TextChoices):
        BRIDGERPAY = "bridgerpay"
        PRAXIS = "praxis"
        SANDBOX = "sandbox"

    country = models.CharField(max_length=2, blank=True, help_text="ISO code; blank matches every country.")
    currency = models.CharField(max_length=3, blank=True)
    min_amount = models.DecimalField(**MONEY, null=True, blank=True)
    max_amount = models.DecimalField(**MONEY, null=True, blank=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    priority = models.PositiveSmallIntegerField(default=10, help_text="Lower first; the next one is the fallback.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.country or '*'} {self.currency or '*'} → {self.provider} (p{self.priority})"


class ProviderNotification(models.Model):
    """Every provider callback received, for idempotency (event_id unique) and the audit trail."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    order_id = models.CharField(max_length=120, db_index=True)
    status = models.CharField(max_length=30)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="notification_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.order_id} {self.status}"


class PaymentAttempt(models.Model):
    """One provider attempt (`tid` for Praxis) on a deposit order; an order may carry several, and completes on its
    first approved one. The latest known status, amount and raw notification are kept for reconciliation."""

    provider = models.CharField(max_length=20)
    order_id = models.CharField(max_length=120, db_index=True)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="attempts")
    tid = models.CharField(max_length=120)
    status = models.CharField(max_length=30)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    raw = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    customer_path = "transaction__customer"
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["provider", "tid"], name="attempt_once_per_tid")]

    def __str__(self) -> str:
        return f"{self.provider} {self.order_id} tid {self.tid}: {self.status}"


class Payout(models.Model):
    """How an approved withdrawal's money goes out: through a provider's payout API or by hand (a finance user
    records the bank reference). One per withdrawal; its outcome completes or fails the withdrawal."""

    class Method(models.TextChoices):
        MANUAL = "manual"
        BRIDGERPAY = "bridgerpay"

    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        FAILED = "failed"

    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="payout")
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    order_id = models.CharField(max_length=120, unique=True)
    reference = models.CharField(max_length=200, blank=True, help_text="Bank or provider reference of the payment.")
    reason = models.CharField(max_length=500, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    customer_path = "transaction__customer"
    objects = CustomerOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"payout {self.order_id} ({self.method}, {self.status})"
