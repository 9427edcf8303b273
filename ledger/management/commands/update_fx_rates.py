import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ledger.services import LedgerError, fx_rate_set


class Command(BaseCommand):
    help = "Update the FX-rate table (USD per unit): `update_fx_rates EUR=1.08 GBP=1.27` or `--file rates.json`."

    def add_arguments(self, parser):
        parser.add_argument("rates", nargs="*", help="CUR=rate pairs")
        parser.add_argument("--file", help='JSON object {"EUR": "1.08", ...}')

    def handle(self, *args, rates, file, **options):
        pairs = dict(r.split("=", 1) for r in rates if "=" in r)
        if file:
            pairs.update(json.loads(Path(file).read_text()))
        if not pairs:
            raise CommandError("Give rates as CUR=rate or --file.")
        for currency, rate in pairs.items():
            try:
                obj = fx_rate_set(currency=currency, usd_rate=rate)
            except (LedgerError, ArithmeticError, ValueError) as exc:
                raise CommandError(f"{currency}: {exc}") from None
            self.stdout.write(f"{obj.currency} = {obj.usd_rate} USD")
