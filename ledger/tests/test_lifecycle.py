"""The lifecycle made reachable (issue #13): the creator cancels a pending transaction; a completed one is reversed by
a linked reversing transaction under maker-checker. API and workspace."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import LedgerLine, Transaction
from ledger.services import available_balance, ledger_verify, transaction_create
from teams.models import AuditLog
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `funded` builds the agent's customer."""
    return demo_staff()
URL = "/api/backoffice/transactions"


def create(client, account, type="withdrawal", amount="100.00", **extra):
    body = {"account_login": account.login, "type": type, "amount": amount, "currency": account.currency, **extra}
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- cancel ------------------------------------------------------------------------------------------------------


def test_creator_cancels_a_pending_withdrawal_and_its_funds_are_released(client_for, funded):
    agent = client_for("agent")
    tx = create(agent, funded, amount="400.00")
    assert available_balance(funded) == Decimal("600.00")
    response = agent.post(f"{URL}/{tx['id']}/cancel", {"reason": "customer changed their mind"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled" and response.json()["reason"] == "customer changed their mind"
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00") and available_balance(funded) == Decimal("1000.00")
    assert not LedgerLine.objects.filter(transaction_id=tx["id"]).exists()
    assert AuditLog.objects.filter(action="transaction.cancelled", object_id=str(tx["id"])).exists()
    # Cancelled is final: neither a second cancel nor an approval moves it.
    assert agent.post(f"{URL}/{tx['id']}/cancel").json()["code"] == "invalid_transition"
    response = client_for("compliance").post(f"{URL}/{tx['id']}/approve")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_only_the_creator_cancels_and_only_while_pending(client_for, funded):
    tx = create(client_for("agent"), funded, amount="100.00")
    for persona in ("compliance", "manager", "admin"):  # approvers reject; they do not cancel others' requests
        response = client_for(persona).post(f"{URL}/{tx['id']}/cancel")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", persona
    assert client_for("compliance").post(f"{URL}/{tx['id']}/approve").status_code == 200
    response = client_for("agent").post(f"{URL}/{tx['id']}/cancel")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert Transaction.objects.get(pk=tx["id"]).status == "payout_pending"  # approved: its payout is next


def test_cancel_outside_the_view_scope_is_404(client_for, funded, demo):
    tx = create(client_for("agent"), funded, amount="100.00")
    assert client_for("agent2").post(f"{URL}/{tx['id']}/cancel").status_code == 404


# --- reverse -----------------------------------------------------------------------------------------------------


def test_a_deposit_is_reversed_by_a_linked_transaction_once_approved(client_for, funded):
    original = Transaction.objects.filter(account=funded, type="deposit").get()
    manager = client_for("manager")
    response = manager.post(f"{URL}/{original.pk}/reverse", {"reason": "paid twice by the bank"}, format="json")
    assert response.status_code == 201, response.content
    reversal = response.json()
    assert reversal["status"] == "pending_approval" and reversal["reverses"] == original.pk
    assert reversal["type"] == "deposit" and reversal["amount"] == "1000.00"
    assert reversal["required_role"] == "manager"  # the tier of 1,000 USD
    # Nothing moves before the approval, but the amount is reserved: a withdrawal of it is refused meanwhile.
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00") and available_balance(funded) == Decimal("0.00")
    response = client_for("admin").post(URL, {"account_login": funded.login, "type": "withdrawal", "amount": "1.00",
                                              "currency": "USD"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"
    # Maker-checker: the manager who asked cannot approve; an agent is below the tier.
    assert manager.post(f"{URL}/{reversal['id']}/approve").json()["code"] == "maker_checker"
    assert client_for("agent").post(f"{URL}/{reversal['id']}/approve").json()["code"] == "approval_level_insufficient"
    response = client_for("compliance").post(f"{URL}/{reversal['id']}/approve")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    original.refresh_from_db()
    funded.refresh_from_db()
    assert original.status == "reversed" and funded.balance == Decimal("0.00")
    lines = {(line.book, line.amount) for line in LedgerLine.objects.filter(transaction_id=reversal["id"])}
    assert lines == {("balance", Decimal("-1000.00")), ("house:cash", Decimal("1000.00"))}
    assert ledger_verify() == []
    assert {"transaction.reversal_requested", "transaction.reversed"} <= set(
        original.customer.activities.values_list("verb", flat=True))
    # Reversed is final, and a reversal cannot itself be reversed.
    for target in (original.pk, reversal["id"]):
        response = manager.post(f"{URL}/{target}/reverse", {"reason": "again"}, format="json")
        assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_a_withdrawal_reversal_gives_the_money_back(client_for, funded):
    tx = create(client_for("agent"), funded, amount="300.00")
    client_for("compliance").post(f"{URL}/{tx['id']}/approve")
    # Only a completed withdrawal is reversed: it was paid out first.
    assert client_for("compliance").post(f"{URL}/{tx['id']}/payout", {"reference": "BANK-300"},
                                         format="json").status_code == 200
    reversal = client_for("manager").post(f"{URL}/{tx['id']}/reverse", {"reason": "bank returned it"},
                                          format="json").json()
    funded.refresh_from_db()
    assert funded.balance == Decimal("700.00") and available_balance(funded) == Decimal("700.00")  # no reservation
    assert client_for("compliance").post(f"{URL}/{reversal['id']}/approve").status_code == 200
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00")
    assert Transaction.objects.get(pk=tx["id"]).status == "reversed"
    assert ledger_verify() == []


def test_one_live_reversal_at_a_time_and_a_rejected_one_leaves_room(client_for, funded):
    original = Transaction.objects.filter(account=funded, type="deposit").get()
    manager, compliance = client_for("manager"), client_for("compliance")
    first = manager.post(f"{URL}/{original.pk}/reverse", {"reason": "duplicate"}, format="json").json()
    response = compliance.post(f"{URL}/{original.pk}/reverse", {"reason": "duplicate"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert f"#{first['id']}" in response.json()["detail"]
    compliance.post(f"{URL}/{first['id']}/reject", {"reason": "not a duplicate"}, format="json")
    second = compliance.post(f"{URL}/{original.pk}/reverse", {"reason": "duplicate after all"}, format="json")
    assert second.status_code == 201
    # Its creator may also withdraw the request.
    assert compliance.post(f"{URL}/{second.json()['id']}/cancel").json()["status"] == "cancelled"
    assert Transaction.objects.get(pk=original.pk).status == "completed"


def test_reverse_needs_a_reason_the_permission_and_a_completed_transaction(client_for, funded):
    original = Transaction.objects.filter(account=funded, type="deposit").get()
    response = client_for("agent").post(f"{URL}/{original.pk}/reverse", {"reason": "x"}, format="json")
    assert response.status_code == 403  # agents lack finance.create_adjustment
    response = client_for("manager").post(f"{URL}/{original.pk}/reverse", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    pending = create(client_for("agent"), funded, amount="10.00")
    response = client_for("manager").post(f"{URL}/{pending['id']}/reverse", {"reason": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_a_deposit_already_spent_cannot_be_reversed(client_for, funded):
    tx = create(client_for("agent"), funded, amount="600.00")
    client_for("compliance").post(f"{URL}/{tx['id']}/approve")
    original = Transaction.objects.filter(account=funded, type="deposit").get()
    response = client_for("manager").post(f"{URL}/{original.pk}/reverse", {"reason": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"


# --- workspace ---------------------------------------------------------------------------------------------------


def test_workspace_rows_cancel_and_reverse(client, demo, funded):
    from django.test import Client

    tx, _ = transaction_create(by=demo["manager"], type="withdrawal", amount="50.00", currency="USD",
                               account_login=funded.login)
    original = Transaction.objects.filter(account=funded, type="deposit").get()
    page = Client()
    page.force_login(demo["manager"])
    detail = f"/customers/{funded.customer_id}/"
    html = page.get(detail).content.decode()
    assert f'data-testid="cancel-{tx.pk}"' in html and f'data-testid="reverse-{original.pk}"' in html
    assert "data-confirm=" in html  # the confirmation step (static/js/workspace.js asks before submitting)
    response = page.post(f"/transactions/{tx.pk}/cancel", {"next": detail})
    assert response.status_code == 302 and response["Location"] == detail
    assert Transaction.objects.get(pk=tx.pk).status == "cancelled"
    page.post(f"/transactions/{original.pk}/reverse", {"reason": "duplicate", "next": "https://evil.example/"})
    reversal = Transaction.objects.get(reverses=original)
    assert reversal.status == "pending_approval" and reversal.reason == "duplicate"
    # The approver sees it in the queue as a reversal and approves it there.
    approver = Client()
    approver.force_login(demo["compliance"])
    queue = approver.get("/approvals/").content.decode()
    assert f"reversal of #{original.pk}" in queue
    approver.post(f"/approvals/{reversal.pk}/approve")
    assert Transaction.objects.get(pk=original.pk).status == "reversed"
    # An agent without finance.create_adjustment sees no reverse form.
    agent = Client()
    agent.force_login(demo["agent"])
    html = agent.get(detail).content.decode()
    assert 'data-testid="reverse-' not in html
