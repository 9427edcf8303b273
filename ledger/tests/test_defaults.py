"""Production defaults (issue #13): a fresh migrated database, without the demo seed, has the product sheet's three
approval tiers and USD = 1; the seed and a re-run of the migration add nothing."""

from __future__ import annotations

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings

from ledger.models import ApprovalRule, FxRate
from ledger.services import required_role_for, to_usd

pytestmark = pytest.mark.django_db
SHEET = [(Decimal("0.00"), Decimal("1000.00"), "agent"), (Decimal("1000.00"), Decimal("10000.00"), "manager"),
         (Decimal("10000.00"), None, "compliance")]
migration = importlib.import_module("ledger.migrations.0004_production_defaults")


def tiers():
    return list(ApprovalRule.objects.values_list("min_amount_usd", "max_amount_usd", "required_role"))


def test_a_fresh_migrated_database_has_the_tiers_and_usd():
    # No seed here: what `migrate` alone leaves (pytest-django runs these tests before any that flush the tables).
    from teams.models import User

    assert not User.objects.exists()
    assert tiers() == SHEET
    assert list(FxRate.objects.values_list("currency", "usd_rate")) == [("USD", Decimal("1"))]
    assert [required_role_for(Decimal(a)) for a in ("999.99", "1000", "9999.99", "10000")] == [
        "agent", "manager", "manager", "compliance"]
    assert to_usd(Decimal("5.00"), "USD") == Decimal("5.00")


def test_the_migration_keeps_existing_tiers_and_rates():
    ApprovalRule.objects.all().delete()
    ApprovalRule.objects.create(min_amount_usd=0, max_amount_usd=None, required_role="manager")
    FxRate.objects.filter(currency="USD").delete()
    migration.create_defaults(apps, None)
    migration.create_defaults(apps, None)
    assert tiers() == [(Decimal("0.00"), None, "manager")]
    assert FxRate.objects.filter(currency="USD").count() == 1


def test_the_demo_seed_does_not_conflict_and_is_idempotent():
    for _ in range(2):
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=io.StringIO())
    assert tiers() == SHEET
    assert sorted(FxRate.objects.values_list("currency", flat=True)) == ["EUR", "GBP", "USD"]
