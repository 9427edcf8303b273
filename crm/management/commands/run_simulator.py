import contextlib

from django.core.management.base import BaseCommand

from crm.trading import simulator


class Command(BaseCommand):
    help = "Run the built-in trading simulator: prices move, account states go out on the live feed (Ctrl-C stops)."

    def add_arguments(self, parser):
        parser.add_argument("--interval-ms", type=int, default=None, help="at least 500")

    def handle(self, *args, interval_ms=None, **options):
        self.stdout.write("trading simulator running")
        with contextlib.suppress(KeyboardInterrupt):
            simulator.run(interval_ms=interval_ms)
