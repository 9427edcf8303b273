"""In a real browser (issue #13): a customer requests and cancels a withdrawal in the client area; a manager
requests a reversal on the customer page and compliance approves it in the queue. Confirmations are accepted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import Customer
from ledger.models import TradingAccount, Transaction
from ledger.services import transaction_create
from ledger.tests.factories import customer_with_account
from teams.demo import DEMO_PASSWORD
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and a customer of the agent who signs in to the client area with the demo's password,
    committed so that the live server sees them; not the whole demo seed."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"], password=DEMO_PASSWORD)
    return staff


def test_client_withdrawal_and_staff_reversal(demo_committed, page_for, browser, live_url):
    users = demo_committed
    customer = Customer.objects.filter(assigned_to=users["agent"]).first()
    account = customer.accounts.first()
    TradingAccount.objects.filter(pk=account.pk).update(currency="USD")
    deposit, _ = transaction_create(by=users["admin"], type="deposit", amount="500.00", currency="USD",
                                    account_login=account.login)

    context = browser.new_context(base_url=live_url, bypass_csp=True)  # wait_for_function evaluates strings
    try:
        client = context.new_page()
        client.on("dialog", lambda dialog: dialog.accept())
        client.goto("/client/login/")
        client.fill("input[name=email]", customer.email)
        client.fill("input[name=password]", "demo-password")
        client.click("button[type=submit]")
        client.wait_for_url("**/client/")
        assert client.get_by_test_id("available-USD").inner_text() == "500.00"
        client.fill("[data-testid=withdraw-amount]", "120.50")
        client.click("[data-testid=withdraw]")
        client.wait_for_selector("[data-testid=pending-withdrawals] .cancel-withdrawal")
        request = Transaction.objects.get(customer=customer, type="withdrawal", requested_by_customer=True)
        assert request.amount == Decimal("120.50") and request.status == "pending_approval"
        assert client.get_by_test_id("available-USD").inner_text() == "379.50"
        client.fill("[data-testid=withdraw-amount]", "1000")
        client.click("[data-testid=withdraw]")
        client.wait_for_function("document.getElementById('withdrawal-message').textContent.length > 0")
        assert "available" in client.get_by_test_id("withdrawal-message").inner_text().lower()
        client.click(f"[data-testid=cancel-withdrawal-{request.pk}]")
        client.wait_for_function("!document.querySelector('.cancel-withdrawal')")
        assert Transaction.objects.get(pk=request.pk).status == "cancelled"
        assert "cancelled" in client.get_by_test_id("client-history").inner_text().lower()
    finally:
        context.close()

    manager = page_for("manager")
    manager.on("dialog", lambda dialog: dialog.accept())
    manager.goto(f"/customers/{customer.pk}/")
    manager.fill(f"[data-testid=reverse-reason-{deposit.pk}]", "Paid twice by the bank")
    manager.click(f"[data-testid=reverse-{deposit.pk}]")
    assert "waits for approval" in manager.inner_text(".messages")
    reversal = Transaction.objects.get(reverses=deposit)
    compliance = page_for("compliance")
    compliance.on("dialog", lambda dialog: dialog.accept())  # approving asks first (naming amount and customer)
    compliance.goto("/approvals/")
    assert f"reversal of #{deposit.pk}" in compliance.locator(f"tr[data-tx-id='{reversal.pk}']").inner_text()
    assert compliance.get_by_test_id("fx-rates").is_visible()
    compliance.click(f"[data-testid=approve-{reversal.pk}]")
    assert "approved" in compliance.inner_text(".messages")
    assert Transaction.objects.get(pk=deposit.pk).status == "reversed"
    assert TradingAccount.objects.get(pk=account.pk).balance == Decimal("0.00")
