"""The lead import: staging, paced chunked processing by any number of workers, resume, cancel, rejections.

Processing is a few chains of short Celery tasks per job (`IMPORT_PARALLELISM`), each step one chunk
(`import_step`); no task ever sleeps for the pace, so a paced job holds no worker slot while it waits:
1. take a pace slot: lock the job row briefly, start = max(now, pace_until), pace_until = start + chunk / rate —
   every worker of every job reads and moves the same deadline, so the pace is global, not per worker;
2. if the slot starts later, the step ends and the task is scheduled again (ETA) for the slot's start: a wait of
   at most one slot per chain (a few seconds), far under the Redis visibility_timeout;
3. in the slot, in one transaction: claim the next pending rows with SELECT … FOR UPDATE SKIP LOCKED, validate them
   with the import registration path's gate pipeline (`customers.gates.pipeline_for("import")`: the same gates
   as the API's registration, chosen by the path's settings; duplicates over the chunk), create the good ones
   with their trading accounts, delete the imported rows from the staging table (the customer holds the data now,
   and its registration activity names the job), mark the rejected ones with their reason (the rejections report),
   and add to the job's counters — a worker killed mid-chunk rolls all of it back, so nothing is imported twice;
4. then reserve the next slot (back to 2); when no pending row is left, the job completes (exactly one step
   completes it); a cancelled job ends its chains at their next step.
A job is `pending` ("waiting in the queue") until a worker takes its first slot. A watchdog (beat, and each worker
at start-up) re-enqueues running jobs whose heartbeat went silent and pending jobs nobody picked up.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from brokercrm.bulk import array_cursor, copy_insert, json_rows
from brokercrm.errors import DomainError, PermissionDenied
from brokercrm.events import event_emit
from crm.models import Note
from customers import gates
from customers.models import CustomerGroup
from customers.services import customers_bulk_create, customers_insert_bulk
from teams.selectors import users_assignable_by

from . import conf
from .models import ImportJob, ImportRow
from .parsing import OPTIONAL, REQUIRED, parse
from .selectors import rejections_csv as rejections_csv  # re-exported: callers of the old home

log = logging.getLogger(__name__)


# Seconds spent per processing stage in this process (the bench prints them; a handful of perf_counter calls a chunk).
STAGE_SECONDS: defaultdict[str, float] = defaultdict(float)


@contextmanager
def _stage(name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[name] += time.perf_counter() - start


_gc_pause_lock = threading.Lock()
_gc_pauses = 0  # chunks (or stagings) of this process running with the collector paused
_gc_resume = False  # whether the last of them turns it back on (it was on when the first began)


@contextmanager
def _gc_paused():
    """Python's cyclic garbage collector paused for one chunk (or the staging of a file), then back on. A chunk
    allocates some 10⁵ objects: each 700 set off a young collection, and every few chunks a full one walked the
    whole process's heap (Django, the phone metadata, the disposable-domains list: ≈ 60 ms each) — ≈ 0.5 s of CPU
    over a 50,000-row import. The chunk's garbage is freed by reference counting as before; any reference cycle it
    leaves is collected as usual after the chunk.

    The collector is the process's: pauses that overlap (two threads staging files in a web process) are counted,
    and the last one to end turns it back on, only if it was on when the first began (the host's choice stays)."""
    global _gc_pauses, _gc_resume
    with _gc_pause_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_pause_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


class ImportError_(DomainError):
    """An error of this app's services (see brokercrm.errors): invalid input; files: parsing.ImportFileError."""


def import_create(*, by, raw: bytes, file_name: str, rate_per_second: int | None = None) -> ImportJob:
    """Validate the file and stage its rows; processing starts on the workers after commit."""

    if not by.holds("customers.import"):
        raise PermissionDenied("Importing needs customers.import.")
    try:
        gates.pipeline_for("import").ensure_open()  # the import registration path's own settings
    except gates.RegistrationClosed:
        raise gates.RegistrationClosed("import", detail="Importing customers is closed (registration path `import` "
                                                        "disabled).") from None
    rate = conf.IMPORT_RATE_PER_SECOND if rate_per_second is None else rate_per_second
    if rate < 0 or rate > 10_000:
        raise ImportError_("Invalid pace.",
                           fields={"rate_per_second": ["0 to 10000; 0 = unpaced."]})
    with _gc_paused():
        return _import_stage(by, raw, file_name, rate)


def _import_stage(by, raw: bytes, file_name: str, rate: int) -> ImportJob:
    with _stage("staging: parse"):
        parsed = parse(raw)  # ImportFileError: the file's own code
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=by, file_name=file_name[:255], header=parsed.header,
                                       messages=parsed.messages, total_rows=len(parsed.rows), rate_per_second=rate)
        with _stage("staging: COPY into imports_importrow"):
            _stage_rows(job, parsed.rows)
        transaction.on_commit(lambda: import_dispatch(job_id=job.pk))
    return job


