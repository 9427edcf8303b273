"""Writes of the ledger. Money moves only through these functions."""

from __future__ import annotations

from django.db import transaction

from .models import LOGIN_OFFSET, TradingAccount


@transaction.atomic
def account_open(*, customer, currency: str = "USD") -> TradingAccount:
    """Open a trading account for `customer`; its login is derived from its id (unique, never reused)."""
    account = TradingAccount.objects.create(customer=customer, currency=currency.upper())
    account.login = LOGIN_OFFSET + account.pk
    TradingAccount.objects.filter(pk=account.pk).update(login=account.login)
    return account
