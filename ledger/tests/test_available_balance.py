"""`available_balance` (fixed SQL, issue #16) sums exactly what the rule says: pending guarded debits, and pending
reversals of balance credits, of this account only; nothing completed, rejected or cancelled, no other account."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Q, Sum

from ledger.models import Transaction, TxStatus
from ledger.services import BALANCE_CREDITS, PENDING_DEBIT_STATES, available_balance
from ledger.tests.factories import customer_with_account, funded_account
from ledger.types import GUARDED_DEBITS, TYPES
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


def _rule(account) -> Decimal:
    """The rule as an ORM query (what the service computed before its SQL was fixed)."""
    debits = Q(type__in=GUARDED_DEBITS, reverses__isnull=True) | Q(type__in=BALANCE_CREDITS, reverses__isnull=False)
    pending = Transaction.objects.filter(debits, account=account, status__in=PENDING_DEBIT_STATES).aggregate(
        total=Sum("amount"))["total"]
    return account.balance - (pending or Decimal("0"))


def test_available_balance_is_the_rule_for_every_type_and_state():
    staff = demo_staff()
    account = funded_account(customer_with_account("GB", n=11), by=staff["admin"], amount="5000.00")
    other = funded_account(customer_with_account("GB", n=12), by=staff["admin"], amount="5000.00")
    assert available_balance(account) == Decimal("5000.00") == _rule(account)
    amount = Decimal("1.00")

    def original(target):  # a reversal's original (each is reversed at most once)
        return Transaction.objects.create(account=target, customer=target.customer, type="deposit", amount=amount,
                                          currency="USD", amount_usd=amount, status="completed")

    for type_ in sorted(TYPES):
        for status in TxStatus.values:
            for target in (account, other):
                amount += Decimal("1.01")
                Transaction.objects.create(account=target, customer=target.customer, type=type_, amount=amount,
                                           currency="USD", amount_usd=amount, status=status,
                                           reverses=original(target) if type_ in BALANCE_CREDITS
                                           and amount % 2 > 1 else None)
    expected = _rule(account)
    assert Decimal("0") < account.balance - expected < account.balance  # some pending debits, not all rows
    assert available_balance(account) == expected
    assert available_balance(other) == _rule(other)
