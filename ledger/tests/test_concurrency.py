"""Money under concurrency, with real concurrent HTTP requests to a live server on PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from ledger.models import TradingAccount, Transaction
from ledger.services import ledger_verify, transaction_approve, transaction_create
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff (who log in to the live server with the demo's password) and a customer of the agent with
    an account, committed so that the live server and the threads see them; not the whole demo seed."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"])
    return staff


def token(base, email):
    return httpx.post(f"{base}/api/auth/token", json={"email": email, "password": "demo-password"}).json()["token"]


def concurrently(n, fn):
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return out


@pytest.fixture
def account_1000(demo_committed):
    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).first()
    account = customer.accounts.first()
    TradingAccount.objects.filter(pk=account.pk).update(currency="USD")
    transaction_create(by=demo_committed["admin"], type="deposit", amount="1000.00", currency="USD",
                       account_login=account.login)
    return TradingAccount.objects.get(pk=account.pk)


def test_twelve_concurrent_withdrawals_of_a_fifth(live_url, account_1000, demo_committed):
    headers = {"Authorization": f"Token {token(live_url, 'admin@demo.test')}"}

    def withdraw(i):
        return httpx.post(f"{live_url}/api/backoffice/transactions", headers=headers, timeout=30, json={
            "account_login": account_1000.login, "type": "withdrawal", "amount": "200.00", "currency": "USD"})

    responses = concurrently(12, withdraw)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 5 and codes.count(409) == 7, codes
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    # Approve them all (compliance), concurrently too: all five are paid, the balance ends at exactly zero.
    comp = {"Authorization": f"Token {token(live_url, 'compliance@demo.test')}"}
    ids = [r.json()["id"] for r in responses if r.status_code == 201]
    approvals = concurrently(len(ids), lambda i: httpx.post(
        f"{live_url}/api/backoffice/transactions/{ids[i]}/approve", headers=comp, timeout=30))
    assert [a.status_code for a in approvals] == [200] * 5
    account_1000.refresh_from_db()
    assert account_1000.balance == Decimal("0.00")
    assert ledger_verify() == []


def test_two_concurrent_approvals_one_wins(live_url, account_1000, demo_committed):
    tx, _ = transaction_create(by=demo_committed["agent"], type="withdrawal", amount="100.00", currency="USD",
                               account_login=account_1000.login)
    headers = [{"Authorization": f"Token {token(live_url, e)}"} for e in ("compliance@demo.test", "admin@demo.test")]
    responses = concurrently(2, lambda i: httpx.post(
        f"{live_url}/api/backoffice/transactions/{tx.pk}/approve", headers=headers[i], timeout=30))
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert Transaction.objects.get(pk=tx.pk).status == "payout_pending"  # debited; paid out next (#13)
    account_1000.refresh_from_db()
    assert account_1000.balance == Decimal("900.00")


def test_idempotency_key_under_concurrency(live_url, account_1000, demo_committed):
    headers = {"Authorization": f"Token {token(live_url, 'admin@demo.test')}"}
    body = {"account_login": account_1000.login, "type": "deposit", "amount": "50.00", "currency": "USD",
            "idempotency_key": "same-key"}
    responses = concurrently(6, lambda i: httpx.post(f"{live_url}/api/backoffice/transactions", headers=headers,
                                                     json=body, timeout=30))
    assert len({r.json()["id"] for r in responses}) == 1
    account_1000.refresh_from_db()
    assert account_1000.balance == Decimal("1050.00")


OPS = st.lists(
    st.tuples(st.sampled_from(["deposit", "withdrawal", "credit_in", "credit_out", "bonus_in", "bonus_out",
                               "correction_in", "correction_out", "ib_payment", "chargeback",
                               "chargeback_reversal", "transfer_in", "transfer_out", "fee", "refund"]),
              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
              st.booleans()),
    min_size=50, max_size=120,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS)
def test_randomized_mixed_transactions_keep_the_books(demo_committed_once, ops):
    """Thousands of mixed transactions in all (25 runs × up to 120): the ledger always verifies."""
    from ledger.services import LedgerError

    admin, compliance = demo_committed_once["admin"], demo_committed_once["compliance"]
    account = TradingAccount.objects.order_by("pk").first()
    for type_, amount, approve in ops:
        try:
            tx, _ = transaction_create(by=admin, type=type_, amount=amount, currency=account.currency,
                                       account_login=account.login)
            if tx.status == "pending_approval" and approve:
                transaction_approve(tx=tx, by=compliance)
        except LedgerError as error:
            assert error.code in ("insufficient_funds", "account_frozen")
    assert ledger_verify() == []
    account.refresh_from_db()
    assert account.balance >= 0 or account.customer.finance_status == "frozen"


@pytest.fixture
def demo_committed_once(demo_committed):
    return demo_committed
