"""Writes of customers: activity, transitions, assignment. Registration lives here too (see the customers issue)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from brokercrm.events import event_emit

from .models import Activity, Customer


class CustomerError(Exception):
    code = "validation_error"
    status = 400

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


def email_canonical(email: str) -> str:
    """The comparison key of an email: trimmed, lower-cased, `+tag` dropped; dots dropped for Gmail."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    domain = domain.encode("idna").decode("ascii") if domain and not domain.isascii() else domain
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def activity_record(
    *, customer: Customer, verb: str, by=None, summary: str = "", data: dict[str, Any] | None = None
) -> Activity:
    """Append an activity entry for `customer` (same transaction as the change it records)."""
    return Activity.objects.create(
        customer=customer, actor=by, verb=verb, summary=summary[:255], data=data or {}, created_at=timezone.now()
    )


class CustomerNotFound(CustomerError):
    code = "not_found"
    status = 404


@transaction.atomic
def customer_assign(*, customer: Customer, agent, by) -> Customer:
    """Assign `customer` to `agent` (or unassign with None); the customer's team follows the agent's team.

    `by` must be able to edit the customer and assign to the agent (teams.selectors.users_assignable_by)."""
    from teams.selectors import users_assignable_by

    customer = Customer.objects.editable_by(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise CustomerNotFound("No such customer.")
    if agent is not None and not users_assignable_by(user=by).filter(pk=agent.pk).exists():
        raise CustomerError("You cannot assign customers to that agent.", fields={"assigned_to": ["Not assignable."]})
    previous = customer.assigned_to_id
    if previous == (agent.pk if agent else None):
        return customer
    Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team if agent else customer.team)
    customer.refresh_from_db()
    activity_record(
        customer=customer, verb="customer.assigned", by=by,
        summary=f"Assigned to {agent}" if agent else "Unassigned",
        data={"from": previous, "to": agent.pk if agent else None},
    )
    return customer


PROFILE_FIELDS = ("first_name", "last_name", "locale", "marketing_consent")


@transaction.atomic
def customer_update(*, customer: Customer, by, **data: Any) -> Customer:
    """Edit profile fields of a customer within `by`'s edit scope (404 outside it: not even its existence leaks)."""
    locked = Customer.objects.editable_by(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise CustomerNotFound("No such customer, or you may not edit it.")
    if "assigned_to" in data:
        from teams.models import User

        agent_id = data.pop("assigned_to")
        agent = User.objects.filter(pk=agent_id, is_active=True).first() if agent_id else None
        if agent_id and agent is None:
            raise CustomerError("Unknown agent.", fields={"assigned_to": ["Unknown agent."]})
        if not by.holds("customers.assign"):
            raise PermissionError_("Assigning needs customers.assign.")
        locked = customer_assign(customer=locked, agent=agent, by=by)
    changed = {k: v for k, v in data.items() if k in PROFILE_FIELDS and getattr(locked, k) != v}
    if changed:
        Customer.objects.filter(pk=locked.pk).update(**changed)
        locked.refresh_from_db()
        activity_record(customer=locked, verb="customer.updated", by=by, summary="Profile updated",
                        data={"fields": sorted(changed)})
    return locked


class PermissionError_(CustomerError):
    code = "permission_denied"
    status = 403


class InvalidTransition(CustomerError):
    code = "invalid_transition"
    status = 409


@transaction.atomic
def customer_transition(*, customer: Customer, pipeline: str, to: str, by=None, reason: str = "",
                        check_permission: bool = True) -> Customer:
    """Move `customer` to status `to` in `pipeline` ("sales", "kyc", "finance").

    Locks the row first, so two concurrent moves serialize: the loser sees the new status and gets
    InvalidTransition if its move is no longer allowed. Moving to the current status is a no-op.
    `by=None` is the system (e.g. the ledger's auto-freeze); staff callers need the pipeline's permission."""
    from django_fsm import can_proceed, has_transition_perm

    from .pipelines import PIPELINES

    spec = PIPELINES.get(pipeline)
    if spec is None:
        raise CustomerError("Unknown pipeline.", fields={"pipeline": [f"One of: {', '.join(PIPELINES)}."]})
    if to not in spec.statuses.values:
        raise CustomerError("Unknown status.", fields={"to": [f"One of: {', '.join(spec.statuses.values)}."]})
    base = Customer.objects if by is None else Customer.objects.visible_to(by)
    locked = base.select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise CustomerNotFound("No such customer.")
    current = getattr(locked, spec.field)
    if current == to:
        return locked
    method = getattr(locked, f"{pipeline}_to_{to}", None)
    if method is None or not can_proceed(method):
        raise InvalidTransition(f"The {pipeline} status cannot move from {current} to {to}.")
    if by is not None and check_permission:
        if not has_transition_perm(method, by):
            raise PermissionError_(f"Changing the {pipeline} status needs {spec.permission}.")
        if not Customer.objects.editable_by(by).filter(pk=locked.pk).exists():
            raise PermissionError_("This customer is outside your edit scope.")
    method()
    locked.save()
    activity_record(customer=locked, verb="status.changed", by=by, summary=f"{pipeline}: {current} → {to}",
                    data={"pipeline": pipeline, "from": current, "to": to, "reason": reason})
    event_emit("status.changed", {"customer_id": locked.pk, "pipeline": pipeline, "from": current, "to": to,
                                  "by": by.pk if by else None})
    return locked
