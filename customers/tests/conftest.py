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
    """A customer of the demo agent (Sales UK): the agent, the manager, compliance and admin see it."""
    from customers.models import Customer

    return Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
