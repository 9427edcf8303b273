"""Create the demo data of API.md. Idempotent; refuses to run with DEBUG off.

Steps:
1. teams.demo.seed: the team tree, the four roles, the demo staff (password `demo-password`);
2. customers.demo.seed: customers across the tree;
3. each further app's `demo.seed(ctx)` (ledger: a trading account per customer, then crm, imports, comms), when
   the app has one. The apps are found by name (import_module): the core never imports an app.
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_APPS = ["teams", "customers", "ledger", "crm", "imports", "comms"]


class Command(BaseCommand):
    help = "Create the demo users, teams, customers and data (DEBUG only; safe to run again)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off: it creates users with a known password.")
        ctx: dict = {}
        for app in DEMO_APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            with transaction.atomic():
                module.seed(ctx, log=lambda msg: self.stdout.write(f"  {msg}"))
            self.stdout.write(f"seeded {app}")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with any of:"))
        for email in ("admin@demo.test", "compliance@demo.test", "manager@demo.test", "agent@demo.test"):
            self.stdout.write(f"  {email} / demo-password")
