"""Reads of the ledger for pages and APIs."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from . import conf
from .models import FxRate, Transaction, TxType


def fx_rate_is_stale(rate: FxRate) -> bool:
    """Whether transactions needing this rate are refused (see services.to_usd). USD never is."""
    if rate.currency == "USD":
        return False
    return timezone.now() - rate.updated_at > timedelta(hours=conf.FX_RATE_MAX_AGE_HOURS)


def fx_rates_overview() -> dict:
    """The rates with their freshness, and when the table last changed (for the workspace)."""
    rates = list(FxRate.objects.all())
    return {"rates": [{"rate": r, "stale": fx_rate_is_stale(r)} for r in rates],
            "last_update": max((r.updated_at for r in rates), default=None),
            "max_age_hours": conf.FX_RATE_MAX_AGE_HOURS}


def client_order_get(*, customer, tx_id: int | None, provider: str) -> Transaction | None:
    """The signed-in customer's own transaction of that provider (the client area's cashier), or None."""
    if customer is None or not tx_id:
        return None
    return Transaction.objects.filter(pk=tx_id, provider=provider, customer=customer).first()


def customer_transaction_list(*, customer) -> QuerySet[Transaction]:
    """The customer's deposits and withdrawals (with any reversal of them), newest first."""
    return (Transaction.objects.filter(customer=customer, type__in=[TxType.DEPOSIT, TxType.WITHDRAWAL])
            .select_related("account").order_by("-created_at", "-id"))


def client_money_overview(*, customer) -> dict:
    """The client area's money panel: each account with its available balance, pending withdrawal requests and
    the deposit/withdrawal history."""
    from .services import available_balance

    accounts = list(customer.accounts.all())
    history = list(customer_transaction_list(customer=customer)[:50])
    return {"money_accounts": [{"account": a, "available": available_balance(a)} for a in accounts],
            "pending_withdrawals": [t for t in history if t.type == TxType.WITHDRAWAL
                                    and t.status == "pending_approval"],
            "history": history}
