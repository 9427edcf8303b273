from django.core.management.base import BaseCommand, CommandError

from ledger.services import ledger_verify


class Command(BaseCommand):
    help = "Prove every account's balance and credit equal the sums of its lines and the books balance."

    def handle(self, *args, **options):
        problems = ledger_verify()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger inconsistent: {len(problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("ledger consistent: balances equal their lines; books balance"))