def _stage_rows(job: ImportJob, rows: list[dict]) -> None:
    """Stage the parsed rows (row numbers from 1). On PostgreSQL one COPY into the staging table (5–10× faster than
    bulk_create's INSERTs of JSON); elsewhere bulk_create."""
    from django.db import connection

    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_create([ImportRow(job=job, row_number=i, data=row)
                                       for i, row in enumerate(rows, start=1)], batch_size=5000)
        return
    pending = ImportRow.Status.PENDING
    with connection.cursor() as cursor, cursor.copy(
            "COPY imports_importrow (job_id, row_number, data, status, reason) FROM STDIN") as copy:
        for i, row in enumerate(rows, start=1):
            copy.write_row((job.pk, i, json.dumps(row), pending, ""))


def import_dispatch(*, job_id) -> None:
    """Start the job's processing chains (see the module docstring)."""
    from .tasks import import_process_task

    for _ in range(max(1, conf.IMPORT_PARALLELISM)):
        import_process_task.delay(job_id=str(job_id))


def _chunk_size(rate: int) -> int:
    """Rows per step: unpaced 1,000; paced, one second's worth (≤ 500). Kept at 1,000 (issue #16): earlier rows of
    the same chunk are what "duplicate of row N of this file" is measured against, so a bigger chunk would change
    the reasons of files over 1,000 rows; 2,000 saved only ~3% (the per-chunk costs are small)."""
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
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)  # the chunk's actor, in the same query
    size = _chunk_size(job.rate_per_second)
    if slot is None:
        job, slot = _take_slot(job_id, size)
        if job is None:
            return None
    if slot > timezone.now() + SLOT_EARLY:
        return slot  # not due yet (a step woken early): wait for it, still holding no worker
    with _stage("chunk (total, with commit)"), _gc_paused():
        processed = _process_chunk(job, size)
    if processed is None:  # nothing pending that this chain could claim
        finished = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING,
                                            processed_rows=F("total_rows")).update(
            status=ImportJob.Status.COMPLETED, finished_at=timezone.now())
        if finished:  # exactly one step completes the job and announces it
            job = ImportJob.objects.get(pk=job_id)
            event_emit("import.completed", {"job_id": str(job.pk), "imported_rows": job.imported_rows,
                                            "rejected_rows": job.rejected_rows})
        # Otherwise another chain holds the last rows: its next step (after its commit) completes the job.
        return None
    with _stage("pace slot"):
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


class _OnFirstUse:
    """A chunk's lookup table (groups by name, assignable staff by email), read the first time a row of the chunk
    needs it: most files carry neither `group_name` nor `assigned_to_email`, and the two queries were read for
    every chunk all the same."""

    def __init__(self, load):
        self._load, self._table = load, None

    def _get(self) -> dict:
        if self._table is None:
            self._table = self._load()
        return self._table

    def __contains__(self, key) -> bool:
        return key in self._get()

    def __getitem__(self, key):
        return self._get()[key]


def _context(job):
    groups = _OnFirstUse(lambda: {g.name.lower(): g for g in CustomerGroup.objects.all()})
    assignable = _OnFirstUse(lambda: {u.email.lower(): u for u in users_assignable_by(user=job.created_by)})
    return gates.pipeline_for("import"), groups, assignable


def _reason(error) -> str:
    """A rejected row's reason: the gate's API.md code and its short text (no PII), as registration refuses it."""
    return f"{error.code}: {error.reason}"


def _validate(row: dict, pipeline, groups, assignable):
    """The candidate and its cleaned customer fields after the import path's gates up to duplicates (which run over
    the chunk), or the reason the row is rejected (no PII in reasons)."""

    candidate = gates.Candidate.from_data(row)
    try:
        pipeline.check(candidate, until="duplicates")
    except gates.GateError as error:
        return None, None, _reason(error)
    clean = {"first_name": candidate.first_name, "last_name": candidate.last_name, "email": candidate.email,
             "email_canonical": candidate.email_canonical, "phone": candidate.phone, "country": candidate.country,
             "group_id": pipeline.path.default_group_id}
    group_name = (row.get("group_name") or "").strip()
    if group_name:
        if group_name.lower() not in groups:
            return None, None, f"validation_error: unknown group {group_name[:40]!r}"
        clean["group_id"] = groups[group_name.lower()].pk
    assignee = (row.get("assigned_to_email") or "").strip().lower()
    if assignee:
        if assignee not in assignable:
            return None, None, "validation_error: assigned_to_email is not staff you may assign to"
        clean["assigned_to_id"] = assignable[assignee].pk
        clean["team_id"] = assignable[assignee].team_id
    return candidate, clean, ""


