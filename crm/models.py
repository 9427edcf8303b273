from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TaskQuerySet(models.QuerySet):
    def overdue(self, now=None) -> "TaskQuerySet":
        return self.filter(status=Task.Status.OPEN, due_at__lt=now or timezone.now())

    def visible_to(self, user) -> "TaskQuerySet":
        """Tasks on customers the user may see, plus tasks assigned to them."""
        from customers.models import Customer

        return self.filter(Q(customer__in=Customer.objects.visible_to(user)) | Q(assignee=user))


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
