"""Reads of comms: templates and their translations, workflows and their runs, a customer's communication log."""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import Customer
from teams.models import User

from .models import EmailTemplate, Message, SmsTemplate, Workflow, WorkflowRun

TEMPLATE_MODELS: dict[str, type[EmailTemplate] | type[SmsTemplate]] = {"email": EmailTemplate, "sms": SmsTemplate}


def template_list(*, kind: str) -> QuerySet:
    """Every email (`kind="email"`) or SMS template with its translations."""
    return TEMPLATE_MODELS[kind].objects.prefetch_related("translations")


def template_get(*, kind: str, template_id: int) -> EmailTemplate | SmsTemplate | None:
    """One template of that kind, or None (an unknown kind too)."""
    if kind not in TEMPLATE_MODELS:
        return None
    return template_list(kind=kind).filter(pk=template_id).first()


def translation_get(*, template: EmailTemplate | SmsTemplate, locale: str):
    return template.translations.filter(locale=locale).first()


def workflow_list() -> QuerySet[Workflow]:
    return Workflow.objects.prefetch_related("actions")


def workflow_get(*, workflow_id: int) -> Workflow | None:
    return workflow_list().filter(pk=workflow_id).first()


def workflow_runs(*, workflow: Workflow, limit: int) -> list[WorkflowRun]:
    """The latest runs of a workflow (newest first), with their customers."""
    return list(workflow.runs.select_related("customer")[:limit])


def customer_messages(*, user: User, customer_id: int, limit: int = 200) -> list[Message] | None:
    """A visible customer's communication log (newest first), or None when the customer is out of scope or
    unknown (the same answer)."""
    if not Customer.objects.visible_to(user).filter(pk=customer_id).exists():
        return None
    return list(Message.objects.visible_to(user).filter(customer_id=customer_id).select_related("customer")[:limit])


def customer_picker(*, user: User, limit: int = 100) -> list[Customer]:
    """The newest customers `user` may see, for the builders' preview and run pickers."""
    return list(Customer.objects.visible_to(user).order_by("-pk")[:limit])


def customer_get(*, user: User, customer_id: int | None) -> Customer | None:
    """A customer `user` may see, or None."""
    if not customer_id:
        return None
    return Customer.objects.visible_to(user).filter(pk=customer_id).first()
