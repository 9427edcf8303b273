"""50,000 rows unpaced, with full validation and duplicate scoring against N existing customers, beside a plain
COPY of the same rows into the same table (the physical reference: run three times, rolled back each time, the
fastest kept), and the ratio of the two. Wall time, plus the CPU of this process and of its PostgreSQL backend.
PostgreSQL, scratch database.

    python manage.py bench_import --yes [--rows 50000 --existing 1000000]
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import time
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

import brokercrm.bulk
import customers.services
import ledger.receivers
import ledger.services
from brokercrm import events
from customers import gates
from customers.models import Customer
from devtools.management.commands.bench_customers import copy_customers
from imports import services
from imports.models import ImportJob
from imports.parsing import parse
from imports.services import import_create, import_process
from teams.models import Role, User


def lead_csv(rows: int) -> str:
    lines = ["email,phone,first_name,last_name,country,comment"]
    lines += [f"bench.lead{i}@example.org,+4478{i:08d},Lead{i},Bench,GB," for i in range(rows)]
    # every 50th row repeats an existing customer's email: duplicate scoring has work to do
    for i in range(0, rows, 50):
        lines[i + 1] = f"bench{i + 1}@bench.example,+4478{i:08d},Dupe{i},Bench,GB,"
    return "\n".join(lines) + "\n"


def _timed(seconds: dict, name: str, fn):
    """`fn`, adding the seconds of each call to `seconds[name]`."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - start
    return wrapper


@contextmanager
def stage_timers():
    """Time each table's COPY, the accounts and the after-commit dispatch, into `services.STAGE_SECONDS` (wrappers
    around the real functions, restored afterwards): a few timers a chunk. The gates are timed as a whole by the
    import itself; one by one they are timed afterwards by `gate_replay` (a wrapper per gate and row cost ~0.4 s of
    the 50,000-row run, measuring the bench rather than the import)."""
    seconds = services.STAGE_SECONDS

    timed = functools.partial(_timed, seconds)

    def copy_insert(model, *args, **kwargs):
        start = time.perf_counter()
        try:
            return saved["copy_insert"](model, *args, **kwargs)
        finally:
            seconds[f"  COPY {model._meta.db_table}"] += time.perf_counter() - start

    # Patched where it is called (each module imported the function by name).
    users = (customers.services, services, ledger.services)
    saved = {"copy_insert": brokercrm.bulk.copy_insert,
             "accounts": ledger.receivers.accounts_open_for_ids, "emit_many": events.event_emit_many}

    def emit_many(name, payloads):
        def timed_on_commit(fn):
            saved_on_commit(timed(f"after-commit dispatch of {name}", fn))
        saved_on_commit = events.transaction.on_commit
        events.transaction.on_commit = timed_on_commit
        try:
            return saved["emit_many"](name, payloads)
        finally:
            events.transaction.on_commit = saved_on_commit

    for module in users:
        module.copy_insert = copy_insert  # type: ignore[attr-defined]
    ledger.receivers.accounts_open_for_ids = timed("  accounts (ledger's hook)", saved["accounts"])
    events.event_emit_many = customers.services.event_emit_many = emit_many  # type: ignore[attr-defined]
    try:
        yield seconds
    finally:
        for module in users:
            module.copy_insert = saved["copy_insert"]  # type: ignore[attr-defined]
        ledger.receivers.accounts_open_for_ids = saved["accounts"]
        events.event_emit_many = customers.services.event_emit_many = saved["emit_many"]  # type: ignore[attr-defined]


def gate_replay(job, rows: list[dict], size: int = 1000) -> dict[str, float]:
    """Each row-wise gate's seconds over the same rows, replayed outside the timed run as the import runs them
    (`services._validate` per row, a fresh pipeline per chunk of `size`): a wrapper per gate and row."""
    seconds: dict[str, float] = dict.fromkeys((g.name for g in gates.GATES), 0.0)

    timed = functools.partial(_timed, seconds)

    saved = gates.GATES
    gates.GATES = tuple(dataclasses.replace(g, check=timed(g.name, g.check)) for g in saved)
    try:
        for start in range(0, len(rows), size):
            pipeline, groups, assignable = services._context(job)
            for row in rows[start:start + size]:
                services._validate(row, pipeline, groups, assignable)
    finally:
        gates.GATES = saved
    return {name: spent for name, spent in seconds.items() if spent}


