from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import Customer
from ledger.services import transaction_create


@pytest.fixture
def funded(demo):
    """A customer of the agent with a USD account holding exactly 1000.00 (deposited by the admin)."""
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    account = customer.accounts.first()
    account.currency = "USD"
    account.save()
    transaction_create(by=demo["admin"], type="deposit", amount=Decimal("1000.00"), currency="USD",
                       account_login=account.login)
    account.refresh_from_db()
    assert account.balance == Decimal("1000.00")
    return account
