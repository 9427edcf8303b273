from django.core.management.base import BaseCommand, CommandError

from crm.trading import bridge, mt5


class Command(BaseCommand):
    help = ("Compare every trading account's ledger balance and credit with the trading platform's and list the "
            "drift (exit code 1 when there is any).")

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=200, help="accounts per platform request")

    def handle(self, *args, batch: int = 200, **options):
        if not bridge.enabled():
            raise CommandError("No trading platform is configured (TRADING_PLATFORM=simulator): nothing to compare.")
        try:
            drift = bridge.reconcile(batch=batch)
        except (mt5.MT5Error, mt5.MT5Unavailable) as exc:
            raise CommandError(f"The trading platform did not answer: {exc}") from exc
        for d in drift:
            if d.field == "missing":
                self.stdout.write(f"{d.login}: no such account on the platform")
            else:
                self.stdout.write(f"{d.login}: {d.field} ledger {d.ledger} platform {d.platform} "
                                  f"(drift {d.platform - d.ledger:+})")
        if drift:
            self.stdout.write(self.style.ERROR(f"{len(drift)} difference(s)"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("ledger and platform agree"))
