"""Workflows: a trigger, conditions, and ordered actions, run by Celery after the triggering commit.

Steps of a run (`workflow_run_execute`):
1. lock the run; stop if it is final;
2. check the conditions against the event and the customer (skipped when they fail);
3. run each action not yet done, recording it as done in the same transaction as its effect, so a retried run
   never repeats a finished action (no double email, no second task);
4. an action that raises fails the attempt: the task retries with backoff; after the last retry the run is
   `failed`. The operation that triggered it was committed long before and is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from .models import EmailTemplate, SmsTemplate, Workflow, WorkflowAction, WorkflowRun

log = logging.getLogger(__name__)

# Workflow actions owned by apps above comms (crm registers `create_task`), registered from their
# AppConfig.ready(): comms never imports them. A handler takes (action=, run=, customer=) and returns the outcome
# line for the run log; it runs inside the action's transaction, like the built-in actions.
ActionHandler = Callable[..., str]
_action_handlers: dict[str, ActionHandler] = {}


def action_handler_register(kind: str, handler: ActionHandler) -> None:
    """Let a higher app perform the workflow action `kind` (a WorkflowAction.Kind value)."""
    _action_handlers[kind] = handler


_TRIGGERS: tuple[float, frozenset[str]] = (0.0, frozenset())
TRIGGER_CACHE_SECONDS = 5.0


def _active_triggers() -> frozenset[str]:
    """Triggers with an active workflow, re-read every few seconds: bulk jobs emit thousands of events."""
    global _TRIGGERS
    import time

    if time.monotonic() - _TRIGGERS[0] > TRIGGER_CACHE_SECONDS:
        _TRIGGERS = (time.monotonic(), frozenset(Workflow.objects.filter(is_active=True)
                                                  .values_list("trigger", flat=True)))
    return _TRIGGERS[1]


def triggers_changed() -> None:
    global _TRIGGERS
    _TRIGGERS = (0.0, frozenset())


def on_domain_event(sender, name: str, payload: dict, **kwargs) -> None:
    """Receiver of brokercrm.events.domain_event (connected in CommsConfig.ready). Never raises into the emitter."""
    try:
        if name not in _active_triggers():
            return
        workflows = list(Workflow.objects.filter(trigger=name, is_active=True))
        if not workflows:
            return
        from .tasks import workflow_run

        for workflow in workflows:
            run = WorkflowRun.objects.create(workflow=workflow, event=name, payload=payload,
                                             customer_id=payload.get("customer_id"))
            transaction.on_commit(lambda run_id=run.pk: workflow_run.delay(run_id=run_id))
    except Exception:
        log.exception("workflow dispatch failed for %s", name)


def conditions_hold(workflow: Workflow, payload: dict, customer) -> tuple[bool, str]:
    """Conditions: lists of accepted values for country, group, source, pipeline, to, type; min/max amounts."""
    c = workflow.conditions or {}
    checks = {
        "country": customer.country if customer else None,
        "group": customer.group.name if customer and customer.group_id else None,
        "source": customer.source if customer else payload.get("source"),
        "pipeline": payload.get("pipeline"), "to": payload.get("to"), "type": payload.get("type"),
        "locale": customer.locale if customer else None,
    }
    for key, actual in checks.items():
        if key in c and c[key] and actual not in c[key]:
            return False, f"{key} {actual!r} not in {c[key]}"
    for key, op in (("min_amount_usd", "ge"), ("max_amount_usd", "le")):
        if key in c and c[key] not in (None, ""):
            try:
                amount = Decimal(str(payload.get("amount_usd", payload.get("amount"))))
                bound = Decimal(str(c[key]))
            except (InvalidOperation, TypeError):
                return False, f"no amount for {key}"
            if (op == "ge" and amount < bound) or (op == "le" and amount > bound):
                return False, f"amount {amount} outside {key} {bound}"
    return True, ""


def _run_action(action: WorkflowAction, run: WorkflowRun, customer) -> str:
    from customers.services import customer_assign

    from .services import message_queue

    params = action.params or {}
    if action.kind in (WorkflowAction.Kind.SEND_EMAIL, WorkflowAction.Kind.SEND_SMS):
        model = EmailTemplate if action.kind == WorkflowAction.Kind.SEND_EMAIL else SmsTemplate
        template = model.objects.get(name=params["template"])
        message = message_queue(customer=customer, template=template, run=run, payload=run.payload)
        return f"message #{message.pk} {message.status}"
    if action.kind == WorkflowAction.Kind.ASSIGN:
        from teams.models import User

        agents = list(User.objects.filter(pk__in=params.get("agent_ids", []), is_active=True).order_by("pk"))
        if not agents:
            raise ValueError("assign: no active agents configured")
        agent = agents[customer.pk % len(agents)]
        from customers.models import Customer

        Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team)
        from customers.services import activity_record

        activity_record(customer=customer, verb="customer.assigned", summary=f"Assigned to {agent} by workflow",
                        data={"to": agent.pk, "workflow": run.workflow_id})
        return f"assigned to user #{agent.pk}"
    handler = _action_handlers.get(action.kind)
    if handler is not None:  # an action owned by a higher app (crm's create_task)
        return handler(action=action, run=run, customer=customer)
    raise ValueError(f"unknown action {action.kind}")


def workflow_run_execute(*, run_id: int) -> WorkflowRun:
    from customers.models import Customer

    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=run_id)
        if run.status in (WorkflowRun.Status.SUCCEEDED, WorkflowRun.Status.SKIPPED, WorkflowRun.Status.FAILED):
            return run
        customer = Customer.objects.filter(pk=run.customer_id).select_related("group", "assigned_to").first()
        ok, why = conditions_hold(run.workflow, run.payload, customer)
        if not ok or customer is None:
            run.status = WorkflowRun.Status.SKIPPED
            run.log = [*run.log, {"at": timezone.now().isoformat(), "skipped": why or "no customer"}]
            run.finished_at = timezone.now()
            run.save()
            return run
        run.status = WorkflowRun.Status.RUNNING
        run.attempts += 1
        run.save(update_fields=["status", "attempts"])
    for action in run.workflow.actions.all():
        if action.position in run.done_actions:
            continue
        try:
            with transaction.atomic():
                outcome = _run_action(action, run, customer)
                run.done_actions = [*run.done_actions, action.position]
                run.log = [*run.log, {"at": timezone.now().isoformat(), "action": action.kind, "ok": outcome}]
                run.save(update_fields=["done_actions", "log"])
        except Exception as exc:
            run.log = [*run.log, {"at": timezone.now().isoformat(), "action": action.kind,
                                  "error": f"{type(exc).__name__}: {exc}"[:300]}]
            run.save(update_fields=["log"])
            raise
    run.status = WorkflowRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


def workflow_run_give_up(*, run_id: int) -> None:
    WorkflowRun.objects.filter(pk=run_id).exclude(status=WorkflowRun.Status.SUCCEEDED).update(
        status=WorkflowRun.Status.FAILED, finished_at=timezone.now())
