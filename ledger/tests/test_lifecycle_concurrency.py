"""Lifecycle races on PostgreSQL (issue #13): concurrent reversal requests, cancel against approve."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer
from ledger.models import TradingAccount, Transaction
from ledger.services import (
    LedgerError,
    ledger_verify,
    transaction_approve,
    transaction_cancel,
    transaction_create,
    transaction_reverse,
)
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and a customer of the agent with an account, committed so that the threads see them."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"])
    return staff


def race(*calls):
    """Run the calls at the same moment, each in its own thread and database connection; returns outcomes."""
    barrier = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i):
        try:
            barrier.wait()
            out[i] = calls[i]()
        except LedgerError as exc:
            out[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return out


@pytest.fixture
def deposit(demo_committed):
    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).first()
    account = customer.accounts.first()
    TradingAccount.objects.filter(pk=account.pk).update(currency="USD")
    tx, _ = transaction_create(by=demo_committed["admin"], type="deposit", amount="500.00", currency="USD",
                               account_login=account.login)
    return tx


def test_concurrent_reversal_requests_one_wins(deposit, demo_committed):
    users = [demo_committed[name] for name in ("manager", "compliance", "admin", "manager")]
    outcomes = race(*[lambda u=u: transaction_reverse(tx=deposit, by=u, reason="duplicate") for u in users])
    winners = [o for o in outcomes if isinstance(o, Transaction)]
    assert len(winners) == 1 and sorted(o for o in outcomes if isinstance(o, str)) == ["invalid_transition"] * 3
    assert Transaction.objects.filter(reverses=deposit).count() == 1
    approver = demo_committed["admin" if winners[0].created_by_id != demo_committed["admin"].pk else "compliance"]
    transaction_approve(tx=winners[0], by=approver)
    account = TradingAccount.objects.get(pk=deposit.account_id)
    assert account.balance == Decimal("0.00") and ledger_verify() == []


def test_cancel_racing_an_approval_is_all_or_nothing(deposit, demo_committed):
    for _ in range(3):
        tx, _ = transaction_create(by=demo_committed["agent"], type="withdrawal", amount="10.00", currency="USD",
                                   account_login=deposit.account.login)
        outcomes = race(lambda tx=tx: transaction_cancel(tx=tx, by=demo_committed["agent"]),
                        lambda tx=tx: transaction_approve(tx=tx, by=demo_committed["compliance"]))
        assert sum(isinstance(o, Transaction) for o in outcomes) == 1
        assert "invalid_transition" in outcomes
        final = Transaction.objects.get(pk=tx.pk)
        # An approved withdrawal is debited at once and awaits its payout.
        assert final.status in ("cancelled", "payout_pending")
        assert final.lines.exists() == (final.status == "payout_pending")
    assert ledger_verify() == []
