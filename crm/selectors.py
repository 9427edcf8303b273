"""Reads of the CRM workspace that more than one interface (API, pages) shares."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from brokercrm.errors import PermissionDenied
from teams import pii
from teams.models import subtree_q
from teams.selectors import team_paths_for

from .models import Note, Notification, Task

TASK_SCOPES = ("own", "team", "queue", "all")


def notifications_unread(*, user, limit: int = 50) -> list[Notification]:
    """The staff member's own unread notifications (addressed to them: no customer scope applies, and a notification
    may have no customer), newest first."""
    return list(Notification.objects.filter(recipient=user, read_at__isnull=True).select_related("customer")[:limit])


def sees_all_tasks(user) -> bool:
    """`scope=all` is for roles that see every customer (customer_view_scope all) and superusers."""
    return user.is_superuser or bool(user.role_id and user.role.customer_view_scope == "all")


def task_list(*, user, scope: str = "own", overdue: bool = False, status: str | None = None) -> QuerySet[Task]:
    """Tasks by scope: `own` (assigned to me), `team` (mine and my team subtree's, its queue included), `queue`
    (the team queue: unassigned tasks of my team subtree; every unassigned task for all-scope roles), `all`
    (every task, unassigned ones included; all-scope roles only, else 403 permission_denied). Unknown scope: 400."""
    from .services import CrmError

    if scope not in TASK_SCOPES:
        raise CrmError("Unknown scope.", fields={"scope": [f"One of: {', '.join(TASK_SCOPES)}."]})
    if scope == "all" and not sees_all_tasks(user):
        raise PermissionDenied("scope=all is for roles that see every customer.")
    qs = Task.objects.visible_to(user).select_related("customer", "assignee", "team")
    if scope == "own":
        qs = qs.filter(assignee=user)
    elif scope == "team":
        paths = team_paths_for(user=user)
        qs = qs.filter(Q(assignee=user) | subtree_q(paths) | subtree_q(paths, via="assignee__team"))
    elif scope == "queue":
        qs = qs.filter(assignee__isnull=True)
        if not sees_all_tasks(user):
            qs = qs.filter(subtree_q(team_paths_for(user=user)))
    if overdue:
        qs = qs.overdue()
    if status in (Task.Status.OPEN, Task.Status.DONE):
        qs = qs.filter(status=status)
    return qs.order_by("due_at", "id")


def note_history(*, note: Note, viewer) -> list[dict[str, Any]]:
    """Every text a note had, oldest first, the current one last; bodies redacted for `viewer`
    (teams.pii.redact_for, knowing the note's customer)."""
    customer = note.customer
    revisions: list[dict[str, Any]] = [
        {"body": pii.redact_for(r.body, viewer, customer), "author": r.author.email if r.author else None,
         "written_at": r.written_at, "replaced_at": r.replaced_at,
         "replaced_by": r.replaced_by.email if r.replaced_by else None}
        for r in note.revisions.select_related("author", "replaced_by")
    ]
    current = {"body": pii.redact_for(note.body, viewer, customer),
               "author": note.author.email if note.author else None,
               "written_at": note.updated_at, "replaced_at": None, "replaced_by": None}
    return [*revisions, current]
