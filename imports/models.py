from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportJob(models.Model):
    """One uploaded CSV of leads, processed by workers at a global pace; its counters are its progress."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    header = models.JSONField(default=list)
    messages = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    rate_per_second = models.PositiveIntegerField(help_text="0 = unpaced")
    pace_until = models.DateTimeField(null=True, blank=True, help_text="When the next chunk may start (global pace).")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.file_name} ({self.status})"

    @property
    def waiting_in_queue(self) -> bool:
        """Queued, not yet started: no worker has taken its first slot (the imports queue is busy or no worker)."""
        return self.status == self.Status.PENDING

    @property
    def status_text(self) -> str:
        """The status in words, as the import page shows it."""
        if self.waiting_in_queue:
            return "waiting in the queue"
        return {self.Status.RUNNING: "running"}.get(self.status, self.get_status_display().lower())


class ImportRow(models.Model):
    """One data row as uploaded, staged until it is processed. Rows are claimed in chunks with SKIP LOCKED; a row
    whose customer is created is deleted in the same transaction (the customer holds its cells, and its registration
    activity names the job), a rejected one stays with its reason for the rejections report."""

    class Status(models.TextChoices):
        PENDING = "pending"
        REJECTED = "rejected"

    # No index of its own: `import_row_once` (job, row_number) serves every lookup by job.
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False)
    row_number = models.PositiveIntegerField(help_text="1 = the first line after the header")
    data = models.JSONField(help_text="The cells as uploaded, by column name.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="import_row_once")]
        # The claim reads pending rows only; a partial index leaves a row as it leaves `pending`, so writing a
        # chunk's outcomes inserts into two indexes, not four (issue #16).
        indexes = [models.Index(fields=["job", "row_number"], name="import_row_claim_pending",
                                condition=models.Q(status="pending"))]

    def __str__(self) -> str:
        return f"row {self.row_number} of {self.job_id}"
