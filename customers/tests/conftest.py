"""Fixtures of the customers tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def kyc_storage(settings, tmp_path):
    """KYC documents in a throwaway private directory (the "kyc" storage of STORAGES)."""
    settings.STORAGES = {**settings.STORAGES, "kyc": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "kyc"}}}
    return tmp_path / "kyc"


@pytest.fixture
def kyc_customer(demo):
    """A new customer of the demo agent (Sales UK) with a USD trading account: the agent, the manager, compliance and
    admin see it. Works with the whole demo seed and with the demo's staff only (teams.tests.factories.demo_staff)."""
    from ledger.tests.factories import customer_with_account

    return customer_with_account("GB", assigned_to=demo["agent"], n=11)
