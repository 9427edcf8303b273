"""Upward reactions without upward imports (#11, docs/DEVELOPING.md):

- the finance task after a chargeback freeze reaches crm as the after-commit `customer.frozen` event. The ledger
  used to call crm directly (behind `try/except ImportError`) and sent the task to the team named like the demo's
  "Finance & Compliance"; now crm's handler owns it: the customer's agent, else the FREEZE_TASK_TEAM setting;
- comms runs the `create_task` workflow action through its action registry, where crm registered it;
- registration opens the trading account through customers' in-transaction hook, where ledger is connected:
  a failing receiver rolls the registration back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from crm.models import Task
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from ledger.services import transaction_create
from ledger.tests.factories import TradingAccountFactory
from teams.tests.factories import RoleFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    """An admin (who posts the money), an agent, and the two teams the freeze task may go to."""
    return {"admin": UserFactory(role=RoleFactory(admin=True)), "agent": UserFactory(),
            "finance": TeamFactory(name="Finance & Compliance"), "uk": TeamFactory(name="Sales UK")}


def _customer(agent=None) -> Customer:
    return TradingAccountFactory(customer=CustomerFactory(assigned_to=agent)).customer


def _freeze(staff, customer) -> str:
    """Deposit 100 then charge back 150 (balance −50 → auto-freeze); returns the account login."""
    account = customer.accounts.first()
    transaction_create(by=staff["admin"], type="deposit", amount=Decimal("100.00"), currency=account.currency,
                       account_login=account.login)
    transaction_create(by=staff["admin"], type="chargeback", amount=Decimal("150.00"), currency=account.currency,
                       account_login=account.login)
    customer.refresh_from_db()
    assert customer.finance_status == "frozen"
    # After-commit: nothing yet inside the transaction.
    assert not Task.objects.filter(customer=customer, title__startswith="Review frozen account").exists()
    return account.login


def test_freeze_task_goes_to_the_customers_agent(staff, django_capture_on_commit_callbacks):
    customer = _customer(staff["agent"])
    with django_capture_on_commit_callbacks(execute=True):
        login = _freeze(staff, customer)
    task = Task.objects.get(customer=customer, title__startswith="Review frozen account")
    assert task.title == f"Review frozen account {login}: negative balance after chargeback"
    assert task.assignee == staff["agent"] and task.status == Task.Status.OPEN


def test_freeze_task_without_agent_goes_to_the_default_finance_team(staff, django_capture_on_commit_callbacks):
    customer = _customer()
    with django_capture_on_commit_callbacks(execute=True):
        _freeze(staff, customer)
    task = Task.objects.get(customer=customer, title__startswith="Review frozen account")
    assert task.assignee is None and task.team.name == "Finance & Compliance"


@override_settings(FREEZE_TASK_TEAM="Sales UK")
def test_freeze_task_team_is_a_setting(staff, django_capture_on_commit_callbacks):
    customer = _customer()
    with django_capture_on_commit_callbacks(execute=True):
        _freeze(staff, customer)
    task = Task.objects.get(customer=customer, title__startswith="Review frozen account")
    assert task.assignee is None and task.team.name == "Sales UK"


def test_rolled_back_freeze_creates_no_task(staff, django_capture_on_commit_callbacks):
    from django.db import transaction

    customer = _customer(staff["agent"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        _freeze(staff, customer)
        raise RuntimeError("roll back")
    assert not Task.objects.filter(customer=customer, title__startswith="Review frozen account").exists()


def test_create_task_workflow_action_runs_through_the_registry(staff):
    from comms.models import Workflow, WorkflowAction, WorkflowRun
    from comms.workflows import _action_handlers, workflow_run_execute
    from crm.handlers import workflow_create_task

    assert _action_handlers[WorkflowAction.Kind.CREATE_TASK] is workflow_create_task  # registered by crm's ready()
    customer = _customer(staff["agent"])
    workflow = Workflow.objects.create(name="Registry check", trigger="status.changed", is_active=False)
    WorkflowAction.objects.create(workflow=workflow, position=1, kind="create_task",
                                  params={"title": "Call back", "due_in_hours": 2})
    run = WorkflowRun.objects.create(workflow=workflow, event="status.changed", customer=customer,
                                     payload={"customer_id": customer.pk})
    run = workflow_run_execute(run_id=run.pk)
    task = Task.objects.get(customer=customer, title="Call back")
    assert run.status == WorkflowRun.Status.SUCCEEDED and run.log[-1]["ok"].startswith(f"task #{task.pk} for ")
    assert task.assignee == staff["agent"]


def test_registration_hook_opens_the_account_in_the_same_transaction(db):
    from customers.services import customer_register
    from customers.signals import customer_created

    data = {"email": "hook.check@example.org", "password": "TestPass1234x", "first_name": "Hook",
            "last_name": "Check", "phone": "+447911123456", "country": "GB", "currency": "EUR"}
    customer, _ = customer_register(data=data, source="organic")
    assert [a.currency for a in customer.accounts.all()] == ["EUR"]  # opened by ledger's receiver

    def broken(**kwargs):
        raise RuntimeError("account opening failed")

    customer_created.connect(broken, dispatch_uid="test.broken")
    try:
        with pytest.raises(RuntimeError):
            customer_register(data={**data, "email": "hook.fail@example.org", "phone": "+447911123457"},
                              source="organic")
    finally:
        customer_created.disconnect(dispatch_uid="test.broken")
    assert not Customer.objects.filter(email="hook.fail@example.org").exists()
