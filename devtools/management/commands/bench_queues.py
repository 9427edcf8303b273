"""No kind of background work starves another, with `make run`'s real processes on PostgreSQL + Redis.

    python manage.py bench_queues --yes [--rows 50000 --sends 20000 --seconds 190 --rate 10]

Starts scripts/run.sh (web, simulator, a worker per queue, beat), queues the sends, uploads the big paced import,
then measures (a) a payment webhook's credit, (b) a second 60-row import's start and end, (c) the overdue check's
runs; prints the figures (devtools/queuebench.py has the steps). Needs REDIS_URL, DEBUG and the demo data.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Measure webhook credit, a second import and the overdue check under a big import and a send backlog."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50_000, help="rows of the big paced import")
        parser.add_argument("--sends", type=int, default=20_000, help="comms tasks queued before the window")
        parser.add_argument("--seconds", type=float, default=190, help="measuring window (≥ 2 overdue-check runs)")
        parser.add_argument("--rate", type=int, default=10, help="pace of both imports, rows/s")
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, rows, sends, seconds, rate, yes, **options):
        if not yes or not settings.REDIS_URL or not settings.DEBUG:
            raise CommandError("Needs REDIS_URL, DEBUG=true, the demo data and --yes (scratch database).")
        from devtools import queuebench

        var_dir = Path(tempfile.mkdtemp(prefix="bench-queues-"))
        env = queuebench.run_sh_env(dict(os.environ), var_dir)
        figures = queuebench.run(env=env, log_path=var_dir / "run.log", import_rows=rows, comms_tasks=sends,
                                 seconds=seconds, rate=rate, echo=lambda m: self.stdout.write(m))
        for line in figures.lines():
            self.stdout.write(line)
        self.stdout.write(f"(process output: {var_dir / 'run.log'})")
