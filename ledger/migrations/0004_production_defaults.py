"""Production defaults: the product sheet's three approval tiers and USD = 1, on any database that has none.

Without them a fresh install sends every transaction to compliance (no tier covers it) and refuses any
transaction that needs the USD rate. Existing tiers or rates are left alone (the demo seed does the same)."""

from decimal import Decimal

from django.db import migrations

TIERS = [(Decimal("0"), Decimal("1000"), "agent"), (Decimal("1000"), Decimal("10000"), "manager"),
         (Decimal("10000"), None, "compliance")]


def create_defaults(apps, schema_editor):
    ApprovalRule = apps.get_model("ledger", "ApprovalRule")
    FxRate = apps.get_model("ledger", "FxRate")
    if not ApprovalRule.objects.exists():
        ApprovalRule.objects.bulk_create([ApprovalRule(min_amount_usd=low, max_amount_usd=high, required_role=role)
                                          for low, high, role in TIERS])
    FxRate.objects.get_or_create(currency="USD", defaults={"usd_rate": Decimal("1"), "source": "default"})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_transaction_reverses_fx_source")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
