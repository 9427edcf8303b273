from django.core.management.base import BaseCommand, CommandError

from ledger.reconcile import payments_reconcile


class Command(BaseCommand):
    help = ("Compare what the payment providers reported (stored notifications and attempts) with the ledger and "
            "list every mismatch (missing transaction, status, amount, duplicate); exits non-zero on any.")

    def add_arguments(self, parser):
        parser.add_argument("--provider", choices=["bridgerpay", "praxis", "sandbox"], help="Only this provider.")

    def handle(self, *args, provider=None, **options):
        mismatches = payments_reconcile(provider=provider)
        for mismatch in mismatches:
            self.stdout.write(str(mismatch))
        if mismatches:
            raise CommandError(f"payments do not reconcile: {len(mismatches)} mismatch(es)")
        self.stdout.write(self.style.SUCCESS("payments reconcile: every provider report matches the ledger"))
