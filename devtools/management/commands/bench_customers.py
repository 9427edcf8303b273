"""Benchmarks of the customer lifecycle on PostgreSQL: registration cost at 1k vs 1M customers, and a retention
run over 1M customers. Run it against a scratch database: it bulk-loads synthetic customers with COPY."""

from __future__ import annotations

import io
import random
import statistics
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from customers.retention import retention_classify
from customers.services import customer_register

COLUMNS = ("first_name", "last_name", "email", "email_canonical", "phone", "country", "locale", "password",
           "source", "marketing_consent", "duplicate_score", "sales_status", "kyc_status", "finance_status",
           "retention_class", "registered_at")


def copy_customers(start: int, count: int) -> None:
    """Insert `count` synthetic customers with COPY (ids `start`…); registered at random times in the past year."""
    rng = random.Random(start)
    now = timezone.now()
    with connection.cursor() as cursor:
        for offset in range(0, count, 100_000):
            buf = io.StringIO()
            for i in range(start + offset, start + min(offset + 100_000, count)):
                email = f"bench{i}@bench.example"
                registered = now - timedelta(days=rng.randint(0, 365), seconds=rng.randint(0, 86400))
                buf.write(f"B\tCustomer{i}\t{email}\t{email}\t+4479{i:08d}\tGB\ten\t\torganic\tf\t0\tnew\t"
                          f"not_submitted\tno_deposit\tactive\t{registered.isoformat()}\n")
            buf.seek(0)
            with cursor.copy(f"COPY customers_customer ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(buf.read())
        cursor.execute("ANALYZE customers_customer")


def time_registrations(n: int, tag: str) -> list[float]:
    timings = []
    for i in range(n):
        data = {"email": f"new-{tag}-{i}@fresh.example", "password": "Bench-Pass-1234", "first_name": "New",
                "last_name": "Customer", "phone": f"+4478{random.randint(10**7, 10**8 - 1)}", "country": "GB",
                "source": "organic"}
        t0 = time.perf_counter()
        customer_register(data=data, source="organic")
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


class Command(BaseCommand):
    help = "Benchmark registration at 1k vs N customers and a retention run (PostgreSQL, scratch database)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1_000_000)
        parser.add_argument("--registrations", type=int, default=200)
        parser.add_argument("--yes", action="store_true", help="Confirm the database is a scratch database.")

    def handle(self, *args, customers, registrations, yes, **options):
        if connection.vendor != "postgresql":
            raise CommandError("This benchmark needs PostgreSQL (DATABASE_URL).")
        if not yes:
            raise CommandError("It loads synthetic customers: pass --yes on a scratch database.")
        from django.contrib.auth.hashers import make_password
        from django.test import override_settings

        if Customer.objects.exclude(retention_class="active").exists():
            raise CommandError("Run it on a fresh scratch database (customers already classified).")
        existing = Customer.objects.count()
        if existing < 1000:
            copy_customers(existing + 1, 1000 - existing)
        # Password hashing is deliberately slow (Argon2): measure it apart from the lookups that scale.
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            make_password("warm-up")
            small = time_registrations(registrations, "small")
            total = Customer.objects.count()
            if total < customers:
                self.stdout.write(f"loading {customers - total:,} customers with COPY…")
                t0 = time.perf_counter()
                copy_customers(total + 10_000_000, customers - total)
                self.stdout.write(f"  loaded in {time.perf_counter() - t0:.1f}s")
            large = time_registrations(registrations, "large")
        p50s, p50l = statistics.median(small), statistics.median(large)
        self.stdout.write(f"registration at {1000:,} customers: p50 {p50s:.2f} ms, "
                          f"mean {statistics.mean(small):.2f} ms")
        self.stdout.write(f"registration at {Customer.objects.count():,} customers: p50 {p50l:.2f} ms, "
                          f"mean {statistics.mean(large):.2f} ms  (ratio {p50l / p50s:.2f}x, target ≤ 1.5x)")
        with connection.cursor() as cursor:
            # Freshly loaded customers are all 'active' with registrations spread over a year, so this run is
            # the worst case: most of them change class. VACUUM first, as autovacuum would have by then.
            cursor.execute("VACUUM ANALYZE customers_customer")
        t0 = time.perf_counter()
        with transaction.atomic():
            result = retention_classify()
        elapsed = time.perf_counter() - t0
        self.stdout.write(f"retention run over {Customer.objects.count():,} customers: {elapsed:.1f}s "
                          f"(changed {sum(result.changed.values()):,}: {result.changed}; target < 60 s)")
