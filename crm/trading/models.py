"""What the trading-platform bridge remembers: each account's user on the platform, each movement's deal.

They exist only while a real platform is configured (`TRADING_PLATFORM=mt5`); the simulator needs neither."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from customers.models import CustomerOwnedQuerySet


class SyncStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class SyncedRow(models.Model):
    """What every sync with the platform tracks: its status, attempts, when to try next and the last error."""

    status = models.CharField(max_length=8, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class PlatformAccount(SyncedRow):
    """The platform user behind a trading account: pending until `user/add` succeeded, failed after the retries."""

    account = models.OneToOneField("ledger.TradingAccount", on_delete=models.CASCADE, related_name="platform")
    platform = models.CharField(max_length=16)
    group = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    customer_path = "account__customer"
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="platform_account_due")]

    def __str__(self) -> str:
        return f"{self.platform} user for account #{self.account_id}: {self.status}"


class PlatformDeal(SyncedRow):
    """One completed ledger movement posted to the platform as a balance-type deal, exactly once.

    The deal's comment carries `crm:<transaction id>`, so after a lost answer the bridge finds the deal on the
    platform instead of posting it again."""

    class Leg(models.TextChoices):
        MOVE = "move"  # the movement itself
        RETURN = "return"  # money given back after the movement (a withdrawal whose payout failed)

    transaction = models.ForeignKey("ledger.Transaction", on_delete=models.PROTECT, related_name="platform_deals")
    leg = models.CharField(max_length=8, choices=Leg.choices, default=Leg.MOVE)
    account = models.ForeignKey("ledger.TradingAccount", on_delete=models.PROTECT, related_name="+")
    deal_type = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)  # signed, as posted
    ticket = models.BigIntegerField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    customer_path = "account__customer"
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="platform_deal_due")]
        constraints = [models.UniqueConstraint(fields=["transaction", "leg"], name="platform_deal_once")]

    def __str__(self) -> str:
        return f"deal for transaction #{self.transaction_id} ({self.leg}): {self.status}"

    @property
    def comment(self) -> str:
        return deal_comment(self.transaction_id, self.leg)


def deal_comment(transaction_id: int, leg: str = "move") -> str:
    return f"crm:{transaction_id}" + ("" if leg == "move" else f":{leg[0]}")
