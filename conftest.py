"""Project-wide fixtures: the demo personas, API clients, and a clean cache/Redis per test."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clean_cache():
    """Presence keys, throttles and lockouts must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    """The full demo data set of API.md (teams, roles, staff, customers, …) as `seed_demo` creates it."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=open("/dev/null", "w"))
    from teams.models import User

    return {u.email.split("@")[0]: u for u in User.objects.select_related("role", "team")}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for(demo):
    """`client_for("agent")` → an APIClient authenticated as that demo user."""

    def make(name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(demo[name])
        return client

    return make
