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

from customers.models import Customer
from customers.services import activity_record
from teams.models import Team, User

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


def on_domain_event(sender, name: str, payload: dict, batch: list | None = None, batch_index: int = 0,
                    **kwargs) -> None:
    """Receiver of brokercrm.events.domain_event (connected in CommsConfig.ready). A bulk job's events arrive as
    one batch (`event_emit_many`): handled whole on its first event. Never raises into the emitter."""
    try:
        if batch is not None and batch_index:
            return
        workflow_fan_out(name=name, payloads=batch if batch is not None else [payload])
    except Exception:
        log.exception("workflow dispatch failed for %s", name)


def applies_to_source(workflow: Workflow, source: str | None) -> bool:
    """The trigger's `sources` condition: the registration sources (organic, affiliate, promo, import, backoffice)
    the workflow applies to; none stated = all. An event without a source is decided on the customer at run time."""
    sources = (workflow.conditions or {}).get("sources")
    return not sources or source is None or source in sources


def workflow_fan_out(*, name: str, payloads: list[dict]) -> int:
    """Create the runs of `name`'s active workflows for these events and enqueue them in batches; returns the
    number of runs.

    Steps: 1. nothing to do unless an active workflow has this trigger (cached, no query per event);
    2. per workflow, drop the events whose registration source it does not apply to — no run, no task, so an import
    of 50,000 leads costs the welcome workflow nothing; 3. create the remaining runs in bulk; 4. after commit, one
    `comms.workflow_run_batch` task per COMMS_WORKFLOW_BATCH_SIZE runs (never one task per customer)."""
    from . import conf
    from .tasks import workflow_run_batch

    if name not in _active_triggers():
        return 0
    run_ids: list[int] = []
    with transaction.atomic():
        for workflow in Workflow.objects.filter(trigger=name, is_active=True).order_by("pk"):
            selected = [p for p in payloads if applies_to_source(workflow, p.get("source"))]
            runs = WorkflowRun.objects.bulk_create(
                [WorkflowRun(workflow=workflow, event=name, payload=p, customer_id=p.get("customer_id"))
                 for p in selected], batch_size=1000)
            run_ids += [run.pk for run in runs]
        size = max(1, conf.WORKFLOW_BATCH_SIZE)
        for i in range(0, len(run_ids), size):
            transaction.on_commit(lambda chunk=run_ids[i:i + size]: workflow_run_batch.delay(run_ids=chunk))
    return len(run_ids)


def workflow_runs_execute_batch(*, run_ids: list[int]) -> dict[str, int]:
    """Execute a batch of runs one after the other. A run that fails goes on to its own `comms.workflow_run` task,
    which retries it with backoff; the rest of the batch carries on. Finished runs and done actions are never
    repeated, so a batch delivered twice (worker lost) is harmless."""
    from .tasks import workflow_run

    outcome = {"done": 0, "retrying": 0}
    for run_id in run_ids:
        try:
            workflow_run_execute(run_id=run_id)
            outcome["done"] += 1
        except Exception as exc:
            log.warning("workflow run #%s failed in its batch (%s); retrying on its own", run_id, type(exc).__name__)
            workflow_run.apply_async(kwargs={"run_id": run_id}, countdown=1)
            outcome["retrying"] += 1
    return outcome


def conditions_hold(workflow: Workflow, payload: dict, customer) -> tuple[bool, str]:
    """Conditions: lists of accepted values for country, group, source(s), pipeline, to, type; min/max amounts."""
    c = workflow.conditions or {}
    if c.get("sources") and customer is not None and customer.source not in c["sources"]:
        return False, f"source {customer.source!r} not in {c['sources']}"
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
    from .services import message_queue

    params = action.params or {}
    if action.kind in (WorkflowAction.Kind.SEND_EMAIL, WorkflowAction.Kind.SEND_SMS):
        model = EmailTemplate if action.kind == WorkflowAction.Kind.SEND_EMAIL else SmsTemplate
        template = model.objects.get(name=params["template"])
        message = message_queue(customer=customer, template=template, run=run, payload=run.payload)
        return f"message #{message.pk} {message.status}"
    if action.kind == WorkflowAction.Kind.ASSIGN:
        agents = list(User.objects.filter(pk__in=params.get("agent_ids", []), is_active=True).order_by("pk"))
        if not agents:
            raise ValueError("assign: no active agents configured")
        agent = agents[customer.pk % len(agents)]

        Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team)

        activity_record(customer=customer, verb="customer.assigned", summary=f"Assigned to {agent} by workflow",
                        data={"to": agent.pk, "workflow": run.workflow_id})
        return f"assigned to user #{agent.pk}"
    handler = _action_handlers.get(action.kind)
    if handler is not None:  # an action owned by a higher app (crm's create_task)
        return handler(action=action, run=run, customer=customer)
    raise ValueError(f"unknown action {action.kind}")


def task_owner(*, params: dict, customer_id: int):
    """Who owns a task a workflow creates — never nobody: the customer's (active) agent; else the team the action
    names (`params["team"]`); else the COMMS_WORKFLOW_TASK_TEAM queue; else the customer's team. Returns
    (assignee, team); raises when none exists, so the run fails visibly instead of leaving an orphan task."""
    from . import conf

    customer = Customer.objects.select_related("assigned_to", "team").get(pk=customer_id)  # fresh: assign ran?
    if customer.assigned_to_id and customer.assigned_to.is_active:
        return customer.assigned_to, None
    for name in (params.get("team"), conf.WORKFLOW_TASK_TEAM):
        if name:
            team = Team.objects.filter(name=name).first()
            if team is None:
                raise ValueError(f"create_task: no team named {name!r}")
            return None, team
    if customer.team_id:
        return None, customer.team
    raise ValueError("create_task: the customer has no agent and no team queue is configured "
                     "(the action's team or COMMS_WORKFLOW_TASK_TEAM)")


def workflow_run_execute(*, run_id: int) -> WorkflowRun:
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


def workflow_run_now(*, workflow: Workflow, customer, by) -> WorkflowRun:
    """Run `workflow` for `customer` now, from the builder ("Run now"): a run of event `manual` (its log says who
    started it), executed here like an event's run — conditions checked, each step once. A failing step leaves the
    run failed with its error in the log (nothing is retried behind the user's back)."""
    run = WorkflowRun.objects.create(workflow=workflow, event="manual", customer=customer,
                                     payload={"customer_id": customer.pk, "manual": True, "by": by.pk,
                                              "source": customer.source})
    try:
        return workflow_run_execute(run_id=run.pk)
    except Exception as exc:
        log.warning("manual run #%s of workflow #%s failed (%s)", run.pk, workflow.pk, type(exc).__name__)
        workflow_run_give_up(run_id=run.pk)
        run.refresh_from_db()
        return run


def workflow_run_give_up(*, run_id: int) -> None:
    WorkflowRun.objects.filter(pk=run_id).exclude(status=WorkflowRun.Status.SUCCEEDED).update(
        status=WorkflowRun.Status.FAILED, finished_at=timezone.now())
