from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from brokercrm.actors import SYSTEM
from customers.models import Customer, CustomerOwnedQuerySet

from .trading.models import PlatformAccount, PlatformDeal  # noqa: F401  the trading bridge's own tables


class TaskQuerySet(CustomerOwnedQuerySet):
    def overdue(self, now=None) -> TaskQuerySet:
        return self.filter(status=Task.Status.OPEN, due_at__lt=now or timezone.now())

    def visible_to(self, user) -> TaskQuerySet:
        """Tasks on customers the user may see, plus tasks assigned to them."""
        if user is SYSTEM:
            return super().visible_to(user)
        return self.filter(self._through_customer(Customer.objects.visible_to(user)) | Q(assignee=user))


class Task(models.Model):
    """A to-do about a customer, for an agent (or a team's queue when unassigned), due at a time."""

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tasks")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due"),
                   models.Index(fields=["status", "due_at"], name="task_status_due")]

    def __str__(self) -> str:
        return self.title


class Note(models.Model):
    """A note on a customer. Never deleted; an edit keeps the earlier text as a revision (compliance trail)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="notes")
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        triggers = [pgtrigger.Protect(name="note_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"note #{self.pk} on customer #{self.customer_id}"


class NoteRevision(models.Model):
    """One earlier text of a note, with who wrote it and when. The database refuses UPDATE and DELETE."""

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="revisions")
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField()
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    customer_path = "note__customer"
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["written_at", "id"]
        triggers = [pgtrigger.Protect(name="revision_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"revision of note #{self.note_id}"


class AssignmentCursor(models.Model):
    """Where round-robin assignment continues: the last agent that received a customer, per assigner."""

    assigner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_agent_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"cursor of user #{self.assigner_id}"


class Notification(models.Model):
    """A message for one staff user (e.g. "your task is overdue"), shown on their tasks page until read."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    verb = models.CharField(max_length=64)
    text = models.CharField(max_length=255)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    # Read by its recipient (`recipient=user`); staff scope by the customer it is about, as everything else.
    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.text
