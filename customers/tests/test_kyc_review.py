"""KYC review (issue #17): approve/reject with reasons, the pipeline rule, four-eyes, expiry with a controlled
clock (task for compliance, `kyc.expiring` workflow message), and the money gates (409 kyc_required)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from customers.kyc.models import KycDocument, KycSettings
from customers.kyc.services import kyc_expiry_scan
from teams.models import AuditLog
from teams.tests.factories import demo_staff

from .kyc_support import customer_client, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `kyc_customer` builds the agent's customer."""
    return demo_staff()


def upload(client, customer, kind, content_type="application/pdf", **extra):
    r = client.post(f"/api/crm/customers/{customer.pk}/documents",
                    {"file": sample(content_type), "kind": kind, **extra}, format="multipart")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def status_of(customer) -> str:
    customer.refresh_from_db()
    return customer.kyc_status


@pytest.fixture
def two_docs(client_for, kyc_customer, kyc_storage):
    agent = client_for("agent")
    return upload(agent, kyc_customer, "identity"), upload(agent, kyc_customer, "proof_of_address", "image/png")


def test_all_required_approved_moves_kyc_to_approved(client_for, kyc_customer, two_docs):
    compliance = client_for("compliance")
    ident, poa = two_docs
    assert status_of(kyc_customer) == "pending"
    r = compliance.post(f"/api/crm/documents/{ident}/approve")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert status_of(kyc_customer) == "pending"  # proof of address still pending
    compliance.post(f"/api/crm/documents/{poa}/approve")
    assert status_of(kyc_customer) == "approved"
    verbs = set(kyc_customer.activities.values_list("verb", flat=True))
    assert {"kyc.document.uploaded", "kyc.document.approved", "status.changed"} <= verbs
    assert AuditLog.objects.filter(action="kyc.document.approved").count() == 2
    # Approving again is harmless.
    assert compliance.post(f"/api/crm/documents/{poa}/approve").status_code == 200


