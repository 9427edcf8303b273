"""The import end to end, as a user runs it (issue #16): `make run`'s processes (scripts/run.sh: web, simulator, a
worker per queue, beat) on the configured PostgreSQL and Redis with the demo's workflows on; N valid rows uploaded
through the API unpaced; timed from the upload to the job's completion, beside a plain COPY of the same file into a
scratch table (the issue's anchor, `psql \\copy`) and into the customers table (bench_import's anchor).

What the import sets off (a workflow run per lead: e-mail and task) is queued on the `comms` queue, not done
inline: the command reports the runs created and, separately, how long the workers took to drain them.

    DEBUG=true python manage.py bench_import_e2e --yes [--rows 50000 --drain 0]
Needs REDIS_URL, DEBUG and the demo data (seed_demo) on a scratch database.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from brokercrm.celery import app
from comms.models import Workflow, WorkflowRun
from customers.models import Customer
from devtools import queuebench
from devtools.management.commands.bench_import import copy_customers_seconds
from imports.models import ImportJob

ROOT = Path(settings.BASE_DIR)


def lead_file(rows: int, tag: str) -> bytes:
    """`rows` valid leads unique to this run: fresh emails, and mobile numbers from a range no customer holds yet
    (a number already taken would make the lead a duplicate)."""

    rng = random.Random(tag)
    while True:
        start = rng.randrange(30 * 10**6, 10**8 - rows)  # +44 753… to +44 759…: valid mobile ranges
        if not Customer.objects.filter(phone__gte=f"+4475{start:08d}", phone__lt=f"+4475{start + rows:08d}").exists():
            break
    lines = ["email,phone,first_name,last_name,country"]
    lines += [f"{tag}.{i}@example.org,+4475{start + i:08d},Lead{i},Bench,GB" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def copy_file_seconds(raw: bytes) -> float:
    """`psql \\copy` of the file into a scratch table (text columns): the issue's end-to-end anchor."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("CREATE TEMP TABLE bench_e2e_copy (email text, phone text, first_name text, last_name text, "
                       "country text) ON COMMIT DROP")
        t0 = time.perf_counter()
        with cursor.copy("COPY bench_e2e_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(raw)
        spent = time.perf_counter() - t0
        cursor.execute("ROLLBACK")
    return spent


class Command(BaseCommand):
    help = "Upload an import through the API to `make run`'s processes and time it against COPY of the file."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50_000)
        parser.add_argument("--drain", type=float, default=0,
                            help="then wait up to this many seconds for the queued workflow runs to finish")
        parser.add_argument("--as", dest="email", default="admin@demo.test")
        parser.add_argument("--welcome-imports", action="store_true",
                            help="let the demo's welcome workflow (e-mail + task) apply to imported leads too, as "
                                 "it did when the issue was measured (changes the scratch database's workflow)")
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, rows, drain, email, yes, welcome_imports=False, **options):
        if not yes or not settings.REDIS_URL or not settings.DEBUG or connection.vendor != "postgresql":
            raise CommandError("Needs PostgreSQL, REDIS_URL, DEBUG=true, the demo data and --yes (scratch database).")
        if welcome_imports:
            for workflow in Workflow.objects.filter(trigger="customer.registered", is_active=True):
                sources = (workflow.conditions or {}).get("sources")
                if sources and "import" not in sources:
                    workflow.conditions["sources"] = [*sources, "import"]
                    workflow.save(update_fields=["conditions"])
        tag = f"e2e{int(time.time()) % 10**6:06d}"
        raw = lead_file(rows, tag)
        var_dir = Path(tempfile.mkdtemp(prefix="bench-import-e2e-"))
        env = queuebench.run_sh_env(dict(os.environ), var_dir)
        app.control.purge()
        log = open(var_dir / "run.log", "w")  # noqa: SIM115 (the children write to it; closed below)
        proc, base = queuebench.run_sh_start(env, log)
        try:
            try:
                queuebench.run_sh_wait(proc, base, var_dir / "run.log")
            except RuntimeError as error:
                raise CommandError(str(error)) from error
            queuebench.wait_for_workers()
            token = httpx.post(f"{base}/api/auth/token", json={"email": email, "password": "demo-password"},
                               timeout=30).json()["token"]
            headers = {"Authorization": f"Token {token}"}
            last_run = WorkflowRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            self.stdout.write(f"run.sh is up; uploading {rows:,} rows ({len(raw) / 1e6:.1f} MB) unpaced")
            t0 = time.monotonic()
            answer = httpx.post(f"{base}/api/backoffice/customers/import", headers=headers,
                                files={"file": ("leads.csv", raw, "text/csv")}, data={"rate_per_second": "0"},
                                timeout=300)
            if answer.status_code != 202:
                raise CommandError(f"upload answered {answer.status_code}: {answer.text[:300]}")
            uploaded = time.monotonic() - t0
            job_id = answer.json()["job_id"]
            status: dict = {}
            while time.monotonic() - t0 < 3600:
                status = httpx.get(f"{base}/api/backoffice/customers/import/{job_id}/status", headers=headers,
                                   timeout=30).json()
                if status["status"] not in ("pending", "running"):
                    break
                time.sleep(0.1)
            total = time.monotonic() - t0
            runs = WorkflowRun.objects.filter(pk__gt=last_run).count()
            self.stdout.write(
                f"end to end (upload through the API → job {status['status']}): {total:.1f}s "
                f"({rows / total:,.0f} rows/s; upload answered in {uploaded:.1f}s); imported "
                f"{status.get('imported_rows', 0):,}, rejected {status.get('rejected_rows', 0):,}; "
                f"{runs:,} workflow runs queued on `comms` by then")
            if drain:
                t1 = time.monotonic()
                pending = WorkflowRun.objects.filter(pk__gt=last_run, status__in=["pending", "running"])
                while pending.exists() and time.monotonic() - t1 < drain:
                    time.sleep(1)
                left = pending.count()
                self.stdout.write(f"side effects: the workers finished the queued runs {time.monotonic() - t0:.1f}s "
                                  f"after the upload ({left:,} still queued)" if not left else
                                  f"side effects: {left:,} runs still queued {drain:.0f}s after the import ended")
        finally:
            ImportJob.objects.filter(status__in=["pending", "running"]).update(status="cancelled")
            tree = queuebench._descendants(proc.pid) | {proc.pid}
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)  # run.sh's Ctrl-C path
            t_stop = time.monotonic()
            while any(queuebench._alive(pid) for pid in tree) and time.monotonic() - t_stop < 30:
                time.sleep(0.1)
            for pid in tree:
                if queuebench._alive(pid):
                    os.kill(pid, signal.SIGKILL)
            proc.wait()
            log.close()
        copied = copy_file_seconds(raw)
        into_customers = copy_customers_seconds(rows, email_prefix="copy.e2e", phone_prefix="+4474")
        self.stdout.write(f"plain COPY of the same file into a scratch table: {copied:.2f}s → {total / copied:.0f}×; "
                          f"COPY of as many rows into customers_customer: {into_customers:.2f}s → "
                          f"{total / into_customers:.1f}×")
        self.stdout.write(f"(process output: {var_dir / 'run.log'})")
