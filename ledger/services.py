"""Writes of the ledger. Money moves only through these functions."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from .models import LOGIN_OFFSET, TradingAccount


@transaction.atomic
def account_open(*, customer, currency: str = "USD") -> TradingAccount:
    """Open a trading account for `customer`; its login is derived from its id (unique, never reused)."""
    account = TradingAccount.objects.create(customer=customer, currency=currency.upper())
    account.login = LOGIN_OFFSET + account.pk
    TradingAccount.objects.filter(pk=account.pk).update(login=account.login)
    return account


@transaction.atomic
def accounts_open_bulk(*, customers: list, currency_for=lambda customer: "USD") -> list[TradingAccount]:
    """Open one trading account per customer in two statements (bulk imports): insert, then derive logins."""
    accounts = TradingAccount.objects.bulk_create(
        [TradingAccount(customer=c, currency=currency_for(c).upper()) for c in customers]
    )
    ids = [a.pk for a in accounts]
    TradingAccount.objects.filter(pk__in=ids).update(login=F("id") + LOGIN_OFFSET)
    for account in accounts:
        account.login = LOGIN_OFFSET + account.pk
    return accounts
