from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import conf
from ledger.tests.factories import customer_with_account, funded_account

from .fakes import FakeBridgerPay, FakePraxis


@pytest.fixture
def funded(demo):
    """A new GB customer of the agent with a USD account holding exactly 1000.00 (deposited by the admin); works
    with the whole demo seed and with the demo's staff only (teams.tests.factories.demo_staff)."""
    account = funded_account(customer_with_account("GB", assigned_to=demo["agent"], n=7), by=demo["admin"])
    assert account.balance == Decimal("1000.00")
    return account


@pytest.fixture
def bridgerpay(monkeypatch):
    fake = FakeBridgerPay()
    for key, value in {"BRIDGERPAY_API_URL": fake.url, "BRIDGERPAY_USER_NAME": fake.USER,
                       "BRIDGERPAY_PASSWORD": fake.PASSWORD, "BRIDGERPAY_API_KEY": fake.API_KEY,
                       "BRIDGERPAY_CASHIER_KEY": fake.CASHIER_KEY}.items():
        monkeypatch.setattr(conf, key, value)
    yield fake
    fake.close()


@pytest.fixture
def praxis(monkeypatch):
    fake = FakePraxis()
    for key, value in {"PRAXIS_API_URL": fake.url, "PRAXIS_MERCHANT_ID": fake.MERCHANT,
                       "PRAXIS_APPLICATION_KEY": fake.APP, "PRAXIS_SECRET": fake.SECRET}.items():
        monkeypatch.setattr(conf, key, value)
    yield fake
    fake.close()
