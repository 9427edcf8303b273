from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

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

    class Meta:
        ordering = ["login"]

    def __str__(self) -> str:
        return f"{self.login} ({self.currency})"