def _process_chunk(job: ImportJob, size: int) -> int | None:
    """Process up to `size` pending rows in one transaction; None when no pending row could be claimed."""
    from django.db import connection


    with _stage("context"):
        pipeline, groups, assignable = _context(job)
    with transaction.atomic():
        with _stage("claim"):
            rows = _claim(job, size)
            if rows is None:
                return None
            if not rows:
                return 0
        outcome: dict[int, tuple[str, str]] = {}
        candidates = []
        with _stage("gates (row-wise)"):
            for row in rows:
                candidate, clean, reason = _validate(row.data, pipeline, groups, assignable)
                if clean is None:
                    outcome[row.pk] = (ImportRow.Status.REJECTED, reason)
                else:
                    candidates.append((row, candidate, clean))
        # The duplicates gate over the chunk: existing customers (indexed, one batch) and earlier rows of the chunk.
        with _stage("gate duplicates"):
            refusals = pipeline.duplicates_bulk([c for _, c, _ in candidates],
                                                [r.row_number for r, _, _ in candidates])
        to_create = []
        for (row, candidate, clean), refused in zip(candidates, refusals, strict=True):
            if refused is not None:
                outcome[row.pk] = (ImportRow.Status.REJECTED, _reason(refused))
                continue
            if candidate.match:
                clean.update(possible_duplicate_of_id=candidate.match.customer_id,
                             duplicate_score=candidate.match.score)
            to_create.append((row, clean))
        insert = customers_insert_bulk if connection.vendor == "postgresql" else _insert_orm
        created: dict[int, int] = {}
        provenance = {"import_job": str(job.pk)}
        with _stage("insert customers+accounts+activity"):
            try:
                with transaction.atomic():
                    ids = insert(rows=[c for _, c in to_create], by=job.created_by, data=provenance)
                created = {row.pk: pk for (row, _), pk in zip(to_create, ids, strict=True)}
            except IntegrityError:
                # A concurrent chunk or registration took one of these emails: one row at a time, each in a savepoint.
                for row, clean in to_create:
                    try:
                        with transaction.atomic():
                            created[row.pk] = insert(rows=[clean], by=job.created_by, data=provenance)[0]
                    except IntegrityError:
                        outcome[row.pk] = (ImportRow.Status.REJECTED,
                                           "duplicate_customer: duplicate of an existing customer (email)")
        with _stage("insert notes"):
            _notes(job, [(created[row.pk], row.data.get("comment", "")) for row, _ in to_create
                         if row.pk in created])
        with _stage("mark rows + counters"):
            for row in rows:
                if row.pk not in created:
                    row.status, row.reason = outcome[row.pk]
            _mark_rows(job, rows, imported=len(created))
        # The commit itself (and the after-commit dispatch of `customer.registered`) is timed by the caller.
    return len(rows)


# The columns a staged row can hold (parsing keeps only these), in the order the claim reads them.
STAGED_COLUMNS = tuple(REQUIRED + OPTIONAL)
assert all(name.isidentifier() for name in STAGED_COLUMNS)  # quoted into the claim's SQL as literals


@dataclass(slots=True)
class _Row:
    """A claimed staging row as the chunk needs it (PostgreSQL: read with one SQL statement, no model instances)."""

    pk: int
    row_number: int
    data: dict
    status: str = ImportRow.Status.PENDING
    reason: str = ""


