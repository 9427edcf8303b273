"""Issue #13: an approved withdrawal goes out through a payout step (manual with a reference, or BridgerPay's
payout API); it completes only when paid out, a failed payout returns the funds, every step is idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ledger.models import LedgerLine, Payout, Transaction
from ledger.services import available_balance, ledger_verify
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `funded` builds the agent's customer."""
    return demo_staff()
URL = "/api/backoffice/transactions"


def approved_withdrawal(client_for, account, amount="100.00"):
    created = client_for("agent").post(URL, {"account_login": account.login, "type": "withdrawal",
                                             "amount": amount, "currency": "USD"}, format="json")
    assert created.status_code == 201, created.content
    tx_id = created.json()["id"]
    approved = client_for("compliance").post(f"{URL}/{tx_id}/approve")
    assert approved.status_code == 200, approved.content
    return tx_id, approved.json()


def books(tx_id):
    return {(line.book, line.amount) for line in LedgerLine.objects.filter(transaction_id=tx_id)}


def test_approved_withdrawal_waits_for_its_payout(client_for, funded):
    tx_id, body = approved_withdrawal(client_for, funded)
    assert body["status"] == "payout_pending" and body["payout"]["status"] == "pending"
    assert body["payout"]["method"] == "manual"
    funded.refresh_from_db()
    # Debited at approval (into the clearing book), so it cannot be spent twice; not counted twice either.
    assert funded.balance == Decimal("900.00") and available_balance(funded) == Decimal("900.00")
    assert books(tx_id) == {("balance", Decimal("-100.00")), ("house:payouts", Decimal("100.00"))}
    assert ledger_verify() == []


def test_manual_payout_with_a_reference_completes_once(client_for, funded):
    tx_id, _ = approved_withdrawal(client_for, funded)
    finance = client_for("compliance")
    for _ in range(2):  # a double click
        response = finance.post(f"{URL}/{tx_id}/payout", {"reference": "BANK-REF-1"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "completed" and response.json()["payout"]["reference"] == "BANK-REF-1"
    funded.refresh_from_db()
    assert funded.balance == Decimal("900.00")
    assert LedgerLine.objects.filter(transaction_id=tx_id).count() == 4
    assert sum(line.amount for line in LedgerLine.objects.filter(transaction_id=tx_id, book="house:payouts")) == 0
    assert ledger_verify() == []
    response = finance.post(f"{URL}/{tx_id}/payout", {"outcome": "failed", "reason": "late"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_failed_payout_returns_the_funds(client_for, funded):
    tx_id, _ = approved_withdrawal(client_for, funded, "300.00")
    finance = client_for("compliance")
    for _ in range(2):
        response = finance.post(f"{URL}/{tx_id}/payout", {"outcome": "failed", "reason": "IBAN closed"},
                                format="json")
        assert response.status_code == 200 and response.json()["status"] == "failed"
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00") and available_balance(funded) == Decimal("1000.00")
    lines = LedgerLine.objects.filter(transaction_id=tx_id)
    assert lines.count() == 4 and sum(line.amount for line in lines) == 0
    assert Transaction.objects.get(pk=tx_id).reason == "IBAN closed"
    assert ledger_verify() == []
    response = finance.post(f"{URL}/{tx_id}/payout", {"reference": "X"}, format="json")
    assert response.status_code == 409


def test_payout_input_errors(client_for, funded):
    tx_id, _ = approved_withdrawal(client_for, funded)
    finance = client_for("compliance")
    response = finance.post(f"{URL}/{tx_id}/payout", {"reference": "  "}, format="json")
    assert response.status_code == 400 and "reference" in response.json()["fields"]
    response = finance.post(f"{URL}/{tx_id}/payout", {"outcome": "failed"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    deposit = client_for("admin").post(URL, {"account_login": funded.login, "type": "deposit", "amount": "5.00",
                                             "currency": "USD"}, format="json").json()
    response = finance.post(f"{URL}/{deposit['id']}/payout", {"reference": "X"}, format="json")
    assert response.status_code == 409


def test_bridgerpay_payout_settles_from_its_notification(client_for, funded, bridgerpay):
    tx_id, _ = approved_withdrawal(client_for, funded, "250.00")
    finance = client_for("compliance")
    request = {"provider": "bridgerpay", "psp": "PspName", "payout_method_type": "bank_account",
               "metadata": {"bankAccountNumber": "12345678", "bankName": "Bank"}}
    for _ in range(2):  # sending twice sends once
        response = finance.post(f"{URL}/{tx_id}/payout", request, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "payout_pending" and response.json()["payout"]["method"] == "bridgerpay"
    sent = bridgerpay.payouts[f"W{tx_id}"]
    assert sent["amount"] == 250.0 and sent["provider"] == "PspName" and sent["currency"] == "USD"
    webhook = APIClient()
    forged = bridgerpay.payout_notification(f"W{tx_id}", "declined").replace(
        sent["result"]["transaction_id"].encode(), b"someone-else")
    webhook.post("/api/payments/webhooks/bridgerpay", forged, content_type="application/json")
    assert Transaction.objects.get(pk=tx_id).status == "payout_pending"
    for _ in range(3):  # webhook replays
        answer = webhook.post("/api/payments/webhooks/bridgerpay", bridgerpay.payout_notification(f"W{tx_id}",
                              "approved"), content_type="application/json")
        assert answer.status_code == 200
    tx = Transaction.objects.get(pk=tx_id)
    assert tx.status == "completed" and tx.payout.status == "paid"
    funded.refresh_from_db()
    assert funded.balance == Decimal("750.00")
    assert ledger_verify() == []


def test_bridgerpay_payout_declined_returns_the_funds(client_for, funded, bridgerpay):
    tx_id, _ = approved_withdrawal(client_for, funded, "250.00")
    client_for("compliance").post(f"{URL}/{tx_id}/payout", {"provider": "bridgerpay", "psp": "PspName",
                                                             "payout_method_type": "bank_account",
                                                             "metadata": {}}, format="json")
    APIClient().post("/api/payments/webhooks/bridgerpay", bridgerpay.payout_notification(f"W{tx_id}", "declined"),
                     content_type="application/json")
    tx = Transaction.objects.get(pk=tx_id)
    assert tx.status == "failed" and tx.payout.status == "failed"
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00")
    assert ledger_verify() == []


def test_bridgerpay_refusing_the_payout_leaves_it_manual(client_for, funded, bridgerpay):
    tx_id, _ = approved_withdrawal(client_for, funded)
    finance = client_for("compliance")
    response = finance.post(f"{URL}/{tx_id}/payout", {"provider": "bridgerpay"}, format="json")
    assert response.status_code == 400 and "psp" in response.json()["fields"]
    bridgerpay.fail_with = 400
    response = finance.post(f"{URL}/{tx_id}/payout", {"provider": "bridgerpay", "psp": "PspName",
                                                      "payout_method_type": "bank_account"}, format="json")
    assert response.status_code == 503 and response.json()["code"] == "payout_provider_error"
    assert Payout.objects.get(transaction_id=tx_id).method == "manual"
    assert client_for("compliance").post(f"{URL}/{tx_id}/payout", {"reference": "BANK-2"},
                                         format="json").json()["status"] == "completed"
