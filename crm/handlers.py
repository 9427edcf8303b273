"""crm's reactions to lower apps: after-commit domain events and comms workflow actions (see docs/DEVELOPING.md).

Connected in `CrmConfig.ready()`; the lower apps never import crm."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from comms.workflows import task_owner
from customers.models import Customer

from .services import task_create, task_create_for_owner


def on_customer_frozen(sender, name: str, payload: dict, **kwargs) -> None:
    """`customer.frozen` (ledger, after a chargeback left a negative balance): a review task for the customer's
    agent, else in the queue of the FREEZE_TASK_TEAM setting."""
    if name != "customer.frozen":
        return
    customer = Customer.objects.select_related("assigned_to").get(pk=payload["customer_id"])
    account = payload.get("account_login") or "?"
    task_create_for_owner(customer=customer, team_name=settings.FREEZE_TASK_TEAM,
                          title=f"Review frozen account {account}: negative balance after chargeback")


def workflow_create_task(*, action, run, customer) -> str:
    """The `create_task` action of comms workflows: the task always has an owner (comms.workflows.task_owner)."""
    params = action.params or {}
    hours = int(params.get("due_in_hours", 24))
    assignee, team = task_owner(params=params, customer_id=customer.pk)
    task = task_create(customer=customer, title=params.get("title", "Follow up"),
                       due_at=timezone.now() + timedelta(hours=hours), assignee=assignee, team=team, by=None)
    return f"task #{task.pk} for {f'user #{assignee.pk}' if assignee else f'team queue {team.name}'}"
