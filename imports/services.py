"""The lead import: staging, paced chunked processing by any number of workers, resume, cancel, rejections.

Processing is a few chains of short Celery tasks per job (`IMPORT_PARALLELISM`), each step one chunk
(`import_step`); no task ever sleeps for the pace, so a paced job holds no worker slot while it waits:
1. take a pace slot: lock the job row briefly, start = max(now, pace_until), pace_until = start + chunk / rate —
   every worker of every job reads and moves the same deadline, so the pace is global, not per worker;
2. if the slot starts later, the step ends and the task is scheduled again (ETA) for the slot's start: a wait of
   at most one slot per chain (a few seconds), far under the Redis visibility_timeout;
3. in the slot, in one transaction: claim the next pending rows with SELECT … FOR UPDATE SKIP LOCKED, validate them
   with the registration gates (disposable, phone, country, duplicates against existing customers and earlier
   rows), create the good ones with their trading accounts, mark every row imported or rejected with its reason,
   and add to the job's counters — a worker killed mid-chunk rolls all of it back, so nothing is imported twice;
4. then reserve the next slot (back to 2); when no pending row is left, the job completes (exactly one step
   completes it); a cancelled job ends its chains at their next step.
A job is `pending` ("waiting in the queue") until a worker takes its first slot. A watchdog (beat, and each worker
at start-up) re-enqueues running jobs whose heartbeat went silent and pending jobs nobody picked up.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from brokercrm.csvutil import csv_lines
from brokercrm.events import event_emit
from crm.models import Note
from customers import gates
from customers.models import Customer, CustomerGroup, FraudSettings
from customers.services import customers_bulk_create
from teams.selectors import users_assignable_by

from . import conf
from .models import ImportJob, ImportRow
from .parsing import ImportFileError, parse

log = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportError_(Exception):
    def __init__(self, code: str, detail: str, status: int = 400, fields: dict | None = None):
        super().__init__(detail)
        self.code, self.detail, self.status, self.fields = code, detail, status, fields


def import_create(*, by, raw: bytes, file_name: str, rate_per_second: int | None = None) -> ImportJob:
    """Validate the file and stage its rows; processing starts on the workers after commit."""
    if not by.holds("customers.import"):
        raise ImportError_("permission_denied", "Importing needs customers.import.", 403)
    rate = conf.IMPORT_RATE_PER_SECOND if rate_per_second is None else rate_per_second
    if rate < 0 or rate > 10_000:
        raise ImportError_("validation_error", "Invalid pace.",
                           fields={"rate_per_second": ["0 to 10000; 0 = unpaced."]})
    try:
        parsed = parse(raw)
    except ImportFileError as error:
        raise ImportError_(error.code, error.detail, error.status, error.fields) from None
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=by, file_name=file_name[:255], header=parsed.header,
                                       messages=parsed.messages, total_rows=len(parsed.rows), rate_per_second=rate)
        ImportRow.objects.bulk_create([ImportRow(job=job, row_number=i, data=row)
                                       for i, row in enumerate(parsed.rows, start=1)], batch_size=5000)
        transaction.on_commit(lambda: import_dispatch(job_id=job.pk))
    return job


def import_dispatch(*, job_id) -> None:
    """Start the job's processing chains (see the module docstring)."""
    from .tasks import import_process_task

    for _ in range(max(1, conf.IMPORT_PARALLELISM)):
        import_process_task.delay(job_id=str(job_id))


def _chunk_size(rate: int) -> int:
    return 1000 if rate == 0 else max(1, min(rate, 500))


def _take_slot(job_id, size: int):
    """Reserve the next slot of the job's pace; returns (job, start) or (None, None) when the job is not running."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ImportJob.Status.PENDING:
            job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
        if job.status != ImportJob.Status.RUNNING:
            job.save(update_fields=["status", "started_at"])
            return None, None
        now = timezone.now()
        start = max(now, job.pace_until or now)
        if job.rate_per_second:
            job.pace_until = start + timedelta(seconds=size / job.rate_per_second)
        job.heartbeat_at = now
        job.save(update_fields=["status", "started_at", "pace_until", "heartbeat_at"])
        return job, start


# A slot due this close to now is taken at once rather than scheduled (ETA timers are not more precise).
SLOT_EARLY = timedelta(milliseconds=20)


def import_step(*, job_id, slot: datetime | None = None) -> datetime | None:
    """One step of a processing chain: process a chunk in a reserved slot and reserve the next one.

    Returns the start of the chain's next reserved slot (the caller schedules the next step for it, passing it as
    `slot`), or None when the chain ends (job completed, cancelled or failed, or its rows left to other chains).
    Without `slot` (a chain's first step, a resume) it first reserves one."""
    job = ImportJob.objects.get(pk=job_id)
    size = _chunk_size(job.rate_per_second)
    if slot is None:
        job, slot = _take_slot(job_id, size)
        if job is None:
            return None
    if slot > timezone.now() + SLOT_EARLY:
        return slot  # not due yet (a step woken early): wait for it, still holding no worker
    if _process_chunk(job, size) is None:  # nothing pending that this chain could claim
        finished = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING,
                                            processed_rows=F("total_rows")).update(
            status=ImportJob.Status.COMPLETED, finished_at=timezone.now())
        if finished:  # exactly one step completes the job and announces it
            job = ImportJob.objects.get(pk=job_id)
            event_emit("import.completed", {"job_id": str(job.pk), "imported_rows": job.imported_rows,
                                            "rejected_rows": job.rejected_rows})
        # Otherwise another chain holds the last rows: its next step (after its commit) completes the job.
        return None
    job, slot = _take_slot(job_id, size)
    return slot if job is not None else None


