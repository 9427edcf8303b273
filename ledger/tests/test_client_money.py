"""The client area's money (issue #13): withdrawal requests, history, cancelling one's own pending request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from ledger.models import Transaction
from ledger.services import available_balance, transaction_create
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and another customer with an account (`funded` builds the agent's customer)."""
    staff = demo_staff()
    customer_with_account("DE", n=2)
    return staff


def customer_client(customer) -> APIClient:
    client = APIClient()
    session = client.session
    session["customer_id"] = customer.pk
    session.save()
    return client


@pytest.fixture
def me(funded):
    return customer_client(funded.customer)


def withdraw(client, amount="250.00", currency="USD"):
    return client.post("/api/customer/withdrawals", {"amount": amount, "currency": currency}, format="json")


def test_request_a_withdrawal_then_cancel_it(me, funded, client_for):
    response = withdraw(me)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"transaction_id", "status"} and body["status"] == "pending_approval"
    tx = Transaction.objects.get(pk=body["transaction_id"])
    assert tx.requested_by_customer and tx.created_by is None and tx.type == "withdrawal"
    assert tx.required_role == "agent" and available_balance(funded) == Decimal("750.00")
    # Staff see it in their list like any other request.
    staff = client_for("compliance").get("/api/backoffice/transactions", {"status": "pending_approval"}).json()
    assert any(t["id"] == tx.pk and t["requested_by_customer"] for t in staff["results"])
    response = me.post(f"/api/customer/withdrawals/{tx.pk}/cancel")
    assert response.status_code == 200 and response.json() == {"transaction_id": tx.pk, "status": "cancelled"}
    assert available_balance(funded) == Decimal("1000.00")
    assert me.post(f"/api/customer/withdrawals/{tx.pk}/cancel").json()["code"] == "invalid_transition"


def test_an_approved_request_can_no_longer_be_cancelled(me, client_for):
    tx_id = withdraw(me, "100.00").json()["transaction_id"]
    assert client_for("agent").post(f"/api/backoffice/transactions/{tx_id}/approve").status_code == 200
    response = me.post(f"/api/customer/withdrawals/{tx_id}/cancel")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_a_customer_cancels_only_their_own_requests(me, funded, demo):
    staff_made, _ = transaction_create(by=demo["admin"], type="withdrawal", amount="10.00", currency="USD",
                                       account_login=funded.login)
    other = Customer.objects.exclude(pk=funded.customer_id).filter(accounts__isnull=False).first()
    theirs = withdraw(customer_client(other), "1.00", other.accounts.first().currency)
    for tx_id in (staff_made.pk, theirs.json().get("transaction_id", 0) if theirs.status_code == 201 else 0, 999999):
        response = me.post(f"/api/customer/withdrawals/{tx_id}/cancel")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Transaction.objects.get(pk=staff_made.pk).status == "pending_approval"


def test_insufficient_available_balance_is_409(me, funded):
    assert withdraw(me, "900.00").status_code == 201
    response = withdraw(me, "100.01")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"


def test_a_frozen_customer_cannot_withdraw(me, funded):
    Customer.objects.filter(pk=funded.customer_id).update(finance_status="frozen")
    response = withdraw(me, "10.00")
    assert response.status_code == 409 and response.json()["code"] == "account_frozen"


@pytest.mark.parametrize("amount,currency", [
    ("abc", "USD"), ("-5", "USD"), ("0", "USD"), ("0.00", "USD"), ("1.001", "USD"), ("NaN", "USD"),
    ("Infinity", "USD"), ("1e20", "USD"), ("", "USD"), ("10", "GBP"), ("10", "US"), ("10", ""),
])
def test_bad_amounts_and_currencies_are_400(me, amount, currency):
    response = withdraw(me, amount, currency)
    assert response.status_code == 400, (amount, currency, response.content)
    assert response.json()["code"] == "validation_error"
    assert not Transaction.objects.filter(type="withdrawal", requested_by_customer=True).exists()


def test_without_a_customer_session(client_for, api, funded):
    assert withdraw(api).status_code in (401, 403)
    assert withdraw(client_for("admin")).status_code in (401, 403)  # staff are not customers
    assert api.get("/api/customer/transactions").status_code in (401, 403)


def test_history_lists_own_deposits_and_withdrawals_with_statuses(me, funded, demo):
    pending = withdraw(me, "20.00").json()["transaction_id"]
    transaction_create(by=demo["admin"], type="bonus_in", amount="5.00", currency="USD", account_login=funded.login)
    response = me.get("/api/customer/transactions")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["type"], r["status"], r["amount"]) for r in rows] == [
        ("withdrawal", "pending_approval", "20.00"), ("deposit", "completed", "1000.00")]
    assert rows[0]["id"] == pending and rows[0]["cancellable"] is True and rows[1]["cancellable"] is False
    assert "created_by" not in rows[0] and "comment" not in rows[0]  # no staff details for customers
    other = Customer.objects.exclude(pk=funded.customer_id).first()
    assert all(r["id"] != pending for r in customer_client(other).get("/api/customer/transactions").json()["results"])


def test_the_client_page_shows_available_pending_and_history(funded, client):
    withdraw(customer_client(funded.customer), "300.00")
    session = client.session
    session["customer_id"] = funded.customer_id
    session.save()
    html = client.get("/client/").content.decode()
    assert 'data-testid="available-USD">700.00' in html
    assert 'data-testid="pending-withdrawals"' in html and "300.00 USD" in html
    assert 'data-endpoint="/api/customer/withdrawals"' in html and "cancel-withdrawal-" in html
    assert 'data-testid="client-history"' in html and "1000.00 USD" in html
