"""Factories of ledger's models (factory-boy). Accounts and transactions go through ledger's services, so logins,
ledger lines and balances are what production writes (no row is inserted behind the ledger's back)."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from customers.tests.factories import CustomerFactory, valid_phone
from ledger.models import FxRate, PaymentRoute, TradingAccount, Transaction
from ledger.services import account_open, fx_rate_set, transaction_create
from teams.demo import DEMO_PASSWORD
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


EURO_COUNTRIES = ("DE", "FR", "ES", "IT")


def payment_routes() -> None:
    """The demo's payment routes: GB → BridgerPay, DE → Praxis, any other country → the sandbox."""
    PaymentRoute.objects.bulk_create([PaymentRoute(country="", provider="sandbox", priority=100),
                                      PaymentRoute(country="GB", provider="bridgerpay", priority=10),
                                      PaymentRoute(country="DE", provider="praxis", priority=10)])


def demo_rates() -> None:
    """The demo's FX rates besides USD = 1 (which a migration creates): EUR 1.08, GBP 1.27."""
    FxRateFactory(currency="EUR", usd_rate=Decimal("1.08"))
    FxRateFactory(currency="GBP", usd_rate=Decimal("1.27"))


def customer_with_account(country: str = "GB", currency: str | None = None, n: int = 1, **kwargs):
    """A customer of `country` with a valid mobile number and one empty trading account, in EUR for the euro
    countries and USD otherwise (as the demo opens them) unless `currency` is given."""
    customer = CustomerFactory(country=country, phone=valid_phone(country, n), **kwargs)
    TradingAccountFactory(customer=customer, currency=currency or ("EUR" if country in EURO_COUNTRIES else "USD"))
    return customer


def funded_account(customer, by, amount: Decimal | str = "1000.00", currency: str = "USD") -> TradingAccount:
    """`customer`'s first account, switched to `currency` and funded with a completed deposit of `amount` by `by`."""
    account = customer.accounts.first()
    account.currency = currency
    account.save()
    transaction_create(by=by, type="deposit", amount=Decimal(amount), currency=currency, account_login=account.login)
    account.refresh_from_db()
    return account


def payment_customers() -> dict[str, object]:
    """What deposits through the providers need: the demo's routes and rates, and one empty-account customer in GB
    (BridgerPay, USD), DE (Praxis, EUR) and FR (the sandbox, EUR), who log in to the client area with the demo's
    password."""
    payment_routes()
    demo_rates()
    return {country: customer_with_account(country, n=n, password=DEMO_PASSWORD)
            for n, country in enumerate(("GB", "DE", "FR"), start=1)}
