"""Compliance approves in the browser: the queue and its forms enforce the same rules as the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import Customer
from ledger.models import Transaction
from ledger.services import transaction_create
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff (who log in) and a customer of the agent with a USD account, committed so that the live
    server sees them; not the whole demo seed."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"])
    return staff


def test_compliance_approves_and_rejects_in_the_queue(demo_committed, page_for):
    users = demo_committed
    customer = Customer.objects.filter(assigned_to=users["agent"]).first()
    account = customer.accounts.first()
    transaction_create(by=users["admin"], type="deposit", amount="20000.00", currency=account.currency,
                       account_login=account.login)
    big, _ = transaction_create(by=users["agent"], type="withdrawal", amount="12000.00", currency=account.currency,
                                account_login=account.login)
    small, _ = transaction_create(by=users["agent"], type="withdrawal", amount="50.00", currency=account.currency,
                                  account_login=account.login)
    own, _ = transaction_create(by=users["manager"], type="withdrawal", amount="60.00",
                                currency=account.currency, account_login=account.login)

    manager = page_for("manager")
    manager.goto("/approvals/")
    # Issue #14: no Approve button on a row the viewer cannot approve; the reason is said instead, before any click.
    assert manager.locator(f"[data-testid=approve-{big.pk}]").count() == 0
    assert "needs compliance approval" in manager.get_by_test_id(f"cannot-decide-{big.pk}").inner_text()
    assert Transaction.objects.get(pk=big.pk).status == "pending_approval"

    page = page_for("compliance")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.goto("/approvals/")
    row = page.locator(f"tr[data-tx-id='{big.pk}']")
    assert "12000.00" in row.inner_text() and "Compliance" in row.inner_text()
    page.click(f"[data-testid=approve-{big.pk}]")
    assert "approved" in page.inner_text(".messages")
    assert "12000.00" in asked[-1] and customer.last_name in asked[-1]
    # The manager created `own`: the manager may not approve it (maker-checker).
    manager.goto("/approvals/")
    assert manager.locator(f"[data-testid=approve-{own.pk}]").count() == 0
    assert "maker-checker" in manager.get_by_test_id(f"cannot-decide-{own.pk}").inner_text()
    page.goto("/approvals/")
    page.fill(f"tr[data-tx-id='{small.pk}'] input[name=reason]", "Documents missing")
    page.click(f"[data-testid=reject-{small.pk}]")
    statuses = dict(Transaction.objects.filter(pk__in=[big.pk, small.pk, own.pk]).values_list("pk", "status"))
    assert statuses == {big.pk: "payout_pending", small.pk: "rejected", own.pk: "pending_approval"}
    account.refresh_from_db()
    assert account.balance == Decimal("8000.00")
    # The approved withdrawal awaits its payout (#13): finance records the bank reference.
    page.goto("/approvals/")
    page.fill(f"tr[data-payout-id='{big.pk}'] input[name=reference]", "SEPA-2026-11-25-001")
    page.click(f"[data-testid=paid-{big.pk}]")
    assert "paid out" in page.inner_text(".messages")
    assert Transaction.objects.get(pk=big.pk).status == "completed"
    assert Transaction.objects.get(pk=big.pk).payout.reference == "SEPA-2026-11-25-001"
