"""The global pace over a full minute with two Celery workers: measured rows/s against the setting.

    python manage.py bench_import_pace --yes [--rate 10 --seconds 60 --workers 2]

Starts the workers as child processes on REDIS_URL, uploads a file large enough to outlast the window, samples the
job's processed rows after a warm-up and at the end of the window, then cancels the job.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.management.commands.bench_import import lead_csv
from imports.models import ImportJob
from imports.services import import_create
from teams.models import Role, User


class Command(BaseCommand):
    help = "Measure the import's global pace with N workers over a window."

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=int, default=10)
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, rate, seconds, workers, yes, **options):
        if not yes or not settings.REDIS_URL:
            raise CommandError("Needs REDIS_URL and --yes (scratch database).")
        import os
        from contextlib import ExitStack

        from devtools.testing import running, worker_cmd

        role, _ = Role.objects.get_or_create(name="bench-importer", defaults={"customer_view_scope": "all"})
        user = User.objects.filter(email="pace@bench.example").first() or User.objects.create_user(
            "pace@bench.example", None, role=role, is_superuser=True)
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="brokercrm.settings", DEBUG="true")
        rows = int(rate * (seconds + 30))
        with ExitStack() as stack:
            for i in range(workers):
                stack.enter_context(running(worker_cmd(f"pace{i}") + ["--purge"], env=env, log_name=f"pace{i}"))
            time.sleep(8)
            csv_text = lead_csv(rows).replace("bench.lead", f"pace{int(time.time())}.lead")
            job = import_create(by=user, raw=csv_text.encode(), file_name="pace.csv", rate_per_second=rate)
            time.sleep(5)  # warm-up: both workers have taken slots
            start_rows, t0 = ImportJob.objects.get(pk=job.pk).processed_rows, time.monotonic()
            time.sleep(seconds)
            done, elapsed = ImportJob.objects.get(pk=job.pk).processed_rows - start_rows, time.monotonic() - t0
            ImportJob.objects.filter(pk=job.pk).update(status="cancelled")
        measured = done / elapsed
        self.stdout.write(f"{workers} workers, setting {rate} rows/s: {done} rows in {elapsed:.1f}s = "
                          f"{measured:.2f} rows/s ({(measured - rate) / rate * 100:+.1f} %; target ±5 %)")
