"""Postings per second with two concurrent clients on PostgreSQL (service level: lock, check, insert, post)."""

from __future__ import annotations

import multiprocessing
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from customers.models import Customer
from ledger.models import TradingAccount
from ledger.services import account_open, ledger_verify, transaction_create
from teams.models import Role, User


class Command(BaseCommand):
    help = "Benchmark ledger postings/s with N concurrent clients (default 2) for S seconds (scratch database)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=2)
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--accounts", type=int, default=200)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, clients, seconds, accounts, yes, **options):
        if connection.vendor != "postgresql" or not yes:
            raise CommandError("Needs PostgreSQL and --yes (it writes synthetic customers and transactions).")
        role, _ = Role.objects.get_or_create(name="bench-admin", defaults={"customer_view_scope": "all"})
        user = User.objects.filter(email="bench@bench.example").first() or User.objects.create_user(
            "bench@bench.example", None, role=role, is_superuser=True)
        existing = TradingAccount.objects.count()

        for i in range(existing, accounts):
            customer = Customer.objects.create(first_name="B", last_name=str(i), email=f"p{i}@bench.example",
                                               email_canonical=f"p{i}@bench.example", country="GB")
            account_open(customer=customer, currency="USD")
        logins = list(TradingAccount.objects.values_list("login", flat=True)[:accounts])
        for login in logins:  # fund every account so fees never overdraw
            transaction_create(by=user, type="deposit", amount="1000.00", currency="USD", account_login=login)
        counts = multiprocessing.Array("i", clients)
        # Each client process opens its own connection: the pool's threads do not survive a fork.
        connections.close_all()
        for conn in connections.all():
            if hasattr(conn, "close_pool"):
                conn.close_pool()
        start = time.monotonic() + 1.0
        stop = start + seconds

        def client(n: int):
            # Separate processes, like separate web workers: no shared interpreter lock between the clients.
            while time.monotonic() < start:
                time.sleep(0.01)
            i = n
            while time.monotonic() < stop:
                login = logins[i % len(logins)]
                kind = "deposit" if i % 3 else "fee"
                transaction_create(by=user, type=kind, amount="10.00" if kind == "deposit" else "1.00",
                                   currency="USD", account_login=login)
                counts[n] += 1
                i += clients
            connections.close_all()

        procs = [multiprocessing.get_context("fork").Process(target=client, args=(n,)) for n in range(clients)]
        [p.start() for p in procs]
        [p.join() for p in procs]
        elapsed = seconds
        total = sum(counts)
        self.stdout.write(f"{total:,} postings in {elapsed:.1f}s with {clients} clients: "
                          f"{total / elapsed:,.0f} postings/s (each: lock, check, insert, 2 lines, balance, activity)")
        problems = ledger_verify()
        self.stdout.write("verify_ledger: " + ("consistent" if not problems else f"{len(problems)} problems"))
