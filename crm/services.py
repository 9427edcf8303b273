"""Writes of the agent workspace: tasks (notes, assignment and pipelines go through here too)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from customers.services import activity_record

from .models import Task


class CrmError(Exception):
    code = "validation_error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, fields=None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
        if code:
            self.code = code
        if status:
            self.status = status


@transaction.atomic
def task_create(*, customer, title: str, due_at: datetime, assignee=None, team=None, by=None) -> Task:
    """Create a task on `customer` for `assignee` (or a team queue). Staff callers need manage_tasks and must see
    the customer; `by=None` is the system (workflows, the ledger's auto-freeze)."""
    if by is not None:
        from customers.models import Customer

        if not by.holds("pipelines.manage_tasks"):
            raise CrmError("Tasks need pipelines.manage_tasks.", code="permission_denied", status=403)
        if not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
            raise CrmError("No such customer.", code="not_found", status=404)
    task = Task.objects.create(customer=customer, title=title[:200], due_at=due_at, assignee=assignee,
                               team=team or (assignee.team if assignee else None), created_by=by)
    activity_record(customer=customer, verb="task.created", by=by, summary=f"Task: {task.title}",
                    data={"task_id": task.pk, "due_at": due_at.isoformat(),
                          "assignee": assignee.pk if assignee else None})
    return task


def task_create_for_team(*, customer, team_name: str, title: str, due_in: timedelta = timedelta(hours=4)) -> Task:
    """A system task in a team's queue (e.g. finance after an auto-freeze)."""
    from teams.models import Team

    team = Team.objects.filter(name=team_name).first()
    return task_create(customer=customer, title=title, due_at=timezone.now() + due_in, team=team, by=None)


@transaction.atomic
def task_complete(*, task: Task, by) -> Task:
    task = Task.objects.visible_to(by).select_for_update(of=("self",)).filter(pk=task.pk).first()
    if task is None:
        raise CrmError("No such task.", code="not_found", status=404)
    if task.status == Task.Status.DONE:
        return task
    task.status = Task.Status.DONE
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at"])
    activity_record(customer=task.customer, verb="task.completed", by=by, summary=f"Task done: {task.title}",
                    data={"task_id": task.pk})
    return task
