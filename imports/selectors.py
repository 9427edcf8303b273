"""Reads of imports: the jobs a staff member may see, one of them, its rejected rows as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from django.db.models import QuerySet

from brokercrm.csvutil import csv_lines
from teams.models import User

from .models import ImportJob, ImportRow


def job_list(*, user: User) -> QuerySet[ImportJob]:
    """A job is visible to its uploader and to admins (superusers or roles that see every customer with export)."""
    qs = ImportJob.objects.select_related("created_by")
    role = user.role
    if user.is_superuser or (role is not None and role.customer_view_scope == "all"
                             and user.holds("customers.import") and role.can_export_pii):
        return qs
    return qs.filter(created_by=user)


def job_get(*, user: User, job_id: UUID | str) -> ImportJob | None:
    """One visible job, or None (another uploader's job looks exactly like an unknown one)."""
    return job_list(user=user).filter(pk=job_id).first()


def rejections_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as uploaded, plus row_number and reason; every cell neutralized against formulas, the
    header too (its column names come from the uploaded file)."""
    columns = [c for c in job.header if c]
    rows = job.rows.filter(status=ImportRow.Status.REJECTED).order_by("row_number").iterator(chunk_size=2000)
    return csv_lines(["row_number", *columns, "reason"],
                     ([row.row_number, *[row.data.get(c, "") for c in columns], row.reason] for row in rows))
