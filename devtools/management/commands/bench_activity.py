"""Keyset vs OFFSET pagination of the activity feed, first page vs a page 100,000 events deep, on PostgreSQL.

    python manage.py bench_activity [--events 110000] [--depth 100000] [--page-size 50] [--repeat 15] [--noise N]

Inside one transaction that is rolled back at the end (nothing is left behind): inserts `--events` activity rows for
one customer (ties in time: ten events share each timestamp) and `--noise` rows over the other customers, ANALYZEs,
then times the first page and the page at `--depth` four ways — keyset through the API's own `KeysetPagination`
(the exact queryset the feed endpoints run) and plain OFFSET/LIMIT on the same ordering — and prints the median and
p95 of `--repeat` runs plus the plans of both deep queries.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from brokercrm.api.pagination import KeysetPagination
from customers.models import Activity, Customer


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark keyset vs OFFSET pagination of the activity feed (first page vs a deep page)."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=110_000)
        parser.add_argument("--depth", type=int, default=100_000)
        parser.add_argument("--page-size", type=int, default=50)
        parser.add_argument("--repeat", type=int, default=15)
        parser.add_argument("--customer", type=int, help="customer id to attach the events to (default: the first)")
        parser.add_argument("--noise", type=int, default=None,
                            help="events spread over the other customers, so the feed shares its table and indexes "
                                 "(default: as many as --events)")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_activity measures PostgreSQL; set DATABASE_URL to a PostgreSQL database.")
        if opts["depth"] + opts["page_size"] > opts["events"]:
            raise CommandError("--events must exceed --depth + --page-size.")
        try:
            with transaction.atomic():
                self._run(opts)
                raise _Rollback
        except _Rollback:
            self.stdout.write("(benchmark data rolled back)")

    def _run(self, opts):
        customer = (Customer.objects.filter(pk=opts["customer"]) if opts["customer"] else
                    Customer.objects.order_by("pk")).first()
        if customer is None:
            raise CommandError("No customer to attach events to: run `manage.py seed_demo` first.")
        n, depth, size = opts["events"], opts["depth"], opts["page_size"]
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                f"""INSERT INTO {Activity._meta.db_table} (customer_id, verb, summary, data, created_at)
                    SELECT %s, 'bench.event', 'benchmark event ' || g, '{{}}'::jsonb,
                           now() - ((g / 10) * interval '1 second')
                    FROM generate_series(1, %s) AS g""", [customer.pk, n])
            noise = n if opts["noise"] is None else opts["noise"]
            others = list(Customer.objects.exclude(pk=customer.pk).values_list("pk", flat=True)[:1000])
            if noise and others:
                cur.execute(
                    f"""INSERT INTO {Activity._meta.db_table} (customer_id, verb, summary, data, created_at)
                        SELECT (%s::bigint[])[1 + g %% %s], 'bench.noise', 'other customer event ' || g, '{{}}'::jsonb,
                               now() - ((g / 10) * interval '1 second')
                        FROM generate_series(1, %s) AS g""", [others, len(others), noise])
            cur.execute(f"ANALYZE {Activity._meta.db_table}")
        total = Activity.objects.filter(customer=customer).count()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"customer #{customer.pk}: {total} events, {Activity.objects.count() - total} on other "
                          f"customers (inserted in {elapsed:.1f}s), page size {size}, depth {depth}")

        base = Activity.objects.filter(customer=customer)
        ordered = base.order_by("-created_at", "-id")
        # The cursor a client holds after reading `depth` events: the (time, id) of the depth-th row.
        anchor = ordered.values_list("created_at", "id")[depth - 1]
        token = KeysetPagination._encode(*anchor)
        factory = APIRequestFactory()
        paginator = KeysetPagination()

        def keyset(cursor):
            params = {"page_size": size, **({"cursor": cursor} if cursor else {})}
            request = Request(factory.get("/api/crm/customers/x/activity", params))
            rows, _ = paginator.paginate(base, request)
            return rows

        def offset(skip):
            return list(ordered[skip:skip + size])

        # Same rows both ways (correctness before speed).
        assert [r.pk for r in keyset(token)] == [r.pk for r in offset(depth)], "keyset and OFFSET pages differ"

        results = [
            ("keyset", "first page", lambda: keyset(None)),
            ("keyset", f"{depth:,} deep", lambda: keyset(token)),
            ("OFFSET", "first page", lambda: offset(0)),
            ("OFFSET", f"{depth:,} deep", lambda: offset(depth)),
        ]
        self.stdout.write(f"{'method':<8} {'page':<14} {'median ms':>10} {'p95 ms':>8}")
        # Interleaved (one run of each per round): a drift in the machine's load touches all four alike, where
        # timing each in a block of its own put the drift between the first page and the deep one.
        for _, _, fn in results:
            fn()  # warm
        times: list[list[float]] = [[] for _ in results]
        for _ in range(opts["repeat"]):
            for i, (_, _, fn) in enumerate(results):
                t0 = time.perf_counter()
                rows = fn()
                times[i].append((time.perf_counter() - t0) * 1000)
                assert len(rows) == size
        for (method, label, _), runs in zip(results, times, strict=True):
            runs = sorted(runs)
            p95 = runs[min(len(runs) - 1, int(len(runs) * 0.95))]
            self.stdout.write(f"{method:<8} {label:<14} {statistics.median(runs):>10.2f} {p95:>8.2f}")
        ratios = sorted(deep / first for first, deep in zip(times[0], times[1], strict=True))
        self.stdout.write(f"keyset deep / first page, median of the {len(ratios)} rounds' ratios: "
                          f"{statistics.median(ratios):.2f}×   [goal ≤ 1.2×]")

        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:  # the SQL KeysetPagination really runs for the deep page
            keyset(token)
        self.stdout.write("\nplan of the deep keyset page (the SQL the feed endpoints run):")
        with connection.cursor() as cur:
            cur.execute("EXPLAIN ANALYZE " + ctx.captured_queries[-1]["sql"])
            self.stdout.write("\n".join(row[0] for row in cur.fetchall()))
        self.stdout.write("\nplan of the deep OFFSET page:")
        self.stdout.write(ordered[depth:depth + size].explain(analyze=True))