def cpu_seconds() -> tuple[float, float | None]:
    """CPU seconds (user + system) used so far by this process and by its PostgreSQL backend (None when the server's
    /proc is not readable, i.e. not on this machine): on a shared machine wall time follows the load, CPU much less."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    own = os.times()
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = None
    return own.user + own.system, backend


def cpu_spent(before: tuple[float, float | None]) -> str:
    own, backend = cpu_seconds()
    spent = f"CPU {own - before[0]:.2f}s here"
    if backend is not None and before[1] is not None:
        spent += f" + {backend - before[1]:.2f}s in the PostgreSQL backend"
    return spent


def copy_customers_seconds(rows: int, *, email_prefix: str = "copy.lead", phone_prefix: str = "+4477") -> float:
    """The physical reference: COPY as many customer rows into customers_customer, inside a transaction rolled
    back (bench_import's and bench_import_e2e's anchor)."""
    buf = io.StringIO()
    for i in range(rows):
        email = f"{email_prefix}{i}@example.org"
        buf.write(f"Lead{i}\tBench\t{email}\t{email}\t{phone_prefix}{i:08d}\tGB\ten\t\timport\tf\t0\tnew\t"
                  f"not_submitted\tno_deposit\tactive\t2026-01-01T00:00:00+00:00\n")
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        t0 = time.perf_counter()
        with cursor.copy("COPY customers_customer (first_name, last_name, email, email_canonical, phone, country, "
                         "locale, password, source, marketing_consent, duplicate_score, sales_status, kyc_status, "
                         "finance_status, retention_class, registered_at) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        spent = time.perf_counter() - t0
        cursor.execute("ROLLBACK")
    return spent


class Command(BaseCommand):
    help = "Benchmark the unpaced import pipeline against a plain COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50_000)
        parser.add_argument("--existing", type=int, default=1_000_000)
        parser.add_argument("--yes", action="store_true")
        parser.add_argument("--stages", action="store_true", help="print the time of each stage (wrappers add a "
                                                                  "little overhead)")

    def handle(self, *args, rows, existing, yes, stages=False, **options):
        if connection.vendor != "postgresql" or not yes:
            raise CommandError("Needs PostgreSQL and --yes (scratch database).")
        have = Customer.objects.count()
        if have < existing:
            self.stdout.write(f"loading {existing - have:,} existing customers with COPY…")
            copy_customers(have + 1, existing - have)
        role, _ = Role.objects.get_or_create(name="bench-importer", defaults={"customer_view_scope": "all",
                                                                              "customer_edit_scope": "all"})
        user = User.objects.filter(email="importer@bench.example").first() or User.objects.create_user(
            "importer@bench.example", None, role=role, is_superuser=True)
        text = lead_csv(rows)

        dispatch, services.import_dispatch = services.import_dispatch, lambda **kw: None
        services.STAGE_SECONDS.clear()
        timers = stage_timers() if stages else contextlib.nullcontext()
        cpu = cpu_seconds()
        try:
            timers.__enter__()
            t0 = time.perf_counter()
            job = import_create(by=user, raw=text.encode(), file_name="bench.csv", rate_per_second=0)
            staged = time.perf_counter() - t0
            t1 = time.perf_counter()
            import_process(job_id=job.pk)
            processed = time.perf_counter() - t1
        finally:
            timers.__exit__(None, None, None)
            services.import_dispatch = dispatch
        job = ImportJob.objects.get(pk=job.pk)
        total = staged + processed
        self.stdout.write(f"import of {rows:,} rows against {Customer.objects.count() - job.imported_rows:,} "
                          f"customers: {total:.1f}s ({rows / total:,.0f} rows/s; staging {staged:.1f}s, "
                          f"processing {processed:.1f}s); imported {job.imported_rows:,}, "
                          f"rejected {job.rejected_rows:,}; {cpu_spent(cpu)}")
        for name, spent in services.STAGE_SECONDS.items():
            self.stdout.write(f"  {name:<45} {spent:7.2f}s")
        if stages:
            self.stdout.write("  each row-wise gate, replayed over the same rows after the run (not in the total):")
            for name, spent in gate_replay(job, parse(text.encode()).rows).items():
                self.stdout.write(f"    gate {name:<40} {spent:7.2f}s")
        # The anchor three times, the fastest kept: on a shared machine a one-second COPY is easily slowed down,
        # which would flatter the ratio; its fastest run is the closest to its real cost (never an easier anchor).
        cpu = cpu_seconds()
        copies = [copy_customers_seconds(rows) for _ in range(3)]
        copied = min(copies)
        self.stdout.write(f"plain COPY of the same {rows:,} rows: {copied:.2f}s, the fastest of "
                          f"{' / '.join(f'{c:.2f}' for c in copies)}s ({rows / copied:,.0f} rows/s; "
                          f"{cpu_spent(cpu)} for the three, the rows' text built in Python included) — the import "
                          f"does validation, scoring, accounts, activity and notes on top")
        self.stdout.write(f"ratio: the import took {total / copied:.1f}× the plain COPY (load average "
                          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})")