def import_process(*, job_id) -> ImportJob:
    """Run a job's chain inline to the end (no Celery: the `import_customers` command and tests)."""
    import time

    slot = import_step(job_id=job_id)
    while slot is not None:
        time.sleep(max(0.0, (slot - timezone.now()).total_seconds()))
        slot = import_step(job_id=job_id, slot=slot)
    return ImportJob.objects.get(pk=job_id)


def _context(job):
    groups = {g.name.lower(): g for g in CustomerGroup.objects.all()}
    assignable = {u.email.lower(): u for u in users_assignable_by(user=job.created_by)}
    return FraudSettings.current(), groups, assignable


def _validate(row: dict, fraud, groups, assignable):
    """The cleaned customer fields, or the reason the row is rejected (no PII in reasons)."""
    email = (row.get("email") or "").strip()
    first, last = (row.get("first_name") or "").strip(), (row.get("last_name") or "").strip()
    if not EMAIL_RE.match(email) or len(email) > 254:
        return None, "invalid email address"
    if not first or not last or len(first) > 80 or len(last) > 80:
        return None, "first_name and last_name are required (80 characters at most)"
    try:
        country = gates.validate_country(row.get("country") or "")
        phone = gates.normalize_phone(row.get("phone") or "", country, strict=fraud.strict_phone_validation)
    except gates.GateError as error:
        return None, f"invalid {next(iter(error.fields or {'value': []}))}"
    if gates.is_disposable_email(email, fraud=fraud):
        return None, "disposable email domain"
    clean = {"first_name": first, "last_name": last, "email": email, "email_canonical": gates.canonical_email(email),
             "phone": phone, "country": country}
    group_name = (row.get("group_name") or "").strip()
    if group_name:
        if group_name.lower() not in groups:
            return None, f"unknown group {group_name[:40]!r}"
        clean["group"] = groups[group_name.lower()]
    assignee = (row.get("assigned_to_email") or "").strip().lower()
    if assignee:
        if assignee not in assignable:
            return None, "assigned_to_email is not staff you may assign to"
        clean["assigned_to"] = assignable[assignee]
        clean["team"] = assignable[assignee].team
    return clean, ""


