"""Every app's factories build valid rows on their own (what a test that uses them relies on)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comms.tests.factories import EmailTemplateFactory, SmsTemplateFactory, WorkflowActionFactory
from crm.tests.factories import NoteFactory, TaskFactory
from customers.models import Customer
from customers.tests.factories import ActivityFactory, CustomerFactory
from imports.tests.factories import ImportJobFactory
from ledger.tests.factories import TransactionFactory
from teams.tests.factories import RoleFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_staff_factories_build_a_scoped_agent():
    parent = TeamFactory()
    agent = UserFactory(team=TeamFactory(parent=parent))
    assert agent.team.path.startswith(parent.path) and agent.check_password("demo-password")
    assert agent.holds("customers.view") and not agent.holds("customers.bulk_assign")
    assert UserFactory(role=RoleFactory(admin=True)).holds("customers.bulk_assign")


def test_customer_factory_follows_its_agent_and_scope():
    agent = UserFactory()
    customer = CustomerFactory(assigned_to=agent)
    assert customer.team == agent.team
    assert list(Customer.objects.visible_to(agent)) == [customer]
    assert not Customer.objects.visible_to(UserFactory()).exists()
    assert ActivityFactory(customer=customer).customer == customer


def test_transaction_factory_posts_through_the_ledger():
    tx = TransactionFactory(amount=Decimal("250.00"))
    tx.account.refresh_from_db()
    assert tx.status == "completed" and tx.account.balance == Decimal("250.00")
    assert tx.account.login


def test_workspace_comms_and_import_factories():
    task = TaskFactory(customer=CustomerFactory(assigned_to=UserFactory()))
    assert task.assignee == task.customer.assigned_to and task.team == task.assignee.team
    assert NoteFactory().body.startswith("Note")
    assert EmailTemplateFactory().translations.get().locale == "en"
    assert SmsTemplateFactory().translations.count() == 1
    assert WorkflowActionFactory().workflow.actions.count() == 1
    assert ImportJobFactory().status == "pending"
