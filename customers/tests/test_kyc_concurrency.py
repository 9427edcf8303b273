"""Concurrent reviews (issue #17): with four-eyes on, two reviewers pressing approve at once make exactly one first
and one second approval (the customer row, then the document row, are locked); one reviewer's double click makes
one approval and one maker_checker refusal."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from customers.kyc.models import KycDocument, KycSettings
from customers.kyc.services import KycError, document_approve, document_upload
from customers.models import Customer
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

from .kyc_support import sample

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and a customer of the agent with an account, committed so that the threads see them."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"])
    return staff


def race(users, document):
    barrier = threading.Barrier(len(users))
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            document_approve(document=KycDocument(pk=document.pk), by=user)
            outcomes.append("ok")
        except KycError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


@pytest.fixture
def pending_doc(demo_committed, kyc_storage):
    settings = KycSettings.current()
    settings.four_eyes = True
    settings.save()
    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).order_by("pk").first()
    return document_upload(customer=customer, file=sample(), kind="identity", by_customer=True)


def test_two_reviewers_at_once_make_one_first_and_one_second_approval(demo_committed, pending_doc):
    assert race([demo_committed["compliance"], demo_committed["admin"]], pending_doc) == ["ok", "ok"]
    pending_doc.refresh_from_db()
    assert pending_doc.status == "approved"
    assert {pending_doc.first_approver_id, pending_doc.second_approver_id} == {
        demo_committed["compliance"].pk, demo_committed["admin"].pk}


def test_a_double_click_is_one_approval(demo_committed, pending_doc):
    compliance = demo_committed["compliance"]
    assert race([compliance, compliance], pending_doc) == ["maker_checker", "ok"]
    pending_doc.refresh_from_db()
    assert pending_doc.status == "pending" and pending_doc.first_approver_id == compliance.pk
