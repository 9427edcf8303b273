"""50,000 rows unpaced, with full validation and duplicate scoring against N existing customers, beside a plain
COPY of the same rows into the same table (the physical reference). PostgreSQL, scratch database.

    python manage.py bench_import --yes [--rows 50000 --existing 1000000]
"""

from __future__ import annotations

import io
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from customers.models import Customer
from devtools.management.commands.bench_customers import copy_customers
from imports import services
from imports.models import ImportJob
from imports.services import import_create, import_process
from teams.models import Role, User


def lead_csv(rows: int) -> str:
    lines = ["email,phone,first_name,last_name,country,comment"]
    lines += [f"bench.lead{i}@example.org,+4478{i:08d},Lead{i},Bench,GB," for i in range(rows)]
    # every 50th row repeats an existing customer's email: duplicate scoring has work to do
    for i in range(0, rows, 50):
        lines[i + 1] = f"bench{i + 1}@bench.example,+4478{i:08d},Dupe{i},Bench,GB,"
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Benchmark the unpaced import pipeline against a plain COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50_000)
        parser.add_argument("--existing", type=int, default=1_000_000)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, rows, existing, yes, **options):
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
        try:
            t0 = time.perf_counter()
            job = import_create(by=user, raw=text.encode(), file_name="bench.csv", rate_per_second=0)
            staged = time.perf_counter() - t0
            t1 = time.perf_counter()
            import_process(job_id=job.pk)
            processed = time.perf_counter() - t1
        finally:
            services.import_dispatch = dispatch
        job = ImportJob.objects.get(pk=job.pk)
        total = staged + processed
        self.stdout.write(f"import of {rows:,} rows against {Customer.objects.count() - job.imported_rows:,} "
                          f"customers: {total:.1f}s ({rows / total:,.0f} rows/s; staging {staged:.1f}s, "
                          f"processing {processed:.1f}s); imported {job.imported_rows:,}, "
                          f"rejected {job.rejected_rows:,}")
        # The physical reference: COPY the same rows into the same table, inside a transaction rolled back.
        buf = io.StringIO()
        for i in range(rows):
            email = f"copy.lead{i}@example.org"
            buf.write(f"Lead{i}\tBench\t{email}\t{email}\t+4477{i:08d}\tGB\ten\t\timport\tf\t0\tnew\tnot_submitted\t"
                      f"no_deposit\tactive\t2026-01-01T00:00:00+00:00\n")
        buf.seek(0)
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            t2 = time.perf_counter()
            with cursor.copy("COPY customers_customer (first_name, last_name, email, email_canonical, phone, country, "
                             "locale, password, source, marketing_consent, duplicate_score, sales_status, kyc_status, "
                             "finance_status, retention_class, registered_at) FROM STDIN") as copy:
                copy.write(buf.read())
            copied = time.perf_counter() - t2
            cursor.execute("ROLLBACK")
        self.stdout.write(f"plain COPY of the same {rows:,} rows: {copied:.2f}s ({rows / copied:,.0f} rows/s) — "
                          f"the import does validation, scoring, accounts, activity and notes on top")