def _process_chunk(job: ImportJob, size: int) -> int | None:
    """Process up to `size` pending rows in one transaction; None when no pending row could be claimed."""
    fraud, groups, assignable = _context(job)
    with transaction.atomic():
        rows = list(ImportRow.objects.filter(job=job, status=ImportRow.Status.PENDING).order_by("row_number")
                    .select_for_update(skip_locked=True)[:size])
        if not rows:
            return None
        if ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True)[0] != ImportJob.Status.RUNNING:
            return 0
        outcome: dict[int, tuple[str, str]] = {}
        candidates = []
        for row in rows:
            clean, reason = _validate(row.data, fraud, groups, assignable)
            if clean is None:
                outcome[row.pk] = (ImportRow.Status.REJECTED, reason)
            else:
                candidates.append((row, clean))
        # Duplicates: against existing customers (indexed, one batch) and against earlier rows of this chunk.
        keys = [gates.DedupeKey(c["email_canonical"], c["phone"], c["country"], None) for _, c in candidates]
        matches = gates.duplicate_scores_bulk(keys, fraud=fraud)
        seen_email: dict[str, int] = {}
        seen_phone: dict[tuple[str, str], int] = {}
        to_create = []
        for (row, clean), match in zip(candidates, matches, strict=True):
            decision = gates.duplicate_decision(match.score, fraud=fraud) if match else "accept"
            if decision == "reject" and match is not None:
                outcome[row.pk] = (ImportRow.Status.REJECTED,
                                   f"duplicate of an existing customer (score {match.score})")
                continue
            earlier = seen_email.get(clean["email_canonical"]) or seen_phone.get((clean["phone"], clean["country"]))
            if earlier:
                outcome[row.pk] = (ImportRow.Status.REJECTED, f"duplicate of row {earlier} of this file")
                continue
            if decision == "flag" and match is not None:
                clean.update(possible_duplicate_of_id=match.customer_id, duplicate_score=match.score)
            seen_email[clean["email_canonical"]] = row.row_number
            seen_phone[(clean["phone"], clean["country"])] = row.row_number
            to_create.append((row, clean))
        created: dict[int, Customer] = {}
        try:
            with transaction.atomic():
                customers = customers_bulk_create(rows=[c for _, c in to_create], by=job.created_by)
            created = {row.pk: customer for (row, _), customer in zip(to_create, customers, strict=True)}
        except IntegrityError:
            # A concurrent chunk or registration took one of these emails: one row at a time, each in a savepoint.
            for row, clean in to_create:
                try:
                    with transaction.atomic():
                        created[row.pk] = customers_bulk_create(rows=[clean], by=job.created_by)[0]
                except IntegrityError:
                    outcome[row.pk] = (ImportRow.Status.REJECTED, "duplicate of an existing customer (email)")
        _notes(job, [(created[row.pk], row.data.get("comment", "")) for row, _ in to_create if row.pk in created])
        for row in rows:
            if row.pk in created:
                row.status, row.customer_id, row.reason = ImportRow.Status.IMPORTED, created[row.pk].pk, ""
            else:
                row.status, row.reason = outcome[row.pk]
        _mark_rows(rows)
        imported = len(created)
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=F("processed_rows") + len(rows),
                                                   imported_rows=F("imported_rows") + imported,
                                                   rejected_rows=F("rejected_rows") + len(rows) - imported,
                                                   heartbeat_at=timezone.now())
    return len(rows)


def _mark_rows(rows: list[ImportRow]) -> None:
    """Write each row's outcome. On PostgreSQL one UPDATE … FROM (VALUES …): Django's bulk_update builds a CASE per
    field and row and was half of the import's time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_update(rows, ["status", "reason", "customer_id"], batch_size=1000)
        return
    values = ", ".join(["(%s, %s, %s, %s::bigint)"] * len(rows))
    params = [p for r in rows for p in (r.pk, r.status, r.reason, r.customer_id)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE imports_importrow AS r SET status = v.status, reason = v.reason, customer_id = v.customer_id "
            f"FROM (VALUES {values}) AS v(id, status, reason, customer_id) WHERE r.id = v.id", params)


def _notes(job, pairs) -> None:
    """The `comment` column becomes each imported customer's first note (a sanctioned bulk write)."""
    now = timezone.now()
    Note.objects.bulk_create([Note(customer=c, body=body.strip()[:10000], author=job.created_by, created_at=now,
                                   updated_at=now) for c, body in pairs if (body or "").strip()])


def import_cancel(*, job: ImportJob, by) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk, status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING]).update(
        status=ImportJob.Status.CANCELLED, finished_at=timezone.now())
    return ImportJob.objects.get(pk=job.pk)


def import_resume_stale(*, stale_seconds: int | None = None) -> int:
    """Re-enqueue running jobs whose heartbeat is older than `stale_seconds` (their worker died), and pending jobs
    no worker picked up that long (their messages were lost); each is re-enqueued once per stale period."""
    from django.db.models import Q

    limit = timezone.now() - timedelta(seconds=conf.IMPORT_STALE_SECONDS if stale_seconds is None else stale_seconds)
    stale = list(ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=limit)
                 .values_list("pk", flat=True))
    stale += list(ImportJob.objects.filter(Q(heartbeat_at__lt=limit) | Q(heartbeat_at=None, created_at__lt=limit),
                                           status=ImportJob.Status.PENDING).values_list("pk", flat=True))
    for job_id in stale:
        ImportJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now(), pace_until=None)
        import_dispatch(job_id=job_id)
    return len(stale)


def jobs_visible_to(user):
    """A job is visible to its uploader and to admins (superusers or roles that see every customer with export)."""
    qs = ImportJob.objects.select_related("created_by")
    if user.is_superuser or (user.role and user.role.customer_view_scope == "all" and user.holds("customers.import")
                             and user.role.can_export_pii):
        return qs
    return qs.filter(created_by=user)


def rejections_csv(job: ImportJob):
    """The rejected rows as uploaded, plus row_number and reason; every cell neutralized against formulas, the
    header too (its column names come from the uploaded file)."""
    columns = [c for c in job.header if c]
    rows = job.rows.filter(status=ImportRow.Status.REJECTED).order_by("row_number").iterator(chunk_size=2000)
    return csv_lines(["row_number", *columns, "reason"],
                     ([row.row_number, *[row.data.get(c, "") for c in columns], row.reason] for row in rows))
