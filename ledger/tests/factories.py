"""Factories of ledger's models (factory-boy). Accounts and transactions go through ledger's services, so logins,
ledger lines and balances are what production writes (no row is inserted behind the ledger's back)."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.tests.factories import CustomerFactory
from ledger.models import FxRate, TradingAccount, Transaction
from ledger.services import account_open, fx_rate_set, transaction_create
from teams.tests.factories import RoleFactory, UserFactory


class FxRateFactory(DjangoModelFactory):
    """A fresh USD rate for a currency (`fx_rate_set`)."""

    class Meta:
        model = FxRate

    currency = "EUR"
    usd_rate = Decimal("1.08")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return fx_rate_set(currency=kwargs["currency"], usd_rate=kwargs["usd_rate"], source="manual")


class TradingAccountFactory(DjangoModelFactory):
    class Meta:
        model = TradingAccount

    customer = factory.SubFactory(CustomerFactory)
    currency = "USD"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return account_open(customer=kwargs["customer"], currency=kwargs["currency"])


class TransactionFactory(DjangoModelFactory):
    """A transaction through `transaction_create` (by an admin-role user unless `by` is given): a deposit of 100 in
    the account's currency completes at once."""

    class Meta:
        model = Transaction

    account = factory.SubFactory(TradingAccountFactory)
    type = "deposit"
    amount = Decimal("100.00")
    by = factory.LazyFunction(lambda: UserFactory(role=RoleFactory(admin=True)))
    comment = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        account = kwargs["account"]
        tx, _ = transaction_create(by=kwargs["by"], type=kwargs["type"], amount=kwargs["amount"],
                                   currency=kwargs.get("currency", account.currency), account_login=account.login,
                                   comment=kwargs["comment"])
        return tx
