"""Writes of the agent workspace: tasks (notes, assignment and pipelines go through here too)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from brokercrm.actors import SYSTEM, actor_check, actor_user
from brokercrm.errors import DomainError, NotFound, PermissionDenied
from customers.models import Customer
from customers.services import activity_record
from teams.models import Team
from teams.selectors import users_assignable_by

from .models import AssignmentCursor, Note, NoteRevision, Notification, Task


class CrmError(DomainError):
    """An error of this app's services (see brokercrm.errors)."""




@transaction.atomic
def task_create(*, customer, title: str, due_at: datetime, assignee=None, team=None, by) -> Task:
    """Create a task on `customer` for `assignee` (or a team queue). Staff callers need manage_tasks and must see
    the customer; `by=SYSTEM` is the system (workflows, the ledger's auto-freeze); `by=None` raises."""
    actor_check(by)
    if by is not SYSTEM:
        if not by.holds("pipelines.manage_tasks"):
            raise PermissionDenied("Tasks need pipelines.manage_tasks.")
        if not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
            raise NotFound("No such customer.")
    if not (title or "").strip():
        raise CrmError("A task needs a title.", fields={"title": ["Required."]})
    task = Task.objects.create(customer=customer, title=title.strip()[:200], due_at=due_at, assignee=assignee,
                               team=team or (assignee.team if assignee else None), created_by=actor_user(by))
    activity_record(customer=customer, verb="task.created", by=by, summary=f"Task: {task.title}",
                    data={"task_id": task.pk, "due_at": due_at.isoformat(),
                          "assignee": assignee.pk if assignee else None})
    return task


def task_create_for_team(*, customer, team_name: str, title: str, due_in: timedelta = timedelta(hours=4)) -> Task:
    """A system task in a team's queue (e.g. finance after an auto-freeze)."""
    team = Team.objects.filter(name=team_name).first()
    return task_create(customer=customer, title=title, due_at=timezone.now() + due_in, team=team, by=SYSTEM)


def task_create_for_owner(*, customer, team_name: str, title: str, due_in: timedelta = timedelta(hours=4)) -> Task:
    """A system task for the customer's agent, else in the named team's queue: it always has an owner."""
    if customer.assigned_to_id and customer.assigned_to.is_active:
        return task_create(customer=customer, title=title, due_at=timezone.now() + due_in,
                           assignee=customer.assigned_to, by=SYSTEM)
    return task_create_for_team(customer=customer, team_name=team_name, title=title, due_in=due_in)


@transaction.atomic
def task_complete(*, task: Task, by) -> Task:
    actor_check(by)
    if not by.holds("pipelines.manage_tasks"):
        raise PermissionDenied("Tasks need pipelines.manage_tasks.")
    locked = Task.objects.visible_to(by).select_for_update(of=("self",)).filter(pk=task.pk).first()
    if locked is None:
        raise NotFound("No such task.")
    task = locked
    if task.status == Task.Status.DONE:
        return task
    task.status = Task.Status.DONE
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at"])
    activity_record(customer=task.customer, verb="task.completed", by=by, summary=f"Task done: {task.title}",
                    data={"task_id": task.pk})
    return task


# --- notes ----------------------------------------------------------------------------------------------------------


def _notes_visible(by):
    return Note.objects.visible_to(by)


@transaction.atomic
def note_add(*, customer, body: str, by) -> Note:
    if not by.holds("pipelines.manage_notes"):
        raise PermissionDenied("Notes need pipelines.manage_notes.")
    if not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
        raise NotFound("No such customer.")
    if not body.strip():
        raise CrmError("A note needs text.", fields={"body": ["Required."]})
    note = Note.objects.create(customer=customer, body=body, author=by)
    activity_record(customer=customer, verb="note.added", by=by, summary="Note added", data={"note_id": note.pk})
    return note


@transaction.atomic
def note_edit(*, note: Note, body: str, by) -> Note:
    """Replace a note's text, keeping the previous text (with its author and time) as a revision."""
    if not by.holds("pipelines.manage_notes"):
        raise PermissionDenied("Notes need pipelines.manage_notes.")
    note = _notes_visible(by).select_for_update(of=("self",)).filter(pk=note.pk).first()
    if note is None:
        raise NotFound("No such note.")
    if not body.strip():
        raise CrmError("A note needs text.", fields={"body": ["Required."]})
    if body == note.body:
        return note
    now = timezone.now()
    NoteRevision.objects.create(note=note, body=note.body, author=note.author, written_at=note.updated_at,
                                replaced_at=now, replaced_by=by)
    Note.objects.filter(pk=note.pk).update(body=body, author=by, updated_at=now)
    note.refresh_from_db()
    activity_record(customer=note.customer, verb="note.edited", by=by, summary="Note edited",
                    data={"note_id": note.pk})
    return note


# --- round-robin assignment -------------------------------------------------------------------------------------------


@transaction.atomic
def customers_bulk_assign(*, customer_ids: list[int], agent_ids: list[int], by) -> dict[int, int]:
    """Assign customers over agents round-robin: counts differ by at most one, and the rotation continues from
    where this assigner's previous bulk assignment stopped. Only customers `by` may edit, only agents `by` may
    assign to; all or nothing (one transaction)."""
    if not by.holds("customers.bulk_assign"):
        raise PermissionDenied("Bulk assignment needs customers.bulk_assign.")
    agents = list(users_assignable_by(user=by).filter(pk__in=agent_ids).order_by("pk"))
    if len(agents) != len(set(agent_ids)) or not agents:
        raise CrmError("Some agents are unknown or not yours to assign to.", fields={"agent_ids": ["Not assignable."]})
    customers = list(Customer.objects.editable_by(by).filter(pk__in=customer_ids).order_by("pk")
                     .select_for_update(of=("self",)))
    if len(customers) != len(set(customer_ids)):
        raise NotFound("Some customers are unknown or outside your edit scope.")
    cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(assigner=by)
    ids = [a.pk for a in agents]
    start = (ids.index(cursor.last_agent_id) + 1) % len(ids) if cursor.last_agent_id in ids else 0
    counts = {a.pk: 0 for a in agents}
    for i, customer in enumerate(customers):
        agent = agents[(start + i) % len(agents)]
        if customer.assigned_to_id != agent.pk:
            Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team)
            activity_record(customer=customer, verb="customer.assigned", by=by, summary=f"Assigned to {agent}",
                            data={"from": customer.assigned_to_id, "to": agent.pk, "bulk": True})
        counts[agent.pk] += 1
        cursor.last_agent_id = agent.pk
    cursor.save()
    return counts


# --- overdue tasks ---------------------------------------------------------------------------------------------------


def tasks_flag_overdue(*, now=None) -> int:
    """Flag newly overdue tasks once each: an activity entry on the customer and a notification for the assignee."""
    now = now or timezone.now()
    flagged = 0
    for task in Task.objects.overdue(now).filter(overdue_notified_at__isnull=True).select_related("customer")[:5000]:
        if Task.objects.filter(pk=task.pk, overdue_notified_at__isnull=True).update(overdue_notified_at=now):
            activity_record(customer=task.customer, verb="task.overdue", summary=f"Overdue: {task.title}",
                            data={"task_id": task.pk, "assignee": task.assignee_id})
            if task.assignee_id:
                Notification.objects.create(recipient_id=task.assignee_id, verb="task.overdue", task=task,
                                            customer=task.customer, text=f"Overdue: {task.title}")
            flagged += 1
    return flagged


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (all of them, or only `ids`); returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
