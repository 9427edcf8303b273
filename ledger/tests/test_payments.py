"""Deposits through BridgerPay and Praxis (local fake servers over real HTTP), routing, fallback, callbacks."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from ledger import conf
from ledger.models import PaymentRoute, ProviderNotification, Transaction
from ledger.providers.praxis import ACK_FIELDS, signature
from ledger.services import ledger_verify
from ledger.tests.factories import payment_customers
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, payment routes and rates, and a customer in GB, DE and FR (ledger.tests.factories)."""
    staff = demo_staff()
    payment_customers()
    return staff


def customer_client(country: str, currency: str = "USD"):
    customer = Customer.objects.filter(country=country).first()
    account = customer.accounts.first()
    account.currency = currency
    account.save()
    client = APIClient()
    session = client.session
    session["customer_id"] = customer.pk
    session.save()
    return customer, client


def deposit(client, amount="250.00", currency="USD"):
    return client.post("/api/customer/deposits", {"amount": amount, "currency": currency}, format="json")


def test_gb_routes_to_bridgerpay_and_an_approved_notification_completes_once(demo, bridgerpay):
    customer, client = customer_client("GB")
    response = deposit(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider"] == "bridgerpay" and "cashier_token=" in body["redirect_url"]
    order_id = f"D{body['transaction_id']}"
    assert bridgerpay.sessions[order_id]["payload"]  # the secret the notification must echo
    webhook = APIClient()
    for kind in ("cashier.session.init", "approved", "approved", "declined", "cashier.session.close"):
        answer = webhook.post("/api/payments/webhooks/bridgerpay", bridgerpay.notification(order_id, kind),
                              content_type="application/json")
        assert answer.status_code == 200
    tx = Transaction.objects.get(pk=body["transaction_id"])
    assert tx.status == "completed"
    assert customer.accounts.first().balance == Decimal("250.00")
    assert ledger_verify() == []


def test_bridgerpay_token_is_reused(demo, bridgerpay):
    _, client = customer_client("GB")
    deposit(client)
    deposit(client)
    assert bridgerpay.logins == 1


def test_bridgerpay_notification_without_the_payload_changes_nothing(demo, bridgerpay):
    _, client = customer_client("GB")
    tx_id = deposit(client).json()["transaction_id"]
    forged = bridgerpay.notification(f"D{tx_id}", "approved", payload="guess")
    answer = APIClient().post("/api/payments/webhooks/bridgerpay", forged, content_type="application/json")
    assert answer.status_code == 401
    assert Transaction.objects.get(pk=tx_id).status == "processing"


def test_de_routes_to_praxis_with_signed_webhooks(demo, praxis):
    customer, client = customer_client("DE", "EUR")
    body = deposit(client, "100.00", "EUR").json()
    assert body["provider"] == "praxis"
    order_id = f"D{body['transaction_id']}"
    webhook = APIClient()
    # A bad signature: 401, nothing changes.
    headers, raw = praxis.notification(order_id, "approved", secret="wrong")
    assert webhook.post("/api/payments/webhooks/praxis", raw, content_type="application/json",
                        HTTP_GT_AUTHENTICATION=headers["gt-authentication"]).status_code == 401
    headers, raw = praxis.notification(order_id, "approved", tid=7, timestamp=1700000000)
    for _ in range(5):  # the same notification delivered five times
        answer = webhook.post("/api/payments/webhooks/praxis", raw, content_type="application/json",
                              HTTP_GT_AUTHENTICATION=headers["gt-authentication"])
        assert answer.status_code == 200
        ack = json.loads(answer.content)
        assert ack["status"] == 0 and answer["gt-authentication"] == signature(ack, ACK_FIELDS, praxis.SECRET)
    # Out of order: a late "pending" and a "rejected" never move the final state back.
    for status in ("pending", "rejected"):
        headers, raw = praxis.notification(order_id, status, tid=7)
        webhook.post("/api/payments/webhooks/praxis", raw, content_type="application/json",
                     HTTP_GT_AUTHENTICATION=headers["gt-authentication"])
    assert Transaction.objects.get(pk=body["transaction_id"]).status == "completed"
    assert customer.accounts.first().balance == Decimal("100.00")
    assert ProviderNotification.objects.filter(order_id=order_id, status="approved").count() == 1


def test_missing_signature_is_401(demo, praxis):
    assert APIClient().post("/api/payments/webhooks/praxis", b"{}", content_type="application/json").status_code == 401


def test_fallback_when_the_first_provider_fails(demo, bridgerpay, praxis):
    PaymentRoute.objects.create(country="GB", provider="praxis", priority=20)
    bridgerpay.fail_with = 503
    _, client = customer_client("GB")
    body = deposit(client).json()
    assert body["provider"] == "praxis"


def test_no_provider_available_fails_the_deposit(demo, bridgerpay, monkeypatch):
    monkeypatch.setattr(conf, "SANDBOX_PAYMENTS_ENABLED", False)
    bridgerpay.fail_with = 500
    _, client = customer_client("GB")
    response = deposit(client)
    assert response.status_code == 503 and response.json()["code"] == "payment_unavailable"
    assert Transaction.objects.filter(type="deposit", status="failed").count() == 1


def test_declined_deposit_fails_without_posting(demo, praxis):
    """A Praxis rejection is one attempt (#13): the order stays open for a retry; the session's expiry fails it."""
    customer, client = customer_client("DE", "EUR")
    body = deposit(client, "10.00", "EUR").json()
    headers, raw = praxis.notification(f"D{body['transaction_id']}", "rejected")
    APIClient().post("/api/payments/webhooks/praxis", raw, content_type="application/json",
                     HTTP_GT_AUTHENTICATION=headers["gt-authentication"])
    assert Transaction.objects.get(pk=body["transaction_id"]).status == "processing"
    headers, raw = praxis.notification(f"D{body['transaction_id']}", "", expired=True)
    APIClient().post("/api/payments/webhooks/praxis", raw, content_type="application/json",
                     HTTP_GT_AUTHENTICATION=headers["gt-authentication"])
    assert Transaction.objects.get(pk=body["transaction_id"]).status == "failed"
    assert customer.accounts.first().balance == Decimal("0.00")


def test_sandbox_deposit_end_to_end_in_the_client_area(demo, client, monkeypatch):
    monkeypatch.setattr(conf, "SANDBOX_PAYMENTS_ENABLED", True)
    customer = Customer.objects.filter(country="FR").first()
    client.post("/client/login/", {"email": customer.email, "password": "demo-password"})
    body = client.post("/api/customer/deposits", {"amount": "75.00", "currency": customer.accounts.first().currency},
                       content_type="application/json").json()
    assert body.get("provider") == "sandbox", body
    assert client.get(body["redirect_url"]).status_code == 200
    client.post(body["redirect_url"], {"decision": "approve"})
    assert Transaction.objects.get(pk=body["transaction_id"]).status == "completed"
    customer.refresh_from_db()
    assert customer.finance_status in ("depositor", "vip")


def test_deposit_needs_a_customer_session(demo, client_for):
    assert client_for("admin").post("/api/customer/deposits", {"amount": "1", "currency": "USD"},
                                    format="json").status_code in (401, 403)
