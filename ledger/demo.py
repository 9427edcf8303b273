"""Demo trading accounts (one per demo customer), FX rates, the sheet's approval tiers, payment routes, and
transactions."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from .models import ApprovalRule, FxRate, PaymentRoute, Transaction
from .selectors import fx_rate_is_stale
from .services import account_open, transaction_approve, transaction_create

RULES = [(Decimal("0"), Decimal("1000"), "agent"), (Decimal("1000"), Decimal("10000"), "manager"),
         (Decimal("10000"), None, "compliance")]


def seed(ctx: dict, log) -> None:
    opened = 0
    for customer in ctx["customers"]:
        if not customer.accounts.exists():
            account_open(customer=customer, currency="EUR" if customer.country in ("DE", "FR", "ES", "IT") else "USD")
            opened += 1
    log(f"{opened} trading accounts opened")
    for currency, rate in (("USD", "1"), ("EUR", "1.08"), ("GBP", "1.27")):
        obj, created = FxRate.objects.get_or_create(currency=currency,
                                                    defaults={"usd_rate": Decimal(rate), "source": "demo"})
        if not created and obj.source == "demo" and fx_rate_is_stale(obj):
            # A demo database outlives FX_RATE_MAX_AGE_HOURS without the ECB task: keep its demo rates usable.
            FxRate.objects.filter(pk=obj.pk).update(updated_at=timezone.now())
            log(f"demo FX rate {currency} refreshed")
    if not ApprovalRule.objects.exists():
        ApprovalRule.objects.bulk_create([ApprovalRule(min_amount_usd=a, max_amount_usd=b, required_role=r)
                                          for a, b, r in RULES])
    if not PaymentRoute.objects.exists():
        PaymentRoute.objects.bulk_create([
            PaymentRoute(country="", provider="sandbox", priority=100),
            PaymentRoute(country="GB", provider="bridgerpay", priority=10),
            PaymentRoute(country="DE", provider="praxis", priority=10),
        ])
    if Transaction.objects.exists():
        return
    users = ctx["users"]
    for i, customer in enumerate(ctx["customers"][:24]):
        account = customer.accounts.first()
        if account is None:
            continue
        amount = Decimal(500 + 250 * (i % 8))
        transaction_create(by=users["admin"], type="deposit", amount=amount, currency=account.currency,
                           account_login=account.login, comment="Demo deposit")
        if i % 3 == 0:
            tx, _ = transaction_create(by=users["admin"], type="withdrawal", amount=amount / 4,
                                       currency=account.currency, account_login=account.login,
                                       comment="Demo withdrawal")
            if i % 2 == 0:
                transaction_approve(tx=tx, by=users["compliance"])
    log(f"{Transaction.objects.count()} transactions")
