"""Issue #10, escalation in the books: rejecting needs the approving level and records the rejecter; the approval
form knows only its two verbs; a frozen customer leaves `frozen` only through the reasoned, audited unfreeze."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from customers.models import Customer
from ledger.models import Transaction
from ledger.services import transaction_create
from teams.models import AuditLog
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `funded` builds its customer of the agent."""
    return demo_staff()
URL = "/api/backoffice/transactions"


@pytest.fixture
def big_withdrawal(funded, demo):
    """A compliance-tier withdrawal of the agent's customer, pending approval (created by the admin)."""
    transaction_create(by=demo["admin"], type="deposit", amount=Decimal("20000.00"), currency="USD",
                       account_login=funded.login)
    tx, _ = transaction_create(by=demo["admin"], type="withdrawal", amount=Decimal("12000.00"), currency="USD",
                               account_login=funded.login)
    assert tx.status == "pending_approval" and tx.required_role == "compliance"
    return tx


def test_agent_level_approver_cannot_reject_a_compliance_tier_withdrawal(client_for, big_withdrawal):
    response = client_for("agent").post(f"{URL}/{big_withdrawal.pk}/reject", {"reason": "no"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "approval_level_insufficient"
    response = client_for("manager").post(f"{URL}/{big_withdrawal.pk}/reject", {"reason": "no"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "approval_level_insufficient"
    tx = Transaction.objects.get(pk=big_withdrawal.pk)
    assert tx.status == "pending_approval" and tx.approved_by is None and tx.rejected_by is None


def test_rejecter_is_recorded_as_rejected_by_not_approved_by(client_for, big_withdrawal, demo):
    response = client_for("compliance").post(f"{URL}/{big_withdrawal.pk}/reject", {"reason": "Docs missing"},
                                             format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected" and body["rejected_by"] == "compliance@demo.test"
    assert body["approved_by"] is None
    tx = Transaction.objects.get(pk=big_withdrawal.pk)
    assert tx.rejected_by == demo["compliance"] and tx.approved_by is None
    assert AuditLog.objects.get(action="transaction.rejected", object_id=str(tx.pk)).actor == demo["compliance"]


def test_workspace_reject_needs_the_level_too(demo, big_withdrawal):
    client = Client()
    client.force_login(demo["agent"])
    client.post(f"/approvals/{big_withdrawal.pk}/reject", {"reason": "no"})
    assert Transaction.objects.get(pk=big_withdrawal.pk).status == "pending_approval"


@pytest.mark.parametrize("verb", ["cancel", "APPROVE", "approve ", "delete", "x"])
def test_workspace_approval_form_accepts_only_its_two_verbs(demo, big_withdrawal, verb):
    client = Client()
    client.force_login(demo["compliance"])
    response = client.post(f"/approvals/{big_withdrawal.pk}/{verb}", {"reason": "looks odd"})
    assert response.status_code == 400
    tx = Transaction.objects.get(pk=big_withdrawal.pk)
    assert tx.status == "pending_approval" and tx.rejected_by is None and tx.approved_by is None


# --- unfreeze --------------------------------------------------------------------------------------------------


@pytest.fixture
def frozen(client_for, funded):
    """The agent's customer, frozen by a chargeback that left the balance negative."""
    response = client_for("admin").post(URL, {"account_login": funded.login, "type": "chargeback",
                                              "amount": "1200.00", "currency": "USD"}, format="json")
    assert response.status_code == 201
    customer = Customer.objects.get(pk=funded.customer_id)
    assert customer.finance_status == "frozen"
    return customer


@pytest.mark.parametrize("to", ["depositor", "no_deposit"])
@pytest.mark.parametrize("persona", ["admin", "compliance"])
def test_generic_transition_never_leaves_frozen(client_for, frozen, persona, to):
    response = client_for(persona).post(f"/api/crm/customers/{frozen.pk}/transitions",
                                        {"pipeline": "finance", "to": to}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert "unfreeze" in response.json()["detail"]
    assert Customer.objects.get(pk=frozen.pk).finance_status == "frozen"


def test_workspace_transition_button_never_leaves_frozen_and_the_page_offers_the_reasoned_unfreeze(demo, frozen):
    compliance = Client()
    compliance.force_login(demo["compliance"])
    page = compliance.get(f"/customers/{frozen.pk}/").content.decode()
    assert 'data-testid="unfreeze-form"' in page and 'name="reason"' in page
    assert 'data-testid="move-finance-depositor"' not in page
    assert 'data-testid="move-finance-no_deposit"' not in page
    # The old button's request, forged: refused.
    compliance.post(f"/customers/{frozen.pk}/transition", {"pipeline": "finance", "to": "depositor"})
    assert Customer.objects.get(pk=frozen.pk).finance_status == "frozen"
    # The unfreeze form without a reason: refused.
    compliance.post(f"/customers/{frozen.pk}/unfreeze", {"reason": "  "})
    assert Customer.objects.get(pk=frozen.pk).finance_status == "frozen"
    # With a reason: unfrozen and audited.
    compliance.post(f"/customers/{frozen.pk}/unfreeze", {"reason": "Chargeback settled with the bank"})
    assert Customer.objects.get(pk=frozen.pk).finance_status == "depositor"
    entry = AuditLog.objects.get(action="customer.unfrozen", object_id=str(frozen.pk))
    assert entry.actor == demo["compliance"] and entry.after["reason"] == "Chargeback settled with the bank"


def test_those_not_allowed_see_no_unfreeze_form_and_cannot_post_it(demo, frozen):
    manager = Client()
    manager.force_login(demo["manager"])  # sees the customer, lacks pipelines.change_finance_status
    page = manager.get(f"/customers/{frozen.pk}/").content.decode()
    assert 'data-testid="unfreeze-form"' not in page
    manager.post(f"/customers/{frozen.pk}/unfreeze", {"reason": "please"})
    assert Customer.objects.get(pk=frozen.pk).finance_status == "frozen"


def test_unfreeze_endpoint_refuses_a_customer_that_is_not_frozen(client_for, funded):
    response = client_for("compliance").post(f"/api/backoffice/customers/{funded.customer_id}/unfreeze",
                                             {"reason": "just because"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert not AuditLog.objects.filter(action="customer.unfrozen").exists()
