import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ledger import conf
from ledger.fx import FxSourceError, fx_rates_update_from_ecb
from ledger.services import LedgerError, fx_rate_set


class Command(BaseCommand):
    help = ("Update the FX-rate table (USD per unit). Without arguments: fetch the ECB's daily reference rates "
            "from ECB_RATES_URL (or --url). By hand: `update_fx_rates EUR=1.08 GBP=1.27` or `--file rates.json`.")

    def add_arguments(self, parser):
        parser.add_argument("rates", nargs="*", help="CUR=rate pairs")
        parser.add_argument("--file", help='JSON object {"EUR": "1.08", ...}')
        parser.add_argument("--url", help="The ECB daily XML to read (default: ECB_RATES_URL)")

    def handle(self, *args, rates, file, url, **options):
        pairs = dict(r.split("=", 1) for r in rates if "=" in r)
        if file:
            pairs.update(json.loads(Path(file).read_text()))
        if not pairs:
            if not (url or conf.ECB_RATES_URL):
                raise CommandError("ECB_RATES_URL is empty: give rates as CUR=rate, --file or --url.")
            try:
                fetched = fx_rates_update_from_ecb(url)
            except FxSourceError as exc:
                raise CommandError(str(exc)) from None
            for currency, rate in sorted(fetched.items()):
                self.stdout.write(f"{currency} = {rate} USD")
            self.stdout.write(self.style.SUCCESS(f"{len(fetched)} rates updated from the ECB"))
            return
        for currency, rate in pairs.items():
            try:
                obj = fx_rate_set(currency=currency, usd_rate=rate)
            except (LedgerError, ArithmeticError, ValueError) as exc:
                raise CommandError(f"{currency}: {exc}") from None
            self.stdout.write(f"{obj.currency} = {obj.usd_rate} USD")
