"""Import a CSV of leads from a terminal, with a progress bar; the same pipeline and gates as the upload."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from brokercrm.errors import DomainError
from imports.models import ImportJob
from imports.services import import_create, import_process
from teams.models import User


class Command(BaseCommand):
    help = "Import customers from a CSV file (columns as the API's import), showing progress."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--as", dest="as_user", default="admin@demo.test", help="staff email acting as uploader")
        parser.add_argument("--rate", type=int, default=None, help="rows per second (0 = unpaced)")
        parser.add_argument("--rejections", help="write the rejected rows to this CSV file")

    def handle(self, *args, file, as_user, rate, rejections, **options):
        user = User.objects.filter(email=as_user, is_active=True).first()
        if user is None:
            raise CommandError(f"No active staff user {as_user}.")
        try:
            from django.db import transaction

            with transaction.atomic():
                # Processed here rather than by workers: stage the rows without dispatching.
                from imports import services

                dispatch, services.import_dispatch = services.import_dispatch, lambda **kw: None
                try:
                    job = import_create(by=user, raw=Path(file).read_bytes(), file_name=Path(file).name,
                                        rate_per_second=rate)
                finally:
                    services.import_dispatch = dispatch
        except (OSError, DomainError) as error:
            raise CommandError(getattr(error, "detail", str(error))) from None
        for message in job.messages:
            self.stdout.write(message)
        worker = threading.Thread(target=self._process, args=(job.pk,))
        worker.start()
        started = time.monotonic()
        while worker.is_alive():
            self._bar(ImportJob.objects.get(pk=job.pk), started)
            time.sleep(0.5)
        job = ImportJob.objects.get(pk=job.pk)
        self._bar(job, started)
        sys.stdout.write("\n")
        self.stdout.write(f"{job.status}: {job.imported_rows} imported, {job.rejected_rows} rejected "
                          f"of {job.total_rows} (job {job.pk})")
        if rejections:
            from imports.services import rejections_csv

            Path(rejections).write_text("".join(rejections_csv(job)))
            self.stdout.write(f"rejections written to {rejections}")

    @staticmethod
    def _process(job_id):
        try:
            import_process(job_id=job_id)
        finally:
            connection.close()

    @staticmethod
    def _bar(job, started):
        done = job.processed_rows / job.total_rows if job.total_rows else 1
        elapsed = time.monotonic() - started
        rate = job.processed_rows / elapsed if elapsed else 0
        bar = "#" * int(done * 40)
        sys.stdout.write(f"\r[{bar:<40}] {job.processed_rows}/{job.total_rows} {rate:,.0f} rows/s ")
        sys.stdout.flush()