def test_a_rejection_rejects_kyc_and_the_customer_sees_the_reason(client_for, kyc_customer, two_docs, client):
    compliance = client_for("compliance")
    ident, poa = two_docs
    compliance.post(f"/api/crm/documents/{ident}/approve")
    r = compliance.post(f"/api/crm/documents/{poa}/reject", {"reason": "The bill is older than three months"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert status_of(kyc_customer) == "rejected"
    change = kyc_customer.activities.filter(verb="status.changed").first()
    assert "older than three months" in change.data["reason"]
    me = customer_client(kyc_customer)
    body = me.get("/api/customer/documents").json()
    assert any(d["reason"] == "The bill is older than three months" for d in body["results"])
    assert any("older than three months" in line for line in body["missing"])
    session = client.session
    session["customer_id"] = kyc_customer.pk
    session.save()
    page = client.get("/client/").content.decode()
    assert "The bill is older than three months" in page
    # A new proof of address puts the customer back in review, and approving it approves KYC.
    r = me.post("/api/customer/documents", {"file": sample("image/jpeg"), "kind": "proof_of_address"},
                format="multipart")
    assert status_of(kyc_customer) == "pending"
    compliance.post(f"/api/crm/documents/{r.json()['id']}/approve")
    assert status_of(kyc_customer) == "approved"


def test_reject_needs_a_reason(client_for, two_docs):
    r = client_for("compliance").post(f"/api/crm/documents/{two_docs[0]}/reject", {"reason": ""})
    assert r.status_code == 400


def test_the_uploader_cannot_approve_their_own_upload(client_for, kyc_customer, kyc_storage):
    doc = upload(client_for("admin"), kyc_customer, "identity")
    r = client_for("admin").post(f"/api/crm/documents/{doc}/approve")
    assert r.status_code == 403 and r.json()["code"] == "maker_checker"


def test_four_eyes_needs_a_second_different_approver(client_for, kyc_customer, two_docs):
    KycSettings.objects.update(four_eyes=True) or KycSettings.current()
    settings = KycSettings.current()
    settings.four_eyes = True
    settings.save()
    compliance, admin = client_for("compliance"), client_for("admin")
    ident, poa = two_docs
    r = compliance.post(f"/api/crm/documents/{ident}/approve")
    assert r.status_code == 200
    assert r.json()["status"] == "pending" and r.json()["awaiting_second_approval"] is True
    again = compliance.post(f"/api/crm/documents/{ident}/approve")
    assert again.status_code == 403 and again.json()["code"] == "maker_checker"
    r = admin.post(f"/api/crm/documents/{ident}/approve")
    assert r.json()["status"] == "approved"
    assert r.json()["first_approver"] != r.json()["second_approver"]
    for client in (compliance, admin):
        client.post(f"/api/crm/documents/{poa}/approve")
    assert status_of(kyc_customer) == "approved"
    assert AuditLog.objects.filter(action="kyc.document.first_approval").count() == 2


def test_review_queue_lists_pending_oldest_first(client_for, two_docs, demo):
    from customers.kyc.selectors import review_queue

    assert [d.pk for d in review_queue(user=demo["compliance"])] == list(two_docs)
    assert list(review_queue(user=demo["agent"])) == []  # masked PII: no documents at all


# --- expiry with a controlled clock -------------------------------------------------------------------------------


@pytest.fixture
def approved_customer(client_for, kyc_customer, kyc_storage):
    agent, compliance = client_for("agent"), client_for("compliance")
    ident = upload(agent, kyc_customer, "identity", expires_on="2027-03-31")
    poa = upload(agent, kyc_customer, "proof_of_address")
    for doc in (ident, poa):
        compliance.post(f"/api/crm/documents/{doc}/approve")
    assert status_of(kyc_customer) == "approved"
    return kyc_customer


def test_expiry_moves_back_to_pending_ahead_of_time(approved_customer, django_capture_on_commit_callbacks):
    from comms.models import EmailTemplate, Message, Workflow, WorkflowAction
    from crm.models import Task

    template = EmailTemplate.objects.create(name="kyc-expiring", default_locale="en")
    template.translations.create(locale="en", subject="Your ID expires soon", body_text="Please upload a new one.",
                                 body_html="<p>Please upload a new one.</p>")
    workflow = Workflow.objects.create(name="KYC expiring", trigger="kyc.expiring")
    WorkflowAction.objects.create(workflow=workflow, position=1, kind="send_email",
                                  params={"template": template.name})
    from comms.workflows import triggers_changed

    triggers_changed()
    # 2027-03-31 minus 14 days = 2027-03-17: nothing happens the day before, everything on the day.
    with django_capture_on_commit_callbacks(execute=True):
        assert kyc_expiry_scan(today=date(2027, 3, 16)) == 0
    assert status_of(approved_customer) == "approved"
    with django_capture_on_commit_callbacks(execute=True):
        assert kyc_expiry_scan(today=date(2027, 3, 17)) == 1
    assert status_of(approved_customer) == "pending"
    task = Task.objects.get(customer=approved_customer, title__startswith="KYC documents expiring")
    assert task.team.name == "Finance & Compliance" and "2027-03-31" in task.title
    assert approved_customer.activities.filter(verb="kyc.document.expiring").exists()
    assert AuditLog.objects.filter(action="kyc.document.expiring").exists()
    # The workflow trigger fired; its run (a Celery task in production) sends the customer the message.
    from comms.models import WorkflowRun
    from comms.workflows import workflow_run_execute

    run = WorkflowRun.objects.get(workflow=workflow, customer=approved_customer, event="kyc.expiring")
    assert run.payload["expires_on"] == "2027-03-31"
    workflow_run_execute(run_id=run.pk)
    assert Message.objects.filter(customer=approved_customer, template_name="kyc-expiring").exists()
    # Flagged once: the next day's scan does nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert kyc_expiry_scan(today=date(2027, 3, 18)) == 0
    assert Task.objects.filter(customer=approved_customer, title__startswith="KYC documents expiring").count() == 1


def test_a_fresh_document_after_expiry_approves_again(approved_customer, client_for):
    kyc_expiry_scan(today=date(2027, 3, 20))
    assert status_of(approved_customer) == "pending"
    doc = upload(client_for("agent"), approved_customer, "identity", expires_on="2035-01-01")
    client_for("compliance").post(f"/api/crm/documents/{doc}/approve")
    assert status_of(approved_customer) == "approved"


# --- the money gates ----------------------------------------------------------------------------------------------


@pytest.fixture
def gates_on():
    settings = KycSettings.current()
    settings.gate_deposits_above_usd = Decimal("500.00")
    settings.gate_withdrawals = True
    settings.gate_further_accounts = True
    settings.save()
    return settings


def test_deposit_above_the_threshold_needs_kyc(client_for, kyc_customer, gates_on):
    admin = client_for("admin")
    account = kyc_customer.accounts.first()
    body = {"customer_id": kyc_customer.pk, "type": "deposit", "currency": account.currency}
    assert admin.post("/api/backoffice/transactions", {**body, "amount": "100.00"}).status_code == 201
    r = admin.post("/api/backoffice/transactions", {**body, "amount": "5000.00"})
    assert r.status_code == 409 and r.json()["code"] == "kyc_required"
    assert "identity" in " ".join(r.json()["fields"]["kyc"])


def test_withdrawals_need_kyc(client_for, kyc_customer, gates_on):
    admin = client_for("admin")
    account = kyc_customer.accounts.first()
    admin.post("/api/backoffice/transactions", {"customer_id": kyc_customer.pk, "type": "deposit",
                                                "amount": "100.00", "currency": account.currency})
    r = customer_client(kyc_customer).post("/api/customer/withdrawals", {"amount": "10.00",
                                                                        "currency": account.currency})
    assert r.status_code == 409 and r.json()["code"] == "kyc_required"
    r = admin.post("/api/backoffice/transactions", {"customer_id": kyc_customer.pk, "type": "withdrawal",
                                                    "amount": "10.00", "currency": account.currency})
    assert r.status_code == 409 and r.json()["code"] == "kyc_required"


def test_a_further_account_needs_kyc(kyc_customer, gates_on, approved_customer_factory):
    me = customer_client(kyc_customer)
    r = me.post("/api/customer/accounts", {"currency": "EUR"})
    assert r.status_code == 409 and r.json()["code"] == "kyc_required"
    approved_customer_factory(kyc_customer)
    r = me.post("/api/customer/accounts", {"currency": "EUR"})
    assert r.status_code == 201 and r.json()["currency"] == "EUR"
    assert kyc_customer.accounts.count() == 2


def test_gates_off_by_default(client_for, kyc_customer):
    account = kyc_customer.accounts.first()
    r = client_for("admin").post("/api/backoffice/transactions", {"customer_id": kyc_customer.pk, "type": "deposit",
                                                                  "amount": "50000.00", "currency": account.currency})
    assert r.status_code == 201


def test_approved_customers_pass_every_gate(client_for, kyc_customer, gates_on, approved_customer_factory):
    approved_customer_factory(kyc_customer)
    account = kyc_customer.accounts.first()
    r = client_for("admin").post("/api/backoffice/transactions", {"customer_id": kyc_customer.pk, "type": "deposit",
                                                                  "amount": "5000.00", "currency": account.currency})
    assert r.status_code == 201
    r = customer_client(kyc_customer).post("/api/customer/withdrawals", {"amount": "10.00",
                                                                        "currency": account.currency})
    assert r.status_code == 201


@pytest.fixture
def approved_customer_factory(client_for, kyc_storage):
    def approve(customer):
        agent, compliance = client_for("agent"), client_for("compliance")
        for kind in ("identity", "proof_of_address"):
            compliance.post(f"/api/crm/documents/{upload(agent, customer, kind)}/approve")
        assert status_of(customer) == "approved"

    return approve


def test_the_workspace_page_says_what_is_missing(client, demo, kyc_customer, gates_on):
    client.force_login(demo["agent"])
    page = client.get(f"/customers/{kyc_customer.pk}/").content.decode()
    assert 'data-testid="kyc-missing"' in page and "Missing: identity document." in page
    assert "withdrawals" in page


def test_documents_never_reach_a_masked_viewer_on_the_page(client, demo, kyc_customer, two_docs):
    client.force_login(demo["agent"])
    page = client.get(f"/customers/{kyc_customer.pk}/").content.decode()
    assert 'data-testid="kyc-upload"' in page
    assert "kyc-document-row" not in page and "/file" not in page
    client.force_login(demo["compliance"])
    page = client.get(f"/customers/{kyc_customer.pk}/").content.decode()
    assert page.count('data-testid="kyc-document-row"') == 2


def test_expired_documents_do_not_count(client_for, kyc_customer, kyc_storage):
    doc = KycDocument.objects.get(pk=upload(client_for("agent"), kyc_customer, "identity",
                                            expires_on=str(date.today() + timedelta(days=400))))
    assert doc.expires_on > date.today()
