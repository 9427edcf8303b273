"""crm's reactions to lower apps: after-commit domain events and comms workflow actions (see docs/DEVELOPING.md).

Connected in `CrmConfig.ready()`; the lower apps never import crm."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from brokercrm.actors import SYSTEM
from comms.workflows import task_owner
from customers.kyc import conf as kyc_conf
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


def on_kyc_expiring(sender, name: str, payload: dict, **kwargs) -> None:
    """`kyc.expiring` (customers' daily expiry scan): a review task in the KYC_TASK_TEAM queue (compliance)."""
    if name != "kyc.expiring":
        return

    from .services import task_create_for_team

    customer = Customer.objects.get(pk=payload["customer_id"])
    kinds = ", ".join(k.replace("_", " ") for k in payload.get("kinds", []))
    task_create_for_team(customer=customer, team_name=kyc_conf.KYC_TASK_TEAM, due_in=timedelta(days=1),
                         title=f"KYC documents expiring on {payload.get('expires_on')}: {kinds}")


def workflow_create_task(*, action, run, customer) -> str:
    """The `create_task` action of comms workflows: the task always has an owner (comms.workflows.task_owner)."""
    params = action.params or {}
    hours = int(params.get("due_in_hours", 24))
    assignee, team = task_owner(params=params, customer_id=customer.pk)
    task = task_create(customer=customer, title=params.get("title", "Follow up"),
                       due_at=timezone.now() + timedelta(hours=hours), assignee=assignee, team=team, by=SYSTEM)
    return f"task #{task.pk} for {f'user #{assignee.pk}' if assignee else f'team queue {team.name}'}"