def _claim(job: ImportJob, size: int) -> list | None:
    """Lock the next `size` pending rows of the job (SKIP LOCKED: chains never share a row): None when there are
    none, [] when the job is no longer running (cancelled), else the rows in row order. On PostgreSQL one round trip
    for both (the job's status read beside the claim), rows as `_Row`; elsewhere ImportRow instances."""
    from django.db import connection

    if connection.vendor != "postgresql":
        rows = list(ImportRow.objects.filter(job=job, status=ImportRow.Status.PENDING).order_by("row_number")
                    .select_for_update(skip_locked=True)[:size])
        if not rows:
            return None
        running = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True)[0] == ImportJob.Status.RUNNING
        return rows if running else []
    # The cells come as text columns (`data ->> 'email'`, …), not as the JSON document: decoding 1,000 documents
    # a chunk with json.loads was a tenth of the import's Python. Only the columns the import reads exist in a
    # staged row (parsing drops the others), every cell a string; a missing one reads NULL and is left out.
    cells = ", ".join(f"r.data ->> '{name}'" for name in STAGED_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.id, r.row_number, j.status, {cells} FROM ("
            " SELECT id, row_number, data FROM imports_importrow WHERE job_id = %s AND status = %s"
            " ORDER BY row_number LIMIT %s FOR UPDATE SKIP LOCKED) r"
            " CROSS JOIN (SELECT status FROM imports_importjob WHERE id = %s) j ORDER BY r.row_number",
            [job.pk, ImportRow.Status.PENDING, size, job.pk])
        found = cursor.fetchall()
    if not found:
        return None
    if found[0][2] != ImportJob.Status.RUNNING:
        return []
    return [_Row(pk, number, {k: v for k, v in zip(STAGED_COLUMNS, values, strict=True) if v is not None})
            for pk, number, _, *values in found]


def _mark_rows(job: ImportJob, rows: list, *, imported: int) -> None:
    """Close a chunk: delete its imported rows (those still `pending`: every other row of the chunk was given its
    rejection) from the staging table, write each rejected row's reason, and add the chunk to the job's counters
    (its progress). An imported row's cells live on in its customer, so the staging
    table keeps only what is still to do (`pending`) and what the rejections report reads (`rejected`): deleting a
    row writes only its header, where the old outcome (`imported` and the customer's id) wrote a new version of
    the whole row and its index entries — ≈ 0.6 s of the database's time over 50,000 rows (issue #16) — and left
    a second copy of each imported lead's personal data behind.
    On PostgreSQL one statement for all three, the ids and outcomes as JSON parameters (`json.dumps` in C; psycopg
    dumps array parameters element by element in Python); Django's bulk_update elsewhere."""
    from django.db import connection

    now = timezone.now()
    rejected = [r for r in rows if r.status == ImportRow.Status.REJECTED]
    gone = [r.pk for r in rows if r.status != ImportRow.Status.REJECTED]
    if connection.vendor != "postgresql":
        ImportRow.objects.filter(pk__in=gone).delete()
        ImportRow.objects.bulk_update(rejected, ["status", "reason"], batch_size=1000)
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=F("processed_rows") + len(rows),
                                                   imported_rows=F("imported_rows") + imported,
                                                   rejected_rows=F("rejected_rows") + (len(rows) - imported),
                                                   heartbeat_at=now)
        return
    # The id range bounds both joins: without it the planner hashes the ids and scans the whole staging table
    # (every job's rows) once per chunk — 65 ms a chunk with one 50,000-row job staged, growing with each import.
    # A chunk's ids are nearly contiguous (staged in row order, claimed in row order), so the range is a short scan.
    # Both data-modifying WITHs run to completion whether or not the outer statement reads them.
    ids = [r.pk for r in rows]
    with array_cursor() as cursor:  # the JSON bound on the server, not quoted into a 60 KB statement text
        cursor.execute(
            "WITH gone AS (DELETE FROM imports_importrow AS r "
            "USING jsonb_array_elements_text(%(gone)s::jsonb) AS g(id) "
            "WHERE r.id = g.id::bigint AND r.id BETWEEN %(low)s AND %(high)s), "
            "marked AS (UPDATE imports_importrow AS r SET status = %(rejected_status)s, reason = v.e ->> 1 "
            "FROM jsonb_array_elements(%(outcomes)s::jsonb) AS v(e) "
            "WHERE r.id = (v.e ->> 0)::bigint AND r.id BETWEEN %(low)s AND %(high)s) "
            "UPDATE imports_importjob SET processed_rows = processed_rows + %(processed)s, "
            "imported_rows = imported_rows + %(imported)s, rejected_rows = rejected_rows + %(rejected)s, "
            "heartbeat_at = %(now)s WHERE id = %(job)s",
            {"gone": json.dumps(gone), "outcomes": json_rows([r.pk for r in rejected], [r.reason for r in rejected]),
             "rejected_status": ImportRow.Status.REJECTED,
             "low": min(ids), "high": max(ids), "job": job.pk, "processed": len(rows), "imported": imported,
             "rejected": len(rows) - imported, "now": now})


def _insert_orm(*, rows: list[dict], by, data: dict | None = None) -> list[int]:
    """The customers' creation off PostgreSQL (the embedded SQLite default): the ORM's bulk_create."""

    return [c.pk for c in customers_bulk_create(rows=rows, by=by, data=data)]


def _notes(job, pairs) -> None:
    """The `comment` column becomes each imported customer's first note (a sanctioned bulk write; on PostgreSQL
    one COPY)."""
    from django.db import connection


    now = timezone.now()
    notes = [(pk, body.strip()[:10000]) for pk, body in pairs if (body or "").strip()]
    if connection.vendor == "postgresql":
        copy_insert(Note, {"customer_id": [pk for pk, _ in notes], "body": [b for _, b in notes]},
                      constants={"author_id": job.created_by_id, "created_at": now, "updated_at": now})
        return
    Note.objects.bulk_create([Note(customer_id=pk, body=body, author=job.created_by, created_at=now,
                                   updated_at=now) for pk, body in notes])


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
